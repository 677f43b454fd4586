"""Layers that move or keep values without arithmetic: flatten, dropout (free at inference) and crop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.common import feature_map, flat_shape, no_formula, pair, same_shape
from cnncost.ops.costs import Cost, cost, elements
from cnncost.ops.receptive import RF, flattened, unchanged
from cnncost.ops.registry import Absent, Args, Field, Reverse, define, implement
from cnncost.ops.saved import Saved, keeps, new

if TYPE_CHECKING:
    from cnncost.ir import Layer


def free(args: Args, inp: Shape, out: Shape) -> Cost:
    return cost()


def build_flatten(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.Flatten()


def _flatten_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.Flatten,)


def _flatten_args(module: Any, x: Any) -> dict[str, Any] | None:
    return {} if x.dim() >= 2 and module.start_dim == 1 and module.end_dim == -1 else None


define(
    "flatten",
    summary="H×W×C → vector",
    category="reshape",
    fields={},
    prepare=Absent("no arguments"),
    shape=flat_shape,
    cost=free,
    formula=no_formula,
    build=build_flatten,
    reverse=(Reverse(_flatten_types, _flatten_args),),
)


def build_dropout(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.Dropout(float(layer.args.get("p", 0.5)))


def _dropout_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.Dropout,)


def _dropout_args(module: Any, x: Any) -> dict[str, Any] | None:
    return {"p": float(module.p)}


define(
    "dropout",
    summary="dropout (no cost at inference)",
    category="regularization",
    fields={"p": Field("probability", 0.5, help="probability of zeroing an element, 0…1")},
    prepare=Absent("the spec arguments are final"),
    shape=same_shape,
    cost=free,
    formula=no_formula,
    build=build_dropout,
    reverse=(Reverse(_dropout_types, _dropout_args),),
)


# ------------------------------------------------------------------------------------------------------ crop


def crop_shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, c = feature_map("crop", shape)
    h, w = args["size"]
    if h > n_h or w > n_w:
        raise ShapeError(
            f"crop to {h}×{w} asks for more than its {n_h}×{n_w} input",
            hint="a crop can only cut: give a size at most the input's height and width",
        )
    return (int(h), int(w), c)


def build_crop(layer: Layer, device: Any) -> Any:
    from cnncost.ops.torch_modules import CenterCrop

    return CenterCrop(pair(layer.args["size"]))


def _crop_types() -> tuple[type, ...]:
    from cnncost.ops.torch_modules import CenterCrop

    return (CenterCrop,)


def _crop_args(module: Any, x: Any) -> dict[str, Any] | None:
    h, w = module.size
    if x.dim() != 4 or h > int(x.shape[2]) or w > int(x.shape[3]):
        return None
    return {"size": (h, w)}


define(
    "crop",
    summary="the centre h×w of a feature map (U-Net's crop before concatenating a skip): a slice, no arithmetic",
    category="reshape",
    fields={"size": Field("pair", help="output height and width h or [h, w], at most the input's")},
    prepare=Absent("the spec arguments are final"),
    shape=crop_shape,
    cost=free,
    formula=no_formula,
    build=build_crop,
    reverse=(Reverse(_crop_types, _crop_args),),
)


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, backward_cost  # noqa: E402
from cnncost.ops.costs import pointwise_ops  # noqa: E402


@implement("backward", "flatten")
def flatten_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """The gradient is reshaped back: no arithmetic."""
    return backward_cost()


@implement("backward", "dropout")
def dropout_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """In a training step dropout is active: the gradient times the mask scaled by ``1/(1 − p)``, one multiply
    per value ('elementwise')."""
    return backward_cost(elementwise=pointwise_ops(elements(out)) if needs.input else 0)


@implement("backward", "crop")
def crop_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """The gradient is written into the centre of a zero tensor the input's size: a copy, no arithmetic."""
    return backward_cost()


# ---- facet: saved


@implement("saved", "flatten")
def saved_flatten(args: Args, inp: Shape, out: Shape) -> Saved:
    # A view of its (contiguous) input: no new bytes, nothing kept.
    return keeps(alias=True)


@implement("saved", "dropout")
def saved_dropout(args: Args, inp: Shape, out: Shape) -> Saved:
    # In training: a mask of the input's size (bool on CUDA; on the CPU the scaled noise input · noise keeps);
    # at inference the identity (its input, no new bytes).
    return keeps(new("mask", elements(inp), "mask"), alias_eval=True)


@implement("saved", "crop")
def saved_crop(args: Args, inp: Shape, out: Shape) -> Saved:
    # A slice: a view of its input (no new bytes, the input stays alive while the view is), nothing kept —
    # its backward needs only the shapes.
    return keeps(alias=True)


# ---- facet: receptive_field

#: Why a vector's values have no jump.
FLATTENED = "flatten: each value keeps its receptive field, but a vector has no positions (no jump)"


@implement("receptive_field", "flatten")
def flatten_field(args: Args, shape: Shape, rf: RF) -> RF:
    return flattened(rf, FLATTENED)


@implement("receptive_field", "dropout")
def dropout_field(args: Args, shape: Shape, rf: RF) -> RF:
    return unchanged(rf)  # element-wise


@implement("receptive_field", "crop")
def crop_receptive_field(args: Args, inp: Shape, rf: RF) -> RF:
    """A slice of the map: each unit is one of its input's, seeing what it saw, at the same spacing."""
    return unchanged(rf)
