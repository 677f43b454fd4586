"""The op registry: ONE definition per op, read by every consumer.

An op is a name plus its *facets*: the spec arguments it takes, how it turns them into final arguments once the
input shape is known, its shape rule, its forward cost by category and the formula text shown beside it, the
PyTorch module it builds, and the reverse mapping from PyTorch modules back to the op. ``FACETS`` lists them; the
spec validator, the resolver, the analytic engine, the PyTorch builder and the module analyzer all read them
from here, so the counting convention is written once.

Adding a facet (backward cost, saved activations, receptive field …) is: one ``Facet`` line below, one function
per op in its family module, passed to ``define``. ``tests/test_ops.py`` fails for every registered op that
lacks a facet listed here. An op that legitimately has no implementation of a facet says so explicitly with
``Absent("why")`` — only where the facet allows it (``Facet.may_be_absent``) — never by leaving a gap.

The registry refuses a second op (or a second implementation of a facet) under one name and suggests close
names for unknown ones, so a typo in a spec (``maxpol``) gets a useful answer.

Nothing here imports torch: the torch facets (``build``, ``reverse``) import it inside their function bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from cnncost.errors import SpecError, suggest
from cnncost.frozen import field, frozen
from cnncost.ir import Shape
from cnncost.ops.backward import BackwardCost, Needs
from cnncost.ops.costs import Cost

if TYPE_CHECKING:
    from cnncost.ir import Layer

Args = Mapping[str, Any]
ShapeRule = Callable[[Args, Shape], Shape]
CostRule = Callable[[Args, Shape, Shape], Cost]
FormulaRule = Callable[[Args, Shape, Shape], "str | None"]
PrepareRule = Callable[[Args, Shape], Args]
BackwardRule = Callable[[Args, Shape, Shape, Needs], BackwardCost]
#: A factory: the layer to build and the device to put its parameters on (None: torch's default) → nn.Module.
Factory = Callable[["Layer", Any], Any]

REQUIRED: Any = object()


@frozen
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


@frozen
class Absent:
    """An op's explicit statement that it has no implementation of a facet, and why."""

    reason: str


@frozen
class Reverse:
    """One reverse mapping: the PyTorch module types it may describe (imported inside ``modules``) and, for a
    module of one of them (or a subclass whose ``forward`` is the type's own) and its first input tensor ``x``,
    the op's prepared arguments — or None when the op's formula does not describe that module on that input."""

    modules: Callable[[], tuple[type, ...]]
    args: Callable[[Any, Any], dict[str, Any] | None]


class Facet(NamedTuple):
    name: str
    doc: str
    may_be_absent: bool = False


#: Every facet an op must define (or declare ``Absent`` where that is allowed). tests/test_ops.py holds every
#: registered op to this list.
FACETS: tuple[Facet, ...] = (
    Facet("fields", "spec arguments: name → Field (an empty mapping for an op without arguments)"),
    Facet("prepare", "validated spec arguments → final arguments once the input shape is known", True),
    Facet("shape", "output shape from (arguments, input shape)"),
    Facet("cost", "per-image params, MACs and other ops by category, from (arguments, input, output shape)"),
    Facet("formula", "the MACs written out in the course's notation, or None where there are none"),
    Facet("build", "the PyTorch module for a Layer (merge pseudo-ops: their container does the work)", True),
    Facet("reverse", "nn.Module types → the op's arguments (tuple of Reverse)", True),
    Facet("backward", "per-image backward MACs (input and weight gradients) and other ops, given what is needed"),
    Facet("saved", "what it keeps for backward and whether its output is new memory (cnncost.ops.saved.Saved)"),


    Facet("receptive_field", "(arguments, input shape, incoming RF) → the RF of an output unit (ops.receptive)"),
)
FACET_NAMES = frozenset(f.name for f in FACETS)


