"""Spec IR → ``torch.nn.Module``, op for op: the second, independent road from the same network.

The builder walks the IR node for node and never changes it. Every Layer that does work becomes one module
whose fully qualified name (what ``named_modules()`` and FlopCounterMode report) is the Layer's ``path``;
containers mirror the IR's nesting:

- a ``Sequence`` is a module whose children are its nodes, named by ``node.name``;
- a ``Residual`` is a module holding its body's layers directly (the body is transparent: it shares the
  residual's path) plus a ``shortcut`` child when the shortcut is not the identity; forward adds the two;
- a ``Scale`` holds its gate's layers directly likewise and multiplies its input by the gate's output;
- a ``Concat`` holds one child per branch, named by the branch, and joins their outputs along channels.

The merge pseudo-layers the analysis emits (``add``, ``concat``, ``multiply``) have no module: the container
does that work in forward. Any IR node whose path equals its parent's path is inlined into the parent, so the
module tree follows the paths the resolver chose rather than a fixed nesting.

Modules take NCHW input (torch's convention); IR shapes are ``(H, W, C)`` or ``(N,)``. Every op maps to one
factory in a registry (``register_builder``) that refuses a second factory under the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnncost.errors import CnnCostError, DeviceError, ShapeError, SpecError, suggest
from cnncost.ir import Concat, Layer, Network, Node, Residual, Scale, Sequence

#: A factory: the layer to build and the device to put its parameters on (None: torch's default).
Factory = Callable[[Layer, Any], nn.Module]

#: Ops the analysis emits for merges. They have no module: their container does the work in forward.
MERGE_OPS = frozenset({"add", "concat", "multiply"})

_BUILDERS: dict[str, Factory] = {}


def register_builder(*ops: str) -> Callable[[Factory], Factory]:
    """Register the decorated factory for each op in ``ops``. A second factory for one op is an error."""

    def decorate(factory: Factory) -> Factory:
        for op in ops:
            if op in _BUILDERS or op in MERGE_OPS:
                raise ValueError(f"a PyTorch builder for op {op!r} is registered twice")
            _BUILDERS[op] = factory
        return factory

    return decorate


def builder_ops() -> list[str]:
    """Ops the builder can turn into modules (merge pseudo-ops excluded)."""
    return sorted(_BUILDERS)


def get_builder(layer: Layer) -> Factory:
    """The factory for ``layer.op``; a one-line error naming the layer when there is none."""
    try:
        return _BUILDERS[layer.op]
    except KeyError:
        raise CnnCostError(
            f"op '{layer.op}' has no PyTorch builder",
            path=layer.path or layer.name,
            hint=suggest(layer.op, _BUILDERS) or "the analysis can still count it: run without --verify/build",
            **layer.where.as_kwargs(),
        ) from None


# ------------------------------------------------------------------------------------------- arguments


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    h, w = value
    return (int(h), int(w))


def _channels(layer: Layer) -> int:
    if len(layer.in_shape) != 3:
        raise ShapeError(
            f"{layer.op} needs a feature map H×W×C but gets a flat vector of {layer.in_shape[0]}",
            path=layer.path,
            **layer.where.as_kwargs(),
        )
    return int(layer.in_shape[2])


# ------------------------------------------------------------------------------------------- op modules


def _child(module: nn.Module, name: str) -> nn.Module:
    child = module._modules[name]
    assert child is not None
    return child


class ConnectionConv(nn.Module):
    """A conv whose every filter sees only some input channels (LeNet-5's C3 connection table).

    One small ``Conv2d`` per filter, over the channels its row names, outputs concatenated in filter order:
    parameters ``f_h·f_w·Σ|row|`` (+ one bias per filter), exactly what the analysis counts.
    """

    def __init__(
        self,
        rows: tuple[tuple[int, ...], ...],
        kernel: tuple[int, int],
        *,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        bias: bool,
        device: Any = None,
    ) -> None:
        super().__init__()
        self.rows = rows
        for i, row in enumerate(rows):
            conv = nn.Conv2d(
                len(row),
                1,
                kernel,
                stride=stride,
                padding=padding,
                dilation=dilation,
                bias=bias,
                device=device,
            )
            self.add_module(str(i), conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [_child(self, str(i))(x[:, list(row)]) for i, row in enumerate(self.rows)]
        return torch.cat(outs, dim=1)

    def extra_repr(self) -> str:
        return f"connections={[list(r) for r in self.rows]}"


class ZeroPadShortcut(nn.Module):
    """ResNet's option-A shortcut: keep every ``stride``-th position, pad channels with zeros up to ``out``.
    No parameters, no arithmetic."""

    def __init__(self, stride: int, out: int) -> None:
        super().__init__()
        self.stride = stride
        self.out = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stride
        kept = x[:, :, ::s, ::s]
        return F.pad(kept, (0, 0, 0, 0, 0, self.out - kept.shape[1]))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, out={self.out}"


# ------------------------------------------------------------------------------------------- factories


@register_builder("conv")
def _conv(layer: Layer, device: Any) -> nn.Module:
    a = layer.args
    c_in = _channels(layer)
    c_out = int(a["out"])
    kernel, stride = _pair(a["kernel"]), _pair(a.get("stride", 1))
    padding, dilation = _pair(a.get("padding", 0)), _pair(a.get("dilation", 1))
    bias = bool(a.get("bias", True))
    conns = a.get("connections")
    if conns is not None:
        rows = tuple(tuple(int(c) for c in row) for row in conns)
        return ConnectionConv(rows, kernel, stride=stride, padding=padding, dilation=dilation, bias=bias, device=device)
    return nn.Conv2d(
        c_in,
        c_out,
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=int(a.get("groups", 1)),
        bias=bias,
        device=device,
    )


@register_builder("linear")
def _linear(layer: Layer, device: Any) -> nn.Module:
    if len(layer.in_shape) != 1:
        raise ShapeError("linear needs a flat vector", path=layer.path, **layer.where.as_kwargs())
    return nn.Linear(layer.in_shape[0], int(layer.args["out"]), bias=bool(layer.args.get("bias", True)), device=device)


def _pool_args(layer: Layer) -> dict[str, Any]:
    a = layer.args
    kernel = _pair(a["kernel"])
    stride = a.get("stride")
    return {
        "kernel_size": kernel,
        "stride": kernel if stride is None else _pair(stride),
        "padding": _pair(a.get("padding", 0)),
        "ceil_mode": bool(a.get("ceil_mode", False)),
    }


@register_builder("maxpool")
def _maxpool(layer: Layer, device: Any) -> nn.Module:
    return nn.MaxPool2d(**_pool_args(layer))


@register_builder("avgpool")
def _avgpool(layer: Layer, device: Any) -> nn.Module:
    return nn.AvgPool2d(**_pool_args(layer))


@register_builder("global_avgpool")
def _global_avgpool(layer: Layer, device: Any) -> nn.Module:
    return nn.AdaptiveAvgPool2d(1)


@register_builder("global_maxpool")
def _global_maxpool(layer: Layer, device: Any) -> nn.Module:
    return nn.AdaptiveMaxPool2d(1)


@register_builder("adaptive_avgpool")
def _adaptive_avgpool(layer: Layer, device: Any) -> nn.Module:
    return nn.AdaptiveAvgPool2d(_pair(layer.args["size"]))


@register_builder("flatten")
def _flatten(layer: Layer, device: Any) -> nn.Module:
    return nn.Flatten()


@register_builder("bn")
def _bn(layer: Layer, device: Any) -> nn.Module:
    eps = float(layer.args.get("eps", 1e-5))
    if len(layer.in_shape) == 3:
        return nn.BatchNorm2d(layer.in_shape[2], eps=eps, device=device)
    return nn.BatchNorm1d(layer.in_shape[0], eps=eps, device=device)


@register_builder("lrn")
def _lrn(layer: Layer, device: Any) -> nn.Module:
    a = layer.args
    return nn.LocalResponseNorm(
        int(a.get("size", 5)),
        alpha=float(a.get("alpha", 1e-4)),
        beta=float(a.get("beta", 0.75)),
        k=float(a.get("k", 2.0)),
    )


_PLAIN_ACTIVATIONS: Mapping[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "gelu": nn.GELU,
}


@register_builder(*_PLAIN_ACTIVATIONS)
def _activation(layer: Layer, device: Any) -> nn.Module:
    return _PLAIN_ACTIVATIONS[layer.op]()


@register_builder("leaky_relu")
def _leaky_relu(layer: Layer, device: Any) -> nn.Module:
    return nn.LeakyReLU(float(layer.args.get("slope", 0.01)))


@register_builder("softmax")
def _softmax(layer: Layer, device: Any) -> nn.Module:
    return nn.Softmax(dim=1)  # over channels (NCHW) or units (N, features)


@register_builder("dropout")
def _dropout(layer: Layer, device: Any) -> nn.Module:
    return nn.Dropout(float(layer.args.get("p", 0.5)))


@register_builder("zero_pad")
def _zero_pad(layer: Layer, device: Any) -> nn.Module:
    c_in, out = _channels(layer), int(layer.args["out"])
    if out < c_in:
        raise ShapeError(
            f"a zero-padding shortcut cannot shrink {c_in} channels to {out}",
            path=layer.path,
            hint="use a projection shortcut",
            **layer.where.as_kwargs(),
        )
    return ZeroPadShortcut(int(layer.args["stride"]), out)


# ------------------------------------------------------------------------------------------- containers


class _Container(nn.Module):
    """A module that runs lists of its own children by name: ``steps`` are attribute names, in order."""

    def _run(self, steps: tuple[str, ...], x: torch.Tensor) -> torch.Tensor:
        for name in steps:
            x = _child(self, name)(x)
        return x


class SequenceModule(_Container):
    """IR ``Sequence``: children one after another."""

    def __init__(self, kind: str = "") -> None:
        super().__init__()
        self.kind = kind
        self._steps: tuple[str, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self._steps, x)

    def extra_repr(self) -> str:
        return self.kind


class ResidualModule(_Container):
    """IR ``Residual``: ``g(body(x) + shortcut(x))``; the shortcut is the identity when it has no steps, and
    ``g`` (the optional activation after the addition) likewise."""

    def __init__(self, shortcut_kind: str = "identity") -> None:
        super().__init__()
        self.shortcut_kind = shortcut_kind
        self._body: tuple[str, ...] = ()
        self._shortcut: tuple[str, ...] = ()
        self._after: tuple[str, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self._after, self._run(self._body, x) + self._run(self._shortcut, x))

    def extra_repr(self) -> str:
        return f"shortcut={self.shortcut_kind}"


class ScaleModule(_Container):
    """IR ``Scale``: ``x * gate(x)`` (squeeze-and-excitation)."""

    def __init__(self) -> None:
        super().__init__()
        self._gate: tuple[str, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self._run(self._gate, x)


class ConcatModule(_Container):
    """IR ``Concat``: branches on the same input, outputs joined along channels."""

    def __init__(self) -> None:
        super().__init__()
        self._branches: tuple[tuple[str, ...], ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._run(steps, x) for steps in self._branches], dim=1)


# ------------------------------------------------------------------------------------------- the walk


def _where(node: Node) -> dict[str, Any]:
    return node.where.as_kwargs()


class _Builder:
    def __init__(self, device: Any) -> None:
        self.device = device

    def module(self, node: Node) -> nn.Module:
        """The module standing at ``node.path``."""
        if isinstance(node, Layer):
            return get_builder(node)(node, self.device)
        if isinstance(node, Sequence):
            own = [c for c in node.children if not _is_merge(c)]
            if len(own) == 1 and own[0].path == node.path and not isinstance(own[0], Sequence):
                return self.module(own[0])  # a sequence of one node at its own path is that node
            seq = SequenceModule(node.kind)
            seq._steps = self.attach(seq, node.path, node)
            return seq
        if isinstance(node, Residual):
            res = ResidualModule(node.shortcut_kind)
            res._body = self.attach(res, node.path, node.body)
            if node.shortcut is not None:
                res._shortcut = self.attach(res, node.path, node.shortcut)
            if node.activation is not None:
                res._after = self.attach(res, node.path, node.activation)
            return res
        if isinstance(node, Scale):
            scale = ScaleModule()
            scale._gate = self.attach(scale, node.path, node.gate)
            return scale
        if isinstance(node, Concat):
            cat = ConcatModule()
            cat._branches = tuple(self.attach(cat, node.path, b) for b in node.branches)
            return cat
        raise TypeError(f"not an IR node: {node!r}")

    def attach(self, owner: nn.Module, owner_path: str, node: Node) -> tuple[str, ...]:
        """Add ``node``'s module(s) to ``owner`` (standing at ``owner_path``); return the steps that run them.

        A Sequence at the owner's own path is transparent: its children become the owner's children.
        """
        if _is_merge(node):
            return ()
        if node.path == owner_path:
            if isinstance(node, Sequence):
                steps: list[str] = []
                for child in node.children:
                    steps.extend(self.attach(owner, owner_path, child))
                return tuple(steps)
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


def build_module(network: Network, *, device: Any = None) -> nn.Module:
    """Build ``network`` as an ``nn.Module`` (in training mode, like any fresh module).

    ``device="meta"`` allocates no weights: shapes and FLOP counts only. The names ``named_modules()`` gives
    are the IR paths of the network's layers (merge pseudo-layers aside). Takes NCHW input.
    """
    builder = _Builder(_device(device))
    root = network.root
    if not root.path:
        return builder.module(root)
    wrapper = SequenceModule("network")
    wrapper._steps = builder.attach(wrapper, "", root)
    return wrapper
