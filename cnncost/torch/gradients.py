"""Gradient flow at initialization: how large the loss's gradient is at every weight layer, input to output.

A network is built from its spec (``build_module``), initialized (PyTorch's default, or Kaiming or Xavier), put in
training mode (batchnorm normalizes with the batch's statistics, as when training starts) and given one batch of
random inputs ``N(0, 1)`` with random labels; the loss is the mean cross-entropy. Then, for every *weight layer* —
a module holding a weight of two or more dimensions (conv, linear), in the order the forward pass runs them — the
L2 (Frobenius) norm of its weight's gradient (biases aside), and for every *block* — the network's top-level
layers, each repeat opened into its copies — the standard deviation of its output over the whole batch.

The ratio of the first weight layer's gradient norm to the last's says in one number whether the gradient
vanishes (≪ 1) or explodes (≫ 1) on its way back to the input. Same seed, same numbers (on one machine and
thread count): the weights come from ``torch.manual_seed(seed)``, the batch from its own generator seeded alike,
so every network of one run sees the same inputs and labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from cnncost import ir
from cnncost.errors import LimitError, UsageError
from cnncost.frozen import frozen
from cnncost.torch.build import MERGE_OPS, build_module

#: Weight initializations: what ``--init`` accepts.
INITS: Mapping[str, str] = {
    "default": "PyTorch's default (conv, linear: uniform ±1/√fan_in, i.e. std 1/√(3·fan_in))",
    "kaiming": "Kaiming (He) normal, fan_in, for ReLU: std √(2/fan_in); biases 0",
    "xavier": "Xavier (Glorot) uniform: ±√(6/(fan_in + fan_out)); biases 0",
}

#: Forward multiply-adds one run may spend (batch × MACs per image); the backward pass costs about twice that.
MAX_MACS = 2 * 10**12

#: Bytes of layer outputs (float32, the whole batch) one run may hold for the backward pass.
MAX_ACTIVATION_BYTES = 2 * 2**30


@frozen
class LayerGradient:
    """One weight layer: its place from the input (1 = first), its module path, op, weights and gradient norm."""

    index: int
    path: str
    op: str
    weights: int
    grad_norm: float
    weight_norm: float


@frozen
class BlockScale:
    """One block's output: its path, shape (H, W, C or N) and standard deviation over the batch."""

    path: str
    op: str
    output_shape: tuple[int, ...]
    std: float


@frozen
class GradientReport:
    """Gradient norms and activation scales of one network at initialization."""

    name: str
    description: str
    input_shape: tuple[int, ...]
    variables: Mapping[str, Any]
    batch: int
    seed: int
    init: str
    loss: float
    layers: tuple[LayerGradient, ...]
    blocks: tuple[BlockScale, ...]
    input_std: float

    @property
    def first(self) -> LayerGradient:
        return self.layers[0]

    @property
    def last(self) -> LayerGradient:
        return self.layers[-1]

    @property
    def ratio(self) -> float | None:
        """First weight layer's gradient norm ÷ the last's (None when the last one's is zero)."""
        last = self.last.grad_norm
        return None if last == 0 else self.first.grad_norm / last


# ----------------------------------------------------------------------------------------- initialization


