"""Ops on the channels at every position, as ConvNeXt uses them: layer norm over the channels, a linear layer
over the channels (``pointwise_linear``) and a learned per-channel scale (``layer_scale``).

On an H×W×C feature map each works on the C values of one position at a time; the modules they build take NCHW
input like every cnncost module and permute to channels-last inside (torchvision's ``LayerNorm2d``, ConvNeXt's
``Permute`` + ``nn.Linear``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.common import channels, feature_map, fmt_shape, input_channels, no_formula, same_shape
from cnncost.ops.costs import Cost, affine_ops, cost, elements, linear_macs, pointwise_ops
from cnncost.ops.receptive import RF, unchanged
from cnncost.ops.registry import Absent, Args, Field, Reverse, define, implement
from cnncost.ops.saved import KEEP_INPUT, KEEP_INPUT_IF_TRAINED, Saved, keeps, new

if TYPE_CHECKING:
    from cnncost.ir import Layer


# ----------------------------------------------------------------------------------------------- layernorm


def layernorm_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # γ and β per channel (per unit on a vector): 2·C parameters. Counted: the affine step, a multiply by γ and an
    # add of β per value (affine_ops, 2 × elements); not counted: the statistics (mean and variance of each
    # position's C values) and the normalization by them — as the ATen formula for native_layer_norm counts it.
    return cost(params=2 * inp[-1], normalization=affine_ops(elements(out)))


def build_layernorm(layer: Layer, device: Any) -> Any:
    from torch import nn

    from cnncost.ops.torch_modules import ChannelsLastLayerNorm

    eps = float(layer.args.get("eps", 1e-5))
    if len(layer.in_shape) == 3:
        return ChannelsLastLayerNorm(layer.in_shape[2], eps=eps, device=device)
    return nn.LayerNorm(layer.in_shape[0], eps=eps, device=device)


def _layernorm_types() -> tuple[type, ...]:
    from torch import nn

    from cnncost.ops.torch_modules import ChannelsLastLayerNorm

    return (ChannelsLastLayerNorm, nn.LayerNorm)


def _layernorm_args(module: Any, x: Any) -> dict[str, Any] | None:
    from cnncost.ops.torch_modules import ChannelsLastLayerNorm

    # A plain nn.LayerNorm is taken on a vector (N, C) only: on channels-last or token input its rows stay
    # "module LayerNorm", the kind the tool predictions are proven for (cnncost.analysis.conventions).
    rank = 4 if isinstance(module, ChannelsLastLayerNorm) else 2
    shape = tuple(module.normalized_shape)
    if x.dim() != rank or shape != (input_channels(x),) or module.weight is None or module.bias is None:
        return None
    return {"eps": float(module.eps)}


define(
    "layernorm",
    summary="layer norm over the channels of each position (ConvNeXt's LayerNorm2d) or over a vector; "
    "γ and β per channel",
    category="norm",
    fields={"eps": Field("float", 1e-5)},
    prepare=Absent("the spec arguments are final"),
    shape=same_shape,
    cost=layernorm_cost,
    formula=no_formula,
    build=build_layernorm,
    reverse=(Reverse(_layernorm_types, _layernorm_args),),
)


# --------------------------------------------------------------------------------------------- layer scale


def layer_scale_shape(args: Args, shape: Shape) -> Shape:
    return feature_map("layer_scale", shape)


def layer_scale_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # γ, one per channel: C parameters; one multiply per value (pointwise_ops).
    return cost(params=inp[2], elementwise=pointwise_ops(elements(out)))


def build_layer_scale(layer: Layer, device: Any) -> Any:
    from cnncost.ops.torch_modules import LayerScale

    return LayerScale(channels(layer), device=device)


def _layer_scale_types() -> tuple[type, ...]:
    from cnncost.ops.torch_modules import LayerScale

    return (LayerScale,)


def _layer_scale_args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 4 or module.gamma.shape[0] != input_channels(x):
        return None
    return {}


define(
    "layer_scale",
    summary="a learned scale per channel, γ·x with γ of shape C×1×1 (ConvNeXt's layer_scale, starting at 1e-6)",
    category="norm",
    fields={},
    prepare=Absent("no arguments"),
    shape=layer_scale_shape,
    cost=layer_scale_cost,
    formula=no_formula,
    build=build_layer_scale,
    reverse=(Reverse(_layer_scale_types, _layer_scale_args),),
)


# ---------------------------------------------------------------------------------------- pointwise linear


def pointwise_shape(args: Args, shape: Shape) -> Shape:
    if len(shape) != 3:
        raise ShapeError(
            f"pointwise_linear needs a feature map H×W×C but gets a flat vector of {fmt_shape(shape)}",
            hint="use 'linear' on a vector",
        )
    h, w, _ = shape
    return (h, w, int(args["out"]))


def pointwise_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # At each of the H·W positions a linear map C_in → C_out: weights in·out (+ out biases, shared by every
    # position); MACs H·W × linear_macs(in, out), as nn.Linear on channels-last data (and a 1×1 conv) costs.
    (h, w, n_in), n_out = inp, out[2]
    bias = n_out if args["bias"] else 0
    return cost(
        params=linear_macs(n_in, n_out) + bias,
        macs=h * w * linear_macs(n_in, n_out),
        bias=pointwise_ops(bias * h * w),
    )


def pointwise_formula(args: Args, inp: Shape, out: Shape) -> str:
    return f"{inp[0]}·{inp[1]} × {inp[2]} × {out[2]}"


def build_pointwise(layer: Layer, device: Any) -> Any:
    from cnncost.ops.torch_modules import ChannelsLastLinear

    a = layer.args
    return ChannelsLastLinear(channels(layer), int(a["out"]), bias=bool(a.get("bias", True)), device=device)


def _pointwise_types() -> tuple[type, ...]:
    # A plain nn.Linear on an N-D input is not taken here: the module analyzer reads every 4-D tensor as NCHW
    # (a channels-last (N, H, W, C) input would reach the shape rule as W×C×H), and on token input its rows stay
    # "module Linear", the kind the tool predictions are proven for. Its addmm is costed exactly either way.
    from cnncost.ops.torch_modules import ChannelsLastLinear

    return (ChannelsLastLinear,)


def _pointwise_args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 4 or module.in_features != input_channels(x):
        return None
    return {"out": int(module.out_features), "bias": module.bias is not None}


define(
    "pointwise_linear",
    summary="a linear layer over the channels at every position, H×W×C_in → H×W×C_out "
    "(ConvNeXt's pointwise layers: nn.Linear on channels-last data)",
    category="linear",
    fields={"out": Field("int", help="output channels C_out"), "bias": Field("bool", True)},
    prepare=Absent("the spec arguments are final"),
    shape=pointwise_shape,
    cost=pointwise_cost,
    formula=pointwise_formula,
    build=build_pointwise,
    reverse=(Reverse(_pointwise_types, _pointwise_args),),
)


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, backward_cost, normalization_backward, product_backward  # noqa: E402  # noqa: E402


@implement("backward", "pointwise_linear")
def pointwise_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """At each of the H·W positions, as ``linear``: input gradient and weight gradient each ``H·W × in × out``
    MACs (the forward's); bias gradient ``H·W·out`` additions."""
    counted = pointwise_cost(args, inp, out)
    return product_backward(counted.macs, counted.other.get("bias", 0), needs)


@implement("backward", "layernorm")
def layernorm_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Layer norm always normalizes with the statistics of the data itself: ``normalization_backward`` with
    batch statistics — 9 per value with the input gradient (γ, β's gradients included), else 5 per value for γ
    and β alone ('normalization')."""
    return backward_cost(normalization=normalization_backward(elements(out), needs, batch_statistics=True))


@implement("backward", "layer_scale")
def layer_scale_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """``y = γ·x``: the input gradient ``g·γ``, 1 per value; γ's gradient ``Σ g·x`` over the positions, a multiply
    and an add, 2 per value ('elementwise')."""
    n = elements(out)
    return backward_cost(elementwise=(n if needs.input else 0) + (2 * n if needs.weights else 0))


# ---- facet: saved


@implement("saved", "layernorm")
def saved_layernorm(args: Args, inp: Shape, out: Shape) -> Saved:
    # native_layer_norm keeps its input and, per normalized row (each position of a map, or the one vector),
    # the mean and 1/σ in fp32: H·W values each per image on a map, 1 on a vector.
    rows = inp[0] * inp[1] if len(inp) == 3 else 1
    return keeps(KEEP_INPUT, new("mean", rows, "fp32"), new("rstd", rows, "fp32"))


@implement("saved", "layer_scale")
def saved_layer_scale(args: Args, inp: Shape, out: Shape) -> Saved:
    # γ · x: mul's backward reads x for γ's gradient (and γ, a parameter, for x's).
    return keeps(KEEP_INPUT)


@implement("saved", "pointwise_linear")
def saved_pointwise(args: Args, inp: Shape, out: Shape) -> Saved:
    # The matrix product's backward reads the input as (N·H·W) × C_in rows and the C_in · C_out weights. The rows
    # are a view of the input when it is laid out channels-last (as ConvNeXt's layer norm leaves it); cnncost
    # does not track layouts, so a pointwise_linear straight after an NCHW producer (where PyTorch keeps a
    # channels-last copy) is under-counted by one input.
    return keeps(KEEP_INPUT_IF_TRAINED, new("weight", inp[2] * int(out[2]), "weight", per_image=False))


# ---- facet: receptive_field


@implement("receptive_field", "layernorm", "layer_scale", "pointwise_linear")
def receptive_field(args: Args, shape: Shape, rf: RF) -> RF:
    return unchanged(rf)  # the C values of one position at a time
