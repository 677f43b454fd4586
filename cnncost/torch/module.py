"""Analyze any ``nn.Module``: per-module output shapes, parameters, MACs and other ops, on the meta device.

``analyze_module(model, (C, H, W))`` returns the same :class:`~cnncost.analysis.records.Report` as a spec's
analysis. Nothing is allocated and no arithmetic runs: a copy of the model whose parameters and buffers live on
the meta device (shapes only) runs one forward pass on a meta input, in eval mode and without autograd, and two
observers watch it:

- forward hooks on every module give each module's input and output shapes and the module tree (the rows);
- a ``TorchFunctionMode`` sees every Python-level torch call (``F.conv2d``, ``torch.cat``, ``x + y``) and a
  ``TorchDispatchMode`` every aten operator it becomes; each operator is costed by a formula on its shapes and
  charged to the innermost running module, inside the Python-level call that issued it.

How a row is costed:

- A module an op's reverse mapping describes (``cnncost.ops``: ``nn.Conv2d`` on a 4-D input, or a subclass whose
  ``forward`` is its base's own, so it computes exactly what the base does): that op's formula — the very formula
  a spec's layer gets, so a module built from a spec analyzes to the spec's own rows. The operators it issues
  inside are not costed again. A subclass with a ``forward`` of its own may do anything: it is not described.
- Any other module without children (a custom layer): the sum of the aten operators it issued.
- Work a container does in its own ``forward`` (``out += identity``, ``torch.cat``, ``F.relu(x)``): one row per
  kind of call under the container, named like the spec engine's merge rows (``layer1.0.add``,
  ``inception.concat``, ``features.relu``).

Aten operators and common Python calls are costed by the formulas of ``cnncost.ops.aten`` (built from the same
cost primitives as the ops); any operator without one is listed in ``Report.unknown_ops`` with its call count:
never silently zero.

MACs, like FlopCounterMode's FLOPs, are exactly conv and matrix-multiply work: ``2 × macs`` equals what
FlopCounterMode reports for the same module, operator for operator.

Where things live: ``cnncost.torch.observe`` (the hooks, the function and dispatch modes, the observer and its
rows), ``cnncost.torch.fast`` (known modules answered by shape rule, common calls costed from shapes — exact
shortcuts, switched off by ``fast=False``), ``cnncost.torch.load`` (building the model a target names). This
module only orchestrates: copy to the meta device, observe one forward, turn it into a report.
"""

from __future__ import annotations

import copy
import functools
import gc
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

import torch
from torch import nn

from cnncost.analysis.records import Report, Totals
from cnncost.errors import CnnCostError, LimitError, ShapeError, UsageError
from cnncost.limits import MAX_BATCH
from cnncost.torch.fast import quick_aten, quick_call, shortcut_known
from cnncost.torch.guard import (
    DATA_DEPENDENT_OPS,
    DEFAULT_TIMEOUT,
    AllocationGuard,
    check_max_memory,
    check_timeout,
    first_line,
    gib,
    module_bytes,
    user_code,
)
from cnncost.torch.load import build_real, load_module_target
from cnncost.torch.observe import FunctionMode, Observer, call_name, hooks, ir_shape, known_op

__all__ = [
    "DEFAULT_INPUT_SHAPE",
    "MAX_INPUT_ELEMENTS",
    "analyze_module",
    "analyze_target",
    "build_real",
    "call_name",
    "ir_shape",
    "known_op",
    "load_module_target",
    "meta_copy",
]

DEFAULT_INPUT_SHAPE = (3, 224, 224)

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: The largest input a module analysis accepts, in elements per image (a 16k×16k RGB image).
MAX_INPUT_ELEMENTS = 3 * 16384 * 16384


