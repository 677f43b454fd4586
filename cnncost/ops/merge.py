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
from cnncost.ops.saved import KEEP_INPUT, KEEP_OTHER, Saved, keeps

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


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, backward_cost  # noqa: E402


@implement("backward", "zero_pad")
def zero_pad_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """The gradient of the kept positions and channels is sliced back: no arithmetic."""
    return backward_cost()


@implement("backward", "add")
def add_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """The sum's gradient passes unchanged to the body and the shortcut; where they fork, at the residual's
    input ``inp``, the two gradients that come back are added: ``elements(inp)`` additions when that input needs
    a gradient ('residual')."""
    return backward_cost(residual=pointwise_ops(elements(inp)) if needs.input else 0)


@implement("backward", "concat")
def concat_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """The gradient is sliced back to the branches (no arithmetic); where ``args['forks']`` branches share the
    concat's input ``inp``, their gradients are added: ``(forks − 1) · elements(inp)`` ('elementwise'). A split's
    branches each see their own slice (``forks`` 1): nothing."""
    forks = int(args.get("forks", 1))
    return backward_cost(elementwise=(forks - 1) * elements(inp) if needs.input and forks > 1 else 0)


@implement("backward", "multiply")
def multiply_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """``y = x · gate(x)``. ``needs.input``: x needs a gradient — ``g·gate``, 1 per value, plus the sum with the
    gradient coming back through the gate, 1 per value of x. ``needs.weights`` (here: the gate's output needs a
    gradient): ``g·x``, 1 per value, summed to the gate's shape ``args['gate']``: ``elements(out) −
    elements(gate)`` additions ('elementwise')."""
    n = elements(out)
    gate = elements(args.get("gate", out))
    into_x = 2 * n if needs.input else 0
    into_gate = n + (n - gate) if needs.weights else 0
    return backward_cost(elementwise=into_x + into_gate)


# ---- facet: saved


@implement("saved", "zero_pad", "add", "concat")
def saved_nothing(args: Args, inp: Shape, out: Shape) -> Saved:
    # Slicing, constant padding, addition and concatenation pass the gradient through by shape alone.
    return keeps()


@implement("saved", "multiply")
def saved_multiply(args: Args, inp: Shape, out: Shape) -> Saved:
    # x · g(x): mul's backward reads each operand for the other's gradient: the input and the gate (other).
    return keeps(KEEP_INPUT, KEEP_OTHER)


# ---- facet: receptive_field


@implement("receptive_field", "zero_pad")
def zero_pad_field(args: Args, shape: Shape, rf: RF) -> RF:
    # Every s-th position, channels padded: a window of 1 moved by s.
    return window(rf, 1, int(args["stride"]))


@implement("receptive_field", "add", "concat", "multiply")
def merge_field(args: Args, shape: Shape, rf: RF) -> RF:
    # Position by position; the paths that meet here are joined by the engine (the largest path wins).
    return unchanged(rf)