@frozen
class OpDef:
    """One op: its name, what it is, and its facets (``facets[name]`` is a function, or ``Absent``)."""

    name: str
    summary: str
    category: str  # conv, linear, pool, norm, activation, reshape, regularization, merge
    internal: bool
    facets: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def implementation(self, facet: str) -> Any:
        """The facet's function, or None when the op declares it ``Absent``."""
        value = self.facets[facet]
        return None if isinstance(value, Absent) else value

    @property
    def fields(self) -> Mapping[str, Field]:
        return cast("Mapping[str, Field]", self.facets["fields"])

    @property
    def prepare(self) -> PrepareRule | None:
        return cast("PrepareRule | None", self.implementation("prepare"))

    @property
    def shape(self) -> ShapeRule:
        return cast(ShapeRule, self.facets["shape"])

    @property
    def build(self) -> Factory | None:
        return cast("Factory | None", self.implementation("build"))

    @property
    def reverse(self) -> tuple[Reverse, ...]:
        return cast("tuple[Reverse, ...]", self.implementation("reverse") or ())

    def backward(self, args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
        """The per-image backward cost of the op (the ``backward`` facet) for what the training step ``needs``."""
        return cast(BackwardRule, self.facets["backward"])(args, inp, out, needs)

    def cost(self, args: Args, inp: Shape, out: Shape) -> Cost:
        """The per-image cost of the op with its formula text (the ``cost`` and ``formula`` facets together)."""
        counted = cast(CostRule, self.facets["cost"])(args, inp, out)
        formula = cast(FormulaRule, self.facets["formula"])(args, inp, out)
        return Cost(counted.params, counted.macs, counted.other, formula)


_REGISTRY: dict[str, OpDef] = {}
_INTERNAL: dict[str, OpDef] = {}
_FACETS: dict[str, dict[str, Any]] = {}  # the mutable store behind each OpDef.facets


def define(name: str, *, summary: str, category: str, internal: bool = False, **facets: Any) -> OpDef:
    """Register op ``name`` with its facets (keyword arguments named as in ``FACETS``).

    A second op under one name, or a facet ``FACETS`` does not list, is an error. ``internal`` ops (``add``,
    ``zero_pad`` …) are made by combinators only: a spec cannot name them.
    """
    if name in _REGISTRY or name in _INTERNAL:
        raise ValueError(f"op {name!r} is registered twice")
    unknown = sorted(set(facets) - FACET_NAMES)
    if unknown:
        raise ValueError(f"op {name!r}: no facet named {unknown[0]!r} (facets: {', '.join(sorted(FACET_NAMES))})")
    store = dict(facets)
    if "fields" in store:
        store["fields"] = MappingProxyType(dict(store["fields"]))
    _FACETS[name] = store
    op = OpDef(name, summary, category, internal, MappingProxyType(store))
    (_INTERNAL if internal else _REGISTRY)[name] = op
    _module_index.cache = None
    return op


def implement(facet: str, *names: str) -> Callable[[Any], Any]:
    """Give the ops ``names`` the decorated function as their ``facet`` — for a facet an op does not define yet.
    A facet an op already has (or declares ``Absent``) is an error, like a second op under one name."""
    if facet not in FACET_NAMES:
        raise ValueError(f"no facet named {facet!r}")

    def decorate(function: Any) -> Any:
        for name in names:
            get_op(name)
            if facet in _FACETS[name]:
                raise ValueError(f"{facet} for op {name!r} is registered twice")
        for name in names:
            _FACETS[name][facet] = function
        _module_index.cache = None
        return function

    return decorate


def get_op(name: str) -> OpDef:
    """The op called ``name``; a SpecError with close names suggested when there is none."""
    try:
        return _REGISTRY[name] if name in _REGISTRY else _INTERNAL[name]
    except KeyError:
        raise SpecError(f"unknown op '{name}'", hint=suggest(name, _REGISTRY) or "see 'cnncost ops'") from None


def find_op(name: str) -> OpDef | None:
    """The op called ``name`` (internal ones included), or None."""
    return _REGISTRY.get(name) or _INTERNAL.get(name)


def is_op(name: str) -> bool:
    """Whether a spec may name ``name`` as an op."""
    return name in _REGISTRY


def op_names() -> list[str]:
    """Ops a spec may use (internal ops such as ``zero_pad`` are made by combinators only)."""
    return sorted(_REGISTRY)


def all_ops() -> list[OpDef]:
    """Ops a spec may use, by name."""
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def every_op() -> list[OpDef]:
    """Every registered op, internal ones included, by name."""
    return [find_op(n) for n in sorted({*_REGISTRY, *_INTERNAL})]  # type: ignore[misc]


# ------------------------------------------------------------------------------------------- reverse mapping


class _Index:
    cache: dict[type, list[tuple[str, Reverse]]] | None = None


_module_index = _Index()


def _index() -> dict[type, list[tuple[str, Reverse]]]:
    if _module_index.cache is None:
        index: dict[type, list[tuple[str, Reverse]]] = {}
        for op in every_op():
            for rev in op.reverse:
                for kind in rev.modules():
                    index.setdefault(kind, []).append((op.name, rev))
        _module_index.cache = index
    return _module_index.cache


def _described_type(kind: type) -> type | None:
    """The module type a reverse mapping is registered for that stands for ``kind``: ``kind`` itself, or the
    nearest registered base class when ``kind`` inherits that base's ``forward`` unchanged (a trivial subclass
    computes exactly what its base does, so it counts exactly as its base)."""
    index = _index()
    for base in kind.__mro__:
        if base in index:
            if base is kind or getattr(kind, "forward", None) is getattr(base, "forward", None):
                return base
            return None  # the subclass computes something of its own
    return None


def describes(kind: type) -> bool:
    """Whether some op's reverse mapping may describe modules of type ``kind`` (for some inputs)."""
    return _described_type(kind) is not None


def reverse_op(module: Any, x: Any) -> tuple[str, dict[str, Any]] | None:
    """The op and arguments standing for ``module`` on input ``x``, or None when no op's formula describes it
    (another type, a subclass with its own ``forward``, an input of another rank, a variant the formula
    ignores)."""
    if x is None:
        return None
    base = _described_type(type(module))
    if base is None:
        return None
    for name, rev in _index()[base]:
        args = rev.args(module, x)
        if args is not None:
            return name, args
    return None
