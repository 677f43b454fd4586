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
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import itertools
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode, resolve_name
from torch.utils._python_dispatch import TorchDispatchMode

from cnncost.analysis.records import Record, Report, Totals
from cnncost.errors import (
    CnnCostError,
    LimitError,
    MissingDependencyError,
    NotFoundError,
    ShapeError,
    UsageError,
    suggest,
)
from cnncost.ir import Shape
from cnncost.limits import MAX_BATCH
from cnncost.ops import describes, get_op, reverse_op
from cnncost.ops.aten import ACTIVATION_CALLS, FREE_CALLS, AtenCost, aten_cost, call_cost, quick_words
from cnncost.torch.guard import (
    DATA_DEPENDENT_OPS,
    DEFAULT_TIMEOUT,
    USER_MODULES,
    AllocationGuard,
    check_max_memory,
    check_timeout,
    gib,
    module_bytes,
    prepare_dispatch,
    user_code,
)

#: Default input for ``--module`` models when no ``--input-shape`` is given (torch's C, H, W order).
DEFAULT_INPUT_SHAPE = (3, 224, 224)

#: The largest input a module analysis accepts, in elements per image (a 16k×16k RGB image).
MAX_INPUT_ELEMENTS = 3 * 16384 * 16384

# --------------------------------------------------------------------------------------- aten operators


def _prod(dims: Sequence[int]) -> int:
    return math.prod(int(d) for d in dims)


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, Mapping):
        for item in value.values():
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


# --------------------------------------------------------------------------------------- known modules


def known_op(module: nn.Module, x: torch.Tensor | None) -> tuple[str, dict[str, Any]] | None:
    """The registry op and arguments standing for ``module`` on input ``x`` (the op's reverse mapping, which also
    takes a subclass whose ``forward`` is its base's), or None when no op's formula describes it."""
    return reverse_op(module, x)



# --------------------------------------------------------------------------------------- observation


def ir_shape(torch_shape: Sequence[int]) -> Shape:
    """A torch shape with its batch dimension as cnncost writes it: ``(N, C, H, W)`` → ``(H, W, C)``,
    ``(N, F)`` → ``(F,)``; other ranks keep torch's order without the batch."""
    dims = tuple(int(d) for d in torch_shape[1:])
    if len(dims) == 3:
        c, h, w = dims
        return (h, w, c)
    return dims


#: Python-level calls, by the name ``torch.overrides.resolve_name`` gives them, and the row they make when a
#: container issues them itself. Any other call makes a row named by its last word (``relu``, ``max_pool2d``).
_CALL_LABELS: Mapping[str, str] = {
    "torch.Tensor.add": "add",
    "torch.Tensor.add_": "add",
    "torch.add": "add",
    "torch.Tensor.__radd__": "add",
    "torch.Tensor.mul": "multiply",
    "torch.Tensor.mul_": "multiply",
    "torch.mul": "multiply",
    "torch.Tensor.__rmul__": "multiply",
    "torch.cat": "concat",
    "torch.concat": "concat",
    "torch.concatenate": "concat",
    "torch.stack": "concat",
    "torch.nn.functional.conv1d": "conv",
    "torch.nn.functional.conv2d": "conv",
    "torch.nn.functional.conv3d": "conv",
    "torch.nn.functional.linear": "linear",
    "torch.matmul": "matmul",
    "torch.Tensor.matmul": "matmul",
    "torch.Tensor.__matmul__": "matmul",
    "torch.mm": "matmul",
    "torch.Tensor.mm": "matmul",
    "torch.bmm": "matmul",
    "torch.Tensor.bmm": "matmul",
    "torch.addmm": "matmul",
    "torch.baddbmm": "matmul",
    "torch.einsum": "matmul",
}

#: Row labels that always make a row when a container issues them, even though they do no arithmetic.
_VISIBLE_FREE_CALLS = frozenset({"concat"})

#: Calls kept in a row's record although cnncost counts no arithmetic for them (nearest upsampling), because
#: other counters do (``cnncost.analysis.conventions``).
_COUNTED_ELSEWHERE = frozenset(
    {
        "torch.nn.functional.interpolate",
        "torch.nn.functional.upsample",
        "torch.nn.functional.upsample_nearest",
        "torch.nn.functional.upsample_bilinear",
    }
)


