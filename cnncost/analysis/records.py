"""Frozen analysis results. Renderers only format these; nothing here knows about terminals or torch.

Counting convention (CONVENTIONS.md): ``params`` are learnable parameters; ``macs`` are multiply-accumulates of
conv and linear layers, bias excluded; ``flops`` = 2 × MACs; ``other`` holds every other arithmetic operation by
category (bias additions, batchnorm, activations, pooling, residual additions, …), never folded into MACs.
MACs and other ops in a Report are for the whole batch; params are not scaled by batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cnncost.frozen import field, frozen
from cnncost.ir import Shape
from cnncost.ops.receptive import RF

if TYPE_CHECKING:
    from cnncost.analysis.training import Training

#: Categories of "other ops", in the order tables show them.
OTHER_CATEGORIES = ("bias", "batchnorm", "activation", "pooling", "residual", "elementwise", "normalization")


def _merge(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in parts:
        for key, value in part.items():
            out[key] = out.get(key, 0) + value
    return {k: v for k, v in out.items() if v}


@frozen
class CallStats:
    """What one kind of torch call did in a row, summed over its calls (``analyze_module``; batch included)."""

    count: int
    in_elements: int
    out_elements: int
    macs: int
    bias: int


@frozen
class Observed:
    """What the module analyzer saw of one row while the model ran (``analyze_module`` only; None for spec rows).

    ``calls``: how many times the row's module (or its kind of own call, for a container's work) ran;
    ``in_elements`` / ``out_elements``: its first input's and its output's elements over every call and the
    whole batch; ``module``: the class name of the module standing at the row (None for a container's own work);
    ``functions``: the torch calls a row not costed by a registry formula issued, by public name (None for a
    known module, whose formula stands for everything inside it); ``weights``: the parameters the row holds, by
    name, with their sizes (None for a known module); ``unknown``: operators without a formula, with their call
    counts. ``cnncost.analysis.conventions`` reads these to predict what other counters report.
    """

    calls: int
    in_elements: int
    out_elements: int
    module: str | None = None
    functions: Mapping[str, CallStats] | None = None
    weights: Mapping[str, int] | None = None
    unknown: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@frozen
class Record:
    """One row of analysis: a layer (``kind == "layer"``) or a group subtotal (``block``, ``repeat``, ``copy``,
    ``branch``, ``concat``, ``residual``, ``shortcut``, ``scale``).

    ``depth`` is the nesting depth of the row: 0 for top-level entries. ``macs`` and ``other`` are for the whole
    batch; ``formula`` is per image. ``args`` are the op's arguments (a spec layer's, or those of the registry op a
    known module stands for); ``observed`` is what ``analyze_module`` measured of the row (None for spec rows).
    """

    path: str
    name: str
    kind: str
    op: str
    depth: int
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int
    other: Mapping[str, int]
    formula: str | None = None
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    observed: Observed | None = None
    #: The receptive field of one unit of the row's output (``cnncost.analysis.receptive``); None where it cannot
    #: be known (a ``--module`` row past what the observed chain proves).
    receptive: RF | None = None

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def other_ops(self) -> int:
        return sum(self.other.values())

    @property
    def is_layer(self) -> bool:
        return self.kind == "layer"


@frozen
class Totals:
    params: int
    macs: int
    other: Mapping[str, int]

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def other_ops(self) -> int:
        return sum(self.other.values())

    @staticmethod
    def of(records: Iterable[Record]) -> Totals:
        rows = list(records)
        return Totals(
            params=sum(r.params for r in rows),
            macs=sum(r.macs for r in rows),
            other=MappingProxyType(_merge(r.other for r in rows)),
        )


@frozen
class Report:
    """The analysis of one network: every row in pre-order (a group row comes before its children) and totals.

    ``records`` holds both layer rows and group rows; ``layers()`` gives only the layers, whose columns sum to
    ``totals``.
    """

    name: str
    description: str
    input_shape: Shape
    batch: int
    records: tuple[Record, ...]
    totals: Totals
    variables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    source: str | None = None
    #: Operators the counter could not cost, by name, with their call counts (``analyze_module`` only): listed,
    #: never silently counted as zero. Empty for specs, whose every op has a formula.
    unknown_ops: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: The training view: the paths of the training-only side heads counted in the rows and totals (``aux=True``);
    #: empty for the inference network.
    aux_heads: tuple[str, ...] = ()
    #: The training analysis (trainable / frozen params, backward MACs), when one was asked for: see
    #: ``cnncost.analysis.training``.
    training: Training | None = None

    def layers(self) -> tuple[Record, ...]:
        return tuple(r for r in self.records if r.is_layer)

    def groups(self) -> tuple[Record, ...]:
        return tuple(r for r in self.records if not r.is_layer)

    def find(self, path: str) -> Record:
        for r in self.records:
            if r.path == path:
                return r
        raise KeyError(path)

    def collapsed(self, depth: int | None) -> tuple[Record, ...]:
        """Rows to show when blocks deeper than ``depth`` are folded into their subtotal.

        ``depth=None`` shows every layer. ``depth=0`` shows only top-level entries (a group row standing for its
        whole subtree). The rows returned always sum to the totals.
        """
        if depth is None:
            return self.layers()
        rows: list[Record] = []
        for r in self.records:
            if r.depth > depth:
                continue
            if r.depth == depth or r.is_layer:
                rows.append(r)
        return tuple(rows)

    @property
    def output_shape(self) -> Shape:
        layers = self.layers()
        return layers[-1].output_shape if layers else self.input_shape

    def summary(self) -> Summary:
        return Summary(self.name, self.description, self.source, self.input_shape, self.output_shape, self.totals)


@frozen
class Summary:
    """What ``cnncost list`` shows of a network: its identity, its input and output, its totals."""

    name: str
    description: str
    source: str | None
    input_shape: Shape
    output_shape: Shape
    totals: Totals
