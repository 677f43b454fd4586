"""Spec IR → ``torch.nn.Module``, op for op: the second, independent road from the same network.

The builder walks the IR node for node and never changes it. Every Layer that does work becomes one module
whose fully qualified name (what ``named_modules()`` and FlopCounterMode report) is the Layer's ``path``;
containers mirror the IR's nesting:

- a ``Sequence`` is a module whose children are its nodes, named by ``node.name``;
- a ``Residual`` is a module holding its body's layers directly (the body is transparent: it shares the
  residual's path) plus a ``shortcut`` child when the shortcut is not the identity; forward adds the two;
- a ``Scale`` holds its gate's layers directly likewise and multiplies its input by the gate's output;
- a ``Concat`` holds one child per branch, named by the branch, and joins their outputs along channels;
- a ``Save`` marker adds no module: the container that runs it keeps the tensor before it in the store of the
  network's forward (a dict made by the network's ``NetworkModule`` for each forward and dropped when it ends,
  reached through a context variable, so copies of the module share nothing and hold no tensors);
- a ``Join`` holds one child per tensor read, named by the saved name (the layers run on it, e.g. a crop), and
  joins their outputs with its input (``torch.cat`` on channels, saved tensors first, or a sum);
- an ``Aux`` head is built only when asked for (``build_module(..., aux=True)``): its layers sit directly in an
  ``AuxModule`` at the head's path, which runs them in training mode only (as torchvision's ``aux_logits``) and
  passes its input on; their outputs are kept in the built network's ``aux_outputs`` by name after a training
  forward. Without ``aux`` the network is the inference network, and the analysis's totals are its own.

The merge pseudo-layers the analysis emits (``add``, ``concat``, ``multiply``) have no module: the container
does that work in forward. Any IR node whose path equals its parent's path is inlined into the parent, so the
module tree follows the paths the resolver chose rather than a fixed nesting: a flat concat (SqueezeNet's fire,
whose ``expand1x1`` and ``expand3x3`` sit beside its ``squeeze``) becomes a step of its container's forward that
joins the container's own children.

Modules take NCHW input (torch's convention); IR shapes are ``(H, W, C)`` or ``(N,)``. Each layer's module comes
from its op's ``build`` facet (``cnncost.ops``): the op's one definition, read here; this module keeps only the
containers and the walk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

import torch
from torch import nn

from cnncost.errors import CnnCostError, DeviceError, SpecError, suggest
from cnncost.ir import Aux, Concat, Join, Layer, Network, Node, Residual, Save, Scale, Sequence, iter_nodes
from cnncost.ops import every_op, find_op, implement
from cnncost.ops.registry import Factory

#: Ops the analysis emits for merges. They have no module (their ``build`` facet is ``Absent``): their container
#: does the work in forward.
MERGE_OPS = frozenset(op.name for op in every_op() if op.build is None)


def register_builder(*ops: str) -> Callable[[Factory], Factory]:
    """Give the ops ``ops`` the decorated factory as their ``build`` facet (an op defined without one). An op that
    already has a factory, or says it has none (a merge pseudo-op), is an error."""
    return implement("build", *ops)


def builder_ops() -> list[str]:
    """Ops the builder can turn into modules (merge pseudo-ops excluded)."""
    return sorted(op.name for op in every_op() if op.build is not None)


def get_builder(layer: Layer) -> Factory:
    """The factory for ``layer.op`` (its ``build`` facet); a one-line error naming the layer when there is none."""
    op = find_op(layer.op)
    factory = op.build if op is not None else None
    if factory is None:
        raise CnnCostError(
            f"op '{layer.op}' has no PyTorch builder",
            path=layer.path or layer.name,
            hint=suggest(layer.op, builder_ops()) or "the analysis can still count it: run without --verify/build",
            **layer.where.as_kwargs(),
        )
    return factory


def _child(module: nn.Module, name: str) -> nn.Module:
    child = module._modules[name]
    assert child is not None
    return child


# ------------------------------------------------------------------------------------------- containers


class _Keep(str):
    """A step that runs nothing: it keeps the tensor at that point in the store under its name (a ``Save``)."""

    __slots__ = ()


#: The saved tensors and the aux heads' outputs of the network forward in progress (``NetworkModule``).
_FORWARD: ContextVar[tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None] = ContextVar(
    "cnncost_forward", default=None
)


def _forward_state() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    state = _FORWARD.get()
    if state is None:
        raise CnnCostError(
            "this part of a built network keeps or reads saved tensors (or runs an aux head): it runs only inside "
            "the whole network's forward",
            hint="call the network built by build_module, not this submodule on its own",
        )
    return state


class _Join:
    """A concat inlined into the module that holds its branches' modules (a flat concat of the spec): a step of
    that module's forward, joining what its own children compute."""

    def __init__(self, branches: tuple[Steps, ...], split: tuple[int, ...] | None) -> None:
        self.branches = branches
        self.split = split

    def run(self, owner: _Container, x: torch.Tensor) -> torch.Tensor:
        if self.split is None:
            return torch.cat([owner._run(steps, x) for steps in self.branches], dim=1)
        parts = torch.split(x, list(self.split), dim=1)
        return torch.cat([owner._run(s, part) for s, part in zip(self.branches, parts, strict=True)], dim=1)


