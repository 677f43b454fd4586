"""The internal ops of the combinators: residual addition, concatenation, gating, and ResNet's fixed
zero-padding shortcut. A spec cannot name them; the resolver makes them.

``add``, ``concat`` and ``multiply`` are pseudo-ops: they have no module of their own (the PyTorch container of a
residual, concat or scale does that work in its ``forward``), so no module maps back to them either — a foreign
module's own additions are costed by the ATen formulas (``cnncost.ops.aten``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.common import channels, feature_map, no_formula, same_shape
from cnncost.ops.costs import Cost, cost, elements, pointwise_ops
from cnncost.ops.receptive import RF, unchanged, window
from cnncost.ops.registry import Absent, Args, Reverse, define, implement

if TYPE_CHECKING:
    from cnncost.ir import Layer

_NO_MODULE = Absent("a pseudo-op: its container (residual, concat, scale) does the work in forward")
_NO_REVERSE = Absent("no module of its own; a foreign module's own arithmetic is costed by the ATen formulas")
_NO_PREPARE = Absent("no arguments of its own")


def zero_pad_shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, _ = feature_map("zero-padding shortcut", shape)
    s = int(args["stride"])
    return (-(-n_h // s), -(-n_w // s), int(args["out"]))


def free(args: Args, inp: Shape, out: Shape) -> Cost:
    return cost()  # copying memory, zero arithmetic


def build_zero_pad(layer: Layer, device: Any) -> Any:
    from cnncost.ops.torch_modules import ZeroPadShortcut

    c_in, out = channels(layer), int(layer.args["out"])
    if out < c_in:
        raise ShapeError(
            f"a zero-padding shortcut cannot shrink {c_in} channels to {out}",
            path=layer.path,
            hint="use a projection shortcut",
            **layer.where.as_kwargs(),
        )
    return ZeroPadShortcut(int(layer.args["stride"]), out)


def _zero_pad_types() -> tuple[type, ...]:
    from cnncost.ops.torch_modules import ZeroPadShortcut

    return (ZeroPadShortcut,)


def _zero_pad_args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 4 or module.out < int(x.shape[1]):
        return None
    return {"stride": module.stride, "out": module.out}


define(
    "zero_pad",
    summary="fixed shortcut: keep every s-th position, pad channels with zeros (ResNet option A)",
    category="merge",
    internal=True,
    fields={},  # its arguments (stride, out) come from the residual combinator, not from a spec
    prepare=_NO_PREPARE,
    shape=zero_pad_shape,
    cost=free,
    formula=no_formula,
    build=build_zero_pad,
    reverse=(Reverse(_zero_pad_types, _zero_pad_args),),
)


def add_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return cost(residual=pointwise_ops(elements(out)))


def multiply_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return cost(elementwise=pointwise_ops(elements(out)))


for _name, _summary, _cost in (
    ("add", "residual addition", add_cost),
    ("concat", "channel concatenation", free),
    ("multiply", "element-wise gating x·g(x)", multiply_cost),
):
    define(
        _name,
        summary=_summary,
        category="merge",
        internal=True,
        fields={},
        prepare=_NO_PREPARE,
        shape=same_shape,
        cost=_cost,
        formula=no_formula,
        build=_NO_MODULE,
        reverse=_NO_REVERSE,
    )


# ---- facet: receptive_field


@implement("receptive_field", "zero_pad")
def zero_pad_field(args: Args, shape: Shape, rf: RF) -> RF:
    # Every s-th position, channels padded: a window of 1 moved by s.
    return window(rf, 1, int(args["stride"]))


@implement("receptive_field", "add", "concat", "multiply")
def merge_field(args: Args, shape: Shape, rf: RF) -> RF:
    # Position by position; the paths that meet here are joined by the engine (the largest path wins).
    return unchanged(rf)
