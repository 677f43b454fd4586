"""Shape rules and cost formulas, one small function per op, registered by name.

Notation in comments and formulas follows the course: a feature map is ``n_H × n_W × n_C``; a conv has ``f×f``
filters, stride ``s`` and padding ``p``; its output size is ``floor((n + 2p − f) / s) + 1`` (with dilation ``d``
the effective filter is ``d·(f − 1) + 1``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cnncost.analysis.records import Cost
from cnncost.analysis.registry import Args, Field, register
from cnncost.errors import ShapeError
from cnncost.ir import Shape


def _cost(params: int = 0, macs: int = 0, formula: str | None = None, **other: int) -> Cost:
    return Cost(params, macs, MappingProxyType({k: v for k, v in other.items() if v}), formula)


def elements(shape: Shape) -> int:
    return math.prod(shape)


def fmt_shape(shape: Shape) -> str:
    return "×".join(str(d) for d in shape)


def _feature_map(op: str, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ShapeError(
            f"{op} needs a feature map H×W×C but gets a flat vector of {shape[0]}",
            hint=f"move the {op} before the flatten, or remove the flatten",
        )
    return shape[0], shape[1], shape[2]


def _window_out(n: int, f: int, s: int, p: int, d: int, *, ceil_mode: bool = False) -> int:
    """Output length along one axis: floor((n + 2p − d·(f−1) − 1) / s) + 1 (ceil under ``ceil_mode``, with
    PyTorch's rule that the last window must start inside the input or its left padding)."""
    span = n + 2 * p - d * (f - 1) - 1
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        return out
    return span // s + 1


def _check_window(op: str, n_h: int, n_w: int, args: Args, *, what: str) -> None:
    (f_h, f_w), (p_h, p_w), (d_h, d_w) = args["kernel"], args["padding"], args.get("dilation", (1, 1))
    eff_h, eff_w = d_h * (f_h - 1) + 1, d_w * (f_w - 1) + 1
    if eff_h > n_h + 2 * p_h or eff_w > n_w + 2 * p_w:
        padded = f"{n_h + 2 * p_h}×{n_w + 2 * p_w}"
        raise ShapeError(
            f"{what} {f_h}×{f_w} is larger than its padded input {padded} "
            f"(input {n_h}×{n_w}, padding {p_h}×{p_w}): the output would have size below 1",
            hint="use a smaller kernel, add padding, or remove a downsampling layer before it (or use --size)",
        )


# --------------------------------------------------------------------------------------------------- conv

_CONV_FIELDS = {
    "out": Field("int", None, help="number of filters C_out (default for depthwise: C_in)"),
    "kernel": Field("pair", help="filter size f or [f_h, f_w]"),
    "stride": Field("pair", 1),
    "padding": Field("padding", 0, minimum=0, help="p, [p_h, p_w], 'valid' (0) or 'same' (stride 1 only)"),
    "dilation": Field("pair", 1),
    "groups": Field("groups", 1, help="channel groups; 'depthwise' for one group per input channel"),
    "bias": Field("bool", True),
    "connections": Field("connections", None, help="per filter, the input channels it sees (LeNet-5's C3)"),
}


def _same_padding(op: str, args: Args) -> tuple[int, int]:
    (f_h, f_w), (s_h, s_w), (d_h, d_w) = args["kernel"], args["stride"], args.get("dilation", (1, 1))
    if (s_h, s_w) != (1, 1):
        raise ShapeError(
            f"'same' padding is only defined here for stride 1, but this {op} has stride {s_h}×{s_w}",
            hint=f"state the padding explicitly, e.g. padding: {(d_h * (f_h - 1)) // 2} (PyTorch pads symmetrically)",
        )
    eff_h, eff_w = d_h * (f_h - 1), d_w * (f_w - 1)
    if eff_h % 2 or eff_w % 2:
        raise ShapeError(
            f"'same' padding needs an odd kernel, but this {op} has {f_h}×{f_w}",
            hint="use an odd kernel or state the padding explicitly",
        )
    return eff_h // 2, eff_w // 2


def _resolve_padding(op: str, args: dict[str, Any]) -> None:
    if args["padding"] == "same":
        args["padding"] = _same_padding(op, args)
    elif args["padding"] == "valid":
        args["padding"] = (0, 0)


def _prepare_conv(args: Args, shape: Shape) -> Args:
    _, _, c_in = _feature_map("conv", shape)
    out = dict(args)
    _resolve_padding("conv", out)
    if out["groups"] == "depthwise":
        out["groups"] = c_in
        if out["out"] is None:
            out["out"] = c_in
    if out["out"] is None:
        raise ShapeError("conv needs 'out' (the number of filters)", hint="add out: N")
    g, c_out = out["groups"], out["out"]
    if c_in % g or c_out % g:
        raise ShapeError(
            f"conv with {g} groups needs input and output channels divisible by {g}, "
            f"but has {c_in} in and {c_out} out",
            hint=f"choose groups that divide both {c_in} and {c_out}",
        )
    conns = out.get("connections")
    if conns is not None:
        if g != 1:
            raise ShapeError("a connection table cannot be combined with groups", hint="remove groups")
        if len(conns) != c_out:
            raise ShapeError(
                f"the connection table has {len(conns)} rows but the conv has {c_out} filters",
                hint="give one row of input channels per filter",
            )
        for row in conns:
            bad = [c for c in row if c >= c_in]
            if bad:
                raise ShapeError(
                    f"the connection table names input channel {bad[0]} but the input has only {c_in} "
                    f"(channels 0…{c_in - 1})",
                    hint="number input channels from 0",
                )
    return out


def _conv_shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, _ = _feature_map("conv", shape)
    _check_window("conv", n_h, n_w, args, what="kernel")
    (f_h, f_w), (s_h, s_w), (p_h, p_w), (d_h, d_w) = (
        args["kernel"],
        args["stride"],
        args["padding"],
        args["dilation"],
    )
    return (
        _window_out(n_h, f_h, s_h, p_h, d_h),
        _window_out(n_w, f_w, s_w, p_w, d_w),
        int(args["out"]),
    )


@register(
    "conv",
    fields=_CONV_FIELDS,
    shape=_conv_shape,
    prepare=_prepare_conv,
    summary="2-D convolution (grouped, depthwise, dilated, or with a partial connection table)",
    category="conv",
)
def conv_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Each output value is a dot product of an f_h·f_w·(C_in/groups) filter with the input window:
    # MACs = f_h·f_w·(C_in/groups) × C_out × H_out·W_out. Weights: f_h·f_w·(C_in/groups)·C_out, bias: C_out.
    (f_h, f_w), g = args["kernel"], args["groups"]
    c_in, (h, w, c_out) = inp[2], out
    bias = c_out if args["bias"] else 0
    conns = args.get("connections")
    if conns is not None:
        links = sum(len(row) for row in conns)  # input maps summed over all filters
        return _cost(
            params=f_h * f_w * links + bias,
            macs=f_h * f_w * links * h * w,
            formula=f"{f_h}·{f_w}·{links} links × {h}·{w}",
            bias=bias * h * w,
        )
    per_filter = c_in // g
    return _cost(
        params=f_h * f_w * per_filter * c_out + bias,
        macs=f_h * f_w * per_filter * c_out * h * w,
        formula=f"{f_h}·{f_w}·{per_filter} × {c_out} × {h}·{w}",
        bias=bias * h * w,
    )


# -------------------------------------------------------------------------------------------------- linear


def _linear_shape(args: Args, shape: Shape) -> Shape:
    if len(shape) != 1:
        raise ShapeError(
            f"linear needs a flat vector but gets the feature map {fmt_shape(shape)}",
            hint="add '- flatten' before it (or a global pool, then flatten)",
        )
    return (int(args["out"]),)


@register(
    "linear",
    fields={"out": Field("int", help="number of output units"), "bias": Field("bool", True)},
    shape=_linear_shape,
    summary="fully connected layer",
    category="linear",
)
def linear_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Every output unit is a dot product with every input: MACs = in × out; weights in·out, bias out.
    n_in, n_out = inp[0], out[0]
    bias = n_out if args["bias"] else 0
    return _cost(params=n_in * n_out + bias, macs=n_in * n_out, formula=f"{n_in} × {n_out}", bias=bias)


# ------------------------------------------------------------------------------------------------- pooling

_POOL_FIELDS = {
    "kernel": Field("pair", help="window f or [f_h, f_w]"),
    "stride": Field("pair", None, help="default: the kernel size"),
    "padding": Field("padding", 0, minimum=0),
    "ceil_mode": Field("bool", False),
}


def _prepare_pool(args: Args, shape: Shape) -> Args:
    _feature_map("pooling", shape)
    out = dict(args)
    if out["stride"] is None:
        out["stride"] = out["kernel"]
    _resolve_padding("pool", out)
    (f_h, f_w), (p_h, p_w) = out["kernel"], out["padding"]
    if 2 * p_h > f_h or 2 * p_w > f_w:
        raise ShapeError(
            f"pool padding {p_h}×{p_w} is more than half the window {f_h}×{f_w}",
            hint="use padding of at most half the kernel size",
        )
    out["dilation"] = (1, 1)
    return out


def _pool_shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, c = _feature_map("pooling", shape)
    _check_window("pool", n_h, n_w, args, what="pooling window")
    (f_h, f_w), (s_h, s_w), (p_h, p_w) = args["kernel"], args["stride"], args["padding"]
    ceil = bool(args["ceil_mode"])
    return (
        _window_out(n_h, f_h, s_h, p_h, 1, ceil_mode=ceil),
        _window_out(n_w, f_w, s_w, p_w, 1, ceil_mode=ceil),
        c,
    )


def _window_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Each output reads one f_h×f_w window: f_h·f_w operations (comparisons or additions) per output value.
    f_h, f_w = args["kernel"]
    return _cost(pooling=elements(out) * f_h * f_w)


register(
    "maxpool",
    fields=_POOL_FIELDS,
    shape=_pool_shape,
    prepare=_prepare_pool,
    summary="max pooling",
    category="pool",
)(_window_cost)
register(
    "avgpool",
    fields=_POOL_FIELDS,
    shape=_pool_shape,
    prepare=_prepare_pool,
    summary="average pooling",
    category="pool",
)(_window_cost)


def _global_shape(args: Args, shape: Shape) -> Shape:
    _, _, c = _feature_map("global pooling", shape)
    return (1, 1, c)


def _global_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Every input value is read once.
    return _cost(pooling=elements(inp))


register(
    "global_avgpool", shape=_global_shape, summary="average over all positions → 1×1×C", category="pool"
)(_global_cost)
register(
    "global_maxpool", shape=_global_shape, summary="maximum over all positions → 1×1×C", category="pool"
)(_global_cost)


def _adaptive_windows(n: int, o: int) -> list[int]:
    # PyTorch's adaptive pooling: window i spans [floor(i·n/o), ceil((i+1)·n/o)).
    return [-(-((i + 1) * n) // o) - (i * n) // o for i in range(o)]


def _adaptive_shape(args: Args, shape: Shape) -> Shape:
    _, _, c = _feature_map("adaptive pooling", shape)
    o_h, o_w = args["size"]
    return (o_h, o_w, c)


@register(
    "adaptive_avgpool",
    fields={"size": Field("pair", help="output size o or [o_h, o_w]")},
    shape=_adaptive_shape,
    summary="average pooling to a fixed output size",
    category="pool",
)
def adaptive_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    h_windows = _adaptive_windows(inp[0], out[0])
    w_windows = _adaptive_windows(inp[1], out[1])
    return _cost(pooling=sum(h_windows) * sum(w_windows) * out[2])


# ----------------------------------------------------------------------------------------- reshape, norm


@register(
    "flatten", shape=lambda args, shape: (elements(shape),), summary="H×W×C → vector", category="reshape"
)
def flatten_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return _cost()


@register(
    "bn",
    fields={"eps": Field("float", 1e-5)},
    shape=lambda args, shape: shape,
    summary="batch normalization (scale γ and shift β per channel)",
    category="norm",
)
def bn_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # γ and β per channel (per unit on a vector); at inference a multiply and an add per element.
    channels = inp[-1]
    return _cost(params=2 * channels, batchnorm=2 * elements(out))


@register(
    "lrn",
    fields={
        "size": Field("int", 5),
        "alpha": Field("float", 1e-4),
        "beta": Field("float", 0.75),
        "k": Field("float", 2.0),
    },
    shape=lambda args, shape: _feature_map("lrn", shape),
    summary="local response normalization across channels (AlexNet)",
    category="norm",
)
def lrn_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Each value is divided by a power of the sum of squares over `size` neighbouring channels.
    return _cost(normalization=elements(out) * int(args["size"]))


# ------------------------------------------------------------------------------------------ activations


def _same_shape(args: Args, shape: Shape) -> Shape:
    return shape


def _activation_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return _cost(activation=elements(out))


ACTIVATIONS: Mapping[str, tuple[str, Mapping[str, Field]]] = {
    "relu": ("max(0, x)", {}),
    "relu6": ("min(max(0, x), 6) (MobileNet)", {}),
    "leaky_relu": ("x if x > 0 else slope·x", {"slope": Field("float", 0.01)}),
    "tanh": ("hyperbolic tangent", {}),
    "sigmoid": ("1 / (1 + e^−x)", {}),
    "softmax": ("softmax over channels", {}),
    "silu": ("x·sigmoid(x), also called swish", {}),
    "hardswish": ("x·relu6(x + 3)/6 (MobileNetV3)", {}),
    "hardsigmoid": ("relu6(x + 3)/6", {}),
    "gelu": ("x·Φ(x)", {}),
}

for _name, (_summary, _fields) in ACTIVATIONS.items():
    register(_name, fields=_fields, shape=_same_shape, summary=_summary, category="activation")(
        _activation_cost
    )


@register(
    "dropout",
    fields={"p": Field("probability", 0.5, help="probability of zeroing an element, 0…1")},
    shape=_same_shape,
    summary="dropout (no cost at inference)",
    category="regularization",
)
def dropout_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return _cost()


# ------------------------------------------------------------------------- internal ops of the combinators


def _zero_pad_shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, _ = _feature_map("zero-padding shortcut", shape)
    s = int(args["stride"])
    return (-(-n_h // s), -(-n_w // s), int(args["out"]))


@register(
    "zero_pad",
    shape=_zero_pad_shape,
    summary="fixed shortcut: keep every s-th position, pad channels with zeros (ResNet option A)",
    category="merge",
    internal=True,
)
def zero_pad_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return _cost()


@register("add", shape=_same_shape, summary="residual addition", category="merge", internal=True)
def add_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return _cost(residual=elements(out))


@register("concat", shape=_same_shape, summary="channel concatenation", category="merge", internal=True)
def concat_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return _cost()  # copying memory, zero arithmetic


@register(
    "multiply", shape=_same_shape, summary="element-wise gating x·g(x)", category="merge", internal=True
)
def multiply_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    return _cost(elementwise=elements(out))
