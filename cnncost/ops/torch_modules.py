"""The PyTorch modules cnncost defines for its own ops: LeNet-5's connection table, ResNet's zero-padding
shortcut, and ConvNeXt's channels-last layers (layer norm over channels, the per-position linear, the learned
per-channel scale) and stochastic depth. This module imports torch: only the ``build`` and ``reverse`` facets of
the op families import it, inside their function bodies."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


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


class ChannelsLastLayerNorm(nn.LayerNorm):
    """Layer norm over the channels of an NCHW map at every position, as torchvision's ``LayerNorm2d`` (ConvNeXt):
    permute to NHWC, ``F.layer_norm`` over C, permute back. Parameters γ and β of C each."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ChannelsLastLinear(nn.Linear):
    """An ``nn.Linear`` over the channels of an NCHW map at every position (ConvNeXt's pointwise layers):
    permute to NHWC, the linear map on the last axis, permute back. Parameters in·out (+ out), held as
    ``nn.Linear`` holds them (``weight``, ``bias``), so a built ConvNeXt's tensors are named as torchvision's."""

    def __init__(self, in_features: int, out_features: int, *, bias: bool, device: Any = None) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = F.linear(x.permute(0, 2, 3, 1), self.weight, self.bias)
        return y.permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """A learned scale per channel, ``γ · x`` with γ of shape (C, 1, 1), as ConvNeXt's ``layer_scale`` (which
    starts at 1e-6). Parameters C."""

    def __init__(self, channels: int, init: float = 1e-6, *, device: Any = None) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, 1, 1), init, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * x

    def extra_repr(self) -> str:
        return f"channels={self.gamma.shape[0]}"


class StochasticDepth(nn.Module):
    """torchvision's ``StochasticDepth`` in its ``row`` mode: in training each sample's input is dropped with
    probability ``p`` (the rest scaled by 1/(1 − p)); at inference the identity. No parameters."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        noise = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
        if keep > 0.0:
            noise.div_(keep)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}"


class CenterCrop(nn.Module):
    """The centre ``size`` (h, w) of a feature map (U-Net's crop before concatenation): a slice, no arithmetic.
    Where the border to cut is odd, the extra row or column is cut at the bottom or right."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), (n_h, n_w) = self.size, x.shape[-2:]
        top, left = (int(n_h) - h) // 2, (int(n_w) - w) // 2
        return x[..., top : top + h, left : left + w]

    def extra_repr(self) -> str:
        return f"size={self.size}"
