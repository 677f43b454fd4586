"""The "zoo" ops: identity, stochastic_depth, channel_shuffle, layernorm, layer_scale, pointwise_linear,
conv_transpose and upsample.

Each formula against values computed by hand; every op built on the meta device and counted by FlopCounterMode
and ``sum(p.numel())`` — exactly the op's params and 2 × its MACs, at two input sizes and batch 2, with the output
shape its shape rule gives; the reverse mapping round trip (build → ``reverse_op`` gives the same op and
arguments); and a small spec using them by name, analyzed and verified layer by layer.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from cnncost.errors import ShapeError
from cnncost.ir import Layer, Shape
from cnncost.ops import REQUIRED, Cost, get_op
from cnncost.ops import costs as C

NEW_OPS = (
    "identity",
    "stochastic_depth",
    "channel_shuffle",
    "layernorm",
    "layer_scale",
    "pointwise_linear",
    "conv_transpose",
    "upsample",
)


def layer(op: str, shape: Shape, **given: Any) -> Layer:
    """A Layer as the resolver makes it: defaults filled, pairs normalized, prepared, output shape inferred."""
    opdef = get_op(op)
    args: dict[str, Any] = {}
    for key, field in opdef.fields.items():
        value = given.pop(key, field.default)
        assert value is not REQUIRED, f"{op} needs {key}"
        if field.kind in ("pair", "padding") and isinstance(value, int):
            value = (value, value)
        elif field.kind in ("pair", "padding") and isinstance(value, list):
            value = tuple(value)
        args[key] = value
    assert not given, f"{op} has no argument {sorted(given)}"
    if opdef.prepare is not None:
        args = dict(opdef.prepare(args, shape))
    return Layer(op, op, op, MappingProxyType(args), shape, opdef.shape(args, shape))


def priced(op: str, shape: Shape, **given: Any) -> tuple[Shape, Cost]:
    made = layer(op, shape, **given)
    return made.out_shape, get_op(op).cost(made.args, made.in_shape, made.out_shape)


# ------------------------------------------------------------------------------------------ by hand


def test_the_new_ops_are_registered() -> None:
    for name in NEW_OPS:
        assert get_op(name).summary


@pytest.mark.parametrize("op", ["identity", "stochastic_depth"])
@pytest.mark.parametrize("shape", [(14, 14, 8), (10,)])
def test_identity_and_stochastic_depth_cost_nothing(op: str, shape: Shape) -> None:
    out, cost = priced(op, shape)
    assert out == shape
    assert (cost.params, cost.macs, dict(cost.other), cost.formula) == (0, 0, {}, None)
    assert "inference" in get_op("stochastic_depth").summary


def test_channel_shuffle() -> None:
    out, cost = priced("channel_shuffle", (28, 28, 240), groups=3)  # ShuffleNet's stage 2, g = 3
    assert out == (28, 28, 240)
    assert (cost.params, cost.macs, dict(cost.other)) == (0, 0, {})
    with pytest.raises(ShapeError, match="divisible by 7"):
        layer("channel_shuffle", (28, 28, 240), groups=7)
    with pytest.raises(ShapeError, match="feature map"):
        layer("channel_shuffle", (240,), groups=3)


def test_layernorm() -> None:
    # ConvNeXt-T after its stem: 56×56×96; γ and β of 96; 2 ops (γ·x̂ + β) per value
    out, cost = priced("layernorm", (56, 56, 96), eps=1e-6)
    assert out == (56, 56, 96)
    assert cost.params == 2 * 96 == 192
    assert cost.macs == 0
    assert dict(cost.other) == {"normalization": 2 * 56 * 56 * 96} == {"normalization": 602_112}
    out, cost = priced("layernorm", (768,))  # on a vector (a transformer's head)
    assert (out, cost.params, dict(cost.other)) == ((768,), 1536, {"normalization": 1536})


def test_layer_scale() -> None:
    out, cost = priced("layer_scale", (56, 56, 96))
    assert out == (56, 56, 96)
    assert (cost.params, cost.macs, dict(cost.other)) == (96, 0, {"elementwise": 301_056})  # 56·56·96
    with pytest.raises(ShapeError, match="feature map"):
        layer("layer_scale", (96,))


def test_pointwise_linear() -> None:
    # ConvNeXt-T stage 1, pwconv1: 56×56×96 → 56×56×384
    out, cost = priced("pointwise_linear", (56, 56, 96), out=384)
    assert out == (56, 56, 384)
    assert cost.params == 96 * 384 + 384 == 37_248
    assert cost.macs == 56 * 56 * 96 * 384 == 115_605_504
    assert dict(cost.other) == {"bias": 384 * 56 * 56} == {"bias": 1_204_224}
    assert cost.formula == "56·56 × 96 × 384"
    # the same as a 1×1 conv
    conv = priced("conv", (56, 56, 96), out=384, kernel=1)[1]
    assert (conv.params, conv.macs, dict(conv.other)) == (cost.params, cost.macs, dict(cost.other))
    _, no_bias = priced("pointwise_linear", (7, 7, 8), out=4, bias=False)
    assert (no_bias.params, no_bias.macs, dict(no_bias.other)) == (32, 7 * 7 * 32, {})
    with pytest.raises(ShapeError, match="use 'linear'"):
        layer("pointwise_linear", (96,), out=10)


def test_conv_transpose_output_size() -> None:
    # (n − 1)·s − 2p + d·(k − 1) + output_padding + 1
    assert priced("conv_transpose", (7, 7, 32), out=16, kernel=2, stride=2)[0] == (14, 14, 16)  # 6·2 + 1 + 1
    got = priced("conv_transpose", (7, 7, 32), out=16, kernel=3, stride=2, padding=1, output_padding=1)[0]
    assert got == (14, 14, 16)  # 6·2 − 2 + 2 + 1 + 1
    got = priced("conv_transpose", (5, 6, 8), out=8, kernel=[3, 1], dilation=2, groups=4)[0]
    assert got == (9, 6, 8)  # 4 + 2·2 + 1; 5 + 0 + 1
    with pytest.raises(ShapeError, match="output_padding 2 must be smaller"):
        layer("conv_transpose", (7, 7, 32), out=16, kernel=3, stride=2, output_padding=2)
    with pytest.raises(ShapeError, match="divisible by 3"):
        layer("conv_transpose", (7, 7, 32), out=16, kernel=3, groups=3)
    with pytest.raises(ShapeError, match="crops"):
        layer("conv_transpose", (1, 1, 4), out=4, kernel=1, padding=1)


def test_conv_transpose_cost_is_counted_from_the_input() -> None:
    # U-Net's up-convolution, 2×2 stride 2: each of the 7·7·32 input values times a filter of 2·2·16 weights
    _, cost = priced("conv_transpose", (7, 7, 32), out=16, kernel=2, stride=2)
    assert cost.params == 32 * 16 * 2 * 2 + 16 == 2064
    assert cost.macs == 2 * 2 * 16 * 32 * 7 * 7 == 100_352
    assert cost.macs == C.conv_transpose_macs(32, 16, (2, 2), (7, 7))
    assert dict(cost.other) == {"bias": 16 * 14 * 14} == {"bias": 3136}
    assert cost.formula == "2·2·16 × 32 × 7·7 (per input value)"
    # grouped: the weight is C_in × C_out/groups × k; a filter has C_out/groups · k weights
    _, grouped = priced("conv_transpose", (5, 6, 8), out=8, kernel=[3, 1], dilation=2, groups=4, bias=False)
    assert grouped.params == 8 * 2 * 3 * 1 == 48
    assert grouped.macs == 3 * 1 * 2 * 8 * 5 * 6 == 1440
    assert dict(grouped.other) == {}


def test_upsample() -> None:
    out, nearest = priced("upsample", (14, 14, 8), scale=2)
    assert out == (28, 28, 8)
    assert (nearest.params, nearest.macs, dict(nearest.other)) == (0, 0, {})
    out, bilinear = priced("upsample", (14, 14, 8), scale=[2, 3], bilinear=True, align_corners=True)
    assert out == (28, 42, 8)
    assert dict(bilinear.other) == {"interpolation": 4 * 28 * 42 * 8} == {"interpolation": 37_632}
    assert bilinear.macs == 0
    out, to_size = priced("upsample", (14, 14, 8), size=[20, 30], bilinear=True)
    assert out == (20, 30, 8)
    assert dict(to_size.other) == {"interpolation": 19_200}  # 4 · 20·30·8
    assert C.interpolation_ops(100, 4) == 400 and C.interpolation_ops(100, 0) == 0
    with pytest.raises(ShapeError, match="exactly one of 'scale'"):
        layer("upsample", (14, 14, 8))
    with pytest.raises(ShapeError, match="exactly one of 'scale'"):
        layer("upsample", (14, 14, 8), scale=2, size=[28, 28])
    with pytest.raises(ShapeError, match="bilinear upsampling only"):
        layer("upsample", (14, 14, 8), scale=2, align_corners=True)


def test_the_aten_bilinear_formula_is_the_ops() -> None:
    from cnncost.ops.aten import aten_cost

    class T:  # a duck-typed tensor
        def __init__(self, *shape: int) -> None:
            self.shape = shape

        def numel(self) -> int:
            return C.elements(self.shape)

        def dim(self) -> int:
            return len(self.shape)

    got = aten_cost("upsample_bilinear2d", (T(2, 8, 14, 14), (28, 42), True, None), T(2, 8, 28, 42))
    assert dict(got.other) == {"interpolation": 2 * 37_632}
    assert aten_cost("upsample_nearest2d", (T(2, 8, 14, 14),), T(2, 8, 28, 28)).free


# ------------------------------------------------------------------------------- against PyTorch

#: (op, input shape, arguments, a second input shape): every new op and the variants its formula branches on.
CASES: list[tuple[str, Shape, dict[str, Any], Shape]] = [
    ("identity", (9, 7, 5), {}, (12, 10, 3)),
    ("identity", (10,), {}, (17,)),
    ("stochastic_depth", (9, 7, 6), {"p": 0.2}, (4, 4, 2)),
    ("channel_shuffle", (9, 7, 6), {"groups": 3}, (5, 11, 12)),
    ("layernorm", (9, 7, 6), {"eps": 1e-6}, (4, 13, 16)),
    ("layernorm", (10,), {}, (33,)),
    ("layer_scale", (9, 7, 6), {}, (3, 5, 16)),
    ("pointwise_linear", (9, 7, 6), {"out": 24}, (5, 4, 16)),
    ("pointwise_linear", (9, 7, 6), {"out": 5, "bias": False}, (5, 4, 16)),
    ("conv_transpose", (7, 7, 32), {"out": 16, "kernel": 2, "stride": 2}, (5, 9, 4)),
    (
        "conv_transpose",
        (7, 6, 8),
        {"out": 12, "kernel": [3, 2], "stride": [2, 3], "padding": 1, "output_padding": [1, 2]},
        (4, 9, 8),
    ),
    ("conv_transpose", (5, 6, 8), {"out": 8, "kernel": 3, "dilation": 2, "groups": 4, "bias": False}, (3, 3, 4)),
    ("upsample", (9, 7, 6), {"scale": 2}, (5, 3, 2)),
    ("upsample", (9, 7, 6), {"scale": [2, 3], "bilinear": True}, (5, 3, 2)),
    ("upsample", (9, 7, 6), {"size": [20, 15], "bilinear": True, "align_corners": True}, (5, 3, 2)),
    ("upsample", (9, 7, 6), {"size": [4, 30]}, (5, 3, 2)),
]
BATCH = 2


def _nchw(shape: Shape, batch: int) -> tuple[int, ...]:
    return (batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else (batch, *shape)


def _case_id(case: tuple[str, Shape, dict[str, Any], Shape]) -> str:
    op, shape, args, _ = case
    return f"{op}-{'x'.join(map(str, shape))}-" + "-".join(f"{k}={v}" for k, v in args.items())


def test_every_new_op_has_a_case() -> None:
    assert {case[0] for case in CASES} == set(NEW_OPS)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("which", [1, 3])
def test_flop_counter_and_parameters_agree_exactly(case: tuple[str, Shape, dict[str, Any], Shape], which: int) -> None:
    torch = pytest.importorskip("torch")
    from cnncost.torch.verify import count_with_torch

    op, first, args, second = case
    made = layer(op, first if which == 1 else second, **args)
    cost = get_op(op).cost(made.args, made.in_shape, made.out_shape)
    module = get_op(op).build(made, "meta")  # type: ignore[misc]
    params, flops = count_with_torch(module, _nchw(made.in_shape, BATCH))
    assert params == sum(p.numel() for p in module.parameters()) == cost.params
    assert flops.get("", 0) == 2 * BATCH * cost.macs
    module.eval()
    with torch.no_grad():
        y = module(torch.empty(_nchw(made.in_shape, BATCH), device="meta"))
    assert tuple(y.shape) == _nchw(made.out_shape, BATCH)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_the_reverse_mapping_gives_the_op_back(case: tuple[str, Shape, dict[str, Any], Shape]) -> None:
    torch = pytest.importorskip("torch")
    from cnncost.ops import reverse_op

    op, shape, args, _ = case
    made = layer(op, shape, **args)
    module = get_op(op).build(made, "meta")  # type: ignore[misc]
    assert reverse_op(module, torch.empty(_nchw(shape, BATCH), device="meta")) == (op, dict(made.args))


@pytest.mark.torch
def test_plain_torch_modules_map_to_the_new_ops() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    from cnncost.ops import reverse_op

    x = torch.empty(2, 8, 6, 6, device="meta")
    assert reverse_op(nn.Identity(), x) == ("identity", {})
    assert reverse_op(nn.ChannelShuffle(4), x) == ("channel_shuffle", {"groups": 4})
    assert reverse_op(nn.ChannelShuffle(3), x) is None  # 8 channels: it will fail, PyTorch says how
    up = reverse_op(nn.Upsample(scale_factor=2.0, mode="bilinear"), x)
    assert up == ("upsample", {"scale": (2, 2), "size": None, "bilinear": True, "align_corners": False})
    assert reverse_op(nn.Upsample(scale_factor=1.5), x) is None  # not a whole factor
    assert reverse_op(nn.Upsample(scale_factor=2.0, mode="bicubic"), x) is None
    assert reverse_op(nn.ConvTranspose2d(8, 4, 2, stride=2), x) == (
        "conv_transpose",
        {
            "out": 4,
            "kernel": (2, 2),
            "stride": (2, 2),
            "padding": (0, 0),
            "output_padding": (0, 0),
            "dilation": (1, 1),
            "groups": 1,
            "bias": True,
        },
    )
    assert reverse_op(nn.LayerNorm(8, eps=1e-6), torch.empty(2, 8, device="meta")) == ("layernorm", {"eps": 1e-6})
    # On channels-last or token input a plain LayerNorm or Linear stays a module row ("module LayerNorm", "module
    # Linear": the kinds the tool predictions are proven for); see channelwise.py.
    channels_last = torch.empty(2, 6, 6, 8, device="meta")
    assert reverse_op(nn.LayerNorm(8), channels_last) is None
    assert reverse_op(nn.Linear(8, 4), channels_last) is None
    assert reverse_op(nn.Linear(8, 4), torch.empty(2, 5, 8, device="meta")) is None
    assert reverse_op(nn.LayerNorm(8, elementwise_affine=False), torch.empty(2, 8, device="meta")) is None


@pytest.mark.torch
def test_module_analysis_of_the_built_modules_gives_the_spec_rows() -> None:
    pytest.importorskip("torch")
    from torch import nn

    from cnncost.torch.module import analyze_module

    shape: Shape = (6, 6, 8)
    layers = [
        layer("conv_transpose", shape, out=8, kernel=2, stride=2),
        layer("upsample", (12, 12, 8), scale=2, bilinear=True),
        layer("layernorm", (24, 24, 8)),
        layer("pointwise_linear", (24, 24, 8), out=16),
        layer("layer_scale", (24, 24, 16)),
        layer("channel_shuffle", (24, 24, 16), groups=4),
        layer("stochastic_depth", (24, 24, 16), p=0.1),
        layer("identity", (24, 24, 16)),
    ]
    model = nn.Sequential(*(get_op(made.op).build(made, None) for made in layers))  # type: ignore[misc]
    report = analyze_module(model, (8, 6, 6), batch=BATCH)
    rows = [r for r in report.records if r.is_layer]
    assert [r.op for r in rows] == [made.op for made in layers]
    for row, made in zip(rows, layers, strict=True):
        cost = get_op(made.op).cost(made.args, made.in_shape, made.out_shape)
        assert (row.output_shape, row.params, row.macs) == (made.out_shape, cost.params, BATCH * cost.macs)
        assert dict(row.other) == {k: BATCH * v for k, v in cost.other.items()}


# ------------------------------------------------------------------------------------------ in a spec

SPEC = """\
name: zoo-ops
input: [8, 8, 16]
layers:
  - {conv_transpose: {out: 16, kernel: 2, stride: 2}}
  - layernorm
  - {pointwise_linear: {out: 32}}
  - gelu
  - {pointwise_linear: {out: 16, bias: false}}
  - layer_scale
  - {stochastic_depth: {p: 0.1}}
  - {channel_shuffle: {groups: 4}}
  - {upsample: {scale: 2}}
  - {upsample: {size: [40, 36], bilinear: true, align_corners: true}}
  - identity
  - global_avgpool
  - flatten
  - {layernorm: {eps: 0.000001}}
  - {linear: {out: 10}}
"""


def test_a_spec_names_the_new_ops(tmp_path: Path) -> None:
    from cnncost import api

    spec = tmp_path / "zoo.yaml"
    spec.write_text(SPEC)
    report = api.analyze(spec, batch=BATCH)
    rows = {r.op: r for r in report.layers()}
    assert {*NEW_OPS} <= set(rows)
    assert rows["conv_transpose"].output_shape == (16, 16, 16)
    assert rows["conv_transpose"].macs == BATCH * 2 * 2 * 16 * 16 * 8 * 8
    assert rows["upsample"].output_shape == (40, 36, 16)  # the last one wins the dict
    assert report.output_shape == (10,)


@pytest.mark.torch
@pytest.mark.parametrize("size", [None, (11, 7)])
def test_a_spec_with_the_new_ops_verifies_layer_by_layer(tmp_path: Path, size: tuple[int, int] | None) -> None:
    pytest.importorskip("torch")
    from cnncost import api

    spec = tmp_path / "zoo.yaml"
    spec.write_text(SPEC)
    result = api.verify(spec, size=size, batch=BATCH, fvcore=False)
    assert result.ok, result.failures[:3]
