"""Formulas for what a foreign ``nn.Module`` runs: ATen operators by overload-packet name, and the common
Python-level calls (``x + y``, ``F.relu``) read from their arguments without watching their operators.

Both are registries that refuse a second formula under one name (like ``torch.utils.flop_counter``'s
``register_flop_formula``) and both are built from the cost primitives of ``cnncost.ops.costs``, so an operator
costs what the op a spec would use for it costs (a convolution's MACs are ``conv_macs`` either way).

Formulas are duck-typed on tensors (``.shape``, ``.numel()``, ``.dim()``): this module does not import torch.

Aten operators by category (per call, batch included): ``convolution`` — MACs ``N·prod(W)·prod(out spatial)``
(transposed: input spatial), bias = output elements when it has one; ``mm``/``addmm``/``bmm``/``baddbmm`` — MACs
``b·m·k·n``, bias = output elements for the ``add`` forms; batch norm — 2 × elements; layer and group norm —
``normalization`` 2 × elements (scale and shift; the statistics are not counted); activations and softmax — output
elements; max/avg pooling — output elements × window area; adaptive pooling — the sum of its windows;
``mean``/``amax`` (global pooling written as a reduction) — input elements; bilinear upsampling — ``interpolation``,
4 × output elements; ``add`` of two tensors of the output's shape — ``residual``; other adds, ``mul``, ``div`` and
pointwise math — ``elementwise``, output elements; views, copies, concatenation, padding, nearest upsampling — no
arithmetic. Any other operator is unknown: the caller lists it with its call count, never silently zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnncost.ops.costs import (
    adaptive_window_total,
    affine_ops,
    conv_macs,
    elements,
    interpolation_ops,
    matmul_macs,
    pointwise_ops,
    window_ops,
)


@dataclass
class AtenCost:
    """What one aten operator (or a group of them) costs: MACs and other ops by category, batch included.
    ``free`` is true while everything in it moved memory only."""

    macs: int = 0
    other: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    free: bool = True

    def add(self, other: AtenCost) -> None:
        self.macs += other.macs
        self.other.update(other.other)
        self.unknown.update(other.unknown)
        self.free = self.free and other.free


def _paid(macs: int = 0, **other: int) -> AtenCost:
    return AtenCost(macs, Counter({k: v for k, v in other.items() if v}), free=False)


def is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and callable(getattr(value, "numel", None))


def first_tensor(value: Any) -> Any:
    """The first tensor in ``value`` (a tensor, or lists, tuples and mappings of them), or None."""
    if is_tensor(value):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, Mapping):
        for item in value.values():
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


AtenFormula = Callable[[Sequence[Any], Any], AtenCost]

_ATEN: dict[str, AtenFormula] = {}


def register_aten(*names: str) -> Callable[[AtenFormula], AtenFormula]:
    """Register the decorated formula ``(args, out) → AtenCost`` for the aten overload packets ``names``. A second
    formula for one name is an error."""

    def decorate(formula: AtenFormula) -> AtenFormula:
        for name in names:
            if name in _ATEN:
                raise ValueError(f"an aten formula for {name!r} is registered twice")
        for name in names:
            _ATEN[name] = formula
        return formula

    return decorate


def aten_names() -> list[str]:
    return sorted(_ATEN)


def aten_cost(name: str, args: Sequence[Any], out: Any) -> AtenCost:
    """The cost of one aten operator call by its overload-packet ``name``; an unknown operator is counted in
    ``AtenCost.unknown`` as ``aten.<name>``."""
    formula = _ATEN.get(name)
    if formula is None:
        return AtenCost(unknown=Counter({f"aten.{name}": 1}), free=False)
    return formula(args, out)


def _out_elements(out: Any) -> int:
    result = first_tensor(out)
    return int(result.numel()) if result is not None else 0


#: Operators that move, view, copy or create memory: no arithmetic.
FREE_ATEN = _words(
    """
    view _unsafe_view reshape _reshape_alias t transpose permute expand expand_as squeeze unsqueeze flatten
    unflatten slice select index index_select narrow split split_with_sizes unbind chunk cat stack clone
    contiguous detach alias as_strided _to_copy copy_ to empty empty_like empty_strided new_empty new_empty_strided
    zeros zeros_like ones ones_like full full_like fill_ zero_ new_zeros new_ones new_full constant_pad_nd pad
    lift_fresh lift_fresh_copy reflection_pad1d reflection_pad2d reflection_pad3d replication_pad1d
    replication_pad2d replication_pad3d upsample_nearest1d upsample_nearest2d upsample_nearest3d
    _upsample_nearest_exact1d _upsample_nearest_exact2d _upsample_nearest_exact3d flip roll repeat pixel_shuffle
    pixel_unshuffle channel_shuffle native_channel_shuffle arange _unsafe_index dropout feature_dropout
    alpha_dropout sym_size sym_stride sym_numel sym_storage_offset
    """
)


@register_aten(*FREE_ATEN)
def _free(args: Sequence[Any], out: Any) -> AtenCost:
    return AtenCost()


@register_aten("convolution", "_convolution")
def _convolution(args: Sequence[Any], out: Any) -> AtenCost:
    x, w, bias, transposed = args[0], args[1], args[2], bool(args[6])
    result = first_tensor(out)
    assert result is not None
    spatial = x.shape[2:] if transposed else result.shape[2:]
    # the weight is C_out × C_in/groups × kernel (transposed: C_in × C_out/groups × kernel)
    macs = int(x.shape[0]) * conv_macs(w.shape[0], w.shape[1], w.shape[2:], spatial)
    return _paid(macs, bias=pointwise_ops(_out_elements(out)) if bias is not None else 0)


@register_aten("mm", "bmm")
def _matmul(args: Sequence[Any], out: Any) -> AtenCost:
    return _paid(matmul_macs(args[0].shape, int(args[1].shape[-1])))


@register_aten("addmm", "baddbmm")
def _matmul_add(args: Sequence[Any], out: Any) -> AtenCost:
    return _paid(matmul_macs(args[1].shape, int(args[2].shape[-1])), bias=pointwise_ops(_out_elements(out)))


@register_aten(
    "native_batch_norm",
    "_native_batch_norm_legit",
    "_native_batch_norm_legit_no_training",
    "_native_batch_norm_legit_functional",
    "cudnn_batch_norm",
    "miopen_batch_norm",
)
def _batch_norm(args: Sequence[Any], out: Any) -> AtenCost:
    return _paid(batchnorm=affine_ops(args[0].numel()))


@register_aten("native_layer_norm", "native_group_norm")
def _other_norm(args: Sequence[Any], out: Any) -> AtenCost:
    return _paid(normalization=affine_ops(args[0].numel()))


ACTIVATION_ATEN = _words(
    """
    relu relu_ hardtanh hardtanh_ sigmoid sigmoid_ tanh tanh_ silu silu_ gelu gelu_ hardswish hardswish_
    hardsigmoid hardsigmoid_ leaky_relu leaky_relu_ elu elu_ _softmax _log_softmax _prelu_kernel prelu mish mish_
    softplus clamp clamp_ clamp_min clamp_min_ clamp_max clamp_max_ threshold threshold_ log_sigmoid_forward
    celu celu_ selu selu_ rrelu_with_noise softshrink hardshrink
    """
)


@register_aten(*ACTIVATION_ATEN)
def _activation(args: Sequence[Any], out: Any) -> AtenCost:
    return _paid(activation=pointwise_ops(_out_elements(out)))


@register_aten(
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
)
def _window_pool(args: Sequence[Any], out: Any) -> AtenCost:
    result = first_tensor(out)
    kernel = list(args[1]) if isinstance(args[1], (list, tuple)) else [args[1]]
    dims = (result.dim() - 2) if result is not None else len(kernel)
    window = kernel if len(kernel) == dims else [kernel[0]] * dims  # a single size stands for every axis
    return _paid(pooling=window_ops(_out_elements(out), window))


@register_aten(
    "_adaptive_avg_pool2d",
    "_adaptive_avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
)
def _adaptive_pool(args: Sequence[Any], out: Any) -> AtenCost:
    x, result = args[0], first_tensor(out)
    assert result is not None
    spatial = len(result.shape) - 2 if x.dim() == result.dim() else len(args[1])
    lead = elements(result.shape[: result.dim() - spatial])
    windows = 1
    for n, o in zip(x.shape[-spatial:], result.shape[-spatial:], strict=True):
        windows *= adaptive_window_total(int(n), int(o))
    return _paid(pooling=lead * windows)


@register_aten("upsample_bilinear2d")
def _bilinear(args: Sequence[Any], out: Any) -> AtenCost:
    # as the upsample op: each output value weighs the 4 input values around it
    return _paid(interpolation=interpolation_ops(_out_elements(out), 4))


@register_aten("mean", "amax", "amin")
def _reduction_pool(args: Sequence[Any], out: Any) -> AtenCost:
    # global pooling written as a reduction: every input value read once
    return _paid(pooling=pointwise_ops(args[0].numel()))


def _is_residual(a: Any, b: Any, result: Any) -> bool:
    """An addition of two tensors of the result's own shape: a residual addition (anything else adds a bias, a
    scalar or a broadcast term: element-wise)."""
    return (
        is_tensor(a)
        and is_tensor(b)
        and result is not None
        and tuple(a.shape) == tuple(b.shape) == tuple(result.shape)
        and a.dim() > 0
    )


@register_aten("add", "add_")
def _add(args: Sequence[Any], out: Any) -> AtenCost:
    category = "residual" if _is_residual(args[0], args[1], first_tensor(out)) else "elementwise"
    return _paid(**{category: pointwise_ops(_out_elements(out))})


@register_aten(
    *_words(
        """
        sub sub_ rsub mul mul_ div div_ pow pow_ sqrt sqrt_ rsqrt rsqrt_ exp exp_ log log_ neg neg_ reciprocal
        reciprocal_ abs abs_ addcmul addcmul_ addcdiv addcdiv_ lerp lerp_ square maximum minimum where erf erf_
        sin cos
        """
    )
)
def _pointwise(args: Sequence[Any], out: Any) -> AtenCost:
    return _paid(elementwise=pointwise_ops(_out_elements(out)))


@register_aten("sum")
def _sum(args: Sequence[Any], out: Any) -> AtenCost:
    return _paid(elementwise=pointwise_ops(args[0].numel()))  # one addition per value read


# ------------------------------------------------------------------------------------ Python-level calls

#: Python-level calls (by the last word of their name) that move or view memory only: no operator is costed.
FREE_CALLS = frozenset(
    _words(
        """
        size dim numel __get__ __getitem__ __len__ __iter__ __format__ view view_as reshape reshape_as flatten
        unflatten permute transpose t contiguous squeeze unsqueeze expand expand_as chunk split narrow detach clone
        to type float cat concat concatenate stack stride is_contiguous is_floating_point empty empty_like zeros
        zeros_like ones ones_like full full_like arange new_empty new_zeros new_ones dropout
        """
    )
)

CallFormula = Callable[[Sequence[Any], Any], "AtenCost | None"]

_CALLS: dict[str, CallFormula] = {}


def register_call(*words: str) -> Callable[[CallFormula], CallFormula]:
    """Register the decorated formula ``(args, result) → AtenCost | None`` for Python-level calls whose names end
    in one of ``words``. A second formula for one word is an error."""

    def decorate(formula: CallFormula) -> CallFormula:
        for word in words:
            if word in _CALLS or word in FREE_CALLS:
                raise ValueError(f"a call formula for {word!r} is registered twice")
        for word in words:
            _CALLS[word] = formula
        return formula

    return decorate


def quick_words() -> frozenset[str]:
    """Call words costed from arguments and result alone (``call_cost``), free ones aside."""
    return frozenset(_CALLS)


def call_cost(name: str, args: Sequence[Any], result: Any) -> AtenCost | None:
    """The cost of a common call read from its arguments and result, exactly as its aten operators would be
    costed (``aten_cost``) — or None when the call has to be watched at the aten level."""
    word = name.rsplit(".", 1)[-1]
    if word in FREE_CALLS:
        return AtenCost()
    formula = _CALLS.get(word)
    if formula is None or first_tensor(result) is None:
        return None
    return formula(args, result)


@register_call("add", "add_", "__radd__", "__iadd__")
def _call_add(args: Sequence[Any], result: Any) -> AtenCost | None:
    if len(args) < 2:
        return None
    y = first_tensor(result)
    category = "residual" if _is_residual(args[0], args[1], y) else "elementwise"
    return _paid(**{category: pointwise_ops(y.numel())})


@register_call("mul", "mul_", "__rmul__", "__imul__")
def _call_mul(args: Sequence[Any], result: Any) -> AtenCost | None:
    return _paid(elementwise=pointwise_ops(first_tensor(result).numel()))


#: Activation calls whose result has their input's shape (a meta result can be made without running them).
ACTIVATION_CALLS = frozenset(
    _words(
        "relu relu_ relu6 hardtanh hardtanh_ sigmoid sigmoid_ tanh tanh_ silu gelu hardswish hardsigmoid "
        "leaky_relu softmax log_softmax elu mish"
    )
)


@register_call(*ACTIVATION_CALLS)
def _call_activation(args: Sequence[Any], result: Any) -> AtenCost | None:
    return _paid(activation=pointwise_ops(first_tensor(result).numel()))
