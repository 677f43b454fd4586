"""Receptive field and jump: each op's rule against values computed by hand, the joins, and the known figures of
whole networks (VGG-16, AlexNet, LeNet-5, ResNet-50). The empirical oracle (gradients of a built network) is in
tests/test_receptive_oracle.py."""

from __future__ import annotations

from fractions import Fraction
from types import MappingProxyType

import pytest

from cnncost import api
from cnncost.analysis.receptive import join, network_fields
from cnncost.ops import get_op
from cnncost.ops.pool import adaptive_window
from cnncost.ops.receptive import RF, transposed_reach

F = Fraction


def field(op: str, in_shape: tuple[int, ...], rf: RF, **args: object) -> RF:
    """One op's receptive field from spec-like arguments, prepared the way the resolver prepares them."""
    opdef = get_op(op)
    full = {k: f.default for k, f in opdef.fields.items()}
    full.update(args)
    for key, spec in opdef.fields.items():
        if spec.kind in ("pair", "padding") and isinstance(full[key], int):
            full[key] = (full[key], full[key])
    final = opdef.prepare(full, in_shape) if opdef.prepare else full
    return opdef.implementation("receptive_field")(MappingProxyType(final), in_shape, rf)  # type: ignore[no-any-return]


def rf(r: int | tuple[int, int], j: int | Fraction | tuple[Fraction, Fraction] = 1, step: int | None = None) -> RF:
    size = r if isinstance(r, tuple) else (r, r)
    jump = j if isinstance(j, tuple) else (F(j), F(j))
    return RF(size, jump, step=None if step is None else (F(step), F(step)))


# ---------------------------------------------------------------------------------------------- window ops


def test_conv_grows_by_k_minus_one_jumps_and_multiplies_the_jump() -> None:
    # AlexNet's conv1: 11×11 stride 4 on a pixel: r = 1 + (11 − 1)·1 = 11, j = 1·4 = 4
    assert field("conv", (227, 227, 3), RF.input(), out=96, kernel=11, stride=4) == rf(11, 4)
    # then a 5×5 conv at jump 8: r = 19 + (5 − 1)·8 = 51, j stays 8
    assert field("conv", (27, 27, 96), rf(19, 8), out=256, kernel=5, padding=2) == rf(51, 8)


def test_dilation_and_rectangular_kernels() -> None:
    # 3×3 dilated by 2 at (r 5, j 2): r = 5 + (3 − 1)·2·2 = 13
    assert field("conv", (32, 32, 8), rf(5, 2), out=8, kernel=3, dilation=2, padding=2) == rf(13, 2)
    # a 1×7 kernel grows only the width: (1 + 0, 1 + 6)
    assert field("conv", (17, 17, 8), RF.input(), out=8, kernel=(1, 7), padding=(0, 3)) == rf((1, 7))
    # stride (2, 1): jumps (2, 1)
    out = field("conv", (16, 16, 4), rf(3, 2), out=4, kernel=3, stride=(2, 1), padding=1)
    assert out == RF((3 + 2 * 2, 3 + 2 * 2), (F(4), F(2)))


def test_groups_and_depthwise_change_no_window() -> None:
    # a depthwise 3×3 is a 3×3 window like any other: 7 + 2·4 = 15
    assert field("conv", (28, 28, 32), rf(7, 4), kernel=3, padding=1, groups="depthwise") == rf(15, 4)


def test_pooling_is_a_window_of_its_kernel() -> None:
    # VGG's pool5 after conv5_3 (196, 16): 196 + (2 − 1)·16 = 212, j = 32
    assert field("maxpool", (14, 14, 512), rf(196, 16), kernel=2) == rf(212, 32)
    # AlexNet's pool1 after conv1 (11, 4): 11 + 2·4 = 19, j = 8
    assert field("maxpool", (55, 55, 96), rf(11, 4), kernel=3, stride=2) == rf(19, 8)
    # LeNet-5's second pool after c2 (14, 2): 14 + 1·2 = 16, j = 4
    assert field("avgpool", (10, 10, 16), rf(14, 2), kernel=2, stride=2) == rf(16, 4)


def test_adaptive_pooling() -> None:
    # 7 → 7 is the identity (VGG's avgpool at 224), 14 → 7 a 2×2 stride-2 pool: 212 + 1·32 = 244, j = 64
    assert field("adaptive_avgpool", (7, 7, 512), rf(212, 32), size=7) == rf(212, 32)
    assert field("adaptive_avgpool", (14, 14, 512), rf(212, 32), size=7) == rf(244, 64)
    # 7 → 3: windows [0,3) [2,5) [4,7), all 3 wide: r = 10 + 2·1, jump 7/3 on average
    assert adaptive_window(7, 3) == 3
    assert field("adaptive_avgpool", (7, 7, 1), rf(10), size=3) == rf(12, F(7, 3))
    # 5 → 3: windows [0,2) [1,4) [3,5): the largest is 3
    assert adaptive_window(5, 3) == 3


