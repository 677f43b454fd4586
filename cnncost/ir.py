"""The resolved network: what a spec means once variables, blocks and repeats are expanded.

The spec resolver (``cnncost.spec.resolve``) produces this tree; the analytic engine (``cnncost.analysis``) and
the PyTorch builder (``cnncost.torch.build``) both walk it, node for node. Every node knows its input and output
shape, so neither walker repeats the shape arithmetic, and every node knows where in the YAML it came from, so
any later error can still point at the file, line and layer.

Shapes are tuples in the course's order: ``(H, W, C)`` for feature maps and ``(N,)`` for flat vectors. Batch is
never part of a shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

Shape = tuple[int, ...]


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Where:
    """Where a node came from: the spec file, the line and column of its YAML, and its spec path."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    spec_path: str = ""

    def as_kwargs(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class Layer:
    """One operation: ``op`` names an entry of the op registry, ``args`` are its resolved, normalized arguments.

    ``path`` is the dotted module path, the same string PyTorch reports for the built module
    (``layer1.0.conv1``).
    """

    name: str
    path: str
    op: str
    args: Mapping[str, Any]
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)


@dataclass(frozen=True)
class Sequence:
    """Children applied one after another. ``kind`` says what made it: ``network``, ``block``, ``repeat``,
    ``copy`` (one copy of a repeat), ``branch`` (one branch of a concat), ``shortcut``, ``scale`` (the gate of a
    ``scale`` combinator); ``label`` is the block name for blocks."""

    name: str
    path: str
    kind: str
    label: str
    children: tuple[Node, ...]
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)


@dataclass(frozen=True)
class Concat:
    """Parallel branches on the same input, joined along channels.

    ``split`` is ``None`` for a plain ``concat`` (every branch sees the whole input) and, for the ``split``
    combinator, the channel count of each branch's slice: the input's channels are cut into consecutive slices
    in branch order (``torch.split``), each branch runs on its own slice (its ``in_shape`` is the slice's)."""

    name: str
    path: str
    branches: tuple[Sequence, ...]
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)
    split: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Residual:
    """``body(x) + shortcut(x)``. ``shortcut`` is ``None`` for the identity; otherwise a Sequence named
    ``shortcut`` holding either a learned 1×1 projection (conv, optionally bn) or a fixed ``zero_pad`` layer.
    ``shortcut_kind`` records which: ``identity``, ``projection`` or ``zero-pad``.

    The body is transparent: its path is the residual's own path, so its layers sit directly under the
    residual (``layer1.0.conv1``, ``layer1.0.shortcut.conv``; named like torchvision's, ``layer1.0.downsample.0``,
    when the spec says so). ``activation`` is an optional activation Layer applied after the addition (the
    course's ``A[l+2] = g(Z[l+2] + A[l])``), named after its op (``layer1.0.relu``). ``shortcut_first``: the
    shortcut runs (and its module is registered) before the body, as torchvision's RegNet does (``proj``, ``f``)."""

    name: str
    path: str
    body: Sequence
    shortcut: Sequence | None
    shortcut_kind: str
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)
    activation: Layer | None = None
    shortcut_first: bool = False


@dataclass(frozen=True)
class Scale:
    """``x * gate(x)``: the gate's output (``1×1×C`` or ``H×W×C``) multiplies the input element-wise, as in
    squeeze-and-excitation. The gate is transparent like a residual's body (``se.conv1``)."""

    name: str
    path: str
    gate: Sequence
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)


Node = Layer | Sequence | Concat | Residual | Scale


@dataclass(frozen=True)
class Network:
    """A fully resolved network: the root sequence plus what the spec says about itself."""

    name: str
    description: str
    root: Sequence
    input_shape: Shape
    variables: Mapping[str, Any] = field(default_factory=_frozen)
    file: str | None = None
    meta: Mapping[str, Any] = field(default_factory=_frozen)

    def layers(self) -> Iterator[Layer]:
        """Every Layer in execution order (shortcut layers after their residual's body)."""
        yield from iter_layers(self.root)


def children_of(node: Node) -> tuple[Node, ...]:
    """The direct child nodes of any node, in execution order."""
    if isinstance(node, Sequence):
        return node.children
    if isinstance(node, Concat):
        return node.branches
    if isinstance(node, Residual):
        parts: tuple[Node, ...] = (
            (node.body,)
            if node.shortcut is None
            else (node.shortcut, node.body)
            if node.shortcut_first
            else (node.body, node.shortcut)
        )
        return parts if node.activation is None else (*parts, node.activation)
    if isinstance(node, Scale):
        return (node.gate,)
    return ()


def iter_layers(node: Node) -> Iterator[Layer]:
    if isinstance(node, Layer):
        yield node
        return
    for child in children_of(node):
        yield from iter_layers(child)


def join_path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name