_NAMES: dict[Any, str] = {}


def call_name(func: Any) -> str:
    """A torch callable's public name: ``torch.nn.functional.relu``, ``torch.Tensor.add``, ``torch.cat``."""
    try:
        return _NAMES[func]
    except (KeyError, TypeError):
        pass
    name = resolve_name(func)
    if not name:
        module = getattr(func, "__module__", None) or ""
        qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
        name = f"{module}.{qual}" if module else str(qual)
    with suppress(TypeError):  # an unhashable callable: not cached
        _NAMES[func] = str(name)
    return str(name)


def call_label(name: str) -> str:
    """The row label of a call a container issues itself."""
    if name in _CALL_LABELS:
        return _CALL_LABELS[name]
    return name.rsplit(".", 1)[-1].strip("_") or name


@dataclass
class _Row:
    """A row being accumulated (batch included)."""

    path: str
    name: str
    kind: str
    op: str
    depth: int
    module_type: str
    known: dict[str, Any] | None = None
    input_shape: Shape = ()
    output_shape: Shape = ()
    calls: int = 0
    in_elements: int = 0
    out_elements: int = 0
    macs: int = 0
    other: Counter[str] = field(default_factory=Counter)
    formula: str | None = None
    functions: dict[str, list[int]] = field(default_factory=dict)
    unknown: Counter[str] = field(default_factory=Counter)
    params: int = 0
    weights: dict[str, int] = field(default_factory=dict)
    synthetic: bool = False
    module_path: str | None = None  # the module's own path (None for rows of a container's own work)
    used: set[int] = field(default_factory=set)  # ids of the parameters its calls were given


@dataclass
class _Frame:
    path: str
    row: _Row | None
    absorbing: bool  # a known module: its formula stands for everything inside it
    container: bool


@dataclass
class _Call:
    name: str
    first: torch.Tensor | None
    cost: AtenCost = field(default_factory=AtenCost)
    params: tuple[int, ...] = ()