# --------------------------------------------------------------------------------- what leaves no window


def test_global_pooling_and_linear_see_the_whole_input() -> None:
    for op in ("global_avgpool", "global_maxpool"):
        out = field(op, (7, 7, 2048), rf(427, 32))
        assert out.whole and out.size is None and out.jump is None and "global pooling" in (out.reason or "")
    out = field("linear", (2048,), RF.whole_input("global pooling reads every position"), out=1000)
    assert out.whole and "linear" in (out.reason or "")


def test_flatten_keeps_each_values_field_but_no_jump() -> None:
    out = field("flatten", (5, 5, 16), rf(16, 4))
    assert out.size == (16, 16) and out.jump is None and "no positions" in (out.reason or "")
    # the linear layer after it reads every value: the whole input
    assert field("linear", (400,), out, out=120).whole


@pytest.mark.parametrize(
    "op, args",
    [
        ("relu", {}), ("sigmoid", {}), ("softmax", {}), ("bn", {}), ("lrn", {"size": 5}), ("dropout", {}),
        ("identity", {}), ("stochastic_depth", {}), ("channel_shuffle", {"groups": 2}), ("layernorm", {}),
        ("layer_scale", {}), ("pointwise_linear", {"out": 8}),
    ],
)
def test_ops_on_each_position_keep_the_field(op: str, args: dict[str, object]) -> None:
    assert field(op, (9, 9, 8), rf(35, 4), **args) == rf(35, 4)


def test_merge_pseudo_ops_and_the_zero_pad_shortcut() -> None:
    for op in ("add", "concat", "multiply"):
        assert field(op, (9, 9, 8), rf(35, 4)) == rf(35, 4)
    # every 2nd position: a window of 1, stride 2 → r unchanged, j doubled
    assert field("zero_pad", (8, 8, 16), rf(11, 2), stride=2, out=32) == rf(11, 4)


# ----------------------------------------------------------------------------------------------- upsampling


def test_upsampling_divides_the_jump_and_leaves_an_uneven_grid() -> None:
    # nearest ×2 copies one unit: r unchanged, j = 8/2 = 4 on average, neighbours 0 or 8 apart (step 8)
    assert field("upsample", (7, 7, 4), rf(51, 8), scale=2) == rf(51, 4, step=8)
    # bilinear reads 2 neighbours per axis: r = 51 + (2 − 1)·8 = 59
    assert field("upsample", (7, 7, 4), rf(51, 8), scale=2, bilinear=True) == rf(59, 4, step=8)
    # to a size: 7 → 14 × 7 → 21: j = (8/2, 8/3)
    up = field("upsample", (7, 7, 4), rf(51, 8), size=(14, 21))
    assert up.size == (51, 51) and up.jump == (F(4), F(8, 3)) and not up.exact
    # at jump 1, ×2: j = 1/2, step 1. A 3×3 conv spans 2 half-steps: at most ⌈2·(1/2)/1⌉ = 1 whole step → r 2;
    # a 5×5 spans 4: 2 whole steps → r 3; a stride-2 1×1 conv brings the grid back to even (j = 1 = step)
    half = field("upsample", (8, 8, 1), RF.input(), scale=2)
    assert half == rf(1, F(1, 2), step=1)
    assert field("conv", (16, 16, 1), half, out=1, kernel=3, padding=1) == rf(2, F(1, 2), step=1)
    assert field("conv", (16, 16, 1), half, out=1, kernel=5, padding=2) == rf(3, F(1, 2), step=1)
    assert field("conv", (16, 16, 1), half, out=1, kernel=1, stride=2) == rf(1, 1)


def test_transposed_convolution() -> None:
    # kernel 4, stride 2: each output gathers ⌈4/2⌉ = 2 inputs: r = 11 + (2 − 1)·4 = 15, j = 4/2 = 2, step 4
    assert transposed_reach(4, 2, 1) == 2
    assert field("conv_transpose", (8, 8, 4), rf(11, 4), out=4, kernel=4, stride=2, padding=1) == rf(15, 2, step=4)
    # kernel 3, stride 2: ⌈3/2⌉ = 2; kernel 3, stride 1: 3 (a conv's window: 11 + 2·4 = 19, j = 4, even)
    assert transposed_reach(3, 2, 1) == 2
    assert field("conv_transpose", (8, 8, 4), rf(11, 4), out=4, kernel=3) == rf(19, 4)
    # kernel 2 stride 2 (U-Net's up-conv): ⌈2/2⌉ = 1 input: r unchanged, j halves
    assert field("conv_transpose", (8, 8, 4), rf(11, 4), out=4, kernel=2, stride=2) == rf(11, 2, step=4)
    # dilation 2, kernel 3, stride 2: ⌈(2·2 + 1)/2⌉ = 3
    assert transposed_reach(3, 2, 2) == 3