def weight_layers(module: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Modules holding a weight of two or more dimensions (conv, linear: not batchnorm), with their paths."""
    for path, sub in module.named_modules():
        weight = sub._parameters.get("weight")
        if weight is not None and weight.dim() >= 2:
            yield path, sub


def initialize(module: nn.Module, init: str) -> None:
    """Re-initialize every weight layer (``INITS``); ``default`` keeps what PyTorch gave. Batchnorm keeps its
    scale 1 and shift 0."""
    if init not in INITS:
        raise UsageError(f"--init {init}: no such initialization", hint="choose " + ", ".join(INITS))
    if init == "default":
        return
    with torch.no_grad():
        for _, sub in weight_layers(module):
            weight = sub._parameters["weight"]
            assert weight is not None
            if init == "kaiming":
                nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(weight)
            bias = sub._parameters.get("bias")
            if bias is not None:
                nn.init.zeros_(bias)


# ----------------------------------------------------------------------------------------------- blocks


def blocks(network: ir.Network) -> list[ir.Node]:
    """The network's top-level layers, each repeat opened into its copies (ResNet's blocks, VGG's stages)."""
    out: list[ir.Node] = []
    for child in network.root.children:
        parts = child.children if isinstance(child, ir.Sequence) and child.kind == "repeat" else (child,)
        out.extend(p for p in parts if not (isinstance(p, ir.Layer) and p.op in MERGE_OPS))
    return out


def _node_op(node: ir.Node) -> str:
    if isinstance(node, ir.Layer):
        return node.op
    if isinstance(node, ir.Sequence):
        return node.label or node.kind  # a block's name, or "residual without shortcut" (a plain net's block)
    return type(node).__name__.lower()


def _ops_by_path(network: ir.Network) -> dict[str, str]:
    return {layer.path: layer.op for layer in network.layers()}


# ---------------------------------------------------------------------------------------------- measure


def nchw(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    """An IR input shape (H, W, C) or (N,) as a torch batch shape."""
    return (batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else (batch, *shape)


def loss_of(network: ir.Network, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the network's class scores; a network ending in softmax gives probabilities, so
    the loss is the negative log-likelihood of their logarithm (the same cross-entropy)."""
    last = network.root.children[-1] if network.root.children else None
    if isinstance(last, ir.Layer) and last.op == "softmax":
        return nn.functional.nll_loss(torch.log(output.clamp_min(1e-45)), labels)
    return nn.functional.cross_entropy(output, labels)


def classes_of(network: ir.Network) -> int:
    out = network.root.out_shape
    if len(out) != 1 or out[0] < 2:
        raise UsageError(
            f"{network.name} ends in {'×'.join(map(str, out))}, not a vector of class scores",
            hint="cross-entropy needs a classifier: a network ending in a linear layer over 2 or more classes",
        )
    return out[0]


def measure(
    network: ir.Network,
    module: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    *,
    seed: int = 0,
    init: str = "default",
) -> GradientReport:
    """One forward and backward pass of ``module`` (built from ``network``) on ``inputs`` and ``labels``: the
    gradient norm of every weight layer in forward order and the output std of every block."""
    ops = _ops_by_path(network)
    weights = dict(weight_layers(module))
    if not weights:
        raise UsageError(
            f"{network.name} has no weight layers", hint="gradients are measured at conv and linear layers"
        )
    order: list[str] = []
    scales: dict[str, float] = {}
    handles = []
    for path, sub in weights.items():
        handles.append(sub.register_forward_hook(lambda m, i, o, path=path: order.append(path)))
    shown = blocks(network)
    for node in shown:
        sub = module.get_submodule(node.path)

        def keep(m: nn.Module, i: Any, o: Any, path: str = node.path) -> None:
            scales[path] = float(o.detach().double().std())

        handles.append(sub.register_forward_hook(keep))
    module.zero_grad(set_to_none=True)
    try:
        output = module(inputs)
    finally:
        for handle in handles:
            handle.remove()
    loss = loss_of(network, output, labels)
    loss.backward()  # type: ignore[no-untyped-call]
    seen: list[str] = []
    for path in order:
        if path not in seen:
            seen.append(path)
    rows = []
    for i, path in enumerate(seen, start=1):
        weight = weights[path]._parameters["weight"]
        assert weight is not None
        grad = weight.grad
        norm = 0.0 if grad is None else float(grad.detach().double().norm())
        rows.append(
            LayerGradient(i, path, ops.get(path, type(weights[path]).__name__), weight.numel(), norm,
                          float(weight.detach().double().norm()))
        )
    block_rows = tuple(
        BlockScale(node.path, _node_op(node), tuple(node.out_shape), scales[node.path])
        for node in shown
        if node.path in scales
    )
    return GradientReport(
        name=network.name,
        description=network.description,
        input_shape=tuple(network.input_shape),
        variables=dict(network.variables),
        batch=int(inputs.shape[0]),
        seed=seed,
        init=init,
        loss=float(loss.detach()),
        layers=tuple(rows),
        blocks=block_rows,
        input_std=float(inputs.detach().double().std()),
    )


def gradient_flow(network: ir.Network, *, batch: int = 32, seed: int = 0, init: str = "default") -> GradientReport:
    """Build ``network``, initialize it (seeded) and measure one batch of random inputs and labels."""
    if init not in INITS:
        raise UsageError(f"--init {init}: no such initialization", hint="choose " + ", ".join(INITS))
    if batch < 2:
        raise UsageError(f"--batch {batch}: the std of a batch needs at least 2 inputs", hint="use --batch 2 or more")
    classes = classes_of(network)
    from cnncost.analysis.engine import analyze_network

    report = analyze_network(network, batch=batch)
    macs = report.totals.macs
    if macs > MAX_MACS:
        raise LimitError(
            f"{network.name} at batch {batch} costs {macs:,} forward MACs, more than {MAX_MACS:,} for one run",
            hint="lower --batch or --size",
        )
    per_image = 4 * sum(math.prod(r.output_shape) for r in report.layers())  # float32 outputs kept for backward
    if per_image * batch > MAX_ACTIVATION_BYTES:
        fits = MAX_ACTIVATION_BYTES // per_image
        raise LimitError(
            f"{network.name} at batch {batch} would keep {per_image * batch / 2**30:.1f} GiB of layer outputs for "
            f"the backward pass, more than {MAX_ACTIVATION_BYTES // 2**30} GiB",
            hint=f"lower --batch to {fits} or less, or --size" if fits >= 2 else "lower --size",
        )
    torch.manual_seed(seed)
    module = build_module(network)
    initialize(module, init)
    module.train()
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(nchw(tuple(network.input_shape), batch), generator=generator)
    labels = torch.randint(0, classes, (batch,), generator=generator)
    measured = measure(network, module, inputs, labels, seed=seed, init=init)
    if not math.isfinite(measured.loss):
        raise UsageError(f"{network.name}: the loss is not finite at initialization", hint="try --init kaiming")
    return measured