Steps = tuple["str | _Join", ...]


class _Container(nn.Module):
    """A module that runs lists of its own children by name: ``steps`` are attribute names (or a join of several
    lists of them), in order; a ``_Keep`` step keeps the tensor in the store of the network forward in progress."""

    def _run(self, steps: Steps, x: torch.Tensor) -> torch.Tensor:
        for step in steps:
            if isinstance(step, _Keep):
                _forward_state()[0][step] = x
            elif isinstance(step, str):
                x = _child(self, step)(x)
            else:
                x = step.run(self, x)
        return x


class SequenceModule(_Container):
    """IR ``Sequence``: children one after another."""

    def __init__(self, kind: str = "") -> None:
        super().__init__()
        self.kind = kind
        self._steps: Steps = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self._steps, x)

    def extra_repr(self) -> str:
        return self.kind


class NetworkModule(SequenceModule):
    """The built network when it keeps tensors for a ``join`` or has aux heads: its forward empties the store
    when it ends (saved tensors live for one forward) and, in training, exposes the aux heads' outputs as
    ``aux_outputs`` (name → tensor; empty in eval mode)."""

    def __init__(self) -> None:
        super().__init__("network")
        self.aux_outputs: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        aux: dict[str, torch.Tensor] = {}
        token = _FORWARD.set(({}, aux))
        try:
            return self._run(self._steps, x)
        finally:
            _FORWARD.reset(token)
            self.aux_outputs = aux


class ResidualModule(_Container):
    """IR ``Residual``: ``g(body(x) + shortcut(x))``; the shortcut is the identity when it has no steps, and
    ``g`` (the optional activation after the addition) likewise."""

    def __init__(self, shortcut_kind: str = "identity", shortcut_first: bool = False) -> None:
        super().__init__()
        self.shortcut_kind = shortcut_kind
        self.shortcut_first = shortcut_first
        self._body: Steps = ()
        self._shortcut: Steps = ()
        self._after: Steps = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut_first:  # the shortcut runs first (RegNet: proj(x) + f(x))
            return self._run(self._after, self._run(self._shortcut, x) + self._run(self._body, x))
        return self._run(self._after, self._run(self._body, x) + self._run(self._shortcut, x))

    def extra_repr(self) -> str:
        return f"shortcut={self.shortcut_kind}"


class ScaleModule(_Container):
    """IR ``Scale``: ``x * gate(x)`` (squeeze-and-excitation)."""

    def __init__(self) -> None:
        super().__init__()
        self._gate: Steps = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self._run(self._gate, x)


