"""Activations: one value out per value in, one operation each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cnncost.ir import Shape
from cnncost.ops.common import no_formula, same_shape
from cnncost.ops.costs import Cost, cost, elements, pointwise_ops
from cnncost.ops.receptive import RF, unchanged
from cnncost.ops.registry import Absent, Args, Field, Reverse, define, implement
from cnncost.ops.saved import KEEP_INPUT, KEEP_OUTPUT, Saved, keeps

if TYPE_CHECKING:
    from cnncost.ir import Layer


def activation_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return cost(activation=pointwise_ops(elements(out)))


def _module(name: str) -> Callable[[Layer], Any]:
    """The module an activation without arguments builds, ``nn.<name>()``."""

    def make(layer: Layer) -> Any:
        from torch import nn

        return getattr(nn, name)()

    return make


def _leaky(layer: Layer) -> Any:
    from torch import nn

    return nn.LeakyReLU(float(layer.args.get("slope", 0.01)))


def _softmax(layer: Layer) -> Any:
    from torch import nn

    return nn.Softmax(dim=1)  # over channels (NCHW) or units (N, features)


def _no_args(module: Any, x: Any) -> dict[str, Any] | None:
    return {}


def _leaky_args(module: Any, x: Any) -> dict[str, Any] | None:
    return {"slope": float(module.negative_slope)}


#: name → (summary, fields, torch.nn class name, the module it builds, its arguments from such a module).
ACTIVATIONS: Mapping[str, tuple[str, Mapping[str, Field], str, Callable[[Layer], Any], Any]] = {
    "relu": ("max(0, x)", {}, "ReLU", _module("ReLU"), _no_args),
    "relu6": ("min(max(0, x), 6) (MobileNet)", {}, "ReLU6", _module("ReLU6"), _no_args),
    "leaky_relu": (
        "x if x > 0 else slope·x",
        {"slope": Field("float", 0.01)},
        "LeakyReLU",
        _leaky,
        _leaky_args,
    ),
    "tanh": ("hyperbolic tangent", {}, "Tanh", _module("Tanh"), _no_args),
    "sigmoid": ("1 / (1 + e^−x)", {}, "Sigmoid", _module("Sigmoid"), _no_args),
    "softmax": ("softmax over channels", {}, "Softmax", _softmax, _no_args),
    "silu": ("x·sigmoid(x), also called swish", {}, "SiLU", _module("SiLU"), _no_args),
    "hardswish": ("x·relu6(x + 3)/6 (MobileNetV3)", {}, "Hardswish", _module("Hardswish"), _no_args),
    "hardsigmoid": ("relu6(x + 3)/6", {}, "Hardsigmoid", _module("Hardsigmoid"), _no_args),
    "gelu": ("x·Φ(x)", {}, "GELU", _module("GELU"), _no_args),
}


def _types(class_name: str) -> Callable[[], tuple[type, ...]]:
    def types() -> tuple[type, ...]:
        from torch import nn

        return (getattr(nn, class_name),)

    return types


def _builder(make: Callable[[Layer], Any]) -> Callable[[Layer, Any], Any]:
    def build(layer: Layer, device: Any) -> Any:
        return make(layer)  # no parameters: nothing to put on a device

    return build


for _name, (_summary, _fields, _class, _make, _args) in ACTIVATIONS.items():
    define(
        _name,
        summary=_summary,
        category="activation",
        fields=_fields,
        prepare=Absent("the spec arguments are final"),
        shape=same_shape,
        cost=activation_cost,
        formula=no_formula,
        build=_builder(_make),
        reverse=(Reverse(_types(_class), _args),),
    )


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, backward_cost  # noqa: E402


@implement("backward", *ACTIVATIONS)
def activation_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """The output gradient times the activation's local derivative: one operation per value, as forward counts
    one per value (neither counts the arithmetic inside the function or its derivative). No parameters: nothing
    without the input gradient."""
    return backward_cost(activation=pointwise_ops(elements(out)) if needs.input else 0)


# ---- facet: saved


@implement("saved", "relu", "tanh", "sigmoid", "softmax")
def saved_output(args: Args, inp: Shape, out: Shape) -> Saved:
    # Their derivative is a function of the result: threshold_backward(grad, result), grad·(1 − y²), grad·y(1 − y),
    # softmax's y·(grad − Σ grad·y). In place (ReLU(inplace=True)) the result is the input's storage: still one.
    return keeps(KEEP_OUTPUT)


@implement("saved", "relu6", "leaky_relu", "silu", "hardswish", "hardsigmoid", "gelu")
def saved_input(args: Args, inp: Shape, out: Shape) -> Saved:
    # Their derivative reads the input: hardtanh_backward(grad, self), leaky_relu_backward(grad, self),
    # silu_backward, hardswish_backward, hardsigmoid_backward, gelu_backward(grad, self).
    return keeps(KEEP_INPUT)


# ---- facet: receptive_field


@implement("receptive_field", *ACTIVATIONS)
def receptive_field(args: Args, shape: Shape, rf: RF) -> RF:
    return unchanged(rf)  # one value out per value in (softmax: over the channels of one position)