def _gc_paused(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``function`` with Python's cyclic garbage collector paused (and restored after): copying a module tree
    and observing its forward allocate thousands of small objects, and the full collections they trigger scan
    the whole heap — with torch and torchvision loaded, a quarter of a second, more than the analysis itself.
    Memory is still freed by reference counting; cycles wait for the next collection."""

    @functools.wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


@_gc_paused
def analyze_module(
    model: nn.Module,
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    *,
    batch: int = 1,
    name: str | None = None,
    description: str | None = None,
    source: str | None = None,
    timeout: float | None = None,
    real_forward: bool = False,
    max_memory: int | None = None,
    fast: bool = True,
) -> Report:
    """Analyze ``model`` for an input of ``input_shape`` per image (torch's order: ``(C, H, W)``, or
    ``(features,)``) and ``batch`` images: a :class:`Report` like a spec's (see the module docstring).

    The model is not run and not changed: a meta copy of it is (no weights allocated, no arithmetic). Rows are the
    modules that ran, in pre-order, with shapes ``(H, W, C)`` / ``(N,)``; MACs and other ops cover the batch.

    ``real_forward`` instead runs ``model`` itself (real weights, on the CPU, in eval mode, without autograd) on
    a random input, observed the same way: for models the meta device cannot run (detection models, whose
    shapes depend on tensor values). The report's description says so and names the operators with
    data-dependent output shapes that ran; what they keep depends on the random weights. Everything that run
    allocates is bounded by ``max_memory`` bytes (default 2 GiB). ``timeout`` bounds the forward in seconds.

    ``fast=False`` switches off the fast path's exact shortcuts (``cnncost.torch.fast``): every module's own
    forward runs and every call is watched at the aten level. Same result, slower; tests use it as the reference.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"analyze_module needs a torch.nn.Module, not {type(model).__name__}")
    dims = _input_shape(input_shape)
    if isinstance(batch, bool) or not isinstance(batch, int):
        raise TypeError(f"batch must be an int, not {batch!r}")
    if not 1 <= batch <= MAX_BATCH:
        raise LimitError(f"batch {batch} is out of range", hint=f"use a batch of 1…{MAX_BATCH:,}")
    shown_name = name or type(model).__name__
    what = f"the forward of {shown_name}"
    if real_forward:
        limit = check_max_memory(max_memory)
        observer, said = _real_forward(model, dims, batch, shown_name, timeout, limit, fast)
        description = f"{description or f'PyTorch module {type(model).__qualname__}'}; {said}"
    else:
        work = meta_copy(model)
        work.eval()
        if fast:
            shortcut_known(work)
        observer = Observer(work, batch, shown_name)
        x = torch.empty((batch, *dims), device="meta")
        try:
            # Tensors the forward creates without a device (torch.ones(...)) are made on the meta device too.
            meta = torch.device("meta")
            mode = FunctionMode(observer, quick_call, quick_aten) if fast else FunctionMode(observer)
            with user_code(what, timeout), hooks(work, observer), torch.no_grad(), meta, mode:
                work(x)
        except CnnCostError:
            raise
        except Exception as exc:
            raise ShapeError(
                f"the model fails on the meta device on an input of shape {(batch, *dims)}: {first_line(exc)}",
                hint=_meta_failure_hint(work, observer),
            ) from None
    records = observer.records()
    layers = [r for r in records if r.is_layer]
    report = Report(
        name=shown_name,
        description=description if description is not None else f"PyTorch module {type(model).__qualname__}",
        input_shape=ir_shape((batch, *dims)),
        batch=batch,
        records=records,
        totals=Totals.of(layers),
        source=source,
        unknown_ops=MappingProxyType(dict(observer.unknown)),
    )
    from cnncost.torch.train import with_requires_grad

    return with_requires_grad(model, report)  # a model that freezes parameters: its trainable column


def _stray_tensors(model: nn.Module) -> list[str]:
    """Tensors a model keeps as plain attributes (not parameters or buffers): a meta copy leaves them on their
    device, so the meta forward mixes devices."""
    found: list[str] = []
    for path, module in model.named_modules():
        for key, value in vars(module).items():
            if key.startswith("_parameters") or key in ("_buffers", "_modules"):
                continue
            items = value if isinstance(value, (list, tuple)) else (value,)
            if any(isinstance(v, torch.Tensor) and v.device.type != "meta" for v in items):
                found.append(f"{path}.{key}" if path else key)
    return found


def _meta_failure_hint(work: nn.Module, observer: Observer) -> str:
    rerun = "run it for real on the CPU with random weights: --real-forward (real_forward=True)"
    failed = observer.failed_op
    if failed == "_local_scalar_dense":
        return (
            "its forward reads tensor values (.item(), data-dependent branches): it cannot be analyzed without "
            f"running it; {rerun}"
        )
    if failed is not None and (failed in DATA_DEPENDENT_OPS or failed in ("index", "unique")):
        return (
            f"operator aten.{failed} gives an output whose shape depends on tensor values, which the meta device "
            f"cannot know; {rerun}"
        )
    stray = _stray_tensors(work)
    if stray:
        listed = ", ".join(stray[:3]) + (f" and {len(stray) - 3} more" if len(stray) > 3 else "")
        return (
            f"the model keeps tensors that are not parameters or buffers ({listed}); they stay on the CPU "
            f"while its copy runs on the meta device — {rerun}"
        )
    return (
        "check the input shape (C,H,W) the model expects; a model whose forward reads tensor values "
        f"(.item(), data-dependent branches) cannot be analyzed without running it — {rerun}"
    )


