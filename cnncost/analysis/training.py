"""What a training step costs: which layers train, and the backward pass, layer by layer.

**Trainable and frozen.** PyTorch trains every parameter unless told otherwise; so does cnncost. The choice is
made per layer (a layer's parameters train or stay frozen together), by the rows' paths:

1. the start: every layer trainable — unless ``--trainable`` or ``--train-from`` is given, then every layer frozen;
2. ``--train-from PATH``: the layer at PATH (or the first layer of the group at PATH) and every layer after it in
   execution order train ("fine-tune from block 15");
3. ``--trainable PATTERN`` (repeatable): the layers at or under the rows matching it train;
4. ``--freeze PATTERN`` (repeatable): the layers at or under the rows matching it are frozen — applied last, so
   a freeze always wins.

A pattern is a row path or a glob over row paths (``fnmatch``: ``*`` crosses dots, so ``features.*`` is
everything under ``features``); one that matches no row is an error, never silently nothing.

**Backward.** Walking the network in execution order, a tensor needs a gradient when some layer at or before it
(on a path feeding it) has trainable parameters — exactly autograd's ``requires_grad``: the input image has none,
so the first layer never computes its input gradient, and no layer below the lowest trainable one does; through
a residual, a concatenation or a gate, a tensor needs a gradient when any path into it does. Each layer's
backward is then its op's ``backward`` facet (``cnncost.ops``) for what it needs: its input gradient (its input
needs one), its weight gradients (it is trainable), and batchnorm's mode (``bn``: ``train``, batch statistics,
the default as in PyTorch's ``.train()`` for a training step; or ``eval``, fixed running statistics).

Pure Python, like the rest of the analysis; the figures are for the report's whole batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from types import MappingProxyType

from cnncost import ir
from cnncost.analysis.records import Record, Report, _merge
from cnncost.errors import UsageError, suggest
from cnncost.frozen import field, frozen
from cnncost.ops import get_op
from cnncost.ops.backward import BackwardCost, Needs

BN_MODES = ("train", "eval")

#: What each batchnorm mode means, as the train view's footer says it.
BN_MEANING = {
    "train": "batchnorm in train mode (batch statistics, PyTorch's .train())",
    "eval": "batchnorm in eval mode (running statistics fixed)",
}


@frozen
class TrainOptions:
    """Which layers train (see the module doc for the precedence) and batchnorm's mode."""

    freeze: tuple[str, ...] = ()
    trainable: tuple[str, ...] = ()
    train_from: str | None = None
    bn: str = "train"
    #: False where several networks share the patterns (``compare``): a pattern need only match in one of them,
    #: which the caller checks (``check_patterns``).
    strict: bool = True

    def __post_init__(self) -> None:
        if self.bn not in BN_MODES:
            raise UsageError(f"--bn {self.bn!r} is not a batchnorm mode", hint="use --bn train or --bn eval")
        for name, value in (("freeze", self.freeze), ("trainable", self.trainable)):
            if isinstance(value, str) or not all(isinstance(p, str) and p for p in value):
                raise TypeError(f"{name} must be a tuple of non-empty patterns")
        if self.train_from is not None and (not isinstance(self.train_from, str) or not self.train_from):
            raise TypeError("train_from must be a row path (str) or None")

    @property
    def selects(self) -> bool:
        """Whether any layer was chosen to train or freeze (the default trains everything)."""
        return bool(self.freeze or self.trainable or self.train_from)

    def describe(self) -> str:
        """The selection in the CLI's words (``all trainable`` when nothing was chosen)."""
        parts = [f"--train-from {self.train_from}"] if self.train_from else []
        parts += [f"--trainable {p}" for p in self.trainable] + [f"--freeze {p}" for p in self.freeze]
        return " ".join(parts) if parts else "all trainable"


@frozen
class TrainRow:
    """The training side of one report row (a layer, or a group summing its layers), for the whole batch.

    ``input_grad``: the row computes the gradient with respect to its input; ``weight_grad``: it computes the
    gradients of its parameters (for a group: some layer in it does). MACs and other ops are the backward
    pass's own, by the ops' ``backward`` facets.
    """

    path: str
    trainable_params: int
    frozen_params: int
    input_grad: bool
    weight_grad: bool
    grad_input_macs: int
    grad_weight_macs: int
    other: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def backward_macs(self) -> int:
        return self.grad_input_macs + self.grad_weight_macs

    @property
    def other_ops(self) -> int:
        return sum(self.other.values())


