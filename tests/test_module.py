"""``analyze_module``: any nn.Module on the meta device, and ``load_module_target``.

Hand-computed rows for a small model; every bundled spec's built module analyzed back to the spec's own rows;
FlopCounterMode equal to 2 × MACs on models with functional convolutions and matrix products; parameters each
counted once; unknown operators listed; the caller's model untouched; one-line errors.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnncost import api  # noqa: E402
from cnncost.errors import (  # noqa: E402
    CnnCostError,
    LimitError,
    MissingDependencyError,
    NotFoundError,
    ShapeError,
    UsageError,
)
from cnncost.torch.module import analyze_module, load_module_target, meta_copy  # noqa: E402

pytestmark = pytest.mark.torch


def rows(report: Any) -> list[tuple[Any, ...]]:
    return [
        (r.path, r.op, tuple(r.output_shape), r.params, r.macs, dict(r.other), r.formula) for r in report.layers()
    ]


def flop_counter(model: nn.Module, shape: tuple[int, ...]) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.zeros(shape))
    return int(counter.get_total_flops())


# ----------------------------------------------------------------------------------------- by hand


def test_small_model_by_hand() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),  # 32×32×8: 3·3·3 × 8 × 32·32 = 221,184 MACs, bias 8,192
        nn.BatchNorm2d(8),  # 16 params, 2 × 8,192
        nn.ReLU(),
        nn.MaxPool2d(2),  # 16×16×8 = 2,048 outputs × 4
        nn.AdaptiveAvgPool2d(1),  # reads 2,048
        nn.Flatten(),
        nn.Linear(8, 10),  # 80 MACs, bias 10
    )
    report = analyze_module(model, (3, 32, 32), batch=2, name="small")
    assert report.name == "small" and report.batch == 2 and report.input_shape == (32, 32, 3)
    assert rows(report) == [
        ("0", "conv", (32, 32, 8), 224, 2 * 221_184, {"bias": 2 * 8_192}, "3·3·3 × 8 × 32·32"),
        ("1", "bn", (32, 32, 8), 16, 0, {"batchnorm": 2 * 16_384}, None),
        ("2", "relu", (32, 32, 8), 0, 0, {"activation": 2 * 8_192}, None),
        ("3", "maxpool", (16, 16, 8), 0, 0, {"pooling": 2 * 8_192}, None),
        ("4", "global_avgpool", (1, 1, 8), 0, 0, {"pooling": 2 * 2_048}, None),
        ("5", "flatten", (8,), 0, 0, {}, None),
        ("6", "linear", (10,), 90, 2 * 80, {"bias": 2 * 10}, "8 × 10"),
    ]
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 330
    assert report.totals.macs == 2 * 221_264
    assert report.output_shape == (10,)
    assert not report.unknown_ops


def test_rows_in_pre_order_with_group_subtotals() -> None:
    model = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU()), nn.Conv2d(4, 4, 1, bias=False))
    report = analyze_module(model, (3, 5, 5))
    assert [(r.path, r.kind, r.depth) for r in report.records] == [
        ("0", "block", 0),
        ("0.0", "layer", 1),
        ("0.1", "layer", 1),
        ("1", "layer", 0),
    ]
    group = report.find("0")
    assert group.op == "Sequential" and group.params == 16 and group.macs == 3 * 4 * 25
    assert group.other == {"bias": 100, "activation": 100}


# ----------------------------------------------------------------------------------------- every spec


@pytest.mark.parametrize("name", [e.name for e in api.library_entries()])
def test_built_specs_analyze_to_their_own_rows(name: str) -> None:
    report = api.analyze(name, batch=2)
    module = api.build(name, device="meta")
    h, w, c = report.input_shape
    got = analyze_module(module, (c, h, w), batch=2)
    assert rows(got) == rows(report)
    assert got.totals == report.totals
    assert not got.unknown_ops


# ----------------------------------------------------------------------------------------- operators


class Functional(nn.Module):
    """Convolutions and matrix products called functionally, in a custom leaf and in a container."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(6, 3, 3, 3))
        self.dw = nn.Parameter(torch.randn(6, 1, 3, 3))
        self.proj = nn.Parameter(torch.randn(6, 5))
        self.head = nn.Linear(5 * 8, 7)

    def forward(self, x: Any) -> Any:
        x = F.conv2d(x, self.weight, stride=2, padding=1)  # 8×8×6: 6·8·8·27 MACs
        x = F.conv2d(x, self.dw, groups=6, padding=1)  # depthwise: 6·8·8·9
        x = x.flatten(2).transpose(1, 2)  # N × 64 × 6
        x = x @ self.proj  # bmm-like matmul: 64·6·5
        x = torch.bmm(x.transpose(1, 2), torch.ones(x.shape[0], 64, 8))  # N × 5 × 8: 5·64·8
        x = torch.einsum("bij->bij", x).flatten(1)
        return self.head(x)  # 40·7