def _real_forward(
    model: nn.Module,
    dims: tuple[int, ...],
    batch: int,
    shown_name: str,
    timeout: float | None,
    limit: int,
    fast: bool = True,
) -> tuple[Observer, str]:
    """Run ``model`` itself on a random CPU input under the observer; what to say about it in the report."""
    if any(t.device.type == "meta" for t in itertools.chain(model.parameters(), model.buffers())):
        raise UsageError(
            "a real forward needs a model with real weights, and this one is on the meta device",
            hint="build it without torch.device('meta'), or give a MODULE:CALLABLE target",
        )
    size = module_bytes(model)
    if size > limit:
        raise LimitError(
            f"{shown_name} holds {gib(size)} of parameters and buffers, over the {gib(limit)} bound",
            hint="raise the bound with --max-memory GIB",
        )
    was_training = model.training
    model.eval()
    observer = Observer(model, batch, shown_name)
    guard = AllocationGuard(limit - size, f"the real forward of {shown_name}")
    generator = torch.Generator().manual_seed(0)
    x = torch.rand((batch, *dims), generator=generator)
    try:
        with (
            user_code(f"the forward of {shown_name}", timeout),
            hooks(model, observer),
            torch.no_grad(),
            guard,
            FunctionMode(observer, quick_call if fast else None),
        ):
            model(x)
    except CnnCostError:
        raise
    except Exception as exc:
        raise ShapeError(
            f"the model fails on the CPU on a random input of shape {(batch, *dims)}: {first_line(exc)}",
            hint="check the input shape (C,H,W) the model expects",
        ) from None
    finally:
        model.train(was_training)
    dependent = ", ".join(f"aten.{n} ×{c}" for n, c in sorted(guard.data_dependent.items()))
    said = (
        f"run for real on the CPU with random weights and a random input ({gib(size + guard.total)} allocated); "
        + (
            "data-dependent operators (their output shape, or a value read by .item(), depends on tensor values), "
            f"so what follows them holds for this input only: {dependent}"
            if dependent
            else "no data-dependent operator ran"
        )
    )
    return observer, said


def analyze_target(
    target: str,
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    *,
    batch: int = 1,
    name: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    real_forward: bool = False,
    max_memory: int | None = None,
) -> Report:
    """Build the model ``target`` names (:func:`load_module_target`) and analyze it (:func:`analyze_module`),
    all of its own code — import, build, forward — within ``timeout`` seconds together.

    With ``real_forward`` the model runs for real (see :func:`analyze_module`): built on the meta device first
    to weigh its parameters and buffers, refused over ``max_memory`` bytes (default 2 GiB) before anything is
    allocated, then built a second time with real tensors (the description says so)."""
    timeout = check_timeout(timeout)
    limit = check_max_memory(max_memory)
    dims = _input_shape(input_shape)
    with user_code(f"{target} (import, build and forward)", timeout):
        return _analyze_target(target, dims, batch, name, timeout, real_forward, limit)


def _analyze_target(
    target: str,
    dims: tuple[int, ...],
    batch: int,
    name: str | None,
    timeout: float | None,
    real_forward: bool,
    limit: int,
) -> Report:
    notes: list[str] = []
    model = load_module_target(target, timeout=timeout, max_memory=limit, notes=notes)
    if real_forward and any(t.device.type == "meta" for t in itertools.chain(model.parameters(), model.buffers())):
        size = module_bytes(model)
        if size > limit:
            raise LimitError(
                f"{target} holds {gib(size)} of parameters and buffers, over the {gib(limit)} bound",
                hint="raise the bound with --max-memory GIB",
            )
        model = load_module_target(target, meta=False, timeout=timeout, max_memory=limit)
        notes.append(f"{target}() was built a second time with real tensors ({gib(size)}) for the real forward")
    described = f"PyTorch module {type(model).__qualname__}" + "".join(f"; {n}" for n in notes)
    return analyze_module(
        model,
        dims,
        batch=batch,
        name=name or target,
        description=described,
        source=target,
        timeout=timeout,
        real_forward=real_forward,
        max_memory=limit,
    )


