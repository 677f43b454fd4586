"""Command-line values coerced without pydantic: start-up plumbing for ``cnncost.cli``.

Typer (0.2x) converts every parameter value through a pydantic ``TypeAdapter``, built on first use, so any
command that takes an option — ``cnncost table resnet50`` included, through its defaults — imports pydantic:
about 70 ms on an idle machine, a third of the command. cnncost's options are all plain: ``str``, ``int`` and
``float`` with an optional lower bound, ``bool``, ``list[str]`` and ``Enum`` choices. ``install`` gives each such
parameter of the built click command a coercer that handles the values that are unambiguous — a string, a whole
number written in decimal digits within its bounds, a choice — exactly as Typer would, and hands everything else
(a bad number, a value out of range, anything unusual) to Typer's own pydantic road, so every error message and
every edge case stays Typer's. ``tests/test_cliparams.py`` holds the two roads to the same results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from typer._coercion import RuntimeParam, build_runtime_param
from typer._param_types import coerce_cli_choice
from typer.core import _TyperParameter

#: What the fast road could not decide: Typer's own (pydantic) coercion takes over.
UNDECIDED: Any = object()
_WHOLE = re.compile(r"[0-9]{1,15}\Z")
_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?\Z")
_PLAIN = (str, int, float, bool)


def fast_value(annotation: Any, info: Any, value: Any, ctx: Any = None) -> Any:
    """The coerced value, or ``UNDECIDED`` where Typer's own coercion must decide (and word any error)."""
    if getattr(info, "parser", None) is not None or getattr(info, "clamp", False):
        return UNDECIDED
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        if not isinstance(value, (str, annotation)):
            return UNDECIDED
        try:
            return coerce_cli_choice(value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
        except Exception:  # an invalid choice: Typer words the error
            return UNDECIDED
    if annotation is str:
        return value if isinstance(value, str) else UNDECIDED
    if annotation is bool:
        return value if isinstance(value, bool) else UNDECIDED
    if annotation is int or annotation is float:
        if isinstance(value, bool):
            return UNDECIDED
        if isinstance(value, str):
            if not (_WHOLE if annotation is int else _DECIMAL).match(value):
                return UNDECIDED
            number: int | float = annotation(value)
        elif isinstance(value, int) or (annotation is float and isinstance(value, float)):
            number = annotation(value)
        else:
            return UNDECIDED
        if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
            return UNDECIDED
        return number
    if getattr(annotation, "__origin__", None) is list and getattr(annotation, "__args__", ()) == (str,):
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
        return UNDECIDED
    return UNDECIDED


def supported(annotation: Any) -> bool:
    return (
        annotation in _PLAIN
        or (isinstance(annotation, type) and issubclass(annotation, Enum))
        or (getattr(annotation, "__origin__", None) is list and getattr(annotation, "__args__", ()) == (str,))
    )


@dataclass(frozen=True)
class FastParam(RuntimeParam):
    """Typer's runtime coercion contract, answered without pydantic where the value is unambiguous."""

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Any) -> Any:
        done = fast_value(self.annotation, self.parameter_info, value, ctx)
        if done is not UNDECIDED:
            return done
        return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)


def install(command: Any) -> int:
    """Give every plain parameter of a built click command (and its subcommands) the fast coercer; returns how
    many. Parameters of other kinds (files, paths, dates, custom parsers) keep Typer's coercion."""
    count = sum(_install_one(param) for param in getattr(command, "params", ()))
    original = getattr(command, "get_help_option", None)
    if original is not None:  # the help option is made on first use, per command: give it the coercer then

        def get_help_option(ctx: Any) -> Any:
            option = original(ctx)
            if option is not None:
                _install_one(option)
            return option

        command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        count += install(sub)
    return count


def _install_one(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if (
        not isinstance(param, _TyperParameter)
        or descriptor is None
        or descriptor.file_annotation is not None
        or getattr(descriptor.parameter_info, "parser", None) is not None
        or not supported(descriptor.annotation)
    ):
        return False
    if not isinstance(param._runtime_param, FastParam):
        param._runtime_param = FastParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
    return True
