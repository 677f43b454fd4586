"""Layers that move or keep values without arithmetic: flatten, and dropout (free at inference)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.ir import Shape
from cnncost.ops.common import flat_shape, no_formula, same_shape
from cnncost.ops.costs import Cost, cost
from cnncost.ops.receptive import RF, flattened, unchanged
from cnncost.ops.registry import Absent, Args, Field, Reverse, define, implement

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


# ---- facet: receptive_field

#: Why a vector's values have no jump.
FLATTENED = "flatten: each value keeps its receptive field, but a vector has no positions (no jump)"


@implement("receptive_field", "flatten")
def flatten_field(args: Args, shape: Shape, rf: RF) -> RF:
    return flattened(rf, FLATTENED)


@implement("receptive_field", "dropout")
def dropout_field(args: Args, shape: Shape, rf: RF) -> RF:
    return unchanged(rf)  # element-wise
