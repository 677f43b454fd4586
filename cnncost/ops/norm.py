"""Normalization: batch norm and AlexNet's local response normalization."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.ir import Shape
from cnncost.ops.common import feature_map, input_channels, no_formula, same_shape
from cnncost.ops.costs import Cost, affine_ops, cost, elements, lrn_ops
from cnncost.ops.receptive import RF, unchanged
from cnncost.ops.registry import Absent, Args, Field, Reverse, define, implement
from cnncost.ops.saved import KEEP_INPUT, Saved, keeps, new

if TYPE_CHECKING:
    from cnncost.ir import Layer


def bn_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # γ and β per channel (per unit on a vector); at inference a multiply and an add per element.
    return cost(params=2 * inp[-1], batchnorm=affine_ops(elements(out)))


def build_bn(layer: Layer, device: Any) -> Any:
    from torch import nn

    eps = float(layer.args.get("eps", 1e-5))
    if len(layer.in_shape) == 3:
        return nn.BatchNorm2d(layer.in_shape[2], eps=eps, device=device)
    return nn.BatchNorm1d(layer.in_shape[0], eps=eps, device=device)


def _bn_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.BatchNorm2d, nn.BatchNorm1d)


def _bn_args(module: Any, x: Any) -> dict[str, Any] | None:
    from torch import nn

    rank = 4 if isinstance(module, nn.BatchNorm2d) else 2
    if x.dim() != rank or not module.affine or module.num_features != input_channels(x):
        return None
    return {"eps": module.eps}


define(
    "bn",
    summary="batch normalization (scale γ and shift β per channel)",
    category="norm",
    fields={"eps": Field("float", 1e-5)},
    prepare=Absent("the spec arguments are final"),
    shape=same_shape,
    cost=bn_cost,
    formula=no_formula,
    build=build_bn,
    reverse=(Reverse(_bn_types, _bn_args),),
)


def lrn_shape(args: Args, shape: Shape) -> Shape:
    return feature_map("lrn", shape)


def lrn_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return cost(normalization=lrn_ops(elements(out), int(args["size"])))


def build_lrn(layer: Layer, device: Any) -> Any:
    from torch import nn

    a = layer.args
    return nn.LocalResponseNorm(
        int(a.get("size", 5)),
        alpha=float(a.get("alpha", 1e-4)),
        beta=float(a.get("beta", 0.75)),
        k=float(a.get("k", 2.0)),
    )


def _lrn_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.LocalResponseNorm,)


def _lrn_args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 4:
        return None
    return {"size": module.size, "alpha": module.alpha, "beta": module.beta, "k": module.k}


define(
    "lrn",
    summary="local response normalization across channels (AlexNet)",
    category="norm",
    fields={
        "size": Field("int", 5),
        "alpha": Field("float", 1e-4),
        "beta": Field("float", 0.75),
        "k": Field("float", 2.0),
    },
    prepare=Absent("the spec arguments are final"),
    shape=lrn_shape,
    cost=lrn_cost,
    formula=no_formula,
    build=build_lrn,
    reverse=(Reverse(_lrn_types, _lrn_args),),
)


# ---- facet: backward
from cnncost.ops.backward import (  # noqa: E402
    BackwardCost,
    Needs,
    backward_cost,
    normalization_backward,
)


@implement("backward", "bn")
def bn_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Batch norm: ``normalization_backward`` — in train mode (batch statistics) 9 per value with the input
    gradient (γ, β's gradients included), 5 per value for γ and β alone; in eval mode (running statistics)
    1 per value for the input gradient, plus 5 per value for γ and β ('batchnorm')."""
    return backward_cost(batchnorm=normalization_backward(elements(out), needs, batch_statistics=needs.bn_train))


@implement("backward", "lrn")
def lrn_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Local response normalization has no parameters; its input gradient sums, for each value, a term over
    the same ``size`` neighbouring channels its forward read: ``elements × size`` ('normalization'), as
    forward."""
    return backward_cost(normalization=lrn_ops(elements(out), int(args["size"])) if needs.input else 0)


# ---- facet: saved


@implement("saved", "bn")
def saved_bn(args: Args, inp: Shape, out: Shape) -> Saved:
    # native_batch_norm in training keeps its input and the batch's mean and 1/σ per channel (save_mean,
    # save_invstd: C values each in fp32 whatever the batch), besides γ and the running statistics (kept, not new).
    c = inp[-1]
    return keeps(KEEP_INPUT, new("mean", c, "fp32", per_image=False), new("invstd", c, "fp32", per_image=False))


@implement("saved", "lrn")
def saved_lrn(args: Args, inp: Shape, out: Shape) -> Saved:
    # F.local_response_norm is composite: s = x·x, padded along channels to (C + n − 1)·H·W (avg_pool3d keeps it),
    # b = mean·α + k (pow keeps it), d = b^β (the division x / d keeps x and d). Kept beyond x: the padded squares
    # and two input-sized tensors. Scratch in training: the pooled mean and mean·α (C·H·W each) alive at once;
    # at inference, where nothing is kept, the padded squares beside the pooled mean.
    n_h, n_w, c = inp
    size, plane = int(args["size"]), n_h * n_w
    padded = (c + size - 1) * plane
    return keeps(
        KEEP_INPUT,
        new("padded squares", padded),
        new("base", c * plane),
        new("denominator", c * plane),
        scratch=(new("mean", 2 * c * plane),),
        scratch_eval=(new("padded squares and mean", padded + c * plane),),
    )


# ---- facet: receptive_field


@implement("receptive_field", "bn", "lrn")
def receptive_field(args: Args, shape: Shape, rf: RF) -> RF:
    return unchanged(rf)  # per position (LRN mixes neighbouring channels, never positions)
