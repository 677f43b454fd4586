"""The resolver's table of readers (``cnncost.spec.readers``) and its one located-error helper (``At``).

Every ``Field.kind`` an op or a combinator uses has a reader; each reader accepts what it should and refuses the
rest with a one-line error located where the value was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from cnncost import limits
from cnncost.errors import CnnCostError, LimitError, ShapeError, SpecError
from cnncost.ops import Field, all_ops, every_op
from cnncost.spec.expr import evaluate
from cnncost.spec.located import At
from cnncost.spec.readers import READERS, Evaluate, read_int, read_pair
from cnncost.spec.schema import COMBINATORS

AT = At("net.yaml", 3, 7, "layers[0].conv.kernel")
WHERE = "net.yaml:3:7: layers[0].conv.kernel: "


def _evaluator(scope: Mapping[str, Any] | None = None) -> Evaluate:
    """What the resolver gives a reader: strings evaluated over ``scope``, lists element by element."""

    def value(raw: Any) -> Any:
        if isinstance(raw, str):
            return evaluate(raw, scope or {})
        if isinstance(raw, list):
            return [value(v) for v in raw]
        return raw

    return value


def _read(kind: str, raw: Any, *, key: str = "kernel", field: Field | None = None, **scope: Any) -> Any:
    return READERS[kind](raw, AT, field or Field(kind), key, _evaluator(scope))


def _refused(kind: str, raw: Any, *, key: str = "kernel", field: Field | None = None, **scope: Any) -> CnnCostError:
    with pytest.raises(CnnCostError) as caught:
        _read(kind, raw, key=key, field=field, **scope)
    exc = caught.value
    assert (exc.file, exc.line, exc.column, exc.path) == ("net.yaml", 3, 7, "layers[0].conv.kernel")
    assert str(exc).startswith(WHERE)
    return exc


# ------------------------------------------------------------------------------------------------ coverage


def _kinds_in_use() -> dict[str, list[str]]:
    """Every field kind any op (internal ones too) or combinator declares, with who declares it."""
    users: dict[str, list[str]] = {}
    for op in [*all_ops(), *every_op()]:
        for key, field in op.fields.items():
            users.setdefault(field.kind, []).append(f"{op.name}.{key}")
    for verb, fields in COMBINATORS.items():
        for key, field in fields.items():
            users.setdefault(field.kind, []).append(f"{verb}.{key}")
    return users


def test_every_field_kind_in_use_has_a_reader() -> None:
    missing = {kind: users for kind, users in _kinds_in_use().items() if kind not in READERS}
    assert not missing, f"field kinds without a reader in cnncost.spec.readers.READERS: {missing}"


def test_every_reader_is_for_a_kind_in_use() -> None:
    """No dead readers: a kind nobody declares any more goes out of the table with its last user."""
    assert set(READERS) <= set(_kinds_in_use())


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        READERS["int"] = READERS["pair"]  # type: ignore[index]


# ------------------------------------------------------------------------------------------------- readers


def test_int() -> None:
    assert _read("int", 3) == 3
    assert _read("int", 4.0) == 4
    assert _read("int", "width * 2", width=8) == 16
    assert _read("int", 0, field=Field("int", minimum=0)) == 0
    assert str(_refused("int", 0)) == WHERE + "expected a whole number ≥ 1, got 0"
    assert str(_refused("int", 2.5)) == (
        WHERE + "expected a whole number, got 2.5 — wrap the expression in int(…), round(…) or make_divisible(…)"
    )
    assert str(_refused("int", True)) == WHERE + "expected a whole number, got True"
    assert str(_refused("int", "3 +")) == (
        WHERE + "expected a whole number, got '3 +' — this text is not a valid expression either: check its "
        "brackets and operators"
    )
    big = _refused("int", limits.MAX_DIMENSION + 1)
    assert isinstance(big, LimitError)
    assert f"is absurdly large here — keep sizes at most {limits.MAX_DIMENSION:,}" in str(big)


def test_pair() -> None:
    assert _read("pair", 3) == (3, 3)
    assert _read("pair", [3, 5]) == (3, 5)
    assert _read("pair", ["k", "k + 2"], k=1) == (1, 3)
    assert str(_refused("pair", [1, 2, 3])) == WHERE + "expected one number or [h, w], got [1, 2, 3]"
    assert str(_refused("pair", [1, 0])) == WHERE + "expected a whole number ≥ 1, got 0"
    assert str(_refused("pair", "same")) == WHERE + "expected a whole number, got 'same'"


def test_padding() -> None:
    assert _read("padding", "same") == "same"
    assert _read("padding", "valid") == "valid"
    assert _read("padding", 0) == (0, 0)
    assert _read("padding", [1, 2]) == (1, 2)
    assert str(_refused("padding", "full")) == WHERE + "expected a whole number or 'same' or 'valid', got 'full'"
    assert str(_refused("padding", -1)) == WHERE + "expected a whole number ≥ 0, got -1"


def test_groups() -> None:
    assert _read("groups", "depthwise") == "depthwise"
    assert _read("groups", 32) == 32
    assert str(_refused("groups", "pointwise")) == WHERE + "expected a whole number or 'depthwise', got 'pointwise'"
    assert str(_refused("groups", 0)) == WHERE + "expected a whole number ≥ 1, got 0"


def test_bool() -> None:
    assert _read("bool", True, key="bias") is True
    assert _read("bool", "stride == 1", key="bias", stride=2) is False
    assert str(_refused("bool", 1, key="bias")) == (
        WHERE + "'bias' must be true or false, got 1 — write bias: true or bias: false"
    )


def test_float() -> None:
    assert _read("float", 1e-5, key="eps") == 1e-5
    value = _read("float", 1, key="eps")
    assert value == 1.0 and isinstance(value, float)
    assert str(_refused("float", "fast", key="eps")) == WHERE + "'eps' must be a number, got 'fast'"
    assert str(_refused("float", float("nan"), key="eps")) == WHERE + "'eps' must be a number, got nan"
    assert str(_refused("float", False, key="eps")) == WHERE + "'eps' must be a number, got False"


def test_probability() -> None:
    assert _read("probability", 0.5, key="p") == 0.5
    assert _read("probability", 1, key="p") == 1.0
    assert str(_refused("probability", 2, key="p")) == (
        WHERE + "'p' must be a probability between 0 and 1, got 2 — e.g. p: 0.5"
    )
    assert str(_refused("probability", "half", key="p")) == WHERE + "'p' must be a number, got 'half'"


def test_word_choices() -> None:
    assert _read("enum", "projection", key="shortcut") == "projection"
    assert _read("enum", "choice", key="shortcut", choice="zero-pad") == "zero-pad"
    refused = _refused("enum", "projektion", key="shortcut")
    assert str(refused).startswith(WHERE + "'shortcut' must be one of identity, projection, zero-pad, ")
    assert str(refused).endswith("got 'projektion' — did you mean 'projection', 'identity-or-projection'?")
    assert _read("activation", "relu", key="activation") == "relu"
    assert str(_refused("activation", "relux", key="activation")).startswith(
        WHERE + "'activation' must name an activation, got 'relux' — did you mean 'relu"
    )
    assert str(_refused("activation", 3, key="activation")).startswith(
        WHERE + "'activation' must name an activation, got 3 — one of "
    )


def test_connections() -> None:
    assert _read("connections", [[0, 1], [2]], key="connections") == ((0, 1), (2,))
    assert str(_refused("connections", [], key="connections")) == (
        WHERE + "'connections' must be a list with one list of input channels per filter"
    )
    assert str(_refused("connections", [[0], [-1]], key="connections")) == (
        WHERE + "each row of 'connections' must be a non-empty list of channel numbers ≥ 0, got [-1]"
    )
    assert str(_refused("connections", [[0, 0]], key="connections")) == (
        WHERE + "a row of 'connections' names a channel twice: [0, 0]"
    )


def test_sizes() -> None:
    assert _read("sizes", None, key="sizes") is None
    assert _read("sizes", [24, 40], key="sizes") == (24, 40)
    assert _read("sizes", ["c // 2", "c // 2"], key="sizes", c=48) == (24, 24)
    assert _read("sizes", "[c, 8]", key="sizes", c=16) == (16, 8)
    assert str(_refused("sizes", [], key="sizes")) == (
        WHERE + "'sizes' must be a list of channel counts, one per branch, got [] — e.g. sizes: [24, 40]"
    )
    assert str(_refused("sizes", 3, key="sizes")) == (
        WHERE + "'sizes' must be a list of channel counts, one per branch, got 3 — e.g. sizes: [24, 40]"
    )
    assert str(_refused("sizes", [8, 0], key="sizes")) == WHERE + "expected a whole number ≥ 1, got 0"


def test_layer_lists_are_read_as_written() -> None:
    """Combinators resolve their layers and branches themselves: nothing is evaluated here."""

    def never(raw: Any) -> Any:
        raise AssertionError("evaluated")

    layers = ["relu", {"conv": {"out": "width"}}]
    assert READERS["layers"](layers, AT, Field("layers"), "layers", never) is layers
    branches = {"a": ["relu"]}
    assert READERS["branches"](branches, AT, Field("branches"), "branches", never) is branches


def test_read_int_and_pair_take_words_for_the_message() -> None:
    assert read_int("x", AT, _evaluator({"x": 7}), minimum=1) == 7
    assert read_pair(2, AT, _evaluator(), minimum=1, words="'same'") == (2, 2)
    with pytest.raises(SpecError, match="expected a whole number or 'full', got 'half'"):
        read_int("half", AT, _evaluator(), minimum=1, words="'full'")


def test_an_expression_error_is_not_swallowed() -> None:
    """A reader raises what the evaluator raises; the resolver's evaluator locates it (``At.locate``)."""
    with pytest.raises(SpecError, match="divides by zero"):
        _read("int", "1 / 0")


