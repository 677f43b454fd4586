"""Observing a module's forward: hooks on every module, a ``TorchFunctionMode`` and a ``TorchDispatchMode``.

Forward hooks on every module give each module's input and output shapes and the module tree (the rows); the
function mode sees every Python-level torch call (``F.conv2d``, ``torch.cat``, ``x + y``) and the dispatch mode
every aten operator it becomes. Each operator is costed by a formula of ``cnncost.ops.aten`` on its shapes and
charged to the innermost running module, inside the Python-level call that issued it; a module an op's reverse
mapping describes (``known_op``) is costed by that op's formula instead, and what runs inside it is not costed
again. :class:`Observer` holds the state of one forward pass and turns it into :class:`Record` rows, each
carrying what was seen of it in an :class:`Observed`.

The function mode takes an optional *quick* strategy (``cnncost.torch.fast``) that answers common calls from
their shapes without entering the dispatch mode; without one, every call is watched at the aten level (the
slow, reference path).
"""

from __future__ import annotations

import itertools
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode, resolve_name
from torch.utils._python_dispatch import TorchDispatchMode

from cnncost.analysis import receptive
from cnncost.analysis.records import CallStats, Observed, Record
from cnncost.ir import Shape
from cnncost.ops import get_op, reverse_op
from cnncost.ops.aten import AtenCost, aten_cost
from cnncost.ops.aten import first_tensor as aten_first_tensor
from cnncost.ops.receptive import RF
from cnncost.torch.guard import prepare_dispatch

#: Our own tensor calls inside the model's forward (reading shapes) skip every torch-function mode: the observer
#: does not watch them (they are not the model's), and the device mode would only add time.
_OURS = torch._C.DisableTorchFunction

#: A quick way to answer a call (``cnncost.torch.fast.quick_call``): given the call's public name, the callable,
#: its arguments and keyword arguments, its result and cost — or None to watch it at the aten level.
Quick = Callable[[str, Any, Sequence[Any], Mapping[str, Any]], "tuple[Any, AtenCost] | None"]

#: A quick way to run an aten operator on meta tensors (``cnncost.torch.fast.quick_aten``): its output made from
#: the shape rule, without torch's Python meta kernel — or None to run the kernel. The operator is costed the same.
QuickAten = Callable[[Any, Sequence[Any], Mapping[str, Any]], Any]


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in ``value`` (a tensor, or lists, tuples and mappings of them), or None: the ATen
    formulas' own search (``cnncost.ops.aten.first_tensor``), typed for torch."""
    found = aten_first_tensor(value)
    return found if isinstance(found, torch.Tensor) else None


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
    fields: list[RF | None] = field(default_factory=list)  # the receptive field of its output, call by call
    used: set[int] = field(default_factory=set)  # ids of the parameters its calls were given


@dataclass
class _Frame:
    path: str
    row: _Row | None
    absorbing: bool  # a known module: its formula stands for everything inside it
    container: bool
    rf_in: RF | None = None  # the receptive field of the tensor this call of a layer row read
    in_shape: Shape = ()


@dataclass
class Call:
    name: str
    first: torch.Tensor | None
    cost: AtenCost = field(default_factory=AtenCost)
    params: tuple[int, ...] = ()
    operands: tuple[Any, ...] = ()  # every tensor it was given (a list of them flattened): joins read them


