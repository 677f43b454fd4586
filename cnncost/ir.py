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
    residual (``layer1.0.conv1``, ``layer1.0.shortcut.conv``), as in torchvision. ``activation`` is an optional
    activation Layer applied after the addition (the course's ``A[l+2] = g(Z[l+2] + A[l])``), named after its op
    (``layer1.0.relu``)."""

    name: str
    path: str
    body: Sequence
    shortcut: Sequence | None
    shortcut_kind: str
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)
    activation: Layer | None = None


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
        parts: tuple[Node, ...] = (node.body,) if node.shortcut is None else (node.body, node.shortcut)
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


def moved(node: Node, old: str, new: str) -> Node:
    """``node`` with every path under ``old`` (the node's own path included) moved under ``new`` — a repeat's
    copy reused as another copy (``layer1.1`` → ``layer1.7``), all else shared, as nodes are frozen. The nodes
    standing at ``old`` itself (the copy, and the transparent body or gate of a residual or scale it is) are
    named after it, so they take the last part of ``new`` as their name."""
    cut = len(old)
    old_name, new_name = old.rpartition(".")[2], new.rpartition(".")[2]

    def move(n: Any) -> Any:
        path, name = n.path, n.name
        if path == old:
            path, name = new, (new_name if name == old_name else name)
        elif path.startswith(old + "."):
            path = new + path[cut:]
        if isinstance(n, Layer):
            return _changed(n, path=path, name=name)
        if isinstance(n, Sequence):
            return _changed(n, path=path, name=name, children=tuple(move(c) for c in n.children))
        if isinstance(n, Concat):
            return _changed(n, path=path, name=name, branches=tuple(move(b) for b in n.branches))
        if isinstance(n, Residual):
            return _changed(
                n,
                path=path,
                name=name,
                body=move(n.body),
                shortcut=None if n.shortcut is None else move(n.shortcut),
                activation=None if n.activation is None else move(n.activation),
            )
        if isinstance(n, Scale):
            return _changed(n, path=path, name=name, gate=move(n.gate))
        raise TypeError(f"not a node: {type(n).__name__}")

    result: Node = move(node)
    return result


def _changed(node: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` for a node whose new field values are already checked (a moved copy's): every
    field, those a later change adds included, carried over as is — without ``replace``'s field-by-field
    ``__init__``, a third of resolving a deep network."""
    assert changes.keys() <= node.__dataclass_fields__.keys()
    copy = object.__new__(type(node))
    copy.__dict__.update(node.__dict__)
    copy.__dict__.update(changes)
    return copy
