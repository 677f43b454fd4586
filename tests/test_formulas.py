"""Every formula against a value computed by hand (course notes, papers)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from cnncost import api, ops
from cnncost.errors import ShapeError, SpecError
from cnncost.ops import get_op


def cost(op: str, in_shape: tuple[int, ...], **args: object):  # type: ignore[no-untyped-def]
    """Prepare, shape and cost one op the way the resolver does, from spec-like arguments."""
    opdef = get_op(op)
    full = {k: f.default for k, f in opdef.fields.items()}
    for key, value in args.items():
        full[key] = value
    for key, field in opdef.fields.items():
        if field.kind in ("pair", "padding") and isinstance(full[key], int):
            full[key] = (full[key], full[key])
    final = opdef.prepare(full, in_shape) if opdef.prepare else full
    out = opdef.shape(final, in_shape)
    return out, opdef.cost(MappingProxyType(final), in_shape, out)


def test_one_by_one_convolution_course_example() -> None:
    # 28×28×192 → 32 filters of 1×1×192: 192·32 weights + 32 biases; 192 × 32 × 28·28 MACs.
    out, c = cost("conv", (28, 28, 192), out=32, kernel=1)
    assert out == (28, 28, 32)
    assert c.params == 192 * 32 + 32 == 6176
    assert c.macs == 4_816_896
    assert c.formula == "1·1·192 × 32 × 28·28"
    assert c.other["bias"] == 32 * 28 * 28


def test_inception_cost_example() -> None:
    # 5·5·192 × 32 × 28·28 = 120,422,400
    _, direct = cost("conv", (28, 28, 192), out=32, kernel=5, padding="same")
    assert direct.macs == 120_422_400
    assert direct.formula == "5·5·192 × 32 × 28·28"
    # 1·1·192 × 16 × 28·28 = 2,408,448 then 5·5·16 × 32 × 28·28 = 10,035,200 (the notes print 10,048,000)
    _, reduce = cost("conv", (28, 28, 192), out=16, kernel=1)
    _, conv = cost("conv", (28, 28, 16), out=32, kernel=5, padding="same")
    assert (reduce.macs, conv.macs) == (2_408_448, 10_035_200)
    assert reduce.macs + conv.macs == 12_443_648


def test_depthwise_separable_course_example() -> None:
    # 6×6×3 input, five 3×3 filters → 4×4×5: 3·3·3 × 5 × 4·4 = 2,160 multiplies …
    out, normal = cost("conv", (6, 6, 3), out=5, kernel=3, bias=False)
    assert out == (4, 4, 5) and normal.macs == 2160
    # … against depthwise 3·3·1 × 3 × 4·4 = 432 plus pointwise 1·1·3 × 5 × 4·4 = 240.
    dw_out, dw = cost("conv", (6, 6, 3), kernel=3, groups="depthwise", bias=False)
    assert dw_out == (4, 4, 3) and dw.macs == 432 and dw.params == 27
    _, pw = cost("conv", dw_out, out=5, kernel=1, bias=False)
    assert pw.macs == 240 and dw.macs + pw.macs == 672


@pytest.mark.parametrize(
    ("n", "f", "s", "p", "expected"),
    [
        (32, 5, 1, 0, 28),  # LeNet-5 C1: (32 − 5)/1 + 1
        (227, 11, 4, 0, 55),  # AlexNet conv1: (227 − 11)/4 + 1
        (55, 3, 2, 0, 27),  # AlexNet pool1: floor((55 − 3)/2) + 1
        (224, 7, 2, 3, 112),  # ResNet conv1: floor((224 + 6 − 7)/2) + 1
        (112, 3, 2, 1, 56),  # ResNet maxpool
        (28, 5, 1, 2, 28),  # 'same'
    ],
)
def test_output_size(n: int, f: int, s: int, p: int, expected: int) -> None:
    out, _ = cost("conv", (n, n, 3), out=8, kernel=f, stride=s, padding=p)
    assert out[:2] == (expected, expected)


def test_ceil_mode_pooling_follows_pytorch() -> None:
    # GoogLeNet: 112 → 3×3/2 ceil → ceil((112 − 3)/2) + 1 = 56; 7×7 window on 7 → 1
    out, c = cost("maxpool", (112, 112, 64), kernel=3, stride=2, ceil_mode=True)
    assert out == (56, 56, 64)
    assert c.other["pooling"] == 56 * 56 * 64 * 9
    # the last window may not start past the input: n=5, f=2, s=2, ceil → 3 (not 3 windows + 1)
    out, _ = cost("maxpool", (5, 5, 1), kernel=2, stride=2, ceil_mode=True)
    assert out == (3, 3, 1)


def test_dilated_grouped_conv() -> None:
    # effective kernel d·(f − 1) + 1 = 5; groups 4: each filter sees 16/4 = 4 channels
    out, c = cost("conv", (20, 20, 16), out=8, kernel=3, dilation=2, groups=4, bias=False)
    assert out == (16, 16, 8)
    assert c.params == 3 * 3 * 4 * 8
    assert c.macs == 3 * 3 * 4 * 8 * 16 * 16


def test_connection_table_counts_only_links() -> None:
    # three filters seeing 3, 4 and 6 input maps: weights 5·5·13, biases 3
    out, c = cost(
        "conv", (14, 14, 6), out=3, kernel=5, connections=((0, 1, 2), (0, 1, 2, 3), (0, 1, 2, 3, 4, 5))
    )
    assert out == (10, 10, 3)
    assert c.params == 25 * 13 + 3
    assert c.macs == 25 * 13 * 100


def test_linear_bn_activation_pooling() -> None:
    _, lin = cost("linear", (400,), out=120)
    assert (lin.params, lin.macs, lin.formula) == (400 * 120 + 120, 48_000, "400 × 120")
    _, bn = cost("bn", (56, 56, 64))
    assert bn.params == 128 and bn.macs == 0 and bn.other["batchnorm"] == 2 * 56 * 56 * 64
    _, act = cost("relu", (56, 56, 64))
    assert act.other == {"activation": 56 * 56 * 64}
    out, gap = cost("global_avgpool", (7, 7, 2048))
    assert out == (1, 1, 2048) and gap.other["pooling"] == 7 * 7 * 2048
    # adaptive pooling 5 → 3: windows [0, 2), [1, 4), [3, 5) of sizes 2, 3, 2
    out, ad = cost("adaptive_avgpool", (5, 5, 1), size=3)
    assert out == (3, 3, 1) and ad.other["pooling"] == 7 * 7
    out, same = cost("adaptive_avgpool", (7, 7, 512), size=7)
    assert same.other["pooling"] == 7 * 7 * 512


def test_shape_errors_explain_the_fix() -> None:
    with pytest.raises(ShapeError, match=r"kernel 5×5 is larger than its padded input 3×3"):
        cost("conv", (3, 3, 8), out=4, kernel=5)
    with pytest.raises(ShapeError, match="divisible by 3"):
        cost("conv", (8, 8, 16), out=16, kernel=1, groups=3)
    with pytest.raises(ShapeError, match="flatten"):
        cost("linear", (7, 7, 512), out=10)
    with pytest.raises(ShapeError, match="stride 2"):
        cost("conv", (8, 8, 16), out=16, kernel=3, stride=2, padding="same")


def test_unknown_op_suggests() -> None:
    with pytest.raises(SpecError, match="did you mean 'maxpool'"):
        get_op("maxpol")


def test_lenet5_shapes_follow_the_course_table() -> None:
    report = api.analyze("lenet5")
    shapes = [r.output_shape for r in report.layers() if r.op in ("conv", "avgpool", "flatten", "linear")]
    assert shapes == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,), (10,)]


@pytest.mark.parametrize(
    ("name", "params", "macs"),
    [
        ("vgg16", 138_357_544, 15_470_264_320),  # torchvision's documented figures
        ("resnet50", 25_557_032, 4_089_184_256),
        ("resnet18", 11_689_512, 1_814_073_344),
        ("alexnet", 62_378_344, 1_135_256_096),  # course layer list, single tower
    ],
)
def test_network_totals(name: str, params: int, macs: int) -> None:
    report = api.analyze(name)
    assert (report.totals.params, report.totals.macs, report.totals.flops) == (params, macs, 2 * macs)


def test_batch_scales_everything_but_params() -> None:
    one, eight = api.analyze("resnet18"), api.analyze("resnet18", batch=8)
    assert eight.totals.params == one.totals.params
    assert eight.totals.macs == 8 * one.totals.macs
    assert {k: 8 * v for k, v in one.totals.other.items()} == dict(eight.totals.other)


def test_size_and_variables() -> None:
    small = api.analyze("vgg16", size=32, variables={"classes": 10})
    assert small.input_shape == (32, 32, 3)
    assert small.layers()[-1].output_shape == (10,)
    # adaptive pooling restores 7×7×512 before the classifier, as in torchvision
    assert small.find("avgpool").output_shape == (7, 7, 512)


@pytest.mark.parametrize("entry", api.library_entries(), ids=lambda e: e.name)
def test_columns_sum_to_totals_at_every_depth(entry) -> None:  # type: ignore[no-untyped-def]
    report = api.analyze(entry.name)
    for depth in (None, 0, 1, 2, 3):
        rows = report.collapsed(depth)
        assert sum(r.params for r in rows) == report.totals.params
        assert sum(r.macs for r in rows) == report.totals.macs
        assert sum(r.other_ops for r in rows) == report.totals.other_ops


def test_elements_helper() -> None:
    assert ops.elements((7, 7, 512)) == 25_088