class ConcatModule(_Container):
    """IR ``Concat``: branches on the same input, outputs joined along channels; with ``split`` (channel sizes)
    each branch runs on its own consecutive slice of the input's channels instead."""

    def __init__(self, split: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.split = split
        self._branches: tuple[Steps, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split is None:
            return torch.cat([self._run(steps, x) for steps in self._branches], dim=1)
        parts = torch.split(x, list(self.split), dim=1)
        return torch.cat([self._run(steps, part) for steps, part in zip(self._branches, parts, strict=True)], dim=1)

    def extra_repr(self) -> str:
        return "" if self.split is None else f"split={list(self.split)}"


class JoinModule(_Container):
    """IR ``Join``: the saved tensors, each through its own steps (a crop, a lateral conv), joined with the
    input: ``torch.cat([*saved, x], dim=1)`` or ``x + Σ saved``."""

    def __init__(self, mode: str, saved: tuple[str, ...], release: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.mode = mode
        self.saved = saved
        self.release = release  # the saved tensors no later join reads: dropped from the store once read here
        self._reads: tuple[Steps, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        store = _forward_state()[0]
        parts = [self._run(steps, store[name]) for name, steps in zip(self.saved, self._reads, strict=True)]
        for name in self.release:  # nothing later reads it: its memory goes as soon as this join is done
            del store[name]
        if self.mode == "concat":
            return torch.cat([*parts, x], dim=1)
        for part in parts:
            x = x + part
        return x

    def extra_repr(self) -> str:
        return f"mode={self.mode}, with={list(self.saved)}"


class AuxModule(_Container):
    """IR ``Aux``: a side head run in training mode only (its output kept by name for ``aux_outputs``); the
    input passes on unchanged, in both modes."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.head_name = name
        self._head: Steps = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            _forward_state()[1][self.head_name] = self._run(self._head, x)
        return x

    def extra_repr(self) -> str:
        return "training only"


# ------------------------------------------------------------------------------------------- the walk


def _where(node: Node) -> dict[str, Any]:
    return node.where.as_kwargs()


class _Builder:
    def __init__(
        self, device: Any, *, aux: bool = False, last_reads: Mapping[str, tuple[str, ...]] | None = None
    ) -> None:
        self.device = device
        self.aux = aux
        self.last_reads = last_reads or {}  # join path → the saved tensors it is the last to read

    def module(self, node: Node) -> nn.Module:
        """The module standing at ``node.path``."""
        if isinstance(node, Layer):
            built: nn.Module = get_builder(node)(node, self.device)
            return built
        if isinstance(node, Sequence):
            own = [c for c in node.children if not _is_merge(c) and not self._left_out(c)]
            if len(own) == 1 and own[0].path == node.path and not isinstance(own[0], (Sequence, Save)):
                return self.module(own[0])  # a sequence of one node at its own path is that node
            seq = SequenceModule(node.kind)
            seq._steps = self.attach(seq, node.path, node)
            return seq
        if isinstance(node, Join):
            join = JoinModule(node.mode, node.saved, self.last_reads.get(node.path, ()))
            join._reads = tuple(self.attach(join, node.path, r) for r in node.reads)
            return join
        if isinstance(node, Aux):
            head = AuxModule(node.name)
            head._head = self.attach(head, node.path, node.head)
            return head
        if isinstance(node, Residual):
            res = ResidualModule(node.shortcut_kind, node.shortcut_first)
            if node.shortcut is not None and node.shortcut_first:
                res._shortcut = self.attach(res, node.path, node.shortcut)
            res._body = self.attach(res, node.path, node.body)
            if node.shortcut is not None and not node.shortcut_first:
                res._shortcut = self.attach(res, node.path, node.shortcut)
            if node.activation is not None:
                res._after = self.attach(res, node.path, node.activation)
            return res
        if isinstance(node, Scale):
            scale = ScaleModule()
            scale._gate = self.attach(scale, node.path, node.gate)
            return scale
        if isinstance(node, Concat):
            cat = ConcatModule(node.split)
            cat._branches = tuple(self.attach(cat, node.path, b) for b in node.branches)
            return cat
        raise TypeError(f"not an IR node: {node!r}")

    def attach(self, owner: nn.Module, owner_path: str, node: Node) -> Steps:
        """Add ``node``'s module(s) to ``owner`` (standing at ``owner_path``); return the steps that run them.

        A Sequence at the owner's own path is transparent: its children become the owner's children. An empty
        Sequence (the identity branch of a ``split``) adds no module and no step: a module without children would
        read as a layer of its own to ``analyze_module``.
        """
        if isinstance(node, Save):
            return (_Keep(node.name),)
        if _is_merge(node) or self._left_out(node) or (isinstance(node, Sequence) and not node.children):
            return ()
        if node.path == owner_path:
            if isinstance(node, Sequence):
                steps: list[str | _Join] = []
                for child in node.children:
                    steps.extend(self.attach(owner, owner_path, child))
                return tuple(steps)
            if isinstance(node, Concat):  # a flat concat: its branches' modules are the owner's children
                return (_Join(tuple(self.attach(owner, owner_path, b) for b in node.branches), node.split),)
            raise CnnCostError(
                f"{type(node).__name__.lower()} '{node.name}' has the same path as its container, "
                "so PyTorch could not name its module",
                path=node.path or node.name,
                hint="this is a bug in the spec resolver: please report it",
                **_where(node),
            )
        name = _child_name(owner_path, node)
        if name in owner._modules:
            raise SpecError(
                f"two layers share the module path '{node.path}'",
                path=node.path,
                hint="give the layers different names",
                **_where(node),
            )
        if hasattr(owner, name):
            raise SpecError(
                f"the layer name '{name}' is taken by PyTorch's nn.Module",
                path=node.path,
                hint=f"rename the layer (e.g. '{name}_')",
                **_where(node),
            )
        owner.add_module(name, self.module(node))
        return (name,)

    def _left_out(self, node: Node) -> bool:
        """An aux head, when the inference network is built."""
        return isinstance(node, Aux) and not self.aux


def _is_merge(node: Node) -> bool:
    return isinstance(node, Layer) and node.op in MERGE_OPS


def _child_name(owner_path: str, node: Node) -> str:
    prefix = f"{owner_path}." if owner_path else ""
    name = node.path[len(prefix) :] if node.path.startswith(prefix) else ""
    if not name or "." in name:
        raise CnnCostError(
            f"the path '{node.path}' is not a direct child of '{owner_path or '(network)'}'",
            path=node.path or node.name,
            hint="this is a bug in the spec resolver: please report it",
            **_where(node),
        )
    return name


def _device(device: Any) -> Any:
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise DeviceError(f"'{device}' is not a PyTorch device", hint=f"use cpu, cuda or meta ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device 'cuda' was asked for but CUDA is not available", hint="use --device cpu")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("device 'mps' was asked for but MPS is not available", hint="use --device cpu")
    return dev


def build_module(network: Network, *, device: Any = None, aux: bool = False) -> nn.Module:
    """Build ``network`` as an ``nn.Module`` (in training mode, like any fresh module).

    ``device="meta"`` allocates no weights: shapes and FLOP counts only. The names ``named_modules()`` gives
    are the IR paths of the network's layers (merge pseudo-layers aside). Takes NCHW input. With ``aux`` the
    training-only side heads are built too (they hold parameters and run in ``.train()`` mode only; their
    outputs land in the module's ``aux_outputs``), as torchvision builds ``aux_logits=True``.
    """
    root = network.root
    last: dict[str, str] = {}  # saved tensor → the path of the last join that reads it
    for node in iter_nodes(root):
        if isinstance(node, Join):
            last.update(dict.fromkeys(node.saved, node.path))
    last_reads: dict[str, tuple[str, ...]] = {}
    for name, path in last.items():
        last_reads[path] = (*last_reads.get(path, ()), name)
    builder = _Builder(_device(device), aux=aux, last_reads=last_reads)
    graph = any(isinstance(n, (Save, Aux)) for n in iter_nodes(root))
    if not root.path and not graph:
        return builder.module(root)
    wrapper: SequenceModule = NetworkModule() if graph else SequenceModule("network")
    wrapper._steps = builder.attach(wrapper, "", root)
    return wrapper