@frozen
class Training:
    """The training analysis of a report: one ``TrainRow`` per record (same order), totals, and what they assume.

    ``forward_macs`` and ``forward_other`` are the report's own (inference) forward figures; a training step is
    that forward plus this backward (``step_macs``). ``first_input_grad`` is the first layer, in execution
    order, that computes its input gradient (None: none does)."""

    options: TrainOptions
    rows: tuple[TrainRow, ...]
    total: TrainRow
    forward_macs: int
    forward_other: Mapping[str, int]
    batch: int
    first_input_grad: str | None = None
    #: Where the trainable set came from: ``options`` (the selection) or ``requires_grad`` (a PyTorch module).
    source: str = "options"

    @property
    def trainable_params(self) -> int:
        return self.total.trainable_params

    @property
    def frozen_params(self) -> int:
        return self.total.frozen_params

    @property
    def backward_macs(self) -> int:
        return self.total.backward_macs

    @property
    def step_macs(self) -> int:
        """Forward plus backward MACs of one training step (the whole batch)."""
        return self.forward_macs + self.backward_macs

    @property
    def ratio(self) -> float:
        """A training step's MACs over inference's (forward alone); 1.0 for a network without MACs."""
        return self.step_macs / self.forward_macs if self.forward_macs else 1.0

    def row(self, path: str) -> TrainRow:
        for r in self.rows:
            if r.path == path:
                return r
        raise KeyError(path)

    def assumptions(self) -> str:
        """What the figures assume, in one sentence (the train view's footer)."""
        grads = (
            f"input gradients from {self.first_input_grad} on (not below it)"
            if self.first_input_grad
            else "no layer computes an input gradient"
        )
        chosen = "requires_grad as the model has it" if self.source == "requires_grad" else self.options.describe()
        return f"{chosen} · {BN_MEANING[self.options.bn]} · {grads} · dropout active"


# ------------------------------------------------------------------------------------------ the selection


def _under(path: str, group: str) -> bool:
    return path == group or path.startswith(group + ".")


def _matching(pattern: str, report: Report, option: str, strict: bool = True) -> list[str]:
    """The row paths matching ``pattern`` (an exact path or a glob); a clear error when there are none."""
    paths = [r.path for r in report.records]
    found = [p for p in paths if fnmatchcase(p, pattern)]
    if not found and strict:
        close = suggest(pattern, paths)
        examples = ", ".join(p for p in paths[:3])
        raise UsageError(
            f"{option} '{pattern}' matches no row of {report.name} (rows are paths such as {examples})",
            hint=close or f"see the paths in 'cnncost table {report.name}'; globs such as 'features.*' work too",
        )
    return found


def trainable_layers(report: Report, options: TrainOptions) -> dict[str, bool]:
    """Layer path → whether it trains, for every layer with parameters (see the module doc for the order)."""
    layers = [r for r in report.layers() if r.params]
    base = not (options.trainable or options.train_from)
    state = {r.path: base for r in layers}
    if options.train_from is not None:
        order = [r.path for r in report.layers()]
        start = next((i for i, p in enumerate(order) if _under(p, options.train_from)), None)
        if start is None and options.strict:
            paths = [r.path for r in report.records]
            raise UsageError(
                f"--train-from '{options.train_from}' is no row of {report.name}",
                hint=suggest(options.train_from, paths) or f"give a row path from 'cnncost table {report.name}'",
            )
        later = set(order[start:]) if start is not None else set()
        for path in state:
            if path in later:
                state[path] = True
    for value, option in ((True, "--trainable"), (False, "--freeze")):
        for pattern in options.trainable if value else options.freeze:
            groups = _matching(pattern, report, option, options.strict)
            for path in state:
                if any(_under(path, g) for g in groups):
                    state[path] = value
    return state


def check_patterns(options: TrainOptions, reports: Sequence[Report]) -> None:
    """Where networks share the patterns (``compare``), each must match a row of at least one of them."""
    chosen = [("--trainable", p) for p in options.trainable] + [("--freeze", p) for p in options.freeze]
    if options.train_from is not None:
        chosen.append(("--train-from", options.train_from))
    for option, pattern in chosen:
        matches = _under if option == "--train-from" else fnmatchcase
        if not any(matches(r.path, pattern) for report in reports for r in report.layers()):
            names = ", ".join(report.name for report in reports)
            raise UsageError(
                f"{option} '{pattern}' matches no row of {names}",
                hint="see the paths in 'cnncost table NAME'; globs such as 'features.*' work too",
            )


# ------------------------------------------------------------------------------------------ the backward walk


