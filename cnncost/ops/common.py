"""Shape helpers shared by the op families: feature-map checks, window arithmetic, ``same`` padding, pairs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.errors import ShapeError
from cnncost.ir import Shape
from cnncost.ops.costs import elements

if TYPE_CHECKING:
    from cnncost.ir import Layer
    from cnncost.ops.registry import Args


def fmt_shape(shape: Shape) -> str:
    return "×".join(str(d) for d in shape)


def same_shape(args: Args, shape: Shape) -> Shape:
    return shape


def flat_shape(args: Args, shape: Shape) -> Shape:
    return (elements(shape),)


def no_formula(args: Args, inp: Shape, out: Shape) -> str | None:
    """The formula text of an op without MACs: none."""
    return None


def feature_map(op: str, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ShapeError(
            f"{op} needs a feature map H×W×C but gets a flat vector of {shape[0]}",
            hint=f"move the {op} before the flatten, or remove the flatten",
        )
    return shape[0], shape[1], shape[2]


def window_out(n: int, f: int, s: int, p: int, d: int, *, ceil_mode: bool = False) -> int:
    """Output length along one axis: floor((n + 2p − d·(f−1) − 1) / s) + 1 (ceil under ``ceil_mode``, with
    PyTorch's rule that the last window must start inside the input or its left padding)."""
    span = n + 2 * p - d * (f - 1) - 1
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        return out
    return span // s + 1


def check_window(op: str, n_h: int, n_w: int, args: Args, *, what: str) -> None:
    (f_h, f_w), (p_h, p_w), (d_h, d_w) = args["kernel"], args["padding"], args.get("dilation", (1, 1))
    eff_h, eff_w = d_h * (f_h - 1) + 1, d_w * (f_w - 1) + 1
    if eff_h > n_h + 2 * p_h or eff_w > n_w + 2 * p_w:
        padded = f"{n_h + 2 * p_h}×{n_w + 2 * p_w}"
        raise ShapeError(
            f"{what} {f_h}×{f_w} is larger than its padded input {padded} "
            f"(input {n_h}×{n_w}, padding {p_h}×{p_w}): the output would have size below 1",
            hint="use a smaller kernel, add padding, or remove a downsampling layer before it (or use --size)",
        )


def same_padding(op: str, args: Args) -> tuple[int, int]:
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


def resolve_padding(op: str, args: dict[str, Any]) -> None:
    if args["padding"] == "same":
        args["padding"] = same_padding(op, args)
    elif args["padding"] == "valid":
        args["padding"] = (0, 0)


def pair(value: Any) -> tuple[int, int]:
    """An int or a pair of ints as a pair of ints."""
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


def channels(layer: Layer) -> int:
    """The input channels of a layer that needs a feature map (for its PyTorch module)."""
    if len(layer.in_shape) != 3:
        raise ShapeError(
            f"{layer.op} needs a feature map H×W×C but gets a flat vector of {layer.in_shape[0]}",
            path=layer.path,
            **layer.where.as_kwargs(),
        )
    return int(layer.in_shape[2])


def input_channels(x: Any) -> int:
    """The channel (or feature) count of a torch input ``x`` (dimension 1), −1 for a rank below 2."""
    return int(x.shape[1]) if x.dim() >= 2 else -1
