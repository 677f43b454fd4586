"""The resolved network: what a spec means once variables, blocks and repeats are expanded.

The spec resolver (``cnncost.spec.resolve``) produces this tree; the analytic engine (``cnncost.analysis``) and
the PyTorch builder (``cnncost.torch.build``) both walk it, node for node. Every node knows its input and output
shape, so neither walker repeats the shape arithmetic, and every node knows where in the YAML it came from, so
any later error can still point at the file, line and layer.

Shapes are tuples in the course's order: ``(H, W, C)`` for feature maps and ``(N,)`` for flat vectors. Batch is
never part of a shape.

Graphs that are not a chain. Most nodes take the tensor before them and give one tensor to the node after them.
Two kinds of node reach further:

- **Saved tensors** (U-Net's long skips, FPN's lateral inputs). A layer item with ``save: NAME`` is followed, in
  its Sequence's ``children``, by a ``Save`` marker: from that point in execution order the item's output is kept
  under NAME (``Save.source`` is the producing node's path). A ``Join`` reads saved tensors: ``Join.reads`` holds
  one Sequence per name read (``kind="saved"``, ``name`` = the saved name, ``in_shape`` = the saved tensor's
  shape), holding the layers applied to it first (``crop``, a lateral conv; empty when it is used as is); the
  results are joined with the Join's input (``mode``: ``concat`` on channels, saved tensors first, or ``add``).
  ``Join.saved`` names the tensors read and ``Join.sources`` their producers' paths, in ``reads`` order. A saved
  tensor is therefore alive from its ``Save`` marker to the last ``Join`` (in execution order) whose ``saved``
  names it; names are unique in a network (the resolver refuses a name saved twice or read before it is saved).
- **Training-only side heads** (GoogLeNet's ``aux1``/``aux2``, Inception-v3's ``AuxLogits``). An ``Aux`` node
  passes its input on unchanged (``out_shape == in_shape``) and holds a ``head`` Sequence that branches off there
  and runs only in training; its output is a second network output, read by no later node. The head's layers are
  not part of the inference network: the analytic engine leaves them out unless asked for the training view
  (``analyze_network(..., aux=True)``), and the builder builds them only on request.

``children_of`` returns every child in execution order, a ``Join``'s reads and an ``Aux``'s head included, so a
walker that recurses through it meets everything (and must skip ``Aux`` nodes for inference figures).
``iter_layers`` (and ``Network.layers``) gives every Layer beneath a node in execution order — a join's crops
and lateral convs before the join — leaving aux heads out unless ``aux=True``, as the analysis and the builder
do by default. A ``Save`` marker has no children and is not a Layer: a walker that needs it (liveness) meets it
through ``children_of`` or ``iter_nodes``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from cnncost.frozen import field, frozen

Shape = tuple[int, ...]


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@frozen
class Where:
    """Where a node came from: the spec file, the line and column of its YAML, and its spec path."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    spec_path: str = ""

    def as_kwargs(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


@frozen
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


@frozen
class Sequence:
    """Children applied one after another. ``kind`` says what made it: ``network``, ``sequence``, ``block``, ``repeat``,
    ``copy`` (one copy of a repeat), ``branch`` (one branch of a concat or split), ``shortcut``,
    ``residual-body``, ``scale-gate``, ``saved`` (what a join runs on one saved tensor), ``aux-head``;
    ``label`` is the block name for blocks. A Sequence's children may include ``Save`` markers."""

    name: str
    path: str
    kind: str
    label: str
    children: tuple[Node, ...]
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)


@frozen
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


@frozen
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


@frozen
class Scale:
    """``x * gate(x)``: the gate's output (``1×1×C`` or ``H×W×C``) multiplies the input element-wise, as in
    squeeze-and-excitation. The gate is transparent like a residual's body (``se.conv1``)."""

    name: str
    path: str
    gate: Sequence
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)


@frozen
class Save:
    """A marker after the node whose output is kept under ``name`` (a spec item's ``save: NAME``); ``source``
    is that node's path, ``shape`` the tensor's shape. It does no work and passes its input on: in a Sequence's
    children it stands right after its producer, in execution order."""

    name: str
    source: str
    shape: Shape
    where: Where = field(default_factory=Where)

    @property
    def path(self) -> str:
        return self.source

    @property
    def in_shape(self) -> Shape:
        return self.shape

    @property
    def out_shape(self) -> Shape:
        return self.shape


