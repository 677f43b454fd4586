"""Upsampling: the transposed convolution (learned) and nearest / bilinear upsampling (fixed).

A transposed convolution with kernel ``k``, stride ``s``, padding ``p``, dilation ``d`` and output padding ``a``
maps ``n`` to ``(n − 1)·s − 2p + d·(k − 1) + a + 1`` (PyTorch's ConvTranspose2d): it scatters every input value,
times its filter, into a ``d·(k − 1) + 1`` window of a stride-``s`` grid, then crops ``p`` from each border.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.common import channels, feature_map, input_channels, no_formula, pair
from cnncost.ops.costs import Cost, conv_transpose_macs, cost, elements, interpolation_ops, pointwise_ops
from cnncost.ops.receptive import RF, transposed_reach, upsampled
from cnncost.ops.registry import Args, Field, Reverse, define, implement
from cnncost.ops.saved import KEEP_INPUT, Saved, keeps, new

if TYPE_CHECKING:
    from cnncost.ir import Layer

# ------------------------------------------------------------------------------------------ conv_transpose

FIELDS = {
    "out": Field("int", help="output channels C_out"),
    "kernel": Field("pair", help="filter size k or [k_h, k_w]"),
    "stride": Field("pair", 1),
    "padding": Field("pair", 0, minimum=0, help="p or [p_h, p_w], cropped from each border of the output"),
    "output_padding": Field("pair", 0, minimum=0, help="added to one side of the output; below stride or dilation"),
    "dilation": Field("pair", 1),
    "groups": Field("int", 1),
    "bias": Field("bool", True),
}


def transposed_out(n: int, k: int, s: int, p: int, d: int, a: int) -> int:
    """Output length along one axis: (n − 1)·s − 2p + d·(k − 1) + a + 1."""
    return (n - 1) * s - 2 * p + d * (k - 1) + a + 1


def prepare_transpose(args: Args, shape: Shape) -> Args:
    _, _, c_in = feature_map("conv_transpose", shape)
    g, c_out = int(args["groups"]), int(args["out"])
    if c_in % g or c_out % g:
        raise ShapeError(
            f"conv_transpose with {g} groups needs input and output channels divisible by {g}, "
            f"but has {c_in} in and {c_out} out",
            hint=f"choose groups that divide both {c_in} and {c_out}",
        )
    for a, s, d in zip(args["output_padding"], args["stride"], args["dilation"], strict=True):
        if a >= max(s, d):
            raise ShapeError(
                f"conv_transpose's output_padding {a} must be smaller than its stride {s} or dilation {d}",
                hint="output_padding only picks among the output sizes a stride allows",
            )
    return args


def transpose_shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, _ = feature_map("conv_transpose", shape)
    (k_h, k_w), (s_h, s_w), (p_h, p_w) = args["kernel"], args["stride"], args["padding"]
    (d_h, d_w), (a_h, a_w) = args["dilation"], args["output_padding"]
    h, w = transposed_out(n_h, k_h, s_h, p_h, d_h, a_h), transposed_out(n_w, k_w, s_w, p_w, d_w, a_w)
    if h < 1 or w < 1:
        raise ShapeError(
            f"conv_transpose's padding {p_h}×{p_w} crops its {n_h}×{n_w} input's output to {h}×{w}",
            hint="use less padding or a larger kernel",
        )
    return (h, w, int(args["out"]))


def transpose_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Weights C_in·(C_out/groups)·k_h·k_w, bias C_out; MACs counted from the input (conv_transpose_macs): every
    # input value times one filter of (C_out/groups)·k_h·k_w weights, as FlopCounterMode counts it.
    (h_in, w_in, c_in), (h, w, c_out) = inp, out
    per_group = c_out // args["groups"]
    bias = c_out if args["bias"] else 0
    return cost(
        params=conv_transpose_macs(c_in, per_group, args["kernel"], ()) + bias,
        macs=conv_transpose_macs(c_in, per_group, args["kernel"], (h_in, w_in)),
        bias=pointwise_ops(bias * h * w),
    )


def transpose_formula(args: Args, inp: Shape, out: Shape) -> str:
    (k_h, k_w), (h_in, w_in, c_in) = args["kernel"], inp
    return f"{k_h}·{k_w}·{out[2] // args['groups']} × {c_in} × {h_in}·{w_in} (per input value)"


def build_transpose(layer: Layer, device: Any) -> Any:
    from torch import nn

    a = layer.args
    return nn.ConvTranspose2d(
        channels(layer),
        int(a["out"]),
        pair(a["kernel"]),
        stride=pair(a.get("stride", 1)),
        padding=pair(a.get("padding", 0)),
        output_padding=pair(a.get("output_padding", 0)),
        groups=int(a.get("groups", 1)),
        bias=bool(a.get("bias", True)),
        dilation=pair(a.get("dilation", 1)),
        device=device,
    )


def _transpose_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.ConvTranspose2d,)


def _transpose_args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 4 or module.in_channels != input_channels(x) or module.padding_mode != "zeros":
        return None
    return {
        "out": int(module.out_channels),
        "kernel": pair(module.kernel_size),
        "stride": pair(module.stride),
        "padding": pair(module.padding),
        "output_padding": pair(module.output_padding),
        "dilation": pair(module.dilation),
        "groups": int(module.groups),
        "bias": module.bias is not None,
    }


define(
    "conv_transpose",
    summary="2-D transposed convolution (learned upsampling; grouped, dilated, with output padding)",
    category="conv",
    fields=FIELDS,
    prepare=prepare_transpose,
    shape=transpose_shape,
    cost=transpose_cost,
    formula=transpose_formula,
    build=build_transpose,
    reverse=(Reverse(_transpose_types, _transpose_args),),
)


# ------------------------------------------------------------------------------------------------ upsample

#: Input values each output value is interpolated from: nearest copies one, bilinear weighs the 4 around it.
NEIGHBOURS = {False: 0, True: 4}


def prepare_upsample(args: Args, shape: Shape) -> Args:
    feature_map("upsample", shape)
    if (args["scale"] is None) == (args["size"] is None):
        raise ShapeError(
            "upsample needs exactly one of 'scale' (a factor) and 'size' (the output H×W)",
            hint="e.g. scale: 2, or size: [56, 56]",
        )
    if args["align_corners"] and not args["bilinear"]:
        raise ShapeError(
            "align_corners applies to bilinear upsampling only",
            hint="add bilinear: true, or remove align_corners",
        )
    return args


def upsample_shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, c = feature_map("upsample", shape)
    if args["size"] is not None:
        h, w = args["size"]
        return (int(h), int(w), c)
    s_h, s_w = args["scale"]
    return (n_h * int(s_h), n_w * int(s_w), c)


def upsample_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # nearest: a copy per output value, no arithmetic; bilinear: 4 weighted reads per output value
    # (interpolation_ops). align_corners moves the sampling points, not the count.
    return cost(interpolation=interpolation_ops(elements(out), NEIGHBOURS[bool(args["bilinear"])]))


def build_upsample(layer: Layer, device: Any) -> Any:
    from torch import nn

    a = layer.args
    bilinear = bool(a.get("bilinear", False))
    size = a.get("size")
    scale = a.get("scale")
    return nn.Upsample(
        size=pair(size) if size is not None else None,
        scale_factor=tuple(float(s) for s in pair(scale)) if scale is not None else None,
        mode="bilinear" if bilinear else "nearest",
        align_corners=bool(a.get("align_corners", False)) if bilinear else None,
    )


def _upsample_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.Upsample,)


def _whole_pair(value: Any) -> tuple[int, int] | None:
    """An int, float or pair of them as a pair of ints; None when one is not a whole number."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or any(float(v) != int(v) or int(v) < 1 for v in values):
        return None
    return (int(values[0]), int(values[1]))


