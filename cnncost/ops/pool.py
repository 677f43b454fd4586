"""Pooling: max and average over windows, over everything (global), or to a fixed output size (adaptive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.common import check_window, feature_map, no_formula, pair, resolve_padding, window_out
from cnncost.ops.costs import Cost, adaptive_window_total, cost, elements, pointwise_ops, window_ops
from cnncost.ops.receptive import RF, window
from cnncost.ops.registry import Absent, Args, Field, Reverse, define, implement
from cnncost.ops.saved import KEEP_INPUT, Saved, keeps, new

if TYPE_CHECKING:
    from cnncost.ir import Layer

FIELDS = {
    "kernel": Field("pair", help="window f or [f_h, f_w]"),
    "stride": Field("pair", None, help="default: the kernel size"),
    "padding": Field("padding", 0, minimum=0),
    "ceil_mode": Field("bool", False),
}


def prepare(args: Args, shape: Shape) -> Args:
    feature_map("pooling", shape)
    out = dict(args)
    if out["stride"] is None:
        out["stride"] = out["kernel"]
    resolve_padding("pool", out)
    (f_h, f_w), (p_h, p_w) = out["kernel"], out["padding"]
    if 2 * p_h > f_h or 2 * p_w > f_w:
        raise ShapeError(
            f"pool padding {p_h}×{p_w} is more than half the window {f_h}×{f_w}",
            hint="use padding of at most half the kernel size",
        )
    out["dilation"] = (1, 1)
    return out


def shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, c = feature_map("pooling", shape)
    check_window("pool", n_h, n_w, args, what="pooling window")
    (f_h, f_w), (s_h, s_w), (p_h, p_w) = args["kernel"], args["stride"], args["padding"]
    ceil = bool(args["ceil_mode"])
    return (window_out(n_h, f_h, s_h, p_h, 1, ceil_mode=ceil), window_out(n_w, f_w, s_w, p_w, 1, ceil_mode=ceil), c)


def window_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return cost(pooling=window_ops(elements(out), args["kernel"]))


def _pool_args(layer: Layer) -> dict[str, Any]:
    a = layer.args
    kernel = pair(a["kernel"])
    stride = a.get("stride")
    return {
        "kernel_size": kernel,
        "stride": kernel if stride is None else pair(stride),
        "padding": pair(a.get("padding", 0)),
        "ceil_mode": bool(a.get("ceil_mode", False)),
    }


def build_max(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.MaxPool2d(**_pool_args(layer))


def build_avg(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.AvgPool2d(**_pool_args(layer))


def _window_args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 4 or pair(getattr(module, "dilation", 1)) != (1, 1):
        return None
    kernel = pair(module.kernel_size)
    return {
        "kernel": kernel,
        "stride": kernel if module.stride is None else pair(module.stride),
        "padding": pair(module.padding),
        "ceil_mode": bool(module.ceil_mode),
        "dilation": (1, 1),
    }


def _maxpool_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.MaxPool2d,)


def _avgpool_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.AvgPool2d,)


for _name, _summary, _build, _types in (
    ("maxpool", "max pooling", build_max, _maxpool_types),
    ("avgpool", "average pooling", build_avg, _avgpool_types),
):
    define(
        _name,
        summary=_summary,
        category="pool",
        fields=FIELDS,
        prepare=prepare,
        shape=shape,
        cost=window_cost,
        formula=no_formula,
        build=_build,
        reverse=(Reverse(_types, _window_args),),
    )


# ----------------------------------------------------------------------------------------------- global


def global_shape(args: Args, shape: Shape) -> Shape:
    _, _, c = feature_map("global pooling", shape)
    return (1, 1, c)


def global_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Every input value is read once.
    return cost(pooling=pointwise_ops(elements(inp)))


def build_global_avg(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.AdaptiveAvgPool2d(1)


def build_global_max(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.AdaptiveMaxPool2d(1)


def _adaptive_avg_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.AdaptiveAvgPool2d,)


def _adaptive_max_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.AdaptiveMaxPool2d,)


def _output_size(module: Any, x: Any) -> tuple[int, int] | None:
    if x.dim() != 4:
        return None
    size = module.output_size
    h, w = (size, size) if isinstance(size, int) or size is None else size
    return (int(x.shape[2]) if h is None else int(h), int(x.shape[3]) if w is None else int(w))


def _global_args(module: Any, x: Any) -> dict[str, Any] | None:
    return {} if _output_size(module, x) == (1, 1) else None


for _name, _summary, _build, _types in (
    ("global_avgpool", "average over all positions → 1×1×C", build_global_avg, _adaptive_avg_types),
    ("global_maxpool", "maximum over all positions → 1×1×C", build_global_max, _adaptive_max_types),
):
    define(
        _name,
        summary=_summary,
        category="pool",
        fields={},
        prepare=Absent("no arguments"),
        shape=global_shape,
        cost=global_cost,
        formula=no_formula,
        build=_build,
        reverse=(Reverse(_types, _global_args),),
    )


# --------------------------------------------------------------------------------------------- adaptive


def adaptive_shape(args: Args, shape: Shape) -> Shape:
    _, _, c = feature_map("adaptive pooling", shape)
    o_h, o_w = args["size"]
    return (o_h, o_w, c)


def adaptive_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # The windows along each axis are independent: the values read are their totals multiplied, per channel.
    rows, cols = adaptive_window_total(inp[0], out[0]), adaptive_window_total(inp[1], out[1])
    return cost(pooling=rows * cols * out[2])


def build_adaptive_avg(layer: Layer, device: Any) -> Any:
    from torch import nn

    return nn.AdaptiveAvgPool2d(pair(layer.args["size"]))


def _adaptive_args(module: Any, x: Any) -> dict[str, Any] | None:
    size = _output_size(module, x)
    return None if size is None or size == (1, 1) else {"size": size}


define(
    "adaptive_avgpool",
    summary="average pooling to a fixed output size",
    category="pool",
    fields={"size": Field("pair", help="output size o or [o_h, o_w]")},
    prepare=Absent("the spec arguments are final"),
    shape=adaptive_shape,
    cost=adaptive_cost,
    formula=no_formula,
    build=build_adaptive_avg,
    reverse=(Reverse(_adaptive_avg_types, _adaptive_args),),
)


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, backward_cost  # noqa: E402


@implement("backward", "maxpool", "global_maxpool")
def max_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Max pooling routes each output value's gradient to the input position that won: one addition per output
    value ('pooling')."""
    return backward_cost(pooling=pointwise_ops(elements(out)) if needs.input else 0)