class _Walk:
    def __init__(self, trainable: Mapping[str, bool], bn_train: bool) -> None:
        self.trainable = trainable
        self.bn_train = bn_train
        self.costs: dict[str, tuple[Needs, BackwardCost]] = {}
        self.saved: dict[str, bool] = {}  # whether each tensor kept by 'save' needs a gradient

    def layer(self, layer: ir.Layer, grad_in: bool) -> bool:
        trains = self.trainable.get(layer.path, False)
        needs = Needs(input=grad_in, weights=trains, bn_train=self.bn_train)
        op = get_op(layer.op)
        self.costs[layer.path] = (needs, op.backward(layer.args, layer.in_shape, layer.out_shape, needs))
        return grad_in or trains

    def merge(self, node: ir.Node, op: str, needs: Needs, args: Mapping[str, object], inp: ir.Shape) -> None:
        path = ir.join_path(node.path, op)
        self.costs[path] = (needs, get_op(op).backward(MappingProxyType(dict(args)), inp, node.out_shape, needs))

    def node(self, node: ir.Node, grad_in: bool) -> bool:
        if isinstance(node, ir.Layer):
            return self.layer(node, grad_in)
        if isinstance(node, ir.Sequence):
            for child in node.children:
                grad_in = self.node(child, grad_in)
            return grad_in
        if isinstance(node, ir.Residual):
            body = self.node(node.body, grad_in)
            shortcut = self.node(node.shortcut, grad_in) if node.shortcut is not None else grad_in
            out = body or shortcut
            self.merge(node, "add", Needs(input=grad_in and out, weights=False), {}, node.in_shape)
            return self.layer(node.activation, out) if node.activation is not None else out
        if isinstance(node, ir.Concat):
            outs = [self.node(branch, grad_in) for branch in node.branches]
            forks = 1 if node.split is not None else len(node.branches)
            self.merge(node, "concat", Needs(input=grad_in, weights=False), {"forks": forks}, node.in_shape)
            return any(outs)
        if isinstance(node, ir.Scale):
            gate = self.node(node.gate, grad_in)
            needs = Needs(input=grad_in, weights=gate)
            self.merge(node, "multiply", needs, {"gate": node.gate.out_shape}, node.in_shape)
            return grad_in or gate
        if isinstance(node, ir.Save):
            self.saved[node.name] = grad_in
            return grad_in
        if isinstance(node, ir.Join):
            return self.join(node, grad_in)
        if isinstance(node, ir.Aux):
            self.node(node.head, grad_in)
            first = next(iter(ir.iter_layers(node.head)), None)
            if grad_in and first is not None and first.path in self.costs:
                # the head's input gradient is added to the main path's where the head branches off: one
                # addition per value, counted on the head's first layer (as a residual's is on its add)
                self.fork(first.path, node.in_shape)
            return grad_in  # the head's output feeds only its own loss: the main path's gradient is unchanged
        raise TypeError(f"unknown node {type(node).__name__}")

    def join(self, node: ir.Join, grad_in: bool) -> bool:
        """A join reads saved tensors (each through its read's layers): the output needs a gradient when any input
        does; each saved tensor that needs one forks (the main path and this join both read it), so the two
        gradients coming back are added there — the ``add`` or ``concat`` facet for a fork of two, per tensor."""
        outs = [grad_in]
        fork_ops: list[BackwardCost] = []
        for name, read in zip(node.saved, node.reads, strict=True):
            saved = self.saved.get(name, False)
            outs.append(self.node(read, saved))
            if saved:
                args = {} if node.mode == "add" else {"forks": 2}
                fork_ops.append(get_op(node.mode).backward(MappingProxyType(args), read.in_shape, read.in_shape,
                                                           Needs(input=True, weights=False)))
        path = ir.join_path(node.path, node.mode)
        self.costs[path] = (Needs(input=any(outs), weights=False), _total(fork_ops))
        return any(outs)

    def fork(self, path: str, shape: ir.Shape) -> None:
        needs, cost = self.costs[path]
        extra = get_op("add").backward(MappingProxyType({}), shape, shape, Needs(input=True, weights=False))
        self.costs[path] = (needs, _total([cost, extra]))


def _total(costs: Sequence[BackwardCost]) -> BackwardCost:
    return BackwardCost(
        sum(c.grad_input_macs for c in costs),
        sum(c.grad_weight_macs for c in costs),
        MappingProxyType(_merge(c.other for c in costs)),
    )