def _upsample_args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 4 or module.mode not in ("nearest", "bilinear") or module.recompute_scale_factor:
        return None
    size = _whole_pair(module.size) if module.size is not None else None
    scale = _whole_pair(module.scale_factor) if module.scale_factor is not None else None
    if size is None and scale is None:
        return None  # a fractional scale: its output size is floor(n·s), not a whole multiple
    bilinear = module.mode == "bilinear"
    return {"scale": scale, "size": size, "bilinear": bilinear, "align_corners": bool(module.align_corners)}


define(
    "upsample",
    summary="upsampling by a whole factor or to a size: nearest (a copy, no cost) or bilinear "
    "(4 weighted reads per output value, 'interpolation')",
    category="reshape",
    fields={
        "scale": Field("pair", None, help="whole factor s or [s_h, s_w]: H·s_h × W·s_w"),
        "size": Field("pair", None, help="output size [h, w] (instead of scale)"),
        "bilinear": Field("bool", False, help="bilinear interpolation (default: nearest neighbour)"),
        "align_corners": Field("bool", False, help="bilinear only: corner pixels aligned (PyTorch's option)"),
    },
    prepare=prepare_upsample,
    shape=upsample_shape,
    cost=upsample_cost,
    formula=no_formula,
    build=build_upsample,
    reverse=(Reverse(_upsample_types, _upsample_args),),
)


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, backward_cost, product_backward  # noqa: E402