@implement("backward", "avgpool")
def avg_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Average pooling spreads each output value's (scaled) gradient over its window: ``out × prod(kernel)``
    additions, the forward's ``window_ops`` ('pooling')."""
    return backward_cost(pooling=window_ops(elements(out), args["kernel"]) if needs.input else 0)


@implement("backward", "global_avgpool")
def global_avg_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Every input value receives its channel's gradient ÷ H·W: one operation per input value ('pooling')."""
    return backward_cost(pooling=pointwise_ops(elements(inp)) if needs.input else 0)


@implement("backward", "adaptive_avgpool")
def adaptive_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Each output value's gradient is spread over its window, one operation per value read — the forward's
    ``adaptive_cost`` ('pooling')."""
    return backward_cost(pooling=adaptive_cost(args, inp, out).other.get("pooling", 0) if needs.input else 0)


# ---- facet: saved


@implement("saved", "maxpool", "global_maxpool")
def saved_max(args: Args, inp: Shape, out: Shape) -> Saved:
    # max_pool2d_with_indices (adaptive_max_pool2d) keeps its input and, per output value, the int64 index of
    # the maximum: as many indices as output values. Without autograd it still goes through
    # max_pool2d_with_indices (adaptive_max_pool2d): the indices are made and dropped.
    indices = new("indices", elements(out), "int64")
    return keeps(KEEP_INPUT, indices, scratch_eval=(indices,))


@implement("saved", "avgpool", "adaptive_avgpool")
def saved_avg(args: Args, inp: Shape, out: Shape) -> Saved:
    # avg_pool2d_backward(grad, self, …) and _adaptive_avg_pool2d_backward(grad, self) are handed the input.
    return keeps(KEEP_INPUT)


@implement("saved", "global_avgpool")
def saved_global_avg(args: Args, inp: Shape, out: Shape) -> Saved:
    # Adaptive average pooling to 1×1 is a mean over H and W: its backward needs the input's size only.
    return keeps()


# ---- facet: receptive_field


@implement("receptive_field", "maxpool", "avgpool")
def window_field(args: Args, shape: Shape, rf: RF) -> RF:
    # Pooling is a window like a conv of its kernel: r + (k − 1)·j_in, j_in·s.
    return window(rf, args["kernel"], args["stride"])


@implement("receptive_field", "global_avgpool", "global_maxpool")
def global_field(args: Args, shape: Shape, rf: RF) -> RF:
    return RF.whole_input("global pooling reads every position")


def adaptive_window(n: int, o: int) -> int:
    """The largest window of adaptive pooling from ``n`` to ``o`` positions: window i is
    [⌊i·n/o⌋, ⌈(i + 1)·n/o⌉)."""
    return max(-(-(i + 1) * n // o) - i * n // o for i in range(o))


@implement("receptive_field", "adaptive_avgpool")
def adaptive_field(args: Args, shape: Shape, rf: RF) -> RF:
    # When o divides n the windows are a pool of kernel = stride = n/o. Otherwise they are uneven: the largest
    # window stands for all of them (the largest path wins) and the step is n/o on average, a fraction.
    from fractions import Fraction

    (n_h, n_w), (o_h, o_w) = shape[:2], args["size"]
    out = window(rf, (adaptive_window(n_h, o_h), adaptive_window(n_w, o_w)))
    if out.jump is None or rf.jump is None:
        return out
    return RF(out.size, (rf.jump[0] * Fraction(n_h, o_h), rf.jump[1] * Fraction(n_w, o_w)), step=out.step)
