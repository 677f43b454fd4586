"""Every peer's number, predicted from our analysis, against the tool itself run for real.

First the predictions alone (pure Python) on a small network whose every figure is computed by hand below; then
each tool — fvcore, FlopCounterMode, ptflops with both backends, torchinfo — run on modules built from bundled
specs and on hand-written modules (functional calls, a shared ReLU, ``out += identity``, container parameters),
asserting the prediction is the tool's exact integer.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from types import MappingProxyType
from typing import Any

import pytest
from clirun import cli_runner

from cnncost.analysis.conventions import PEERS, PeerCount, describe, peer, predict, predict_all
from cnncost.analysis.records import Record, Report, Totals

# ------------------------------------------------------------------------------- a network computed by hand
#
# 8×8×3 → conv 3×3 pad 1 to 8 channels (bias) → bn → relu → maxpool 2 → global avgpool → flatten → linear 8→10
# → softmax. Per image:
#   conv MACs 8·8·8 × 3·3·3 = 13,824, bias 8·8·8 = 512;  bn params 16, 2 × 512 = 1,024;  relu 512;
#   maxpool in 512, out 4·4·8 = 128, pooling 128 × 4 = 512;  global avgpool in 128 (pooling 128);
#   linear MACs 80, bias 10;  softmax 10.           MACs 13,904.


def _rec(path: str, op: str, inp: tuple[int, ...], out: tuple[int, ...], params: int, macs: int, batch: int,
         **other: int) -> Record:
    return Record(path, path, "layer", op, 0, inp, out, params, macs * batch,
                  MappingProxyType({k: v * batch for k, v in other.items()}))


def tiny(batch: int = 1) -> Report:
    rows = (
        _rec("conv", "conv", (8, 8, 3), (8, 8, 8), 224, 13_824, batch, bias=512),
        _rec("bn", "bn", (8, 8, 8), (8, 8, 8), 16, 0, batch, batchnorm=1_024),
        _rec("relu", "relu", (8, 8, 8), (8, 8, 8), 0, 0, batch, activation=512),
        _rec("pool", "maxpool", (8, 8, 8), (4, 4, 8), 0, 0, batch, pooling=512),
        _rec("gap", "global_avgpool", (4, 4, 8), (1, 1, 8), 0, 0, batch, pooling=128),
        _rec("flatten", "flatten", (1, 1, 8), (8,), 0, 0, batch),
        _rec("fc", "linear", (8,), (10,), 90, 80, batch, bias=10),
        _rec("softmax", "softmax", (10,), (10,), 0, 0, batch, activation=10),
    )
    return Report("tiny", "", (8, 8, 3), batch, rows, Totals.of(rows))


#: What each tool reports for ``tiny`` at batch 1, by hand (see the module docstring of conventions.py).
TINY = {
    "torchvision": 13_904,  # MACs
    "fvcore": 13_904 + 1_024 + 128,  # + bn 2 per element + global avg pool input
    "flopcounter": 2 * 13_904,
    # conv+bias 14,336; bn 1,024; relu 2×512; maxpool 2×512 input; gap 2×128 input; linear+bias 90; softmax 10
    "ptflops": 14_336 + 1_024 + 1_024 + 1_024 + 256 + 90 + 10,
    "ptflops-aten": 14_336 + 90,  # MACs + bias
    "torchinfo": 14_336 + 16 + 90,  # MACs + bias + bn params × batch
}


def test_tiny_by_hand() -> None:
    got = {p.peer.key: p.count for p in predict_all(tiny())}
    assert got == TINY
    assert all(p.exact and not p.assumed for p in predict_all(tiny()))


def test_tiny_batch_scope() -> None:
    # fvcore, FlopCounterMode and torchinfo count the batch they are given; ptflops and torchvision one image.
    got = {p.peer.key: p.count for p in predict_all(tiny(3))}
    for key, one in TINY.items():
        assert got[key] == (3 * one if peer(key).scope == "batch" else one), key


def test_fvcore_training_mode_batchnorm() -> None:
    # In training mode fvcore counts batch norm as 5 per element (statistics, normalize, scale, shift).
    assert predict(tiny(), "fvcore", training=True).count == 13_904 + 5 * 512 + 128
    assert predict(tiny(), "flopcounter", training=True).count == TINY["flopcounter"]


def test_parts_sum_ratio_and_description() -> None:
    for p in predict_all(tiny(2)):
        assert sum(p.parts.values()) == p.count
        assert p.ours == (2 * 13_904 if p.peer.scope == "batch" else 13_904)
        assert p.ratio == p.count / p.ours
        data = describe(p)
        assert data["count"] == p.count and data["why"] == p.peer.reason and data["exact"]
    assert predict(tiny(), "torchvision").ratio == 1.0
    assert predict(tiny(), "flopcounter").ratio == 2.0


def test_peers_listed_once_with_reasons() -> None:
    keys = [p.key for p in PEERS]
    assert len(keys) == len(set(keys)) == 6
    assert all(p.reason and p.reports and p.scope in ("batch", "image") for p in PEERS)
    with pytest.raises(KeyError, match="no counting tool 'flops'"):
        peer("flops")


def test_no_macs_no_ratio() -> None:
    rows = (_rec("relu", "relu", (4,), (4,), 0, 0, 1, activation=4),)
    empty = Report("act", "", (4,), 1, rows, Totals.of(rows))
    assert predict(empty, "torchvision").ratio is None


def test_unknown_operators_matter_only_to_tools_that_count_them() -> None:
    import dataclasses

    report = tiny()
    cumsum = dataclasses.replace(report, unknown_ops=MappingProxyType({"aten.cumsum": 2}))
    assert all(p.exact for p in predict_all(cumsum))  # no tool counts a cumulative sum
    bilinear = dataclasses.replace(report, unknown_ops=MappingProxyType({"aten.upsample_bilinear2d": 1}))
    fv = predict(bilinear, "fvcore")
    assert fv.count == TINY["fvcore"] and not fv.exact and "upsample_bilinear2d" in fv.unmodeled[0]
    assert predict(bilinear, "flopcounter").exact and predict(bilinear, "torchinfo").exact
    sdpa = dataclasses.replace(report, unknown_ops=MappingProxyType({"aten._scaled_dot_product_flash_attention": 1}))
    assert not predict(sdpa, "flopcounter").exact and predict(sdpa, "ptflops-aten").exact


def test_spec_report_needs_no_torch() -> None:
    from cnncost import api

    report = api.analyze("conv5x5")  # 28×28×192 → 5×5 same → 28×28×32, with bias
    macs, bias = 120_422_400, 32 * 28 * 28
    got = {p.peer.key: p.count for p in predict_all(report)}
    assert got == {
        "torchvision": macs,
        "fvcore": macs,
        "flopcounter": 2 * macs,
        "ptflops": macs + bias,
        "ptflops-aten": macs + bias,
        "torchinfo": macs + bias,
    }


# ------------------------------------------------------------------------------- the tools, run for real


def run_tools(model: Any, chw: tuple[int, ...], batch: int, *, training: bool = False) -> dict[str, int]:
    """What each tool reports for ``model`` on zero inputs of ``(batch, *chw)`` (ptflops: one image)."""
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    ptflops = pytest.importorskip("ptflops")
    torchinfo = pytest.importorskip("torchinfo")
    from torch.utils.flop_counter import FlopCounterMode

    out: dict[str, int] = {}
    x = torch.zeros((batch, *chw))
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        model.train(training)
        with torch.no_grad():
            analysis = fvcore_nn.FlopCountAnalysis(model, (x,))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            out["fvcore"] = int(analysis.total())
        model.eval()
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(x)
        out["flopcounter"] = int(counter.get_total_flops())
        for key, backend in (("ptflops", "pytorch"), ("ptflops-aten", "aten")):
            macs, _ = ptflops.get_model_complexity_info(
                model, tuple(chw), as_strings=False, print_per_layer_stat=False, backend=backend, ost=io.StringIO()
            )
            out[key] = int(macs)
        out["torchinfo"] = int(torchinfo.summary(model, input_size=(batch, *chw), verbose=0).total_mult_adds)
    return out


def assert_predicted(report: Report, model: Any, chw: tuple[int, ...], *, training: bool = False) -> None:
    measured = run_tools(model, chw, report.batch, training=training)
    predicted: dict[str, PeerCount] = {p.peer.key: p for p in predict_all(report, training=training)}
    for key, value in measured.items():
        assert predicted[key].exact, (key, predicted[key].unmodeled)
        assert predicted[key].count == value, f"{report.name} batch {report.batch}: {key}"


#: Bundled networks and the sizes they are checked at (small where the spec allows): batchnorm and residual
#: additions (resnet50, resnet20 with zero-padding shortcuts), depthwise convolutions (mobilenets), concat
#: (inception, googlenet with LRN), squeeze-and-excitation gates and SiLU (efficientnet), LeNet-5's connection
#: table, VGG's adaptive pooling from 1×1 up to 7×7.
BUNDLED = [
    ("lenet5", None),
    ("lenet5-1998", None),
    ("vgg16", 32),
    ("resnet50", 64),
    ("resnet20", None),
    ("mobilenet-v1", 64),
    ("mobilenet-v2", 64),
    ("inception-bottleneck", None),
    ("efficientnet-b0", 64),
    ("alexnet-2gpu", None),
    ("googlenet", None),
]


def _chw(report: Report) -> tuple[int, ...]:
    h, w, c = report.input_shape
    return (c, h, w)


@pytest.mark.torch
@pytest.mark.parametrize(("name", "size"), BUNDLED)
@pytest.mark.parametrize("batch", [1, 2])
def test_bundled_networks(name: str, size: int | None, batch: int) -> None:
    pytest.importorskip("torch")
    from cnncost import api

    report = api.analyze(name, size=size, batch=batch)
    assert_predicted(report, api.build(name, size=size), _chw(report))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["resnet20", "mobilenet-v2"])
def test_fvcore_training_mode(name: str) -> None:
    pytest.importorskip("torch")
    from cnncost import api

    report = api.analyze(name, size=32, batch=2)
    model = api.build(name, size=32)
    measured = run_tools(model, _chw(report), 2, training=True)
    assert predict(report, "fvcore", training=True).count == measured["fvcore"]
    assert predict(report, "fvcore", training=True).count != predict(report, "fvcore").count


@pytest.mark.torch
def test_hand_computed_network_run_for_real() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    from cnncost.torch.module import analyze_module

    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
        nn.Softmax(dim=1),
    )
    report = analyze_module(model, (3, 8, 8))
    assert report.totals == tiny().totals
    assert run_tools(model, (3, 8, 8), 1) == {k: v for k, v in TINY.items() if k != "torchvision"}
    del torch


# ------------------------------------------------------------------------------- user modules


def _user_modules() -> dict[str, Any]:
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.nn import functional as F

    class Bottleneck(nn.Module):  # torchvision's shape: one ReLU used three times, out += identity
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(c, c // 4, 1, bias=False), nn.BatchNorm2d(c // 4)
            self.conv2, self.bn2 = nn.Conv2d(c // 4, c // 4, 3, padding=1, bias=False), nn.BatchNorm2d(c // 4)
            self.conv3, self.bn3 = nn.Conv2d(c // 4, c, 1, bias=False), nn.BatchNorm2d(c)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            out += x
            return self.relu(out)

    class FunctionalConv(nn.Module):  # a custom leaf: its own weight through F.conv2d, then F.relu
        def __init__(self, c_in: int, c_out: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(c_out, c_in, 3, 3))
            self.bias = nn.Parameter(torch.zeros(c_out))

        def forward(self, x: Any) -> Any:
            return F.relu(F.conv2d(x, self.weight, self.bias, padding=1))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = FunctionalConv(3, 16)
            self.block = Bottleneck(16)
            self.fc = nn.Linear(16, 10)
            self.scale = nn.Parameter(torch.ones(1))
            self.out = nn.Softmax(dim=1)

        def forward(self, x: Any) -> Any:
            x = self.block(self.stem(x))
            x = F.max_pool2d(x, 2)
            x = torch.cat([x, x], 1)[:, :16] * self.scale
            x = torch.add(F.adaptive_avg_pool2d(x, 1).flatten(1), 1.0)
            return self.out(self.fc(x))

    activations = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.ReLU6(),
        nn.LeakyReLU(0.1),
        nn.GELU(),
        nn.SiLU(),
        nn.Hardswish(),
        nn.Hardsigmoid(),
        nn.Tanh(),
        nn.Sigmoid(),
        nn.LocalResponseNorm(3),
        nn.AvgPool2d(3, stride=1, padding=1),
        nn.AdaptiveAvgPool2d(3),
        nn.AdaptiveMaxPool2d(1),
        nn.Dropout(),
        nn.Flatten(),
        nn.Linear(8, 4, bias=False),
        nn.BatchNorm1d(4),
    )
    return {"net": Net(), "activations": activations}


@pytest.mark.torch
@pytest.mark.parametrize("which", ["net", "activations"])
@pytest.mark.parametrize("batch", [1, 2])
def test_user_modules(which: str, batch: int) -> None:
    from cnncost.torch.module import analyze_module

    model = _user_modules()[which]
    report = analyze_module(model, (3, 12, 12), batch=batch, name=which)
    assert not report.unknown_ops
    assert_predicted(report, model, (3, 12, 12))
    if which == "net":
        assert_predicted(report, model, (3, 12, 12), training=True)


@pytest.mark.torch
def test_operator_reading_is_stated() -> None:
    from cnncost.torch.module import analyze_module

    report = analyze_module(_user_modules()["net"], (3, 12, 12))
    ptf = predict(report, "ptflops")
    # `x * self.scale` arrives as torch.Tensor.mul, like x.mul(...): read as the operator ptflops does not see.
    assert ptf.exact and any("torch.Tensor.mul" in a for a in ptf.assumed)
    assert not predict(report, "fvcore").assumed


@pytest.mark.torch
def test_unmodeled_rows_are_named() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.nn import functional as F

    from cnncost.torch.module import analyze_module

    class Upsampling(nn.Module):
        def forward(self, x: Any) -> Any:
            return F.interpolate(x, scale_factor=2, mode="nearest")

    model = nn.Sequential(nn.Conv2d(3, 4, 3), Upsampling(), nn.GroupNorm(2, 4))
    report = analyze_module(model, (3, 8, 8))
    fv = predict(report, "fvcore")
    assert not fv.exact and any("interpolate" in u for u in fv.unmodeled)
    ptf = predict(report, "ptflops")
    assert any("GroupNorm" in u for u in ptf.unmodeled)
    assert predict(report, "flopcounter").exact
    del torch


# ------------------------------------------------------------------------------- the explain renderer


def test_explain_categories_sum_to_the_totals() -> None:
    from cnncost import api
    from cnncost.render.explain import category_rows, category_totals

    report = api.analyze("resnet50", batch=2)
    totals = category_totals(report)
    assert totals["conv"] + totals["linear"] == report.totals.macs
    assert totals["linear"] == 2 * 2048 * 1000
    assert sum(totals.values()) == report.totals.macs + report.totals.other_ops
    for depth in (0, 1, None):
        summed: dict[str, int] = {}
        for _, parts in category_rows(report, depth):
            for key, n in parts.items():
                summed[key] = summed.get(key, 0) + n
        assert summed == totals, depth


def test_explain_text_names_every_tool_with_its_number() -> None:
    from cnncost import api
    from cnncost.render.explain import render_explain

    report = api.analyze("resnet50")
    text = render_explain(report, depth=0, width=120)
    for p in predict_all(report):
        assert p.peer.tool in text and f"{p.count:,}" in text
    assert "4,089,184,256" in text and "8,178,368,512" in text and "2.00×" in text
    assert "conv MACs" in text and "residual" in text and "batchnorm" in text
    assert all(len(line) <= 120 for line in text.splitlines())


def test_explain_formats() -> None:
    import json

    from cnncost import api
    from cnncost.render.explain import explain_text

    report = api.analyze("inception-bottleneck")
    data = json.loads(explain_text(report, fmt="json"))
    assert data["macs"] == report.totals.macs and len(data["tools"]) == len(PEERS)
    assert {t["key"]: t["count"] for t in data["tools"]} == {p.peer.key: p.count for p in predict_all(report)}
    assert sum(row["categories"].get("conv", 0) for row in data["layers"]) == data["categories"]["conv"]
    markdown = explain_text(report, fmt="markdown")
    assert markdown.count("| fvcore |") == 1 and "| **total** |" in markdown
    csv_text = explain_text(report, fmt="csv")
    assert csv_text.splitlines()[0].startswith("name,op,conv,linear,bias")
    assert csv_text.splitlines()[-1].startswith("total,,")


def test_explain_names_what_it_could_not_model() -> None:
    import dataclasses

    from cnncost.render.explain import render_explain

    odd = dataclasses.replace(tiny(), unknown_ops=MappingProxyType({"aten.cumsum": 2, "aten.upsample_bicubic2d": 1}))
    text = render_explain(odd, width=100)
    assert "aten.cumsum ×2" in text
    # A number that leaves something out is not printed at all (it used to be, starred, as a lower bound).
    assert "* fvcore: not predicted: operator aten.cumsum is not covered (and 1 more kinds)" in text
    assert f"{TINY['fvcore']:,}" not in text and "not predicted *" in text


# ------------------------------------------------------------------------------- the command line


def _cli(*args: str) -> tuple[int, str, str]:
    return cli_runner(120)(*args)


def test_cli_explain_a_spec() -> None:
    import json

    code, out, err = _cli("explain", "resnet50", "--depth", "0")
    assert code == 0 and err == ""
    assert "what other tools report" in out and "4,111,512,576" in out  # fvcore, eval mode
    code, out, _ = _cli("explain", "resnet50", "--training", "--format", "json")
    tools = {t["key"]: t["count"] for t in json.loads(out)["tools"]}
    from cnncost import api

    assert code == 0 and tools["fvcore"] == predict(api.analyze("resnet50"), "fvcore", training=True).count


MODEL_FILE = '''
import torch.nn as nn

def net():
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                         nn.Linear(84, 10), nn.Softmax(dim=1))
'''


@pytest.mark.torch
def test_cli_module_table_compare_explain(tmp_path: Any) -> None:
    import json

    pytest.importorskip("torch")
    path = tmp_path / "lenet.py"
    path.write_text(MODEL_FILE)
    target = f"{path}:net"
    code, out, err = _cli("table", "--module", target, "--input-shape", "1,32,32", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["input"] == [32, 32, 1] and data["totals"]["macs"] == 416_520  # LeNet-5: 357,600 + 58,920
    code, out, err = _cli("compare", "lenet5", "--module", target, "--input-shape", "1,32,32", "--format", "json")
    assert code == 0, err
    networks = json.loads(out)["networks"]
    assert [n["name"] for n in networks] == ["lenet5", target]
    assert networks[0]["totals"]["macs"] == networks[1]["totals"]["macs"]  # the same network, two roads
    assert json.loads(out)["ratios"][0]["macs"] == 1.0
    code, out, err = _cli("explain", "--module", target, "--input-shape", "1,32,32", "--batch", "4")
    assert code == 0, err
    assert "batch of 4" in out and f"{4 * 2 * 416_520:,}" in out  # FlopCounterMode
    code, _, err = _cli("table", "--module", target, "--verify")
    assert code == 2 and "--verify" in err
    code, _, err = _cli("table", "lenet5", "--input-shape", "1,32,32")
    assert code == 2 and "--input-shape is for --module" in err
    code, _, err = _cli("table", "--module", target, "--set", "classes=3")
    assert code == 2 and "--set" in err
    code, _, err = _cli("table", "--module", target, "--input-shape", "3,32,32")
    assert code == 1 and err.count("\n") == 1 and "fails on the meta device" in err
