"""A variable's value given as text outside a spec file (``--set KEY=VALUE``), read as the spec reader reads it.

``--set v1=false`` must mean what ``v1: false`` means in the spec: YAML's safe scalars and flow collections —
true/false, whole numbers, numbers with a decimal point, lists such as ``[2, 2, 2, 2]``, quoted strings — and
everything else a word or an expression, which the resolver evaluates as it would in the spec (``nan`` and
``inf`` are words there, not numbers). The reader is the spec's own (``cnncost.spec.yamlsafe``), with its limits
on size, nesting and absurd numbers; what it refuses becomes one ``UsageError`` line naming the option.
"""

from __future__ import annotations

from typing import Any

from cnncost.errors import CnnCostError, LimitError, UsageError, shown
from cnncost.limits import MAX_FILE_BYTES
from cnncost.spec.yamlsafe import parse


def read_value(text: str, *, name: str) -> Any:
    """``--set NAME=TEXT``: TEXT as the same value written in a spec would be read (plain lists, no positions)."""
    where = f"--set {name}={shown(text)}"
    if len(text) > MAX_FILE_BYTES:
        raise UsageError(f"{where}: the value is over {MAX_FILE_BYTES:,} characters", hint="give a short value")
    try:
        value = parse(text, file=None)
    except CnnCostError as exc:
        message = exc.message
        hint = exc.hint
        if not isinstance(exc, LimitError) and message.startswith("the file holds no YAML document"):
            message, hint = "it holds no value ('#' starts a comment)", "quote the value: --set 'KEY=\"#…\"'"
        raise UsageError(f"{where}: {message}", hint=hint) from None
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
