"""linear: the fully connected layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.common import fmt_shape, input_channels
from cnncost.ops.costs import Cost, cost, linear_macs, pointwise_ops
from cnncost.ops.receptive import RF
from cnncost.ops.registry import Absent, Args, Field, Reverse, define, implement
from cnncost.ops.saved import KEEP_INPUT_IF_TRAINED, Saved, keeps, new

if TYPE_CHECKING:
    from cnncost.ir import Layer


def shape(args: Args, shape: Shape) -> Shape:
    if len(shape) != 1:
        raise ShapeError(
            f"linear needs a flat vector but gets the feature map {fmt_shape(shape)}",
            hint="add '- flatten' before it (or a global pool, then flatten)",
        )
    return (int(args["out"]),)


def linear_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Weights in·out (the same product as the MACs), bias out.
    n_in, n_out = inp[0], out[0]
    bias = n_out if args["bias"] else 0
    return cost(params=linear_macs(n_in, n_out) + bias, macs=linear_macs(n_in, n_out), bias=pointwise_ops(bias))


def formula(args: Args, inp: Shape, out: Shape) -> str:
    return f"{inp[0]} × {out[0]}"


def build(layer: Layer, device: Any) -> Any:
    from torch import nn

    if len(layer.in_shape) != 1:
        raise ShapeError("linear needs a flat vector", path=layer.path, **layer.where.as_kwargs())
    return nn.Linear(layer.in_shape[0], int(layer.args["out"]), bias=bool(layer.args.get("bias", True)), device=device)


def _types() -> tuple[type, ...]:
    from torch import nn

    return (nn.Linear,)


def _args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 2 or module.in_features != input_channels(x):
        return None
    return {"out": module.out_features, "bias": module.bias is not None}


define(
    "linear",
    summary="fully connected layer",
    category="linear",
    fields={"out": Field("int", help="number of output units"), "bias": Field("bool", True)},
    prepare=Absent("the spec arguments are final"),
    shape=shape,
    cost=linear_cost,
    formula=formula,
    build=build,
    reverse=(Reverse(_types, _args),),
)


# ---- facet: backward
from cnncost.ops.backward import (  # noqa: E402
    BackwardCost,
    Needs,
    product_backward,
)


@implement("backward", "linear")
def linear_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Input gradient ``grad_out · W`` (``out → in``) and weight gradient ``grad_outᵀ · x``: each ``in × out``
    MACs, the forward's product. Bias gradient: the output gradient summed over the batch, one addition per
    output value, ``out`` per image."""
    return product_backward(linear_macs(inp[0], out[0]), out[0] if args["bias"] else 0, needs)


# ---- facet: saved


@implement("saved", "linear")
def saved(args: Args, inp: Shape, out: Shape) -> Saved:
    # addmm's backward reads the input (weight gradient: kept only when the weight trains) and the weight (input
    # gradient): in · out weights.
    return keeps(KEEP_INPUT_IF_TRAINED, new("weight", linear_macs(inp[0], int(args["out"])), "weight", per_image=False))


# ---- facet: receptive_field


@implement("receptive_field", "linear")
def receptive_field(args: Args, shape: Shape, rf: RF) -> RF:
    return RF.whole_input("a linear layer reads every value of its vector")