def _parameter_ids(args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[int, ...]:
    found: list[int] = []
    for value in itertools.chain(args, kwargs.values()):
        items = value if isinstance(value, (list, tuple)) else (value,)
        found.extend(id(v) for v in items if isinstance(v, nn.Parameter))
    return tuple(found)


class Observer:
    """The shared state of the hooks and both modes during the one forward pass."""

    def __init__(self, model: nn.Module, batch: int, root_name: str) -> None:
        self.model = model
        self.batch = batch
        self.root_name = root_name
        self.rows: dict[str, _Row] = {}
        self.order: list[_Row] = []
        self.stack: list[_Frame] = []
        self.call: Call | None = None
        self.unknown: Counter[str] = Counter()
        self.module_paths = {path for path, _ in model.named_modules()}
        self.quiet = False  # inside our own hooks: their tensor calls are not the model's
        self.failed_op: str | None = None  # the aten operator that raised, if one did under observation
        # The receptive field of every tensor the forward made that cnncost can follow, by id, with a weak
        # reference that proves the id still names that tensor (cnncost.analysis.receptive).
        self.tensor_fields: dict[int, tuple[Any, RF]] = {}

    def _field_of(self, t: Any) -> RF | None:
        """The receptive field of tensor ``t``, or None when it was not made by a step cnncost can follow."""
        entry = self.tensor_fields.get(id(t)) if t is not None else None
        return entry[1] if entry is not None and entry[0]() is t else None

    def _set_field(self, t: Any, rf: RF | None) -> None:
        if t is None:
            return
        if rf is None:
            self.tensor_fields.pop(id(t), None)  # an in-place call by an unknown step: no longer known
        else:
            self.tensor_fields[id(t)] = (weakref.ref(t), rf)

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
                with _OURS():  # our own tensor calls (shapes, sizes) pass no torch-function mode: not the model's
                    enter(module, inputs)
            finally:
                self.quiet = False

        def enter(module: nn.Module, inputs: Any) -> None:
            if self.stack and self.stack[-1].absorbing:
                self.stack.append(_Frame(path, None, True, False))
                return
            x = first_tensor(inputs)
            if not path and x is not None:
                self._set_field(x, receptive.start(ir_shape(x.shape)))  # the model's input
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
                frame = _Frame(path, row, known is not None, False, self._field_of(x))
                frame.in_shape = ir_shape(x.shape) if x is not None else ()
                self.stack.append(frame)
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
                with _OURS():
                    leave(module, inputs, output)
            finally:
                self.quiet = False

        def leave(module: nn.Module, inputs: Any, output: Any) -> None:
            frame = self.stack.pop() if self.stack else None
            if frame is None or frame.row is None:
                return
            row = frame.row
            y = first_tensor(output)
            if row.kind == "layer":
                rf = None
                if row.known is not None and frame.rf_in is not None:
                    rf = receptive.op_field(row.op, row.known, frame.in_shape, frame.rf_in)
                row.fields.append(rf)
                self._set_field(y, rf)
            elif y is not None:
                row.fields.append(self._field_of(y))  # a container: the field of what it returned
            if row.calls == 0 and y is not None:
                row.output_shape = ir_shape(y.shape)
            if y is not None:
                row.out_elements += y.numel()
            row.calls += 1
            if frame.absorbing and row.known is not None:
                x = first_tensor(inputs)
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

    def begin_call(self, func: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Call | None:
        if self.quiet or self.call is not None or (self.stack and self.stack[-1].absorbing):
            return None  # nested, or inside a module whose formula stands for everything it does
        first = first_tensor(args) if args else first_tensor(kwargs)
        operands = tuple(
            t for a in args for t in (a if isinstance(a, (list, tuple)) else (a,)) if isinstance(t, torch.Tensor)
        )
        self.call = Call(call_name(func), first, params=_parameter_ids(args, kwargs), operands=operands)
        return self.call

    def end_call(self, call: Call, result: Any) -> None:
        self.call = None
        frame = self.stack[-1] if self.stack else None
        if frame is None or frame.absorbing:
            return
        cost = call.cost
        label = call_label(call.name)
        if cost.free and not cost.unknown and label not in _VISIBLE_FREE_CALLS and call.name not in _COUNTED_ELSEWHERE:
            self._flattened(call, result)
            return
        y = first_tensor(result)
        if frame.container:
            row = self._synthetic_row(frame, label, call, y)
            row.used.update(call.params)
            rf = self._call_field(label, call, y)
            row.fields.append(rf)
            self._set_field(y, rf)
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

    def _flattened(self, call: Call, result: Any) -> None:
        """A free call that flattens a feature map to one vector per item (``torch.flatten(x, 1)``): its values
        keep their receptive fields, without positions. Any other free call (a view, a permute) makes a tensor
        cnncost does not follow."""
        y = first_tensor(result)
        x = call.first
        rf = self._field_of(x)
        if y is None or x is None or rf is None or y.dim() != 2 or x.dim() != 4:
            return
        if y.numel() == x.numel() and y.shape[0] == x.shape[0]:
            self._set_field(y, receptive.flattened(rf, receptive.FLATTENED))

    def _call_field(self, label: str, call: Call, y: torch.Tensor | None) -> RF | None:
        """The receptive field of a container's own call: an activation keeps its input's; an addition, a
        concatenation or a product of feature maps joins its operands' (the largest path wins; a parameter
        operand, a learned scale, has none and joins nothing); anything else is not followed."""
        if label in receptive.ACTIVATION_CALLS:
            return self._field_of(call.first)
        if label in receptive.JOIN_CALLS and y is not None and y.dim() == 4:
            fields = [self._field_of(t) for t in call.operands if not isinstance(t, nn.Parameter)]
            if fields and all(f is not None for f in fields):
                return receptive.join([f for f in fields if f is not None])
        return None

    def _synthetic_row(self, frame: _Frame, label: str, call: Call, y: torch.Tensor | None) -> _Row:
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
        bare = Call(f"aten.{func._overloadpacket.__name__}", first_tensor(args), cost)
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
        own = row.kind == "layer" and row.known is None  # costed by its calls, not by a registry formula
        observed = Observed(
            calls=row.calls,
            in_elements=row.in_elements,
            out_elements=row.out_elements,
            module=row.module_type or None,
            functions=MappingProxyType({k: CallStats(*v) for k, v in row.functions.items()}) if own else None,
            weights=MappingProxyType(dict(row.weights)) if own and row.weights else None,
            unknown=MappingProxyType(dict(row.unknown)),
        )
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
            args=MappingProxyType(dict(row.known or {})),
            observed=observed,
            receptive=receptive.row_field(row.fields),
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


class FunctionMode(TorchFunctionMode):  # type: ignore[misc,no-untyped-call,unused-ignore]
    """Sees every Python-level torch call. ``quick`` (when given) answers a common call from its shapes; any other
    runs under a :class:`DispatchMode` that costs its aten operators. (Entering a dispatch mode costs about a
    second the first time — torch imports its compiler stack — so a model made of known modules and common calls
    never does on the fast path.)"""

    def __init__(self, observer: Observer, quick: Quick | None = None, quick_aten: QuickAten | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        self.observer = observer
        self.quick = quick
        self.quick_aten = quick_aten

    def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        observer = self.observer
        call = observer.begin_call(func, args, kwargs)
        if call is None:
            return func(*args, **kwargs)
        try:
            answered = self.quick(call.name, func, args, kwargs) if self.quick is not None else None
            if answered is None:
                prepare_dispatch()
                with DispatchMode(observer, self.quick_aten):
                    result = func(*args, **kwargs)
            else:
                result, call.cost = answered
        except BaseException:
            observer.call = None
            if observer.failed_op is None:
                word = call.name.rsplit(".", 1)[-1].strip("_")
                index = word == "getitem" and bool_index(args)
                observer.failed_op = "index" if index else word
            raise
        observer.end_call(call, result)
        return result


class DispatchMode(TorchDispatchMode):  # type: ignore[misc,no-untyped-call,unused-ignore]
    """Costs every aten operator a watched call issues (``Observer.aten``). ``quick_aten`` (when given) makes the
    output of some operators on meta tensors from their shape rule instead of running torch's meta kernel."""

    def __init__(self, observer: Observer, quick_aten: QuickAten | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        self.observer = observer
        self.quick_aten = quick_aten

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        try:
            out = self.quick_aten(func, args, kwargs or {}) if self.quick_aten is not None else None
            if out is None:
                out = func(*args, **(kwargs or {}))
        except Exception:
            self.observer.failed_op = func._overloadpacket.__name__
            raise
        self.observer.aten(func, args, out)
        return out


def bool_index(args: Sequence[Any]) -> bool:
    """Whether a ``tensor[index]`` call indexes with a boolean mask (an output shape that depends on values)."""
    index = args[1] if len(args) > 1 else None
    items = index if isinstance(index, (list, tuple)) else (index,)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)


@contextmanager
def hooks(model: nn.Module, observer: Observer) -> Iterator[None]:
    handles = []
    try:
        for path, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(observer.pre_hook(path)))
            handles.append(module.register_forward_hook(observer.post_hook(path), always_call=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
