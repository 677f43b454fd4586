"""The op registry: every op complete in every facet, registries that refuse duplicates, each cost primitive
against a value computed by hand, and the package importable without torch."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from cnncost.ops import FACETS, Absent, Field, Reverse, define, every_op, get_op, implement
from cnncost.ops import costs as C
from cnncost.ops.aten import aten_cost, call_cost, register_aten, register_call

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------- facet completeness

#: Ops that legitimately have no module, said here as well as in their definition (a change must touch both).
NO_MODULE = {"add", "concat", "multiply"}


@pytest.mark.parametrize("op", [op.name for op in every_op()])
def test_every_op_has_every_required_facet(op: str) -> None:
    definition = get_op(op)
    for facet in FACETS:
        assert facet.name in definition.facets, f"op {op!r} lacks the facet {facet.name!r} ({facet.doc})"
        value = definition.facets[facet.name]
        if isinstance(value, Absent):
            assert facet.may_be_absent, f"op {op!r} may not go without the facet {facet.name!r}"
            assert value.reason, f"op {op!r} declares {facet.name!r} absent without saying why"
        elif facet.name == "fields":
            assert isinstance(value, Mapping) and all(isinstance(f, Field) for f in value.values())
        elif facet.name == "reverse":
            assert value and all(isinstance(r, Reverse) for r in value)
        else:
            assert callable(value), f"op {op!r}: facet {facet.name!r} is not a function"


def test_ops_without_a_module_are_exactly_the_merge_pseudo_ops() -> None:
    assert {op.name for op in every_op() if op.build is None} == NO_MODULE
    assert {op.name for op in every_op() if not op.reverse} == NO_MODULE


def test_a_missing_facet_is_reported() -> None:
    from cnncost.ops import registry

    op = define("_test_incomplete", summary="", category="test", internal=True, fields={})
    try:
        missing = [f.name for f in FACETS if f.name not in op.facets]
        assert missing == [
            "prepare", "shape", "cost", "formula", "build", "reverse", "backward", "saved", "receptive_field"
        ]
    finally:
        del registry._INTERNAL["_test_incomplete"], registry._FACETS["_test_incomplete"]


# ------------------------------------------------------------------------------------- duplicates refused


def test_the_op_registry_refuses_a_second_op() -> None:
    with pytest.raises(ValueError, match="op 'conv' is registered twice"):
        define("conv", summary="", category="conv")
    with pytest.raises(ValueError, match="no facet named 'costs'"):
        define("_test_typo", summary="", category="test", costs=None)


def test_a_facet_cannot_be_implemented_twice() -> None:
    with pytest.raises(ValueError, match="shape for op 'relu' is registered twice"):
        implement("shape", "relu")(lambda args, shape: shape)
    with pytest.raises(ValueError, match="build for op 'concat' is registered twice"):  # declared Absent
        implement("build", "concat")(lambda layer, device: None)


def test_unknown_op_suggests_a_close_name() -> None:
    from cnncost.errors import SpecError

    with pytest.raises(SpecError, match="unknown op 'lienar'") as exc:
        get_op("lienar")
    assert "linear" in (exc.value.hint or "")


def test_the_aten_registry_refuses_a_second_formula() -> None:
    with pytest.raises(ValueError, match="aten formula for 'convolution' is registered twice"):
        register_aten("convolution")(lambda args, out: aten_cost("view", (), None))
    with pytest.raises(ValueError, match="call formula for 'add' is registered twice"):
        register_call("add")(lambda args, out: None)
    with pytest.raises(ValueError, match="call formula for 'view' is registered twice"):  # a free call
        register_call("view")(lambda args, out: None)


# ------------------------------------------------------------------------------------- the primitives


def test_conv_macs_course_examples() -> None:
    # 5×5 "same" conv, 28×28×192 → 28×28×32: 5·5·192 × 32 × 28·28
    assert C.conv_macs(32, 192, (5, 5), (28, 28)) == 120_422_400
    # 1×1 conv to 16 channels: 1·1·192 × 16 × 28·28
    assert C.conv_macs(16, 192, (1, 1), (28, 28)) == 2_408_448
    # depthwise 3×3 on 112×112×32 (one input channel per group): 3·3·1 × 32 × 112·112
    assert C.conv_macs(32, 1, (3, 3), (112, 112)) == 3_612_672


def test_linear_and_matmul_macs() -> None:
    assert C.linear_macs(4096, 1000) == 4_096_000  # VGG's last layer
    assert C.matmul_macs((8, 3, 5), 7) == 8 * 3 * 5 * 7 == 840


def test_window_and_adaptive_pooling() -> None:
    assert C.window_ops(56 * 56 * 64, (3, 3)) == 200_704 * 9 == 1_806_336
    # 7 → 3 adaptive windows: [0,3) [2,5) [4,7) — three windows of 3
    assert C.adaptive_window_total(7, 3) == 9
    # 5 → 2: [0,3) [2,5)
    assert C.adaptive_window_total(5, 2) == 6
    assert C.adaptive_window_total(6, 6) == 6


def test_elementwise_primitives() -> None:
    assert C.elements((7, 7, 512)) == 25_088
    assert C.elements(()) == 1
    assert C.pointwise_ops(25_088) == 25_088
    assert C.affine_ops(25_088) == 50_176  # batch norm at inference: a multiply and an add per value
    assert C.lrn_ops(55 * 55 * 96, 5) == 1_452_000  # AlexNet's first LRN


def test_the_aten_convolution_uses_the_conv_primitive() -> None:
    class T:  # a duck-typed tensor
        def __init__(self, *shape: int) -> None:
            self.shape = shape

        def numel(self) -> int:
            return C.elements(self.shape)

        def dim(self) -> int:
            return len(self.shape)

    x, w, y = T(2, 192, 28, 28), T(32, 192, 5, 5), T(2, 32, 28, 28)
    got = aten_cost("convolution", (x, w, None, (1, 1), (2, 2), (1, 1), False, (0, 0), 1), y)
    assert got.macs == 2 * C.conv_macs(32, 192, (5, 5), (28, 28))
    assert not got.other
    a, b = T(1, 8, 28, 28), T(1, 8, 28, 28)
    assert dict(aten_cost("add", (a, b), T(1, 8, 28, 28)).other) == {"residual": 6272}
    assert dict(call_cost("torch.Tensor.add", (a, 1.0), T(1, 8, 28, 28)).other) == {"elementwise": 6272}  # type: ignore[union-attr]
    assert aten_cost("cumsum", (a,), a).unknown == {"aten.cumsum": 1}


# ------------------------------------------------------------------------------------- reverse mapping


def test_a_trivial_subclass_counts_exactly_as_its_module() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    from cnncost.torch.module import analyze_module

    class MyLRN(nn.LocalResponseNorm):
        pass

    class MyConv(nn.Conv2d):
        pass

    class OwnForward(nn.LocalResponseNorm):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) * 2

    def row(module: nn.Module) -> tuple[str, dict[str, int], int]:
        report = analyze_module(nn.Sequential(module), (8, 16, 16))
        (layer,) = [r for r in report.records if r.is_layer]
        return layer.op, dict(layer.other), layer.macs

    # 8·16·16 values, each over 5 neighbouring channels
    assert row(nn.LocalResponseNorm(5)) == row(MyLRN(5)) == ("lrn", {"normalization": 10_240}, 0)
    assert row(MyConv(8, 4, 3)) == row(nn.Conv2d(8, 4, 3))
    assert row(MyConv(8, 4, 3))[0] == "conv"
    op, other, _ = row(OwnForward(5))
    assert op == "OwnForward" and other != {"normalization": 10_240}  # its own forward: its operators counted


# ------------------------------------------------------------------------------------- no torch


def test_the_ops_package_imports_without_torch() -> None:
    snippet = (
        "import sys; sys.modules['torch'] = None\n"
        "import cnncost.ops, cnncost.ops.aten\n"
        "assert cnncost.ops.get_op('conv').cost({'kernel': (3, 3), 'groups': 1, 'bias': True},"
        " (8, 8, 3), (8, 8, 4)).macs == 3 * 3 * 3 * 4 * 64\n"
        "assert [m for m in sys.modules if m.startswith(('cnncost.spec', 'cnncost.analysis', 'cnncost.torch'))] == []\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
