"""How the resolver reads each kind of argument: one reader per ``Field.kind``, in one table.

A reader takes the raw YAML value, its location (``At``), the field and the argument's name, and a function that
evaluates a raw value over the scope (expressions, element by element in lists, counted against the work
limit); it returns the checked value or raises a located error. ``READERS`` maps every kind an op or a
combinator uses to its reader; a test fails for a kind without one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

from cnncost import limits
from cnncost.errors import LimitError, shown, suggest
from cnncost.ops import Field
from cnncost.spec.located import At
from cnncost.spec.schema import SHORTCUTS

#: A raw spec value → its value: a string evaluated as an expression, a list element by element.
Evaluate = Callable[[Any], Any]


class Reader(Protocol):
    def __call__(self, raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> Any: ...


def read_int(raw: Any, at: At, evaluate: Evaluate, *, minimum: int, words: str = "") -> int:
    """A whole number ≥ ``minimum`` (a whole float counts), at most ``limits.MAX_DIMENSION``; ``words`` names
    the other values the caller accepts, for the message."""
    value = evaluate(raw)
    expected = "a whole number" + (f" or {words}" if words else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        unreadable = isinstance(value, str) and not value.strip().replace("-", "_").isidentifier()
        raise at.error(
            f"expected {expected}, got {shown(value)}",
            hint="this text is not a valid expression either: check its brackets and operators"
            if unreadable
            else None,
        )
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise at.error(
                f"expected {expected}, got {shown(value)}",
                hint="wrap the expression in int(…), round(…) or make_divisible(…)",
            )
        value = int(value)
    if value < minimum:
        raise at.error(f"expected a whole number ≥ {minimum}, got {value}")
    if value > limits.MAX_DIMENSION:
        raise at.error(
            f"{value:,} is absurdly large here", hint=f"keep sizes at most {limits.MAX_DIMENSION:,}", cls=LimitError
        )
    return value


def read_pair(raw: Any, at: At, evaluate: Evaluate, *, minimum: int, words: str = "") -> tuple[int, int]:
    """One whole number for both, or ``[h, w]``."""
    value = evaluate(raw)
    if isinstance(value, list):
        if len(value) != 2:
            raise at.error(f"expected one number or [h, w], got {shown(value)}")
        return (
            read_int(value[0], at, evaluate, minimum=minimum),
            read_int(value[1], at, evaluate, minimum=minimum),
        )
    n = read_int(value, at, evaluate, minimum=minimum, words=words)
    return (n, n)


def _int(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> int:
    return read_int(raw, at, evaluate, minimum=field.minimum)


def _pair(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> tuple[int, int]:
    return read_pair(raw, at, evaluate, minimum=field.minimum)


def _padding(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> str | tuple[int, int]:
    value = evaluate(raw)
    if value in ("same", "valid"):
        return str(value)
    return read_pair(value, at, evaluate, minimum=0, words="'same' or 'valid'")


def _groups(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> str | int:
    value = evaluate(raw)
    if value == "depthwise":
        return str(value)
    return read_int(value, at, evaluate, minimum=1, words="'depthwise'")


def _bool(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> bool:
    value = evaluate(raw)
    if not isinstance(value, bool):
        raise at.error(f"'{key}' must be true or false, got {shown(value)}", hint=f"write {key}: true or {key}: false")
    return value


def _number(raw: Any, at: At, key: str, evaluate: Evaluate) -> int | float:
    value = evaluate(raw)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise at.error(f"'{key}' must be a number, got {shown(value)}")
    return value


def _float(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> float:
    return float(_number(raw, at, key, evaluate))


def _probability(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> float:
    value = _number(raw, at, key, evaluate)
    if not 0 <= value <= 1:
        raise at.error(f"'{key}' must be a probability between 0 and 1, got {shown(value)}", hint=f"e.g. {key}: 0.5")
    return float(value)


def _one_of(value: Any, at: At, key: str, choices: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise at.error(
            f"'{key}' must {what}, got {shown(value)}",
            hint=suggest(str(value), choices) or "one of " + ", ".join(choices),
        )
    return value


def _shortcut(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> str:
    return _one_of(evaluate(raw), at, key, SHORTCUTS, "be one of " + ", ".join(SHORTCUTS))


def _activation(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> str:
    from cnncost.ops.activation import ACTIVATIONS

    return _one_of(evaluate(raw), at, key, tuple(ACTIVATIONS), "name an activation")


def _connections(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> tuple[tuple[int, ...], ...]:
    value = evaluate(raw)
    if not isinstance(value, list) or not value:
        raise at.error("'connections' must be a list with one list of input channels per filter")
    rows: list[tuple[int, ...]] = []
    for row in value:
        if (
            not isinstance(row, list)
            or not row
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in row)
        ):
            raise at.error(
                f"each row of 'connections' must be a non-empty list of channel numbers ≥ 0, got {shown(row)}"
            )
        if len(set(row)) != len(row):
            raise at.error(f"a row of 'connections' names a channel twice: {shown(row)}")
        rows.append(tuple(row))
    return tuple(rows)


def _sizes(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> tuple[int, ...] | None:
    """``split``'s slice sizes: a non-empty list of whole numbers ≥ 1 (the resolver checks their sum)."""
    value = evaluate(raw)
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise at.error(
            f"'{key}' must be a list of channel counts, one per branch, got {shown(value)}",
            hint="e.g. sizes: [24, 40]",
        )
    return tuple(read_int(v, at, evaluate, minimum=1) for v in value)