def _rows(
    report: Report, costs: Mapping[str, tuple[Needs, BackwardCost]], trainable_of: Mapping[str, int]
) -> tuple[TrainRow, ...]:
    batch = report.batch
    layer_rows: dict[int, TrainRow] = {}
    for i, r in enumerate(report.records):
        if not r.is_layer:
            continue
        needs, cost = costs.get(r.path, (Needs(False, False), BackwardCost()))
        trainable = min(trainable_of.get(r.path, 0), r.params)
        layer_rows[i] = TrainRow(
            path=r.path,
            trainable_params=trainable,
            frozen_params=r.params - trainable,
            input_grad=needs.input,
            weight_grad=needs.weights and r.params > 0,
            grad_input_macs=cost.grad_input_macs * batch,
            grad_weight_macs=cost.grad_weight_macs * batch,
            other=MappingProxyType({k: v * batch for k, v in cost.other.items()}),
        )
    rows: list[TrainRow] = []
    for i, r in enumerate(report.records):
        if r.is_layer:
            rows.append(layer_rows[i])
            continue
        members = [layer_rows[j] for j in _subtree(report.records, i) if j in layer_rows]
        rows.append(_sum(r.path, members))
    return tuple(rows)


def _subtree(records: Sequence[Record], index: int) -> Iterable[int]:
    depth = records[index].depth
    for j in range(index + 1, len(records)):
        if records[j].depth <= depth:
            return
        yield j


def _sum(path: str, members: Sequence[TrainRow]) -> TrainRow:
    return TrainRow(
        path=path,
        trainable_params=sum(m.trainable_params for m in members),
        frozen_params=sum(m.frozen_params for m in members),
        input_grad=any(m.input_grad for m in members),
        weight_grad=any(m.weight_grad for m in members),
        grad_input_macs=sum(m.grad_input_macs for m in members),
        grad_weight_macs=sum(m.grad_weight_macs for m in members),
        other=MappingProxyType(_merge(m.other for m in members)),
    )


def analyze_training(
    network: ir.Network,
    report: Report,
    options: TrainOptions | None = None,
    *,
    trainable_params: Mapping[str, int] | None = None,
) -> Training:
    """The training analysis of ``report`` (the analysis of ``network``): trainable and frozen parameters and
    the backward pass, row by row.

    The trainable set comes from ``options`` (see the module doc) or, when ``trainable_params`` is given (layer
    path → its parameters that train, as a PyTorch module's ``requires_grad`` says), from that."""
    options = options or TrainOptions()
    if trainable_params is None:
        chosen = trainable_layers(report, options)
        counts = {r.path: r.params for r in report.layers() if chosen.get(r.path)}
    else:
        counts = {path: int(n) for path, n in trainable_params.items() if n}
    walk = _Walk({path: n > 0 for path, n in counts.items()}, options.bn == "train")
    walk.node(network.root, False)  # the input image needs no gradient
    rows = _rows(report, walk.costs, counts)
    layer_rows = [row for row, r in zip(rows, report.records, strict=True) if r.is_layer]
    first = next((row.path for row in layer_rows if row.input_grad), None)
    return Training(
        options=options,
        rows=rows,
        total=_sum("", layer_rows),
        forward_macs=report.totals.macs,
        forward_other=report.totals.other,
        batch=report.batch,
        first_input_grad=first,
        source="options" if trainable_params is None else "requires_grad",
    )


def requires_grad_training(report: Report, trainable_params: Mapping[str, int]) -> Training:
    """The trainable side of a report of a PyTorch module (``analyze_module``), from ``requires_grad`` as the
    model has it: layer path → its parameters that train. Only the parameters: without the network's graph the
    backward pass is not computed here (its fields are zero and ``source`` is ``requires_grad``)."""
    nothing: Mapping[str, int] = MappingProxyType({})
    layer_rows: dict[int, TrainRow] = {}
    for i, r in enumerate(report.records):
        if r.is_layer:
            trains = min(int(trainable_params.get(r.path, 0)), r.params)
            layer_rows[i] = TrainRow(r.path, trains, r.params - trains, False, trains > 0, 0, 0, nothing)
    rows = [
        layer_rows[i] if r.is_layer else _sum(r.path, [layer_rows[j] for j in _subtree(report.records, i)
                                                       if j in layer_rows])
        for i, r in enumerate(report.records)
    ]
    return Training(
        options=TrainOptions(),
        rows=tuple(rows),
        total=_sum("", list(layer_rows.values())),
        forward_macs=report.totals.macs,
        forward_other=report.totals.other,
        batch=report.batch,
        source="requires_grad",
    )


def with_training(report: Report, training: Training) -> Report:
    """``report`` carrying ``training`` (what the renderers read)."""
    from dataclasses import replace

    return replace(report, training=training)
