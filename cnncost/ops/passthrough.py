"""Layers that pass values on without arithmetic: identity, stochastic depth (an identity at inference) and
ShuffleNet's channel shuffle (a permutation of the channels)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.common import feature_map, input_channels, no_formula, same_shape
from cnncost.ops.costs import Cost, cost
from cnncost.ops.receptive import RF, unchanged
from cnncost.ops.registry import Absent, Args, Field, Reverse, define, implement
from cnncost.ops.saved import Saved, keeps, new

if TYPE_CHECKING:
    from cnncost.ir import Layer


def free(args: Args, inp: Shape, out: Shape) -> Cost:
    # No parameters and no arithmetic: the values are passed on (or moved) unchanged.
    return cost()


# ------------------------------------------------------------------------------------------------ identity


def build_identity(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.Identity()


def _identity_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.Identity,)


def _identity_args(module: Any, x: Any) -> dict[str, Any] | None:
    return {}


define(
    "identity",
    summary="the identity: its input unchanged (no parameters, no cost)",
    category="reshape",
    fields={},
    prepare=Absent("no arguments"),
    shape=same_shape,
    cost=free,
    formula=no_formula,
    build=build_identity,
    reverse=(Reverse(_identity_types, _identity_args),),
)


# ---------------------------------------------------------------------------------------- stochastic depth


def build_stochastic_depth(layer: Layer, device: Any) -> Any:
    from cnncost.ops.torch_modules import StochasticDepth

    return StochasticDepth(float(layer.args.get("p", 0.0)))


def _stochastic_depth_types() -> tuple[type, ...]:
    from cnncost.ops.torch_modules import StochasticDepth

    return (StochasticDepth,)


def _stochastic_depth_args(module: Any, x: Any) -> dict[str, Any] | None:
    return {"p": float(module.p)}


define(
    "stochastic_depth",
    summary="stochastic depth (torchvision's StochasticDepth, row mode): drops whole samples of a residual "
    "branch in training; an identity at inference, so no cost",
    category="regularization",
    fields={"p": Field("probability", 0.0, help="probability of dropping a sample's branch in training, 0…1")},
    prepare=Absent("the spec arguments are final"),
    shape=same_shape,
    cost=free,
    formula=no_formula,
    build=build_stochastic_depth,
    reverse=(Reverse(_stochastic_depth_types, _stochastic_depth_args),),
)


# ----------------------------------------------------------------------------------------- channel shuffle


def prepare_shuffle(args: Args, shape: Shape) -> Args:
    _, _, c = feature_map("channel_shuffle", shape)
    g = int(args["groups"])
    if c % g:
        raise ShapeError(
            f"channel_shuffle with {g} groups needs channels divisible by {g}, but the input has {c}",
            hint=f"choose groups that divide {c}",
        )
    return args


def shuffle_shape(args: Args, shape: Shape) -> Shape:
    return feature_map("channel_shuffle", shape)


def build_shuffle(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.ChannelShuffle(int(layer.args["groups"]))


def _shuffle_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.ChannelShuffle,)


def _shuffle_args(module: Any, x: Any) -> dict[str, Any] | None:
    g = int(module.groups)
    if x.dim() != 4 or input_channels(x) % g:
        return None  # it will fail: let PyTorch say how
    return {"groups": g}


define(
    "channel_shuffle",
    summary="channel shuffle (ShuffleNet): C = g·n channels read as g×n, transposed to n×g; no arithmetic",
    category="reshape",
    fields={"groups": Field("int", help="number of groups g; the channels must be divisible by it")},
    prepare=prepare_shuffle,
    shape=shuffle_shape,
    cost=free,
    formula=no_formula,
    build=build_shuffle,
    reverse=(Reverse(_shuffle_types, _shuffle_args),),
)


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, backward_cost  # noqa: E402
from cnncost.ops.costs import elements, pointwise_ops  # noqa: E402


@implement("backward", "identity", "channel_shuffle")
def passthrough_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """The gradient passes through unchanged (or permuted): no arithmetic."""
    return backward_cost()


@implement("backward", "stochastic_depth")
def stochastic_depth_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """In a training step a kept sample's gradient is scaled by ``1/(1 − p)`` (a dropped one zeroed): one
    multiply per value ('elementwise')."""
    return backward_cost(elementwise=pointwise_ops(elements(out)) if needs.input else 0)


# ---- facet: saved


@implement("saved", "identity")
def saved_identity(args: Args, inp: Shape, out: Shape) -> Saved:
    return keeps(alias=True)  # its input itself


@implement("saved", "stochastic_depth")
def saved_stochastic_depth(args: Args, inp: Shape, out: Shape) -> Saved:
    # In training with p > 0: x · noise, the noise one value per image (N×1×1×1), kept for the product's
    # backward; with p = 0 and at inference the identity.
    if float(args.get("p", 0.0)) == 0.0:
        return keeps(alias=True)
    return keeps(new("noise", 1), alias_eval=True)


@implement("saved", "channel_shuffle")
def saved_shuffle(args: Args, inp: Shape, out: Shape) -> Saved:
    # A permutation of the channels copied into a new tensor; its backward is the inverse permutation by shape.
    return keeps()


# ---- facet: receptive_field


@implement("receptive_field", "identity", "stochastic_depth", "channel_shuffle")
def receptive_field(args: Args, shape: Shape, rf: RF) -> RF:
    return unchanged(rf)  # values passed on, or channels permuted at each position
