"""conv: 2-D convolution (grouped, depthwise, dilated, or with a partial connection table).

Notation follows the course: a feature map is ``n_H × n_W × n_C``; a conv has ``f×f`` filters, stride ``s`` and
padding ``p``; its output size is ``floor((n + 2p − f) / s) + 1`` (with dilation ``d`` the effective filter is
``d·(f − 1) + 1``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.common import channels, check_window, feature_map, input_channels, pair, resolve_padding, window_out
from cnncost.ops.costs import Cost, conv_macs, cost, pointwise_ops
from cnncost.ops.receptive import RF, window
from cnncost.ops.registry import Args, Field, Reverse, define, implement
from cnncost.ops.saved import KEEP_INPUT, Saved, keeps, new

if TYPE_CHECKING:
    from cnncost.ir import Layer

FIELDS = {
    "out": Field("int", None, help="number of filters C_out (default for depthwise: C_in)"),
    "kernel": Field("pair", help="filter size f or [f_h, f_w]"),
    "stride": Field("pair", 1),
    "padding": Field("padding", 0, minimum=0, help="p, [p_h, p_w], 'valid' (0) or 'same' (stride 1 only)"),
    "dilation": Field("pair", 1),
    "groups": Field("groups", 1, help="channel groups; 'depthwise' for one group per input channel"),
    "bias": Field("bool", True),
    "connections": Field("connections", None, help="per filter, the input channels it sees (LeNet-5's C3)"),
}


def prepare(args: Args, shape: Shape) -> Args:
    _, _, c_in = feature_map("conv", shape)
    out = dict(args)
    resolve_padding("conv", out)
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


def shape(args: Args, shape: Shape) -> Shape:
    n_h, n_w, _ = feature_map("conv", shape)
    check_window("conv", n_h, n_w, args, what="kernel")
    (f_h, f_w), (s_h, s_w), (p_h, p_w), (d_h, d_w) = args["kernel"], args["stride"], args["padding"], args["dilation"]
    return (window_out(n_h, f_h, s_h, p_h, d_h), window_out(n_w, f_w, s_w, p_w, d_w), int(args["out"]))


def _links(args: Args) -> int | None:
    conns = args.get("connections")
    return None if conns is None else sum(len(row) for row in conns)  # input maps summed over all filters


def conv_cost(args: Args, inp: Shape, out: Shape) -> Cost:
    # Weights f_h·f_w·(C_in/groups)·C_out, bias C_out; MACs by conv_macs (one per weight per output position).
    # A connection table: filter i sees |row i| input maps, so its weights are f_h·f_w·|row i|.
    kernel, (h, w, c_out) = args["kernel"], out
    bias = c_out if args["bias"] else 0
    links = _links(args)
    if links is not None:
        macs = conv_macs(1, links, kernel, (h, w))
        return cost(params=conv_macs(1, links, kernel, ()) + bias, macs=macs, bias=pointwise_ops(bias * h * w))
    per_filter = inp[2] // args["groups"]
    return cost(
        params=conv_macs(c_out, per_filter, kernel, ()) + bias,
        macs=conv_macs(c_out, per_filter, kernel, (h, w)),
        bias=pointwise_ops(bias * h * w),
    )


def formula(args: Args, inp: Shape, out: Shape) -> str:
    (f_h, f_w), (h, w, c_out) = args["kernel"], out
    links = _links(args)
    if links is not None:
        return f"{f_h}·{f_w}·{links} links × {h}·{w}"
    return f"{f_h}·{f_w}·{inp[2] // args['groups']} × {c_out} × {h}·{w}"


def build(layer: Layer, device: Any) -> Any:
    from torch import nn

    from cnncost.ops.torch_modules import ConnectionConv

    a = layer.args
    c_in = channels(layer)
    kernel, stride = pair(a["kernel"]), pair(a.get("stride", 1))
    padding, dilation = pair(a.get("padding", 0)), pair(a.get("dilation", 1))
    bias = bool(a.get("bias", True))
    conns = a.get("connections")
    if conns is not None:
        rows = tuple(tuple(int(c) for c in row) for row in conns)
        return ConnectionConv(rows, kernel, stride=stride, padding=padding, dilation=dilation, bias=bias, device=device)
    return nn.Conv2d(
        c_in,
        int(a["out"]),
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=int(a.get("groups", 1)),
        bias=bias,
        device=device,
    )


def _conv2d_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.Conv2d,)


def _conv2d_args(module: Any, x: Any) -> dict[str, Any] | None:
    if x.dim() != 4 or module.in_channels != input_channels(x):
        return None  # it will fail: let PyTorch say how
    padding = module.padding
    if isinstance(padding, str):
        (k_h, k_w), (d_h, d_w) = module.kernel_size, module.dilation
        padding = (0, 0) if padding == "valid" else (d_h * (k_h - 1) // 2, d_w * (k_w - 1) // 2)
    return {
        "out": module.out_channels,
        "kernel": pair(module.kernel_size),
        "stride": pair(module.stride),
        "padding": pair(padding),
        "dilation": pair(module.dilation),
        "groups": module.groups,
        "bias": module.bias is not None,
        "connections": None,
    }


def _connection_types() -> tuple[type, ...]:
    from cnncost.ops.torch_modules import ConnectionConv

    return (ConnectionConv,)


def _connection_args(module: Any, x: Any) -> dict[str, Any] | None:
    from torch import nn

    if x.dim() != 4 or any(c >= input_channels(x) for row in module.rows for c in row):
        return None
    first = next(m for m in module.children() if isinstance(m, nn.Conv2d))
    return {
        "out": len(module.rows),
        "kernel": pair(first.kernel_size),
        "stride": pair(first.stride),
        "padding": pair(first.padding),
        "dilation": pair(first.dilation),
        "groups": 1,
        "bias": first.bias is not None,
        "connections": module.rows,
    }


define(
    "conv",
    summary="2-D convolution (grouped, depthwise, dilated, or with a partial connection table)",
    category="conv",
    fields=FIELDS,
    prepare=prepare,
    shape=shape,
    cost=conv_cost,
    formula=formula,
    build=build,
    reverse=(Reverse(_conv2d_types, _conv2d_args), Reverse(_connection_types, _connection_args)),
)


# ---- facet: backward
from cnncost.ops.backward import BackwardCost, Needs, product_backward  # noqa: E402


@implement("backward", "conv")
def conv_backward(args: Args, inp: Shape, out: Shape, needs: Needs) -> BackwardCost:
    """Input gradient ``grad_out ⋆ W`` (a transposed convolution) and weight gradient ``grad_out ⋆ x``: each the
    forward's ``conv_macs`` (every weight meets every output position once, in each product); a connection table
    likewise, per link. Bias gradient: ``Σ`` of the output gradient over the H·W positions, one addition per
    output value, ``C_out·H·W``."""
    counted = conv_cost(args, inp, out)
    return product_backward(counted.macs, counted.other.get("bias", 0), needs)


# ---- facet: saved


@implement("saved", "conv")
def saved(args: Args, inp: Shape, out: Shape) -> Saved:
    # convolution_backward reads the input (for the weight gradient) and the weight (for the input gradient).
    # With a connection table each filter's conv runs on its own gathered copy of the channels its row names
    # (x[:, row]): those copies are kept instead, Σ|row|·H·W values per image, with their int64 index lists.
    weight = new("weight", conv_params(args, inp), "weight", per_image=False)
    links = _links(args)
    if links is None:
        return keeps(KEEP_INPUT, weight)
    n_h, n_w, _ = inp
    return keeps(
        new("gathered", links * n_h * n_w), new("rows", links, "int64", per_image=False), weight
    )


def conv_params(args: Args, inp: Shape) -> int:
    """The conv's weights, bias excluded: C_out · (C_in / groups) · f_h · f_w, or f_h·f_w·Σ|row| with a
    connection table."""
    (f_h, f_w), links = args["kernel"], _links(args)
    if links is not None:
        return int(f_h * f_w * links)
    return int(args["out"]) * (inp[2] // int(args["groups"])) * int(f_h) * int(f_w)


# ---- facet: receptive_field


@implement("receptive_field", "conv")
def receptive_field(args: Args, shape: Shape, rf: RF) -> RF:
    # r_out = r_in + (k − 1)·d·j_in, j_out = j_in·s per axis; groups and a connection table change no window.
    return window(rf, args["kernel"], args["stride"], args["dilation"])
