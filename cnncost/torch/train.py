"""The training analysis against PyTorch: trainable parameters as ``requires_grad`` has them, and the backward
pass counted by FlopCounterMode, layer by layer.

**How backward FLOPs are attributed to layers.** FlopCounterMode attributes backward work to modules through
its module tracker, which pushes a module when the gradient of its output arrives and pops it when the
gradient of its *input* is complete. Where a tensor forks — a residual's input feeds the body and the shortcut
— the input's gradient is complete only after both paths ran, so everything in the body is also counted to the
shortcut (ResNet-18's ``layer2.0.shortcut.conv`` gets the whole block's backward). Per-module backward counts
from the tracker are therefore not per layer. Here each layer's module marks, during the forward pass, the
autograd nodes it created (those reachable from its output's ``grad_fn`` before its input's); a pre-hook and a
hook on each such node read FlopCounterMode's running total before and after the node runs, so every FLOP the
counter counts in backward is given to the layer whose node computed it — by FlopCounterMode's own formulas.
``BackwardCount.unattributed`` is what ran outside every layer's nodes (0 for cnncost's networks).

**A difference of convention, stated.** For a grouped convolution FlopCounterMode's weight-gradient formula
(``conv_backward_flop``, as in torch 2.13 and 2.14) transposes the shapes in a way that loses the division by
``groups``, so it counts ``groups ×`` the product actually computed (a depthwise conv's weight gradient
``C ×`` too many). ``flop_counter_group_factor`` probes the installed torch for it; cnncost's figure is the
product's true size (the forward's, as CONVENTIONS.md states), and the oracle test predicts FlopCounterMode's
number from it with that factor, exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnncost.analysis.records import Report
from cnncost.analysis.training import Training
from cnncost.frozen import frozen
from cnncost.ir import Network
from cnncost.torch.build import build_module
from cnncost.torch.verify import nchw


@frozen
class BackwardCount:
    """FlopCounterMode's count of one training step's backward pass (the whole batch): per layer path, the total,
    and what ran outside every layer's autograd nodes; ``forward`` is the forward pass's count."""

    per_layer: Mapping[str, int]
    total: int
    unattributed: int
    forward: int


def _under(path: str, group: str) -> bool:
    return path == group or path.startswith(group + ".")


def owner_of(name: str, layer_paths: list[str]) -> str | None:
    """The layer a parameter (``layer1.0.conv1.weight``) belongs to: the longest layer path it lies under."""
    owners = [p for p in layer_paths if _under(name, p)]
    return max(owners, key=len) if owners else None


def apply_trainable(module: nn.Module, report: Report, training: Training) -> None:
    """Set ``requires_grad`` on every parameter of ``module`` (built from the report's network) as ``training``
    says: a layer's parameters train when its row has trainable parameters."""
    paths = [r.path for r in report.layers()]
    trains = {row.path for row in training.rows if row.trainable_params}
    for name, param in module.named_parameters():
        param.requires_grad_(owner_of(name, paths) in trains)


def trainable_params_of(module: nn.Module, report: Report) -> dict[str, int]:
    """Layer path → its parameters with ``requires_grad`` (as the model has them), for a report of ``module``."""
    paths = [r.path for r in report.layers()]
    counts: dict[str, int] = {}
    for name, param in module.named_parameters():
        owner = owner_of(name, paths)
        if owner is not None and param.requires_grad:
            counts[owner] = counts.get(owner, 0) + param.numel()
    return counts


def with_requires_grad(model: nn.Module, report: Report) -> Report:
    """``report`` (of ``model``) with its trainable and frozen parameters as ``requires_grad`` has them, when the
    model freezes any; unchanged when everything trains (PyTorch's default, and a spec's)."""
    from cnncost.analysis.training import requires_grad_training, with_training

    if all(p.requires_grad for p in model.parameters()):
        return report
    return with_training(report, requires_grad_training(report, trainable_params_of(model, report)))


def set_bn_mode(module: nn.Module, mode: str) -> None:
    """The whole module in training mode (dropout active), its batchnorms in ``mode`` (``train``/``eval``)."""
    module.train()
    if mode == "eval":
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()


def _own_nodes(output: Any, inputs: tuple[Any, ...]) -> list[Any]:
    """The autograd nodes a module's forward created: reachable from its output, not beyond its inputs."""
    stop = {id(x.grad_fn) for x in inputs if isinstance(x, torch.Tensor) and x.grad_fn is not None}
    start = output.grad_fn if isinstance(output, torch.Tensor) else None
    seen: dict[int, Any] = {}
    todo: list[Any] = [start] if start is not None else []
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen or id(node) in stop:
            continue
        seen[id(node)] = node
        todo.extend(next_node for next_node, _ in node.next_functions)
    return [n for n in seen.values() if type(n).__name__ != "AccumulateGrad"]


def count_backward(network: Network, report: Report, training: Training, *, batch: int = 2) -> BackwardCount:
    """Build ``network`` on the meta device, set ``requires_grad`` as ``training`` says, run one forward pass and
    ``output.sum().backward()`` (the input needs no gradient) under FlopCounterMode, and attribute the backward
    FLOPs to layers by their autograd nodes (see the module doc). ``batch`` ≥ 2 (batchnorm in train mode)."""
    module = build_module(network, device="meta")
    apply_trainable(module, report, training)
    set_bn_mode(module, training.options.bn)
    layers = {r.path for r in report.layers()}
    counter = FlopCounterMode(display=False)
    per_layer: dict[str, int] = {}
    handles: list[Any] = []

    def mark(path: str) -> Any:
        def hook(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            for node in _own_nodes(output, inputs):
                start: list[int] = []
                handles.append(node.register_prehook(lambda grads, s=start: s.append(counter.get_total_flops())))

                def after(grad_in: Any, grad_out: Any, s: list[int] = start, p: str = path) -> None:
                    per_layer[p] = per_layer.get(p, 0) + counter.get_total_flops() - s.pop()

                handles.append(node.register_hook(after))

        return hook

    for name, sub in module.named_modules():
        if name in layers:
            handles.append(sub.register_forward_hook(mark(name)))
    x = torch.zeros(nchw(report.input_shape, batch), device="meta")
    try:
        with counter:
            out = module(x)
            forward = counter.get_total_flops()
            if out.requires_grad:
                out.sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    total = counter.get_total_flops() - forward
    return BackwardCount(per_layer, total, total - sum(per_layer.values()), forward)


@functools.cache
def flop_counter_group_factor() -> bool:
    """Whether the installed FlopCounterMode counts a grouped convolution's weight gradient ``groups ×`` its size
    (see the module doc): a 2-group 1×1 conv, 2→2 channels on one 1×1 image, has a weight gradient of 2 MACs."""
    conv = nn.Conv2d(2, 2, 1, groups=2, bias=False, device="meta")
    x = torch.zeros(1, 2, 1, 1, device="meta")
    with FlopCounterMode(display=False) as counter:
        conv(x).sum().backward()
    backward = counter.get_total_flops() - 2 * 2  # forward: 2 MACs, 4 FLOPs
    return bool(backward == 2 * 2 * 2)  # 2 MACs counted twice over: FLOPs 2 × (2 × 2)