def _parameter_ids(args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[int, ...]:
    found: list[int] = []
    for value in itertools.chain(args, kwargs.values()):
        items = value if isinstance(value, (list, tuple)) else (value,)
        found.extend(id(v) for v in items if isinstance(v, nn.Parameter))
    return tuple(found)


class _Observer:
    """The shared state of the hooks and both modes during the one forward pass."""

    def __init__(self, model: nn.Module, batch: int, root_name: str) -> None:
        self.model = model
        self.batch = batch
        self.root_name = root_name
        self.rows: dict[str, _Row] = {}
        self.order: list[_Row] = []
        self.stack: list[_Frame] = []
        self.call: _Call | None = None
        self.unknown: Counter[str] = Counter()
        self.module_paths = {path for path, _ in model.named_modules()}
        self.quiet = False  # inside our own hooks: their tensor calls are not the model's
        self.failed_op: str | None = None  # the aten operator that raised, if one did under observation

    # ---------------------------------------------------------------- rows

    def _row(self, path: str, **kwargs: Any) -> _Row:
        row = self.rows.get(path)
        if row is None:
            row = _Row(path=path, **kwargs)
            self.rows[path] = row
            self.order.append(row)
        return row

    def _display_path(self, path: str) -> str:
        return path if path else self.root_name

    # ---------------------------------------------------------------- module hooks

    def pre_hook(self, path: str) -> Callable[[nn.Module, Any], None]:
        def hook(module: nn.Module, inputs: Any) -> None:
            self.quiet = True
            try:
                enter(module, inputs)
            finally:
                self.quiet = False

        def enter(module: nn.Module, inputs: Any) -> None:
            if self.stack and self.stack[-1].absorbing:
                self.stack.append(_Frame(path, None, True, False))
                return
            x = _first_tensor(inputs)
            container = next(module.children(), None) is not None
            known = known_op(module, x)
            depth = path.count(".") if path else 0
            type_name = type(module).__name__
            if known is not None or not container:
                shown = self._display_path(path)
                op = known[0] if known is not None else type_name
                row = self._row(
                    shown,
                    name=shown.rsplit(".", 1)[-1],
                    kind="layer",
                    op=op,
                    depth=depth,
                    module_type=type_name,
                    known=dict(known[1]) if known is not None else None,
                    module_path=path,
                )
                self.stack.append(_Frame(path, row, known is not None, False))
            elif path:
                row = self._row(
                    path,
                    name=path.rsplit(".", 1)[-1],
                    kind="block",
                    op=type_name,
                    depth=depth,
                    module_type=type_name,
                    module_path=path,
                )
                self.stack.append(_Frame(path, row, False, True))
            else:
                self.stack.append(_Frame(path, None, False, True))  # the root container: no row of its own
                return
            if row.calls == 0 and x is not None:
                row.input_shape = ir_shape(x.shape)
            if x is not None:
                row.in_elements += x.numel()

        return hook

    def post_hook(self, path: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            self.quiet = True
            try:
                leave(module, inputs, output)
            finally:
                self.quiet = False

        def leave(module: nn.Module, inputs: Any, output: Any) -> None:
            frame = self.stack.pop() if self.stack else None
            if frame is None or frame.row is None:
                return
            row = frame.row
            y = _first_tensor(output)
            if row.calls == 0 and y is not None:
                row.output_shape = ir_shape(y.shape)
            if y is not None:
                row.out_elements += y.numel()
            row.calls += 1
            if frame.absorbing and row.known is not None:
                x = _first_tensor(inputs)
                if x is not None and y is not None:
                    # The formula is per item of the leading dimension: the batch, or whatever the model folded
                    # into it (a module run on N·T frames).
                    lead = int(x.shape[0])
                    cost = get_op(row.op).cost(row.known, ir_shape(x.shape), ir_shape(y.shape))
                    row.macs += cost.macs * lead
                    row.other.update({k: v * lead for k, v in cost.other.items()})
                    row.formula = row.formula or cost.formula

        return hook

    # ---------------------------------------------------------------- torch calls and aten operators

    def begin_call(self, func: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> _Call | None:
        if self.quiet or self.call is not None or (self.stack and self.stack[-1].absorbing):
            return None  # nested, or inside a module whose formula stands for everything it does
        first = _first_tensor(args) if args else _first_tensor(kwargs)
        self.call = _Call(call_name(func), first, params=_parameter_ids(args, kwargs))
        return self.call

    def end_call(self, call: _Call, result: Any) -> None:
        self.call = None
        frame = self.stack[-1] if self.stack else None
        if frame is None or frame.absorbing:
            return
        cost = call.cost
        label = call_label(call.name)
        if cost.free and not cost.unknown and label not in _VISIBLE_FREE_CALLS and call.name not in _COUNTED_ELSEWHERE:
            return
        y = _first_tensor(result)
        if frame.container:
            row = self._synthetic_row(frame, label, call, y)
            row.used.update(call.params)
        else:
            assert frame.row is not None
            row = frame.row
        row.macs += cost.macs
        row.other.update(cost.other)
        row.unknown.update(cost.unknown)
        self.unknown.update(cost.unknown)
        stats = row.functions.setdefault(call.name, [0, 0, 0, 0, 0])
        stats[0] += 1
        stats[1] += call.first.numel() if call.first is not None else 0
        stats[2] += y.numel() if y is not None else 0
        stats[3] += cost.macs
        stats[4] += cost.other.get("bias", 0)

    def _synthetic_row(self, frame: _Frame, label: str, call: _Call, y: torch.Tensor | None) -> _Row:
        base = f"{frame.path}.{label}" if frame.path else label
        path = base if base not in self.module_paths else f"{base}()"
        depth = (frame.path.count(".") + 1) if frame.path else 0
        row = self._row(
            path,
            name=path.rsplit(".", 1)[-1],
            kind="layer",
            op=label,
            depth=depth,
            module_type="",
            synthetic=True,
        )
        if row.calls == 0:
            if call.first is not None:
                row.input_shape = ir_shape(call.first.shape)
            if y is not None:
                row.output_shape = ir_shape(y.shape)
        row.calls += 1
        row.in_elements += call.first.numel() if call.first is not None else 0
        row.out_elements += y.numel() if y is not None else 0
        return row

    def aten(self, func: Any, args: Sequence[Any], out: Any) -> None:
        if self.stack and self.stack[-1].absorbing:
            return
        cost = aten_cost(func._overloadpacket.__name__, args, out)
        if self.call is not None:
            self.call.cost.add(cost)
            return
        # An operator issued outside any Python-level torch call (from a hook or C++): its own one-off call.
        bare = _Call(f"aten.{func._overloadpacket.__name__}", _first_tensor(args), cost)
        self.end_call(bare, out)

    # ---------------------------------------------------------------- results

    def records(self) -> tuple[Record, ...]:
        self._assign_params()
        layers = {r.path: self._record(r, r.params, r.macs, r.other) for r in self.order if r.kind == "layer"}
        group_params: Counter[str] = Counter()
        group_macs: Counter[str] = Counter()
        group_other: dict[str, Counter[str]] = {r.path: Counter() for r in self.order if r.kind != "layer"}
        for path, rec in layers.items():
            parent = path
            while "." in parent:
                parent = parent.rsplit(".", 1)[0]
                if parent in group_other:
                    group_params[parent] += rec.params
                    group_macs[parent] += rec.macs
                    group_other[parent].update(rec.other)
        records = [
            layers[r.path]
            if r.kind == "layer"
            else self._record(r, group_params[r.path], group_macs[r.path], group_other[r.path])
            for r in self.order
        ]
        return tuple(_pre_order(records))

    def _record(self, row: _Row, params: int, macs: int, other: Mapping[str, int]) -> Record:
        args: dict[str, Any] = dict(row.known or {})
        args["calls"] = row.calls
        args["in_elements"] = row.in_elements
        args["out_elements"] = row.out_elements
        if row.module_type:
            args["module"] = row.module_type
        if row.kind == "layer" and row.known is None:
            args["functions"] = MappingProxyType({k: tuple(v) for k, v in row.functions.items()})
            if row.weights:
                args["weights"] = MappingProxyType(dict(row.weights))
        if row.unknown:
            args["unknown"] = MappingProxyType(dict(row.unknown))
        return Record(
            path=row.path,
            name=row.name,
            kind=row.kind,
            op=row.op,
            depth=row.depth,
            input_shape=row.input_shape,
            output_shape=row.output_shape,
            params=params,
            macs=macs,
            other=MappingProxyType({k: v for k, v in other.items() if v}),
            formula=row.formula,
            args=MappingProxyType(args),
        )

    def _assign_params(self) -> None:
        """Every parameter once, on the row of the module that holds it (``sum(p.numel() for p in
        model.parameters())`` in all): a leaf's row (or a known module's) gets all of its parameters; a
        container's own parameter goes to the row of its own work whose call was given it (else its first such
        row, else a ``parameters`` row); a module that never ran gets a row of its own (no shapes, no cost)."""
        seen: set[int] = set()

        def take(module: nn.Module, recurse: bool) -> dict[str, int]:
            got: dict[str, int] = {}
            for pname, p in module.named_parameters(recurse=recurse):
                if id(p) not in seen:
                    seen.add(id(p))
                    got[pname] = p.numel()
            return got

        modules = dict(self.model.named_modules())
        for row in self.order:
            if row.kind == "layer" and row.module_path is not None:
                row.weights = take(modules[row.module_path], recurse=True)
                row.params = sum(row.weights.values())
        for path, module in modules.items():
            own = [(n, p) for n, p in module.named_parameters(recurse=False) if id(p) not in seen]
            for pname, p in own:
                seen.add(id(p))
                target = self._param_row(path, module, id(p))
                target.params += p.numel()
                target.weights[pname] = p.numel()

    def _param_row(self, path: str, module: nn.Module, param: int) -> _Row:
        """The row a module's own parameter belongs to when no row took it with its module (see above)."""
        if next(module.children(), None) is None:  # a leaf that never ran
            shown = self._display_path(path)
            return self._row(
                shown,
                name=shown.rsplit(".", 1)[-1],
                kind="layer",
                op=type(module).__name__,
                depth=path.count("."),
                module_type=type(module).__name__,
                module_path=path,
            )
        prefix = f"{path}." if path else ""
        mine = [r for r in self.order if r.synthetic and r.path.startswith(prefix) and "." not in r.path[len(prefix) :]]
        user = next((r for r in mine if param in r.used), None)
        if user is not None:
            return user
        if mine:
            return mine[0]
        return self._row(
            f"{prefix}parameters",
            name="parameters",
            kind="layer",
            op="parameters",
            depth=(path.count(".") + 1) if path else 0,
            module_type="",
            synthetic=True,
        )


def _pre_order(records: list[Record]) -> list[Record]:
    """Rows in pre-order of their paths, each parent's children in the order they first ran: the order
    ``Report.records`` promises (a group row before its children)."""
    by_parent: dict[str, list[Record]] = {}
    paths = {r.path for r in records}
    for r in records:
        parent = r.path.rsplit(".", 1)[0] if "." in r.path else ""
        while parent and parent not in paths:
            parent = parent.rsplit(".", 1)[0] if "." in parent else ""
        by_parent.setdefault(parent, []).append(r)
    out: list[Record] = []

    def walk(parent: str) -> None:
        for r in by_parent.get(parent, []):
            out.append(r)
            if r.path in by_parent and r.path != parent:
                walk(r.path)

    walk("")
    return out


_QUICK_WORDS = quick_words()


class _FunctionMode(TorchFunctionMode):  # type: ignore[misc,no-untyped-call,unused-ignore]
    """Sees every Python-level torch call. A common call is costed from its shapes; any other runs under a
    ``_DispatchMode`` that costs its aten operators. (Entering a dispatch mode costs about a second the first
    time — torch imports its compiler stack — so a model made of known modules and common calls never does.)"""

    def __init__(self, observer: _Observer) -> None:
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        self.observer = observer

    def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        call = self.observer.begin_call(func, args, kwargs)
        if call is None:
            return func(*args, **kwargs)
        try:
            word = call.name.rsplit(".", 1)[-1]
            quick = None
            if word in FREE_CALLS:
                result = func(*args, **kwargs)
                quick = AtenCost()
            elif word in _QUICK_WORDS:
                result = _synthesize(word, args, kwargs)
                if result is None:
                    result = func(*args, **kwargs)
                quick = call_cost(call.name, args, result)
            if quick is None:
                prepare_dispatch()
                with _DispatchMode(self.observer):
                    result = func(*args, **kwargs)
            else:
                call.cost = quick
        except BaseException:
            self.observer.call = None
            if self.observer.failed_op is None:
                word = call.name.rsplit(".", 1)[-1].strip("_")
                bool_index = word == "getitem" and _bool_index(args)
                self.observer.failed_op = "index" if bool_index else word
            raise
        self.observer.end_call(call, result)
        return result


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


class _DispatchMode(TorchDispatchMode):  # type: ignore[misc,no-untyped-call,unused-ignore]
    def __init__(self, observer: _Observer) -> None:
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        self.observer = observer

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        try:
            out = func(*args, **(kwargs or {}))
        except Exception:
            self.observer.failed_op = func._overloadpacket.__name__
            raise
        self.observer.aten(func, args, out)
        return out


# --------------------------------------------------------------------------------------- the analysis


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
        return copy.deepcopy(model, memo)
    except Exception as exc:
        raise CnnCostError(
            f"cannot copy the model to analyze it on the meta device: {_first_line(exc)}",
            hint="the model (or something it holds) refuses copy.deepcopy; build it under "
            "'with torch.device(\"meta\"):' and pass that instead",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


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
    if _prod(dims) > MAX_INPUT_ELEMENTS:
        raise LimitError(
            f"input shape {dims} has {_prod(dims):,} elements per image",
            hint=f"use at most {MAX_INPUT_ELEMENTS:,} (a 16384×16384 RGB image)",
        )
    return dims


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


def _shortcut_known(model: nn.Module) -> None:
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
                out = _known_output(_m, x)
                if out is not None:
                    return out
            return _f(x, *args, **kwargs)

        module.forward = forward  # type: ignore[method-assign]


@contextmanager
def _hooks(model: nn.Module, observer: _Observer) -> Iterator[None]:
    handles = []
    try:
        for path, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(observer.pre_hook(path)))
            handles.append(module.register_forward_hook(observer.post_hook(path), always_call=True))
        yield
    finally:
        for handle in handles:
            handle.remove()


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
        observer, said = _real_forward(model, dims, batch, shown_name, timeout, check_max_memory(max_memory))
        description = f"{description or f'PyTorch module {type(model).__qualname__}'}; {said}"
    else:
        work = meta_copy(model)
        work.eval()
        _shortcut_known(work)
        observer = _Observer(work, batch, shown_name)
        x = torch.empty((batch, *dims), device="meta")
        try:
            # Tensors the forward creates without a device (torch.ones(...)) are made on the meta device too.
            meta = torch.device("meta")
            with user_code(what, timeout), _hooks(work, observer), torch.no_grad(), meta, _FunctionMode(observer):
                work(x)
        except CnnCostError:
            raise
        except Exception as exc:
            raise ShapeError(
                f"the model fails on the meta device on an input of shape {(batch, *dims)}: {_first_line(exc)}",
                hint=_meta_failure_hint(work, observer),
            ) from None
    records = observer.records()
    layers = [r for r in records if r.is_layer]
    return Report(
        name=shown_name,
        description=description if description is not None else f"PyTorch module {type(model).__qualname__}",
        input_shape=ir_shape((batch, *dims)),
        batch=batch,
        records=records,
        totals=Totals.of(layers),
        source=source,
        unknown_ops=MappingProxyType(dict(observer.unknown)),
    )


def _bool_index(args: Sequence[Any]) -> bool:
    index = args[1] if len(args) > 1 else None
    items = index if isinstance(index, (list, tuple)) else (index,)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)


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


def _meta_failure_hint(work: nn.Module, observer: _Observer) -> str:
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
    model: nn.Module, dims: tuple[int, ...], batch: int, shown_name: str, timeout: float | None, limit: int
) -> tuple[_Observer, str]:
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
    observer = _Observer(model, batch, shown_name)
    guard = AllocationGuard(limit - size, f"the real forward of {shown_name}")
    generator = torch.Generator().manual_seed(0)
    x = torch.rand((batch, *dims), generator=generator)
    try:
        with (
            user_code(f"the forward of {shown_name}", timeout),
            _hooks(model, observer),
            torch.no_grad(),
            guard,
            _FunctionMode(observer),
        ):
            model(x)
    except CnnCostError:
        raise
    except Exception as exc:
        raise ShapeError(
            f"the model fails on the CPU on a random input of shape {(batch, *dims)}: {_first_line(exc)}",
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


# --------------------------------------------------------------------------------------- loading a model


def load_module_target(
    target: str,
    *,
    meta: bool = True,
    timeout: float | None = None,
    max_memory: int | None = None,
    notes: list[str] | None = None,
) -> nn.Module:
    """Build the model named by ``target``: ``package.module:callable`` (a function or class called with no
    arguments, or an ``nn.Module`` instance), ``path/to/file.py:callable``, or ``torchvision:NAME`` (any model of
    torchvision's registry — classification, segmentation, detection, video, … — built with ``weights=None`` and
    ``weights_backbone=None``: random weights, nothing downloaded).

    Under ``meta`` (the default) the callable runs inside ``torch.device("meta")``, so the model's parameters
    take no memory and no time to initialize. A callable that fails there (one that loads weights or reads
    tensor values while building) is called a second time with real tensors — the one case it runs twice; a
    line saying so and why is appended to ``notes`` — and that build stops with a one-line
    :class:`LimitError` as soon as it has allocated more than ``max_memory`` bytes (default 2 GiB).

    The user's code (import, call) runs under :func:`cnncost.torch.guard.user_code`: its printing goes to
    stderr, ``sys.exit()`` becomes an error, and it is interrupted after ``timeout`` seconds (None: no limit).

    Raises a one-line cnncost error for a malformed target, a module that cannot be imported, a missing
    attribute, a callable that fails, and a result that is not an ``nn.Module``.
    """
    if not isinstance(target, str):
        raise TypeError(f"target must be a string such as 'torchvision:resnet50', not {target!r}")
    timeout = check_timeout(timeout)
    limit = check_max_memory(max_memory)
    module_name, sep, attr = target.partition(":")
    module_name, attr = module_name.strip(), attr.strip()
    if not sep or not module_name or not attr:
        raise UsageError(
            f"'{target}' is not MODULE:CALLABLE",
            hint="e.g. torchvision:resnet50, mypackage.models:build_model or path/to/model.py:Net",
        )
    with user_code(f"importing {module_name}", timeout):
        if module_name == "torchvision":
            obj: Any = _torchvision_builder(attr)
        else:
            if not (module_name.endswith(".py") or "/" in module_name or "\\" in module_name):
                USER_MODULES.add(module_name)
            module = _import(module_name, attr)
            obj = _attribute(module, module_name, attr)
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise CnnCostError(
            f"'{target}' is a {type(obj).__name__}, neither an nn.Module nor something that builds one",
            hint="name a model class, a function returning a model, or a model instance",
        )
    built = None
    if meta:
        try:  # parameters made on the meta device: nothing allocated, no initialization run
            with user_code(f"calling {target}()", timeout), torch.device("meta"):
                built = obj()
        except CnnCostError:
            raise
        except Exception as exc:
            # It needs real tensors while building (loads weights, reads values): build it again, normally.
            if notes is not None:
                notes.append(
                    f"{target}() was called twice: on the meta device it failed ({_first_line(exc)}), "
                    "so it was built again with real tensors"
                )
    if built is None:
        built = build_real(obj, target, timeout=timeout, max_memory=limit)
    if not isinstance(built, nn.Module):
        raise CnnCostError(
            f"{target}() returned a {type(built).__name__}, not a torch.nn.Module",
            hint="name a callable that returns the model",
        )
    return built


def build_real(obj: Callable[[], Any], target: str, *, timeout: float | None, max_memory: int) -> Any:
    """Call ``obj()`` with real tensors, under the user-code guard and an allocation bound."""
    try:
        with user_code(f"calling {target}()", timeout), AllocationGuard(max_memory, f"building {target}()"):
            return obj()
    except CnnCostError:
        raise
    except Exception as exc:
        raise CnnCostError(
            f"calling {target}() failed: {_first_line(exc)}",
            hint="the callable must build the model with no arguments (wrap it in a small function)",
        ) from None


def _torchvision_builder(name: str) -> Callable[[], Any]:
    """torchvision's builder of model ``name`` from its registry, bound to no weights at all (random weights;
    only the arguments the builder accepts)."""
    try:
        import torchvision.models  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise MissingDependencyError(
            "torchvision is not installed", hint="install it with: pip install torchvision"
        ) from None
    models: Any = torchvision.models
    names = list(models.list_models())
    if name not in names:
        raise NotFoundError(
            f"torchvision has no model '{name}'",
            hint=suggest(name, names) or "see torchvision.models.list_models() for the names",
        )
    builder = models.get_model_builder(name)
    accepted = inspect.signature(builder).parameters
    kwargs = {key: None for key in ("weights", "weights_backbone") if key in accepted}

    def build() -> Any:
        return builder(**kwargs)

    return build


def _import(module_name: str, attr: str) -> ModuleType:
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        return _import_file(Path(module_name))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing == module_name or module_name.startswith(missing + "."):
            raise NotFoundError(
                f"no Python module named '{module_name}'",
                hint="check the name and that its package is installed (or give a path to a .py file)",
            ) from None
        raise MissingDependencyError(
            f"importing '{module_name}' failed: it needs '{missing}', which is not installed",
            hint=f"install the package that provides '{missing}'",
        ) from None
    except Exception as exc:
        raise CnnCostError(f"importing '{module_name}' failed: {_first_line(exc)}") from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}", hint="give an existing .py file, e.g. models/net.py:Net")
    unique = f"_cnncost_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise CnnCostError(f"cannot import {path} as Python", hint="give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(unique, None)
        if not isinstance(exc, Exception):
            raise  # sys.exit(), the deadline, Ctrl-C: the caller's guard says what it was
        raise CnnCostError(f"importing {path} failed: {_first_line(exc)}", file=str(path)) from None
    return module


def _attribute(module: ModuleType, module_name: str, attr: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        if not part.isidentifier() or not hasattr(obj, part):
            choices = [n for n in dir(obj) if not n.startswith("_")]
            raise NotFoundError(
                f"'{module_name}' has no attribute '{attr}'",
                hint=suggest(part, choices) or f"see dir({module_name}) for what it defines",
            )
        obj = getattr(obj, part)
    return obj