@frozen
class Join:
    """The input joined with tensors saved earlier: ``mode`` ``concat`` (on channels, the saved tensors first
    in ``saved`` order, then the input — U-Net's crop-and-concatenate) or ``add`` (FPN's merge).

    ``reads[i]`` is a Sequence (``kind="saved"``) named ``saved[i]``, at path ``<join path>.<name>``, whose
    ``in_shape`` is the saved tensor's and whose children (possibly none) run on it before the join: a
    ``crop`` to the input's height and width, a lateral conv. ``sources[i]`` is the path of the node that
    produced ``saved[i]``."""

    name: str
    path: str
    mode: str
    saved: tuple[str, ...]
    sources: tuple[str, ...]
    reads: tuple[Sequence, ...]
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)


@frozen
class Aux:
    """A training-only side head (an auxiliary classifier) branching off here: ``head`` runs on the input in
    training only, and the input passes on unchanged. The head is transparent like a residual's body: its
    layers sit directly under the aux node's path (``aux1.conv.conv``, ``aux1.fc1``), as in torchvision."""

    name: str
    path: str
    head: Sequence
    in_shape: Shape
    out_shape: Shape
    where: Where = field(default_factory=Where)


Node = Layer | Sequence | Concat | Residual | Scale | Save | Join | Aux
_N = TypeVar("_N", bound=Node)


@frozen
class Network:
    """A fully resolved network: the root sequence plus what the spec says about itself."""

    name: str
    description: str
    root: Sequence
    input_shape: Shape
    variables: Mapping[str, Any] = field(default_factory=_frozen)
    file: str | None = None
    meta: Mapping[str, Any] = field(default_factory=_frozen)

    def layers(self, *, aux: bool = False) -> Iterator[Layer]:
        """Every Layer in execution order (shortcut layers after their residual's body, a join's crops before
        it): the layers of the module ``build_module`` builds. With ``aux=True`` the training-only heads' layers
        too, where they branch off."""
        yield from iter_layers(self.root, aux=aux)

    def has_aux(self) -> bool:
        """Whether the network declares a training-only side head."""
        return any(isinstance(node, Aux) for node in iter_nodes(self.root))


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
    if isinstance(node, Join):
        return node.reads
    if isinstance(node, Aux):
        return (node.head,)
    return ()


def iter_layers(node: Node, *, aux: bool = False) -> Iterator[Layer]:
    """Every Layer beneath ``node`` in execution order — the inference network's, as the analysis counts it and
    ``build_module`` builds it; with ``aux=True`` also those of training-only heads (the training view)."""
    if isinstance(node, Layer):
        yield node
        return
    if isinstance(node, Aux) and not aux:
        return
    for child in children_of(node):
        yield from iter_layers(child, aux=aux)


def iter_nodes(node: Node) -> Iterator[Node]:
    """``node`` and every node beneath it, in execution order (pre-order): Save markers and Aux heads too."""
    yield node
    for child in children_of(node):
        yield from iter_nodes(child)


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
            return changed(n, path=path, name=name)
        if isinstance(n, Sequence):
            return changed(n, path=path, name=name, children=tuple(move(c) for c in n.children))
        if isinstance(n, Concat):
            return changed(n, path=path, name=name, branches=tuple(move(b) for b in n.branches))
        if isinstance(n, Residual):
            return changed(
                n,
                path=path,
                name=name,
                body=move(n.body),
                shortcut=None if n.shortcut is None else move(n.shortcut),
                activation=None if n.activation is None else move(n.activation),
            )
        if isinstance(n, Scale):
            return changed(n, path=path, name=name, gate=move(n.gate))
        if isinstance(n, Join):
            sources = tuple(new + s[cut:] if s.startswith(old + ".") else s for s in n.sources)
            return changed(n, path=path, name=name, reads=tuple(move(r) for r in n.reads), sources=sources)
        if isinstance(n, Aux):
            return changed(n, path=path, name=name, head=move(n.head))
        if isinstance(n, Save):
            source = new + n.source[cut:] if n.source.startswith(old + ".") else n.source
            return changed(n, source=source)
        raise TypeError(f"not a node: {type(n).__name__}")

    result: Node = move(node)
    return result


def changed(node: _N, **changes: Any) -> _N:
    """``dataclasses.replace`` for a node whose new field values are already checked (a moved copy's, a copy's
    label): every field, those a later change adds included, carried over as is — without ``replace``'s
    field-by-field ``__init__``, a third of resolving a deep network."""
    assert changes.keys() <= node.__dict__.keys()  # fields only (a record's __dict__ holds exactly its fields)
    copy = object.__new__(type(node))
    copy.__dict__.update(node.__dict__)
    copy.__dict__.update(changes)
    return copy
