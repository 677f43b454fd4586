"""The two PyTorch modules cnncost defines for its own ops (LeNet-5's connection table, ResNet's zero-padding
shortcut). This module imports torch: only the ``build`` and ``reverse`` facets of ``cnncost.ops.conv`` and
``cnncost.ops.merge`` import it, inside their function bodies."""

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
