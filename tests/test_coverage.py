"""A prediction of another tool's number is printed only for kinds of work a test proves it for.

``cnncost.analysis.conventions.PROVEN`` lists, per tool, the kinds of rows, calls and operators whose rule is
held to the real tool's integer by a test. Here: every listed kind really occurs in a network the tests run the
tool on (so the list cannot claim more than is tested); a ConvNeXt-like module made by hand (layer norm on
channels-last and channels-first input, ``nn.Linear`` on 4-D input, GELU, a layer-scale parameter) against every
tool for real; and, with torchvision, ConvNeXt-Tiny for real and ViT-B/16 refused ("not predicted").
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from cnncost.analysis.conventions import PEERS, PROVEN, kinds, predict, predict_all

sys.path.insert(0, str(Path(__file__).parent))
from test_conventions import BUNDLED, _user_modules, assert_predicted, tiny


def tiny_convnext() -> Any:
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.nn import functional as F

    class LayerNorm2d(nn.LayerNorm):  # torchvision's: channels-first input, F.layer_norm on a permuted view
        def forward(self, x: Any) -> Any:
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class Block(nn.Module):  # torchvision's CNBlock, without stochastic depth
        def __init__(self, c: int) -> None:
            super().__init__()
            self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
            self.norm = nn.LayerNorm(c, eps=1e-6)
            self.fc1 = nn.Linear(c, 4 * c)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(4 * c, c)
            self.layer_scale = nn.Parameter(torch.ones(c, 1, 1) * 1e-6)

        def forward(self, x: Any) -> Any:
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.fc2(self.act(self.fc1(self.norm(y)))).permute(0, 3, 1, 2)
            return x + self.layer_scale * y

    return nn.Sequential(
        nn.Conv2d(3, 8, 4, stride=4),
        LayerNorm2d(8),
        Block(8),
        LayerNorm2d(8),
        nn.Conv2d(8, 16, 2, stride=2),
        Block(16),
        nn.AdaptiveAvgPool2d(1),
        LayerNorm2d(16),
        nn.Flatten(1),
        nn.Linear(16, 10),
    )


def _tested_kinds() -> dict[str, set[str]]:
    """Per tool, the kinds occurring in the networks the tests hold that tool's prediction to exactly."""
    pytest.importorskip("torch")
    from cnncost import api
    from cnncost.torch.module import analyze_module

    everywhere: set[str] = set(kinds(tiny()))
    for name, size in BUNDLED:
        everywhere |= kinds(api.analyze(name, size=size))
    for which, model in _user_modules().items():
        everywhere |= kinds(analyze_module(model, (3, 12, 12), name=which))
    everywhere |= kinds(analyze_module(tiny_convnext(), (3, 32, 32)))
    return {p.key: set(everywhere) for p in PEERS}


@pytest.mark.torch
def test_every_proven_kind_is_tested_against_the_real_tool() -> None:
    tested = _tested_kinds()
    for key, proven in PROVEN.items():
        assert proven <= tested[key], (key, sorted(proven - tested[key]))


@pytest.mark.torch
@pytest.mark.parametrize("batch", [1, 2])
def test_convnext_like_module_against_every_tool(batch: int) -> None:
    from cnncost.torch.module import analyze_module

    model = tiny_convnext()
    report = analyze_module(model, (3, 32, 32), batch=batch, name="tiny-convnext")
    assert all(p.predicted for p in predict_all(report)), [(p.peer.key, p.why_not) for p in predict_all(report)]
    assert_predicted(report, model, (3, 32, 32))


def test_an_uncovered_kind_is_not_predicted() -> None:
    report = tiny()
    odd = dataclasses.replace(
        report,
        records=(*report.records, dataclasses.replace(report.records[2], path="odd", op="odd_new_op")),
    )
    for p in predict_all(odd):
        assert not p.predicted and p.value is None and p.why_not == "op odd_new_op is not covered"
    assert all(p.predicted and p.value == p.count for p in predict_all(report))


def test_not_predicted_is_said_in_every_format() -> None:
    from cnncost.render.explain import explain_text, render_explain

    odd = dataclasses.replace(tiny(), unknown_ops=MappingProxyType({"aten._scaled_dot_product_flash_attention": 1}))
    text = render_explain(odd, width=120)
    assert "not predicted" in text and "operator aten._scaled_dot_product_flash_attention is not covered" in text
    flop = predict(odd, "flopcounter")
    assert f"{flop.count:,}" not in text  # the number it cannot stand by is not printed
    data = json.loads(explain_text(odd, fmt="json"))
    tools = {t["key"]: t for t in data["tools"]}
    assert tools["flopcounter"]["count"] is None and tools["flopcounter"]["predicted"] is False
    assert "is not covered" in tools["flopcounter"]["not_predicted"]
    markdown = explain_text(odd, fmt="markdown")
    assert "not predicted" in markdown


# ------------------------------------------------------------------------------- torchvision (its own venv)


def _torchvision_report(name: str, shape: tuple[int, int, int]) -> tuple[Any, Any]:
    torchvision = pytest.importorskip("torchvision")
    from cnncost.torch.module import analyze_module

    model = torchvision.models.get_model(name, weights=None)
    return model, analyze_module(model, shape, name=name)


@pytest.mark.torch
def test_convnext_tiny_for_real() -> None:
    model, report = _torchvision_report("convnext_tiny", (3, 64, 64))
    assert all(p.predicted for p in predict_all(report)), [(p.peer.key, p.why_not) for p in predict_all(report)]
    assert_predicted(report, model, (3, 64, 64))


@pytest.mark.torch
def test_vit_is_not_predicted() -> None:
    model, report = _torchvision_report("vit_b_16", (3, 224, 224))
    by_key = {p.peer.key: p for p in predict_all(report)}
    for key in ("flopcounter", "ptflops-aten", "fvcore", "ptflops"):
        assert not by_key[key].predicted and "is not covered" in str(by_key[key].why_not), key
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.zeros(1, 3, 224, 224))
    # The reason is real: had it been printed, the flopcounter number would have been wrong.
    assert by_key["flopcounter"].count != counter.get_total_flops()


ATTENTION = '''
import torch.nn as nn

class Attend(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        t = self.proj(x).flatten(2).transpose(1, 2)
        return self.attn(t, t, t, need_weights=False)[0]
'''


@pytest.mark.torch
def test_cli_explain_json_says_not_predicted(tmp_path: Path) -> None:
    from test_conventions import _cli

    path = tmp_path / "attend.py"
    path.write_text(ATTENTION)
    code, out, err = _cli("explain", "--module", f"{path}:Attend", "--input-shape", "3,16,16", "--format", "json")
    assert code == 0, err
    for tool in json.loads(out)["tools"]:
        assert tool["count"] is None and tool["predicted"] is False and "is not covered" in tool["not_predicted"]
    code, out, err = _cli("explain", "--module", f"{path}:Attend", "--input-shape", "3,16,16")
    assert code == 0 and out.count("not predicted *") == len(PEERS)
