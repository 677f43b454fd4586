"""The module analyzer's fast path (``cnncost.torch.fast``) is exact: ``analyze_module(..., fast=False)`` — every
module's own forward run and every call watched at the aten level — gives the same report, record for record
(rows, group subtotals, shapes, params, MACs, other ops by category, what was observed) and the same unknown
operators, on every bundled network built as a module and on hand-made modules."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from cnncost import api  # noqa: E402
from cnncost.analysis.records import Report  # noqa: E402
from cnncost.torch.module import analyze_module  # noqa: E402

pytestmark = pytest.mark.torch


def assert_same(fast: Report, slow: Report) -> None:
    assert [r.path for r in fast.records] == [r.path for r in slow.records]
    for a, b in zip(fast.records, slow.records, strict=True):
        assert a == b, a.path  # every field: shapes, params, MACs, other ops, formula, args, observed
    assert fast.totals == slow.totals
    assert dict(fast.totals.other) == dict(slow.totals.other)
    assert dict(fast.unknown_ops) == dict(slow.unknown_ops)


def both(model: nn.Module, shape: tuple[int, ...], batch: int = 2) -> tuple[Report, Report]:
    return analyze_module(model, shape, batch=batch), analyze_module(model, shape, batch=batch, fast=False)


@pytest.mark.parametrize("name", [e.name for e in api.library_entries()])
def test_bundled_networks(name: str) -> None:
    module = api.build(name, device="meta")
    h, w, c = api.analyze(name).input_shape
    fast, slow = both(module, (c, h, w))
    assert_same(fast, slow)
    assert fast.totals.macs and not fast.unknown_ops


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x: Any) -> Any:
        out = self.bn(self.conv(x))
        out += x  # in place
        return F.relu(out + 1.0)


class Concat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(8, 4, 1)
        self.b = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x: Any) -> Any:
        return torch.cat([self.a(x), self.b(x)], dim=1)


class SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)

    def forward(self, x: Any) -> Any:
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class Tokens(nn.Module):
    """LayerNorm and Linear on a 3-D input, a matrix product, a softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.proj = nn.Linear(8, 16)
        self.out = nn.Linear(16, 8)

    def forward(self, x: Any) -> Any:
        t = x.flatten(2).transpose(1, 2)  # (N, HW, C)
        t = self.proj(self.norm(t))
        attn = torch.softmax(t @ t.transpose(1, 2), dim=-1)
        return self.out(attn @ t).mean(dim=1)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block as torchvision writes it: depthwise conv, LayerNorm and Linear on a channels-last 4-D
    tensor (matrix products and a layer norm watched at the aten level), a layer scale, a residual add."""

    def __init__(self) -> None:
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.norm = nn.LayerNorm(8, eps=1e-6)
        self.up = nn.Linear(8, 32)
        self.down = nn.Linear(32, 8, bias=False)
        self.scale = nn.Parameter(torch.ones(8, 1, 1))

    def forward(self, x: Any) -> Any:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.down(F.gelu(self.up(self.norm(y)))).permute(0, 3, 1, 2)
        return x + self.scale * y


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(8, 24)

    def forward(self, x: Any) -> Any:
        t = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        attn = torch.bmm(q, k.transpose(1, 2)).softmax(dim=-1)
        return F.layer_norm(torch.bmm(attn, v), (8,))


class Unknown(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 1)

    def forward(self, x: Any) -> Any:
        return torch.cumsum(self.conv(x), dim=1)


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(Residual, id="residual-add"),
        pytest.param(Concat, id="concat"),
        pytest.param(SqueezeExcite, id="se-multiply"),
        pytest.param(Tokens, id="layernorm-linear-nd"),
        pytest.param(Unknown, id="unknown-op"),
        pytest.param(ConvNeXtBlock, id="convnext-block"),
        pytest.param(Attention, id="attention-bmm"),
        pytest.param(
            lambda: nn.Sequential(Residual(), Concat(), SqueezeExcite(), ConvNeXtBlock(), Unknown(), Tokens()),
            id="all-together",
        ),
    ],
)
def test_hand_made_modules(model: Any) -> None:
    fast, slow = both(model(), (8, 6, 6))
    assert_same(fast, slow)
    assert fast.totals.macs


def test_unknown_ops_listed_on_both_paths() -> None:
    fast, slow = both(Unknown(), (8, 6, 6))
    assert dict(fast.unknown_ops) == dict(slow.unknown_ops) == {"aten.cumsum": 1}


@pytest.mark.parametrize("name", ["convnext_tiny", "swin_t", "mobilenet_v3_small"])
def test_torchvision_models(name: str) -> None:
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.get_model(name, weights=None)  # random weights: nothing downloaded
    assert_same(*both(model, (3, 64, 64), batch=1))
