"""``cnncost gradients``: gradient norms per weight layer at initialization, the first/last ratio, activation scales."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from test_widths import check_fits, cli_run  # noqa: E402  (tests/test_widths.py, beside this file)

from cnncost import api  # noqa: E402
from cnncost.errors import UsageError  # noqa: E402
from cnncost.torch.build import build_module  # noqa: E402
from cnncost.torch.gradients import measure  # noqa: E402

pytestmark = pytest.mark.torch

TINY = """\
name: tiny
input: [2, 2, 1]
layers:
  - {name: conv, conv: {out: 2, kernel: 2, bias: false}}
  - flatten
  - {name: fc, linear: {out: 2, bias: false}}
"""


def _tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_gradient_norms_of_a_hand_computed_two_layer_net(tmp_path: Path) -> None:
    network = api.resolve(str(_tiny(tmp_path)))
    module = build_module(network)
    with torch.no_grad():
        # conv: filter 0 picks the top-left pixel, filter 1 is zero; fc: the identity
        conv = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
        module.get_submodule("conv").weight.copy_(conv)
        module.get_submodule("fc").weight.copy_(torch.eye(2))
    x = torch.tensor([[[[1.0, 2.0], [2.0, 4.0]]]])  # ‖x‖ = √(1 + 4 + 4 + 16) = 5
    report = measure(network, module, x, torch.tensor([0]))
    # h = conv(x) = [1, 0]; z = fc(h) = [1, 0]; softmax(z) = [σ(1), σ(−1)]; label 0:
    # ∂loss/∂z = [σ(1) − 1, σ(−1)] = [−s, s] with s = σ(−1) = 1/(1 + e) = 0.268941…
    s = 1 / (1 + math.e)
    assert report.loss == pytest.approx(math.log(1 + math.exp(-1)))  # −log σ(1)
    # ∂loss/∂W_fc = (∂loss/∂z) hᵀ = [[−s, 0], [s, 0]]: norm s·√2 = 0.380338…
    # ∂loss/∂h = W_fcᵀ (∂loss/∂z) = [−s, s]; ∂loss/∂W_conv = (∂loss/∂h) xᵀ: norm s·√2 · ‖x‖ = s·√2·5 = 1.901690…
    assert [r.path for r in report.layers] == ["conv", "fc"]
    assert [r.index for r in report.layers] == [1, 2]
    assert report.layers[0].grad_norm == pytest.approx(s * math.sqrt(2) * 5)
    assert report.layers[1].grad_norm == pytest.approx(s * math.sqrt(2))
    # first / last = ‖x‖ = 5
    assert report.ratio == pytest.approx(5.0)
    assert [r.weights for r in report.layers] == [8, 4]
    assert report.layers[0].weight_norm == pytest.approx(1.0) and report.layers[1].weight_norm == pytest.approx(
        math.sqrt(2)
    )
    # std of [1, 2, 2, 4] (n − 1): mean 2.25, squares 1.5625 + 0.0625 + 0.0625 + 3.0625 = 4.75; √(4.75 / 3)
    assert report.input_std == pytest.approx(math.sqrt(4.75 / 3))
    # blocks: conv's output [1, 0] has std √0.5; flatten the same; fc's [1, 0] too
    assert [b.path for b in report.blocks] == ["conv", "flatten1", "fc"]
    assert [b.std for b in report.blocks] == pytest.approx([math.sqrt(0.5)] * 3)


def test_a_zero_last_gradient_has_no_ratio(tmp_path: Path) -> None:
    network = api.resolve(str(_tiny(tmp_path)))
    module = build_module(network)
    with torch.no_grad():
        module.get_submodule("conv").weight.zero_()  # h = 0, so ∂loss/∂W_fc = (∂loss/∂z) hᵀ = 0
    report = measure(network, module, torch.ones(1, 1, 2, 2), torch.tensor([1]))
    assert report.last.grad_norm == 0 and report.ratio is None


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others() -> None:
    first = api.gradients("resnet20", "plain20", size=8, batch=4, seed=3)
    again = api.gradients("resnet20", "plain20", size=8, batch=4, seed=3)
    other = api.gradients("resnet20", "plain20", size=8, batch=4, seed=4)
    assert first == again
    assert [r.layers for r in first] != [r.layers for r in other]
    assert [len(r.layers) for r in first] == [20, 20]  # 6n + 2 weight layers, n = 3
    # ResNet-20's 15 blocks: conv1, bn1, relu, 9 residual blocks, avgpool, flatten, fc
    assert [b.op for b in first[0].blocks][3:12] == ["residual"] * 9
    assert all(r.ratio is not None and r.ratio > 0 for r in first)


def test_bn_switch_and_spec_without_one(tmp_path: Path) -> None:
    (with_bn,) = api.gradients("plain20", size=8, batch=4)
    (without,) = api.gradients("plain20", size=8, batch=4, bn=False)
    assert with_bn.variables["bn"] is True and without.variables["bn"] is False
    assert "bn" in [b.op for b in with_bn.blocks] and "bn" not in [b.op for b in without.blocks]
    with pytest.raises(UsageError, match="lenet5 has no batchnorm switch"):
        api.gradients("lenet5", bn=False)
    spec = tmp_path / "vggish.yaml"  # VGG's switch is called 'batchnorm'
    spec.write_text(
        TINY.replace("layers:\n", "variables: {batchnorm: false}\nlayers:\n", 1).replace(
            "  - flatten\n", "  - {when: batchnorm, bn: {}}\n  - flatten\n"
        ),
        encoding="utf-8",
    )
    (vggish,) = api.gradients(str(spec), batch=2, bn=True)
    assert vggish.variables["batchnorm"] is True and "bn" in [b.op for b in vggish.blocks]


def test_kaiming_gives_the_he_standard_deviation() -> None:
    (report,) = api.gradients("resnet20", size=8, batch=2, init="kaiming")
    layer = next(r for r in report.layers if r.path == "layer3.1.conv1")
    # fan_in = 3·3·64 = 576: std √(2/576) = 0.058926; 36,864 weights: ‖W‖ ≈ std·√36,864 = 0.058926·192 = 11.314
    assert layer.weights == 36_864
    assert layer.weight_norm == pytest.approx(math.sqrt(2 / 576) * 192, rel=0.03)
    (default,) = api.gradients("resnet20", size=8, batch=2)
    layer = next(r for r in default.layers if r.path == "layer3.1.conv1")
    # PyTorch's default: uniform ±1/√576, std 1/√(3·576) = 0.024056; ‖W‖ ≈ 0.024056·192 = 4.619
    assert layer.weight_norm == pytest.approx(192 / math.sqrt(3 * 576), rel=0.03)


def test_cli_table_json_csv_and_widths() -> None:
    args = ("gradients", "resnet20", "plain20", "--size", "8", "--batch", "4")
    small, large = check_fits(args)
    for text in (small, large):
        assert "first/last gradient norm:" in text and "plain20" in text and "resnet20" in text
    data = json.loads(cli_run(*args, "--format", "json", width=80))
    assert [n["name"] for n in data["networks"]] == ["resnet20", "plain20"]
    net = data["networks"][1]
    assert len(net["layers"]) == 20 and net["layers"][0]["path"] == "conv1" and net["layers"][-1]["path"] == "fc"
    assert net["first_last_ratio"] == pytest.approx(net["layers"][0]["grad_norm"] / net["layers"][-1]["grad_norm"])
    csv_text = cli_run(*args, "--format", "csv", width=80)
    lines = csv_text.splitlines()
    assert lines[0] == "network,measure,index,path,op,value"
    # per network: 20 weight layers + 15 blocks (conv1, bn1, relu, 9 blocks, avgpool, flatten1, fc)
    assert len(lines) == 1 + 2 * (20 + 15)


def test_cli_bad_options_give_one_line(tmp_path: Path) -> None:
    from test_cli import run  # tests/test_cli.py: the CLI in-process, stdout and stderr apart

    for args, expected in (
        (["gradients", "lenet5", "--no-bn"], "no batchnorm switch"),
        (["gradients", "resnet20", "--init", "orthogonal"], "orthogonal"),
        (["gradients", "resnet20", "--batch", "1"], "--batch"),
        (["gradients", "resnet20", "-o", str(tmp_path / "missing" / "g.png")], "does not exist"),
        (["gradients", "nosuchnet"], "no network named"),
        (["gradients", "resnet20", "--set", "nosuch=1"], "no variable"),
        # ResNet-50: 37,561,832 layer-output elements per image, 4 bytes each: 150,247,328 B; × 32 = 4.5 GiB > 2 GiB;
        # 2 GiB / 150,247,328 B = 14.3 images
        (["gradients", "resnet50"], "4.5 GiB of layer outputs"),
        (["gradients", "resnet50"], "lower --batch to 14 or less"),
    ):
        result = run(*args)
        assert result.code in (1, 2), args
        assert result.stdout == ""
        assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    assert not (tmp_path / "missing").exists()


def test_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "g.png"
    cli_run("gradients", "resnet20", "plain20", "--size", "8", "--batch", "2", "-o", str(out), width=80)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_one_line_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cnncost.errors import MissingDependencyError
    from cnncost.render.plot import require_matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError) as info:
        require_matplotlib("--output")
    assert "pip install matplotlib" in str(info.value) and "\n" not in str(info.value)
