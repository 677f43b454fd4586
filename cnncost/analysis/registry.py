"""The op registry: one entry per op name, holding its arguments, its shape rule and its cost formula.

Formulas are pure functions of (arguments, input shape, output shape). The registry refuses a second entry under
the same name and suggests close names for unknown ones, so a typo in a spec (``maxpol``) gets a useful answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cnncost.analysis.records import Cost
from cnncost.errors import SpecError, suggest
from cnncost.ir import Shape

Args = Mapping[str, Any]
ShapeRule = Callable[[Args, Shape], Shape]
CostRule = Callable[[Args, Shape, Shape], Cost]
PrepareRule = Callable[[Args, Shape], Args]

REQUIRED: Any = object()


@dataclass(frozen=True)
class Field:
    """One argument of an op. ``kind`` tells the spec validator how to read it:

    ``int`` (a whole number ≥ ``minimum``), ``pair`` (an int or ``[h, w]``), ``padding`` (``pair`` or
    ``same``/``valid``), ``groups`` (int or ``depthwise``), ``bool``, ``float``, ``probability`` (a float in
    0…1), ``connections`` (a list, per output channel, of the input channels it sees).
    """

    kind: str
    default: Any = REQUIRED
    minimum: int = 1
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class OpDef:
    name: str
    fields: Mapping[str, Field]
    shape: ShapeRule
    cost: CostRule
    summary: str
    category: str  # conv, linear, pool, norm, activation, reshape, regularization, merge
    prepare: PrepareRule | None = None


_REGISTRY: dict[str, OpDef] = {}
_INTERNAL: dict[str, OpDef] = {}


def register(
    name: str,
    *,
    fields: Mapping[str, Field] | None = None,
    shape: ShapeRule,
    summary: str,
    category: str,
    internal: bool = False,
    prepare: PrepareRule | None = None,
) -> Callable[[CostRule], CostRule]:
    """Register the decorated cost formula as op ``name``. A second registration under one name is an error.

    ``prepare`` turns validated spec arguments into final ones once the input shape is known (``same``
    padding into numbers, ``depthwise`` into a group count); the IR stores the prepared arguments.
    """

    def decorate(cost: CostRule) -> CostRule:
        if name in _REGISTRY or name in _INTERNAL:
            raise ValueError(f"op {name!r} is registered twice")
        target = _INTERNAL if internal else _REGISTRY
        target[name] = OpDef(name, dict(fields or {}), shape, cost, summary, category, prepare)
        return cost

    return decorate


def get_op(name: str) -> OpDef:
    """The op called ``name``; a SpecError with close names suggested when there is none."""
    try:
        return _REGISTRY[name] if name in _REGISTRY else _INTERNAL[name]
    except KeyError:
        raise SpecError(
            f"unknown op '{name}'", hint=suggest(name, _REGISTRY) or "see 'cnncost ops'"
        ) from None


def is_op(name: str) -> bool:
    return name in _REGISTRY


def op_names() -> list[str]:
    """Ops a spec may use (internal ops such as ``zero_pad`` are made by combinators only)."""
    return sorted(_REGISTRY)


def all_ops() -> list[OpDef]:
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
