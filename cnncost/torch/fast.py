"""The fast path of a module analysis: answers that need no aten-level watching.

Two shortcuts, each exact — the slow path (``analyze_module(..., fast=False)``: every module's own forward runs
and every call is watched at the aten level) gives the same rows and totals, which a test asserts on every
bundled network:

- **known modules answered by shape rule** (:func:`shortcut_known`): a module whose call the registry's reverse
  mapping describes (``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.ReLU``, …) returns an empty meta tensor of the shape
  its op's shape rule gives instead of running its kernels. Its row is costed by the op's formula either way;
  the meta kernels (Python code in torch that imports sympy, batch norm's decomposition) cost more than the
  whole analysis.
- **common calls costed from shapes** (:func:`quick_call`): ``x + y``, ``torch.cat``, ``F.relu``, ``F.linear``,
  ``flatten``… are costed by ``cnncost.ops.aten.call_cost`` from their arguments and result, exactly as their
  aten operators would be, and element-wise results are made without running a meta kernel. Entering a dispatch
  mode at all costs about a second the first time (torch imports its compiler stack), so a model made of known
  modules and common calls never does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from cnncost.errors import CnnCostError
from cnncost.ops import describes, get_op
from cnncost.ops.aten import ACTIVATION_CALLS, FREE_CALLS, AtenCost, aten_cost, call_cost, quick_words
from cnncost.torch.observe import ir_shape, known_op

_QUICK_WORDS = quick_words()


def quick_aten(func: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """The output of a matrix product or a layer norm on meta tensors, made from its shape rule without running
    torch's Python meta kernel (decompositions that cost more than the rest of the analysis); None for anything
    else, or anything unusual (the kernel runs then, and says what is wrong). The operator is costed the same:
    only its output is made differently."""
    name = _QUICK_ATEN.get(func)
    if name is None or kwargs:
        return None
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if not tensors or any(t.device.type != "meta" or t.dtype != tensors[0].dtype for t in tensors):
        return None
    x = tensors[0]
    if name == "native_layer_norm":
        if len(args) != 5 or not isinstance(args[1], (list, tuple)):
            return None
        normalized = tuple(int(d) for d in args[1])
        axis = x.dim() - len(normalized)
        if axis < 0 or tuple(x.shape[axis:]) != normalized:
            return None
        if any(isinstance(a, torch.Tensor) and tuple(a.shape) != normalized for a in args[2:4]):
            return None
        stats = (*x.shape[:axis], *(1,) * len(normalized))
        empty = torch.empty
        return (empty(tuple(x.shape), dtype=x.dtype, device=x.device), empty(stats, dtype=x.dtype, device=x.device),
                empty(stats, dtype=x.dtype, device=x.device))
    if name == "addmm":  # (bias, a, b) with no beta or alpha
        if len(args) != 3 or len(tensors) != 3:
            return None
        bias, a, b = args
        out = _matrix_product(a, b, 2)
        if out is None or _broadcast(tuple(bias.shape), out) != out:
            return None
    else:  # mm (a, b), bmm (a, b)
        if len(args) != 2 or len(tensors) != 2:
            return None
        out = _matrix_product(args[0], args[1], 2 if name == "mm" else 3)
        if out is None:
            return None
    return torch.empty(out, dtype=x.dtype, device=x.device)


def _meta_alike(tensors: Sequence[Any]) -> bool:
    """Meta tensors (None allowed past the first) of one dtype."""
    first = tensors[0]
    return isinstance(first, torch.Tensor) and all(
        t is None or (isinstance(t, torch.Tensor) and t.device.type == "meta" and t.dtype == first.dtype)
        for t in tensors
    )


def _linear(args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, AtenCost] | None:
    """``F.linear(x, weight, bias)`` on a contiguous meta input of two or more dimensions: the aten operators it
    becomes are one ``addmm`` (with a bias: on ``x`` flattened to rows) or one ``mm`` (without), and views —
    costed here by those operators' own formulas. A non-contiguous input (``matmul`` and an in-place ``add_``)
    or anything unusual is watched at the aten level instead."""
    if kwargs or not 2 <= len(args) <= 3:
        return None
    x, weight = args[0], args[1]
    bias = args[2] if len(args) == 3 else None
    if not _meta_alike((x, weight, bias)) or weight.dim() != 2 or x.dim() < 2 or not x.is_contiguous():
        return None
    n, k = int(weight.shape[0]), int(weight.shape[1])
    if int(x.shape[-1]) != k or (bias is not None and tuple(bias.shape) != (n,)):
        return None
    out = torch.empty((*x.shape[:-1], n), dtype=x.dtype, device=x.device)
    weight_t = SimpleNamespace(shape=(k, n))  # weight.t(): only its shape is read
    cost = aten_cost("mm", (x, weight_t), out) if bias is None else aten_cost("addmm", (bias, x, weight_t), out)
    return out, cost


def _layer_norm(args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, AtenCost] | None:
    """``F.layer_norm(x, normalized_shape, weight, bias, eps)`` on meta tensors: one ``native_layer_norm``,
    costed by its own formula; its output is contiguous, of the input's shape."""
    names = ("input", "normalized_shape", "weight", "bias", "eps")
    if len(args) > len(names) or any(key not in names[len(args) :] for key in kwargs):
        return None
    given: dict[str, Any] = dict(zip(names, args, strict=False)) | dict(kwargs)
    x: Any = given.get("input")
    shape: Any = given.get("normalized_shape")
    weight: Any = given.get("weight")
    bias: Any = given.get("bias")
    if not _meta_alike((x, weight, bias)) or not isinstance(shape, (list, tuple, torch.Size)):
        return None
    normalized = tuple(int(d) for d in shape)
    if not normalized or x.dim() < len(normalized) or tuple(x.shape[x.dim() - len(normalized) :]) != normalized:
        return None
    if any(t is not None and tuple(t.shape) != normalized for t in (weight, bias)):
        return None
    out = torch.empty(tuple(x.shape), dtype=x.dtype, device=x.device)
    return out, aten_cost("native_layer_norm", (x, normalized, weight, bias), out)