def test_functional_work_is_counted_like_flop_counter_mode() -> None:
    report = analyze_module(Functional(), (3, 16, 16), batch=3)
    per_image = 6 * 8 * 8 * 27 + 6 * 8 * 8 * 9 + 64 * 6 * 5 + 5 * 64 * 8 + 40 * 7
    assert report.totals.macs == 3 * per_image
    assert 2 * report.totals.macs == flop_counter(Functional(), (3, 3, 16, 16))
    assert report.totals.params == sum(p.numel() for p in Functional().parameters())
    conv = report.find("conv")
    assert conv.kind == "layer" and conv.params == 6 * 27 + 6 * 9  # the container's weights used by F.conv2d


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        pytest.param(lambda: api.build("resnet20"), (3, 32, 32), id="resnet20"),
        pytest.param(lambda: api.build("mobilenet-v2", size=64), (3, 64, 64), id="mobilenet-v2"),
        pytest.param(lambda: api.build("googlenet"), (3, 224, 224), id="googlenet"),
        pytest.param(Functional, (3, 16, 16), id="functional"),
    ],
)
def test_flop_counter_mode_is_twice_the_macs(make: Any, shape: tuple[int, ...]) -> None:
    model = make()
    report = analyze_module(model, shape, batch=2)
    assert 2 * report.totals.macs == flop_counter(model, (2, *shape))


SHAPES = [
    nn.Conv2d(3, 8, 3, stride=2, padding=3, dilation=2),
    nn.Conv2d(3, 6, (3, 5), stride=(2, 1), padding=(1, 2), groups=3, bias=False),
    nn.Conv2d(3, 4, 4, padding="same"),
    nn.Conv2d(3, 4, 3, padding="valid", padding_mode="circular"),
    nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
    nn.MaxPool2d(3, 2, 1),
    nn.MaxPool2d(3, 2, ceil_mode=True),
    nn.MaxPool2d(2, dilation=2),
    nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
    nn.AvgPool2d((2, 3)),
    nn.AdaptiveAvgPool2d((5, None)),
    nn.AdaptiveAvgPool2d((3, 7)),
    nn.AdaptiveAvgPool2d(1),
    nn.AdaptiveMaxPool2d(1),
    nn.AdaptiveMaxPool2d((2, 3)),
    nn.LocalResponseNorm(4),
    nn.BatchNorm2d(3),
    nn.Hardswish(),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("layer", SHAPES, ids=[repr(m) for m in SHAPES])
def test_shapes_without_running_known_modules_match_pytorch(layer: nn.Module) -> None:
    # Known modules are not run (their shape comes from the registry's rule): the shapes must be PyTorch's.
    x = torch.zeros(2, 3, 13, 11)
    with torch.no_grad():
        expected = tuple(layer.eval()(x).shape)
    (row,) = analyze_module(layer, (3, 13, 11), batch=2).layers()
    _, c, *hw = expected
    assert tuple(row.output_shape) == (*hw, c)


@pytest.mark.parametrize(
    "model",
    [
        nn.Sequential(nn.Flatten(), nn.Linear(3 * 13 * 11, 5), nn.BatchNorm1d(5), nn.GELU()),
        nn.Sequential(nn.Flatten(2), nn.ReLU(), nn.Softmax(dim=-1)),  # activations on N × C × L
    ],
)
def test_shapes_of_vectors_and_sequences(model: nn.Module) -> None:
    x = torch.zeros(2, 3, 13, 11)
    with torch.no_grad():
        expected = tuple(model.eval()(x).shape)
    report = analyze_module(model, (3, 13, 11), batch=2)
    assert report.layers()[-1].output_shape == expected[1:]


def test_merges_and_shared_modules() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x: Any) -> Any:
            out = self.relu(self.conv(x))
            out += x  # residual: 4·6·6 additions
            y = torch.cat([out, out], 1)  # concat: no arithmetic
            return self.relu(y[:, :4] * torch.sigmoid(out.mean((2, 3), keepdim=True)))

    report = analyze_module(Block(), (4, 6, 6))
    assert report.find("add").other == {"residual": 144}
    assert report.find("concat").other == {} and report.find("concat").output_shape == (6, 6, 8)
    assert report.find("multiply").other == {"elementwise": 144}
    assert report.find("mean").other == {"pooling": 144}
    assert report.find("sigmoid").other == {"activation": 4}
    relu = report.find("relu")  # one module, two calls
    assert relu.observed is not None and relu.observed.calls == 2 and relu.other == {"activation": 288}