def meta_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose parameters and buffers are meta tensors of the same shapes: nothing of the
    weights is copied or allocated. Ties between parameters are kept; the model itself is untouched."""
    memo: dict[int, Any] = {}
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if id(tensor) in memo or tensor.device.type == "meta":
            continue
        meta = torch.empty_like(tensor, device="meta")
        if isinstance(tensor, nn.Parameter):
            meta = nn.Parameter(meta, requires_grad=tensor.requires_grad)
        memo[id(tensor)] = meta
    try:
        return _copy_module(model, memo)
    except Exception as exc:
        raise CnnCostError(
            f"cannot copy the model to analyze it on the meta device: {first_line(exc)}",
            hint="the model (or something it holds) refuses copy.deepcopy; build it under "
            "'with torch.device(\"meta\"):' and pass that instead",
        ) from None


#: Values a copy may share with the original: immutable, with no parts of their own.
_ATOMIC = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device, torch.memory_format)

#: What makes ``copy.deepcopy`` treat a class its own way: such a module is deep-copied by ``copy.deepcopy``.
#: (``__getstate__`` and ``__setstate__`` are called here as deepcopy calls them: ``Conv2d`` has its own.)
_COPY_HOOKS = ("__deepcopy__", "__reduce_ex__", "__reduce__")
_MODULE_HOOKS = {name: getattr(nn.Module, name, None) for name in _COPY_HOOKS}


def _copy_module(module: nn.Module, memo: dict[int, Any]) -> nn.Module:
    """``copy.deepcopy(module, memo)``, made faster for plain modules: the module tree is walked directly, its
    parameters and buffers taken from ``memo``, empty hook tables and immutable attributes not deep-copied
    one by one; every other attribute (and any module with copy hooks of its own, or ``__slots__``) goes through
    ``copy.deepcopy`` with the same memo, so sharing between objects is kept as deepcopy keeps it."""
    found = memo.get(id(module))
    if found is not None:
        return found  # type: ignore[no-any-return]
    cls = type(module)
    if any(getattr(cls, name, None) is not hook for name, hook in _MODULE_HOOKS.items()) or any(
        "__slots__" in vars(c) for c in cls.__mro__[:-1]
    ):
        return copy.deepcopy(module, memo)
    original = module.__getstate__()  # type: ignore[no-untyped-call]
    if not isinstance(original, dict):
        return copy.deepcopy(module, memo)
    new = cls.__new__(cls)
    memo[id(module)] = new
    state: dict[str, Any] = {}
    for key, value in original.items():
        kind = type(value)
        if key == "_modules":
            state[key] = kind((n, None if m is None else _copy_module(m, memo)) for n, m in value.items())
        elif key in ("_parameters", "_buffers"):
            state[key] = kind((n, _copy_tensor(t, memo)) for n, t in value.items())
        elif kind in _ATOMIC:
            state[key] = value
        elif (kind is dict or kind is OrderedDict or kind is set) and not value:
            state[key] = kind()
        else:
            state[key] = copy.deepcopy(value, memo)
    new.__setstate__(state)  # type: ignore[no-untyped-call]
    return new


def _copy_tensor(tensor: torch.Tensor | None, memo: dict[int, Any]) -> torch.Tensor | None:
    if tensor is None:
        return None
    found = memo.get(id(tensor))
    return found if found is not None else copy.deepcopy(tensor, memo)


def _input_shape(input_shape: Any) -> tuple[int, ...]:
    if not isinstance(input_shape, (tuple, list)):
        raise TypeError(f"input_shape must be a tuple of ints such as (3, 224, 224), not {input_shape!r}")
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in input_shape):
        raise TypeError(f"input_shape must be a tuple of ints such as (3, 224, 224), not {input_shape!r}")
    dims = tuple(input_shape)
    if not dims or any(d < 1 for d in dims):
        raise UsageError(
            f"input shape {dims} must be one or more positive sizes",
            hint="give C,H,W for an image model (e.g. 3,224,224) or the feature count for a vector model",
        )
    if math.prod(dims) > MAX_INPUT_ELEMENTS:
        raise LimitError(
            f"input shape {dims} has {math.prod(dims):,} elements per image",
            hint=f"use at most {MAX_INPUT_ELEMENTS:,} (a 16384×16384 RGB image)",
        )
    return dims
