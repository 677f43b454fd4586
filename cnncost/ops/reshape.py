"""Layers that move or keep values without arithmetic: flatten, and dropout (free at inference)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.ir import Shape
from cnncost.ops.common import flat_shape, no_formula, same_shape
from cnncost.ops.costs import Cost, cost
from cnncost.ops.registry import Absent, Args, Field, Reverse, define

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


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, backward_cost  # noqa: E402
from cnncost.ops.costs import elements, pointwise_ops  # noqa: E402
from cnncost.ops.registry import implement  # noqa: E402


@implement("backward", "flatten")
def flatten_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """The gradient is reshaped back: no arithmetic."""
    return backward_cost()


@implement("backward", "dropout")
def dropout_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """In a training step dropout is active: the gradient times the mask scaled by ``1/(1 − p)``, one multiply
    per value ('elementwise')."""
    return backward_cost(elementwise=pointwise_ops(elements(out)) if needs.input else 0)