@implement("backward", "conv_transpose")
def transpose_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Input gradient: a plain convolution of the output gradient with W, one filter per *input* value — the
    forward's ``conv_transpose_macs``; weight gradient ``grad_out ⋆ x``: the same product again. Bias gradient:
    ``C_out·H_out·W_out`` additions."""
    counted = transpose_cost(args, inp, out)
    return product_backward(counted.macs, counted.other.get("bias", 0), needs)


@implement("backward", "upsample")
def upsample_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Each output value's gradient flows back into the input values it read: nearest, one addition per output
    value (into its source); bilinear, a weighted addition into each of its 4 neighbours, ``4·out``
    ('interpolation')."""
    if not needs.input:
        return backward_cost()
    return backward_cost(interpolation=interpolation_ops(elements(out), NEIGHBOURS[bool(args["bilinear"])] or 1))


# ---- facet: saved


@implement("saved", "conv_transpose")
def saved_transpose(args: Args, inp: Shape, out: Shape) -> Saved:
    # convolution_backward (transposed) reads the input and the weight: C_in · (C_out / groups) · f_h · f_w.
    (f_h, f_w), g = args["kernel"], int(args["groups"])
    return keeps(KEEP_INPUT, new("weight", inp[2] * (int(args["out"]) // g) * f_h * f_w, "weight", per_image=False))


@implement("saved", "upsample")
def saved_upsample(args: Args, inp: Shape, out: Shape) -> Saved:
    # upsample_nearest2d / upsample_bilinear2d backward needs the input's size only: nothing kept.
    return keeps()


# ---- facet: receptive_field


@implement("receptive_field", "conv_transpose")
def transpose_field(args: Args, shape: Shape, rf: RF) -> RF:
    # Each input scatters a d·(k − 1) + 1 wide window onto a stride-s grid: an output unit gathers at most
    # ⌈(d·(k − 1) + 1)/s⌉ neighbouring input units, and neighbouring outputs are j/s input pixels apart.
    from fractions import Fraction

    (k_h, k_w), (s_h, s_w), (d_h, d_w) = args["kernel"], args["stride"], args["dilation"]
    reach = (transposed_reach(k_h, s_h, d_h), transposed_reach(k_w, s_w, d_w))
    return upsampled(rf, (Fraction(s_h), Fraction(s_w)), reach)


@implement("receptive_field", "upsample")
def upsample_field(args: Args, shape: Shape, rf: RF) -> RF:
    # nearest copies one input unit (r unchanged), bilinear weighs 2 neighbours per axis (r + j); the jump
    # divides by the scale (out/in, a fraction when a size is given).
    from fractions import Fraction

    out = upsample_shape(args, shape)
    scale = (Fraction(out[0], shape[0]), Fraction(out[1], shape[1]))
    return upsampled(rf, scale, 2 if args["bilinear"] else 1)