# ------------------------------------------------------------------------------------------------ the joins


def test_the_largest_path_wins_and_the_whole_input_wins_all() -> None:
    assert join([rf(19, 4), rf(35, 4)]) == rf(35, 4)
    assert join([rf((5, 9), 2), rf((7, 3), 2)]) == rf((7, 9), 2)
    assert join([rf(19, 2, step=4), rf(15, 2)]) == rf(19, 2, step=4)  # an uneven path keeps the join a bound
    gate = RF.whole_input("global pooling reads every position")
    assert join([rf(35, 4), gate]) == gate


# ------------------------------------------------------------------------------------- whole networks


def test_known_values_of_the_course_networks() -> None:
    vgg = api.analyze("vgg16")
    # conv5_3: 3×3 convs add 2·j each: 1 + 2·(2·1 + 2·2 + 3·4 + 3·8 + 3·16) + (1·1 + 1·2 + 1·4 + 1·8) = 196 …
    assert vgg.find("features.28").receptive == rf(196, 16)
    # … and pool5: 196 + 1·16 = 212
    assert vgg.find("features.30").receptive == rf(212, 32)
    assert vgg.find("flatten1").receptive.size == (212, 212)  # type: ignore[union-attr]
    assert vgg.find("classifier.0").receptive.whole  # type: ignore[union-attr]
    # AlexNet pool5: 11 → 19 → 51 → 67 → 99 → 131 → 163 → 163 + 2·16 = 195
    assert api.analyze("alexnet").find("pool3").receptive == rf(195, 32)
    # LeNet-5: c1 5, p1 6 (j 2), c2 6 + 4·2 = 14, p2 14 + 1·2 = 16 (j 4)
    lenet = api.analyze("lenet5")
    assert [lenet.find(p).receptive for p in ("c1", "p1", "c2", "p2")] == [rf(5), rf(6, 2), rf(14, 2), rf(16, 4)]


def test_resnet50_through_its_residual_blocks() -> None:
    report = api.analyze("resnet50")
    # conv1 7/2: 7, j 2; maxpool 3/2: 7 + 2·2 = 11, j 4; each stride-1 bottleneck's 3×3 adds 2·j
    assert report.find("maxpool").receptive == rf(11, 4)
    assert report.find("layer1.0").receptive == rf(19, 4)  # 11 + 2·4
    assert report.find("layer1").receptive == rf(35, 4)  # 11 + 3·2·4
    # layer2.0's 3×3 has stride 2 (torchvision): 35 + 2·4 = 43, j 8; then 3 more × 2·8: 91
    assert report.find("layer2.0").receptive == rf(43, 8)
    assert report.find("layer2").receptive == rf(91, 8)
    assert report.find("layer3").receptive == rf(91 + 2 * 8 + 5 * 2 * 16, 16) == rf(267, 16)
    assert report.find("layer4").receptive == rf(267 + 2 * 16 + 2 * 2 * 32, 32) == rf(427, 32)
    # the 1×1 projection shortcut of layer2.0 (stride 2) is the smaller path: 35, j 8
    assert report.find("layer2.0.downsample.0").receptive == rf(35, 8)
    assert report.find("layer2.0.add").receptive == rf(43, 8)
    assert report.find("avgpool").receptive.whole  # type: ignore[union-attr]


def test_every_bundled_network_has_a_field_on_every_row() -> None:
    for entry in api.library_entries():
        report = api.analyze(entry.name)
        assert all(r.receptive is not None for r in report.records), entry.name
        # exact everywhere, but after an upsampling (U-Net's up-convolutions), where the grid is uneven and the
        # field is a bound (the most a unit can see)
        ups = [i for i, r in enumerate(report.records) if r.op in ("conv_transpose", "upsample")]
        upto = ups[0] if ups else len(report.records)
        holding = {report.records[i].path for i in ups}
        before = [r for r in report.records[:upto] if not any(p.startswith(r.path + ".") for p in holding)]
        assert all(r.receptive is not None and r.receptive.exact for r in before), entry.name


def test_a_vector_input_is_the_whole_input_from_the_start() -> None:
    from cnncost.ir import Layer, Network, Sequence

    fc = Layer("fc", "fc", "linear", MappingProxyType({"out": 3, "bias": True}), (4,), (3,))
    net = Network("mlp", "", Sequence("", "", "network", "", (fc,), (4,), (3,)), (4,))
    assert network_fields(net)["fc"].whole