def test_unknown_operators_are_listed_with_counts() -> None:
    class Odd(nn.Module):
        def forward(self, x: Any) -> Any:
            return torch.cumsum(torch.cumsum(x, 1), 2).sort(dim=1).values

    report = analyze_module(Odd(), (3, 4, 4))
    assert dict(report.unknown_ops) == {"aten.cumsum": 2, "aten.sort": 1}
    assert report.find("Odd").observed.unknown == {"aten.cumsum": 2, "aten.sort": 1}  # a leaf: one row


# ----------------------------------------------------------------------------------------- parameters


def test_each_parameter_counted_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.b.weight = self.a.weight  # tied
            self.unused = nn.Linear(4, 100)  # never called
            self.gain = nn.Parameter(torch.ones(4))  # the container's own, used by a multiply

        def forward(self, x: Any) -> Any:
            return self.b(self.a(x)) * self.gain

    model = Tied()
    report = analyze_module(model, (4,))
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 16 + 4 + 4 + 500 + 4
    assert report.find("unused").params == 500 and report.find("unused").observed.calls == 0
    assert report.find("multiply").params == 4
    assert report.find("b").params == 4  # its weight is a's


def test_model_left_untouched_and_nothing_allocated() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    analyze_module(model, (3, 16, 16))
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(p.device.type == "meta" for p in meta_copy(model).parameters())


def test_a_model_too_large_to_allocate() -> None:
    with torch.device("meta"):
        huge = nn.Sequential(nn.Flatten(), nn.Linear(3 * 512 * 512, 200_000))  # 157 G parameters
    report = analyze_module(huge, (3, 512, 512), batch=64)
    assert report.totals.params == 3 * 512 * 512 * 200_000 + 200_000
    assert report.totals.macs == 64 * 3 * 512 * 512 * 200_000


# ----------------------------------------------------------------------------------------- errors


def test_bad_arguments() -> None:
    model = nn.Conv2d(3, 4, 3)
    with pytest.raises(TypeError):
        analyze_module("resnet50", (3, 224, 224))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        analyze_module(model, "3,32,32")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="positive"):
        analyze_module(model, (3, 0, 32))
    with pytest.raises(LimitError):
        analyze_module(model, (3, 32, 32), batch=0)
    with pytest.raises(LimitError):
        analyze_module(model, (3, 100_000, 100_000))


def test_a_model_that_does_not_fit_its_input() -> None:
    with pytest.raises(ShapeError) as info:
        analyze_module(nn.Conv2d(3, 4, 3), (1, 32, 32))
    assert "(1, 1, 32, 32)" in str(info.value) and "\n" not in str(info.value)