def _names(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> tuple[str, ...]:
    """``join``'s saved tensors: one name or a non-empty list of names. Each is evaluated like any word, so a
    block argument can carry a name (``with: skip`` where the block was called with ``skip: enc4``); a word
    that names no variable is itself. The resolver checks that each was saved earlier."""
    value = evaluate(raw)
    names = list(value) if isinstance(value, list) else [value]
    if not names or not all(isinstance(v, str) and v.isidentifier() for v in names):
        raise at.error(
            f"'{key}' must name saved tensors (a name or a list of names), got {shown(value)}",
            hint="e.g. with: enc1, after an earlier layer's 'save: enc1'",
        )
    if len(set(names)) != len(names):
        raise at.error(f"'{key}' names a saved tensor twice: {shown(value)}", hint="name each tensor once")
    return tuple(names)


JOIN_MODES = ("concat", "add")


def _join_mode(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> str:
    return _one_of(evaluate(raw), at, key, JOIN_MODES, "be concat or add")


def _name(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> str:
    """A name written as it is (not an expression): one step of a module path (``cnncost.spec.paths``)."""
    from cnncost.spec.paths import layer_name

    name = layer_name(raw)
    if name is None:
        raise at.error(
            f"'{key}' must be a name (an identifier or a whole number), got {shown(raw)}",
            hint=f"e.g. {key}: downsample",
        )
    return name


def _template(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> str:
    """A name with ``{expression}`` parts, filled in later where the expressions can be evaluated (each repeat
    copy): kept as written once its braces are known to pair up."""
    if not isinstance(raw, str) or not raw:
        raise at.error(f"'{key}' must be a name pattern such as 'denselayer{{index + 1}}', got {shown(raw)}")
    depth = 0
    for char in raw:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth not in (0, 1):
            raise at.error(f"the braces of '{key}' do not pair up: {shown(raw)}", hint="write e.g. block{index}")
    if depth:
        raise at.error(f"the braces of '{key}' do not pair up: {shown(raw)}", hint="write e.g. block{index}")
    return raw


def _as_written(raw: Any, at: At, field: Field, key: str, evaluate: Evaluate) -> Any:
    """Layer lists and branches: the combinator resolves them itself (``cnncost.spec.schema`` checked them)."""
    return raw


READERS: Mapping[str, Reader] = MappingProxyType(
    {
        "int": _int,
        "pair": _pair,
        "padding": _padding,
        "groups": _groups,
        "bool": _bool,
        "float": _float,
        "probability": _probability,
        "enum": _shortcut,
        "activation": _activation,
        "connections": _connections,
        "layers": _as_written,
        "branches": _as_written,
        "sizes": _sizes,
        "names": _names,
        "join_mode": _join_mode,
        "name": _name,
        "template": _template,
    }
)