#: Calls answered from their shapes by a function of their own (those the generic words above do not cover).
_SHAPED_CALLS: Mapping[str, Callable[[Sequence[Any], Mapping[str, Any]], tuple[Any, AtenCost] | None]] = {
    "torch.nn.functional.linear": _linear,
    "torch.nn.functional.layer_norm": _layer_norm,
}


def _matrix_product(a: torch.Tensor, b: torch.Tensor, rank: int) -> tuple[int, ...] | None:
    """The shape of ``a @ b`` for ``mm`` (rank 2) or ``bmm`` (rank 3); None when the shapes do not fit."""
    if a.dim() != rank or b.dim() != rank or a.shape[-1] != b.shape[-2] or a.shape[:-2] != b.shape[:-2]:
        return None
    return (*(int(d) for d in a.shape[:-1]), int(b.shape[-1]))


_QUICK_ATEN = {
    torch.ops.aten.mm.default: "mm",
    torch.ops.aten.bmm.default: "bmm",
    torch.ops.aten.addmm.default: "addmm",
    torch.ops.aten.native_layer_norm.default: "native_layer_norm",
}


def quick_call(name: str, func: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, AtenCost] | None:
    """Run a common call without watching its aten operators and say its cost: ``(result, cost)``; None for a
    call that has to be watched (the caller runs it under the dispatch mode then)."""
    shaped = _SHAPED_CALLS.get(name)
    if shaped is not None:
        return shaped(args, kwargs)
    word = name.rsplit(".", 1)[-1]
    if word in FREE_CALLS:
        return func(*args, **kwargs), AtenCost()
    if word not in _QUICK_WORDS:
        return None
    result = _synthesize(word, args, kwargs)
    if result is None:
        result = func(*args, **kwargs)
    cost = call_cost(name, args, result)
    return None if cost is None else (result, cost)


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    dims = []
    for x, y in itertools.zip_longest(reversed(tuple(a)), reversed(tuple(b)), fillvalue=1):
        if x != y and 1 not in (x, y):
            return None
        dims.append(max(x, y) if 1 in (x, y) else x)
    return tuple(reversed(dims))


def _synthesize(word: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> torch.Tensor | None:
    """The meta result of an element-wise call, made without running it: the result of a meta kernel is only
    its shape, and torch's Python meta kernels for these (in-place adds above all) import its symbolic-shape
    machinery, which costs more than the whole analysis. None when the call is anything unusual."""
    if "out" in kwargs or "dtype" in kwargs or not args or not isinstance(args[0], torch.Tensor):
        return None
    x = args[0]
    if x.device.type != "meta":
        return None
    if word in ACTIVATION_CALLS:
        return torch.empty_like(x)
    other = args[1] if len(args) > 1 else kwargs.get("other")
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        return x if word.endswith("_") or word.startswith("__i") else torch.empty_like(x)
    if not isinstance(other, torch.Tensor) or other.device.type != "meta" or other.dtype != x.dtype:
        return None
    shape = _broadcast(x.shape, other.shape)
    if shape is None:
        return None  # let PyTorch raise its error
    if word.endswith("_") or word.startswith("__i"):
        return x if shape == tuple(x.shape) else None
    return torch.empty(shape, dtype=x.dtype, device=x.device)


def _known_output(module: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """The output ``module`` gives on ``x`` — an empty meta tensor of the shape the registry's shape rule says —
    when ``known_op`` describes the call and the rule is exact for it; None otherwise (run the module then)."""
    known = known_op(module, x)
    if known is None or getattr(module, "return_indices", False):
        return None
    op, args = known
    if op == "conv" and isinstance(getattr(module, "padding", None), str):
        return None  # 'same' pads asymmetrically for even kernels: let PyTorch say
    try:
        out = get_op(op).shape(args, ir_shape(x.shape))
    except CnnCostError:
        return None  # the module will fail; let PyTorch say how
    n = int(x.shape[0])
    if len(out) == 3 and x.dim() == 4:
        h, w, c = out
        return torch.empty((n, c, h, w), dtype=x.dtype, device=x.device)
    if (x.dim() == 4 and len(out) == 1) or x.dim() == 2:
        return torch.empty((n, *out), dtype=x.dtype, device=x.device)
    return torch.empty_like(x) if tuple(out) == ir_shape(x.shape) else None


def shortcut_known(model: nn.Module) -> None:
    """In ``model`` (the meta copy), give every module whose call the registry describes a forward that returns
    an empty tensor of the right shape instead of running its kernels: their meta implementations (Python code
    in torch that imports sympy, batch norm's decomposition) cost more than the whole analysis, and the row is
    costed by formula either way. Any other call runs the module's own forward."""
    for module in model.modules():
        if not describes(type(module)):
            continue
        original = module.forward

        def forward(x: Any, *args: Any, _m: nn.Module = module, _f: Any = original, **kwargs: Any) -> Any:
            if not args and not kwargs and isinstance(x, torch.Tensor):
                with torch._C.DisableTorchFunction():  # our own calls: no mode needs to see them
                    out = _known_output(_m, x)
                if out is not None:
                    return out
            return _f(x, *args, **kwargs)

        module.forward = forward  # type: ignore[method-assign]