def test_a_model_that_reads_values() -> None:
    class Reads(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * 2 if x.sum().item() > 0 else x

    with pytest.raises(ShapeError, match="cannot be analyzed without running it"):
        analyze_module(Reads(), (3, 4, 4))


def test_a_root_leaf_module() -> None:
    report = analyze_module(nn.Conv2d(3, 4, 3, bias=False), (3, 5, 5))
    assert [(r.path, r.op, r.macs) for r in report.records] == [("Conv2d", "conv", 4 * 27 * 9)]


# ----------------------------------------------------------------------------------------- loading


def test_load_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(load_module_target("torch.nn:Identity"), nn.Identity)
    path = tmp_path / "mynet.py"
    path.write_text(
        textwrap.dedent(
            """
            import torch.nn as nn

            def build():
                return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())

            model = build()
            broken = lambda: 1 / 0

            def reads_values():
                import torch
                n = int(torch.ones(2).sum().item())  # impossible on the meta device
                return nn.Linear(n, n)

            number = 3
            not_a_model = lambda: "hello"
            """
        )
    )
    built = load_module_target(f"{path}:build")
    assert isinstance(built, nn.Sequential) and all(p.is_meta for p in built.parameters())
    assert all(not p.is_meta for p in load_module_target(f"{path}:build", meta=False).parameters())
    assert all(not p.is_meta for p in load_module_target(f"{path}:reads_values").parameters())  # built again
    assert isinstance(load_module_target(f"{path}:model"), nn.Sequential)
    with pytest.raises(CnnCostError, match=r"calling .*broken\(\) failed: ZeroDivisionError"):
        load_module_target(f"{path}:broken")
    with pytest.raises(CnnCostError, match="is a int"):
        load_module_target(f"{path}:number")
    with pytest.raises(CnnCostError, match=r"returned a str, not a torch\.nn\.Module"):
        load_module_target(f"{path}:not_a_model")
    with pytest.raises(NotFoundError, match="did you mean 'build'"):
        load_module_target(f"{path}:buld")
    monkeypatch.syspath_prepend(str(tmp_path))
    report = api.analyze_module("mynet:build", (3, 8, 8))
    assert report.name == "mynet:build" and report.source == "mynet:build"
    assert report.totals.macs == 4 * 27 * 36
    sys.modules.pop("mynet", None)


@pytest.mark.parametrize(
    ("target", "error", "text"),
    [
        ("resnet50", UsageError, "is not MODULE:CALLABLE"),
        (":resnet50", UsageError, "is not MODULE:CALLABLE"),
        ("no_such_package_xyz:net", NotFoundError, "no Python module named 'no_such_package_xyz'"),
        ("torch.nn:Conv9d", NotFoundError, "has no attribute 'Conv9d'"),
        ("torch.nn:Conv2d", CnnCostError, "calling torch.nn:Conv2d() failed: TypeError"),
        ("missing/file.py:net", NotFoundError, "no such file"),
    ],
)
def test_load_errors(target: str, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=re.escape(text)) as info:
        load_module_target(target)
    assert "\n" not in str(info.value)


def test_torchvision_target() -> None:
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="torchvision is not installed"):
            load_module_target("torchvision:resnet50")
        return
    report = api.analyze_module("torchvision:resnet50")
    assert report.totals.params == 25_557_032 and report.totals.macs == 4_089_184_256


def test_modules_run_on_a_folded_batch() -> None:
    class Frames(nn.Module):  # a per-frame conv on N·T frames, as video models do
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x: Any) -> Any:
            n = x.shape[0]
            return self.bn(self.conv(x.reshape(n * 5, 3, 8, 8))).reshape(n, 5 * 4, 8, 8)

    report = analyze_module(Frames(), (15, 8, 8), batch=2)
    assert report.find("conv").macs == 2 * 5 * 4 * 27 * 64
    assert 2 * report.totals.macs == flop_counter(Frames(), (2, 15, 8, 8))