# ------------------------------------------------------------------------------------------------------ At


def test_at_error_is_one_located_line() -> None:
    exc = AT.error("kernel too big", hint="make it smaller")
    assert isinstance(exc, SpecError)
    assert str(exc) == WHERE + "kernel too big — make it smaller"
    shape = AT.error("does not fit", cls=ShapeError)
    assert type(shape) is ShapeError and shape.hint is None
    assert str(At("net.yaml").error("no variant 'x'")) == "net.yaml: no variant 'x'"


def test_at_of_a_position() -> None:
    assert At.of("f.yaml", (2, 5), "input") == At("f.yaml", 2, 5, "input")
    assert At.of("f.yaml", None, "--set width") == At("f.yaml", None, None, "--set width")


def test_at_locate_fills_in_only_what_is_missing() -> None:
    inner = SpecError("bad", line=9, column=1)
    assert AT.locate(inner) is inner
    assert (inner.file, inner.line, inner.column, inner.path) == ("net.yaml", 9, 1, "layers[0].conv.kernel")
    assert str(inner) == "net.yaml:9:1: layers[0].conv.kernel: bad"


def test_the_resolver_raises_located_errors_through_at_only() -> None:
    """No call site in the resolver or the readers spells out a line or a column: locations go through ``At``."""
    import re
    from pathlib import Path

    import cnncost.spec.readers
    import cnncost.spec.resolve

    for module in (cnncost.spec.resolve, cnncost.spec.readers):
        source = Path(str(module.__file__)).read_text(encoding="utf-8")
        assert not re.findall(r"\b(?:line|column)=|\.located\(|\*\*located", source), module.__name__
