"""Memory: weights, activations, and the peak of live bytes over a forward pass or a training step (no torch).

The network is first *lowered* to a program: one step per layer (and per merge: a residual's addition, a
concat's join, a scale's product), each reading values and writing one, in execution order — the order the
built module runs them. A value lives in a *storage*; a step whose output is its input or a view of it
(flatten, identity, dropout at inference) writes no new storage.

**Inference** (eval mode, no autograd): a storage is freed when the last step that reads it is done (a residual
keeps its input alive until the addition, a concat keeps each branch's output until the join, a scale keeps its
input until the product). The peak is the most bytes live at once — during a step its inputs, its output and its
scratch are all live — with the input batch held throughout, as the caller holds it.

**Training step** (forward in training mode, loss, backward, optimizer step):

- forward: as above, except that what each op keeps for backward (its ``saved`` facet, ``cnncost.ops.saved``)
  stays live: kept inputs and outputs past their last reader, new tensors (indices, statistics, masks) from the
  step that makes them. An op that nothing upstream of it needs a gradient from, and that has no trainable
  weight, records nothing (a frozen prefix keeps no activations).
- loss: cross-entropy on a vector output (it keeps its log-softmax, the output's size), the mean otherwise.
- backward, steps in reverse: a step needs the gradient of its output (one buffer per value, shared by every
  reader of it: an addition passes its gradient to both operands, a concat's operands get views of its gradient)
  and makes the gradients of its inputs and of its trainable weights; then its kept tensors are released and
  its output's gradient freed. Weight gradients stay until the optimizer step.
- optimizer step: weights, gradients and state (SGD none, momentum one buffer, Adam/AdamW two, per trainable
  weight) and the step's temporaries: Adam computes ``sqrt(v)/…`` per tensor — with ``foreach`` (PyTorch's
  default on CUDA) for all tensors at once (one copy of the trainable weights), one tensor at a time otherwise
  (two copies of the largest tensor).

The peak of the step is the largest of the three phases' peaks. With ``dtype`` bf16 or fp16 the model is
automatic mixed precision: fp32 master weights, fp32 gradients and optimizer state, activations in the low
dtype, and conv and linear weights cast to it by autocast (the copies are cached for the forward pass and kept
by the ops for backward: counted from the layer's forward to its backward, and at inference to the pass's end).

Not modelled: kernel scratch inside one op (im2col buffers, cuDNN/oneDNN workspaces), allocator rounding and
caching, and layouts (a channels-last copy PyTorch makes for a ``pointwise_linear`` right after an NCHW
producer). ``cnncost.torch.memory`` measures what PyTorch holds; ``tests/test_memory_oracle.py`` holds this model
to within 10 % of it for every bundled network.

Readers: a value is read by the steps listed in ``Step.inputs`` (and by the caller, for the network's input and
output). A new kind of reader — a named tensor saved and read later (U-Net's skip connections) — is one more
entry in a step's ``inputs`` when lowering (``_Lowering.node``): liveness, kept tensors and gradients all follow
from the inputs, nothing else needs to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cnncost import ir
from cnncost.errors import UsageError
from cnncost.frozen import frozen
from cnncost.limits import MAX_BATCH
from cnncost.ops import elements, get_op
from cnncost.ops.saved import INPUT, OTHER, OUTPUT, Kept, Saved

#: Bytes per value of each activation dtype the model knows.
DTYPE_BYTES: dict[str, int] = {"fp32": 4, "bf16": 2, "fp16": 2}
#: Optimizer state per trainable weight, in copies of it (fp32).
OPTIMIZER_STATE: dict[str, int] = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}


def memory_options(optimizer: str | None, dtype: str | None, train: bool) -> dict[str, str]:
    """``--optimizer`` and ``--dtype`` as ``memory()`` takes them (defaults adam, fp32; any case), checked in one
    line: a name the model does not know, or an optimizer without ``--train``. Every command that takes the two
    options (``table --memory``, ``plot --kind memory``) reads them here."""
    if optimizer is not None and not train:
        raise UsageError("--optimizer sets a training step's memory", hint="add --train")
    return {
        "optimizer": _choice("--optimizer", optimizer, tuple(OPTIMIZER_STATE), "adam"),
        "dtype": _choice("--dtype", dtype, tuple(DTYPE_BYTES), "fp32"),
    }


def _choice(option: str, value: str | None, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value.lower() not in choices:
        raise UsageError(f"{option} '{value}' is not one of {', '.join(choices)}", hint=f"e.g. {option} {default}")
    return value.lower()


#: Devices whose behaviour differs: dropout's mask (bool on CUDA) and the optimizer's default (foreach on CUDA).
DEVICE_KINDS = ("cuda", "cpu")

_MERGES = {ir.Residual: "add", ir.Concat: "concat", ir.Scale: "multiply"}

Trainable = Callable[[str], bool] | Collection[str] | None


# ------------------------------------------------------------------------------------------- the program


@frozen
class Step:
    """One op of the lowered network: it reads ``inputs`` (value ids; the first is its input, a merge's second is
    ``other``) and writes value ``output``. ``layer`` is the IR layer (a merge has a synthetic one)."""

    layer: ir.Layer
    inputs: tuple[int, ...]
    output: int
    saved: Saved
    params: int
    weight: int  # elements of its largest parameter tensor (the optimizer's per-tensor scratch)


@dataclass
class _Lowering:
    training: bool
    steps: list[Step] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # elements per image of each value
    storage: list[int] = field(default_factory=list)  # the storage each value lives in
    holds: list[tuple[int, int]] = field(default_factory=list)  # (value, step): a container holds its input
    kept: dict[str, int] = field(default_factory=dict)  # the value each 'save' name keeps

    def value(self, size: int, storage: int | None = None) -> int:
        self.sizes.append(size)
        self.storage.append(len(self.storage) if storage is None else storage)
        return len(self.sizes) - 1

    def layer(self, layer: ir.Layer, inputs: tuple[int, ...]) -> int:
        op = get_op(layer.op)
        saved: Saved = op.facets["saved"](layer.args, layer.in_shape, layer.out_shape)
        alias = saved.alias if self.training else saved.alias_eval
        out = self.value(elements(layer.out_shape), self.storage[inputs[0]] if alias else None)
        params = op.cost(layer.args, layer.in_shape, layer.out_shape).params
        weight = max((k.elements for k in saved.kept if k.dtype == "weight"), default=0)
        largest = max(weight, params - weight if weight else (params + 1) // 2)
        self.steps.append(Step(layer, inputs, out, saved, params, largest))
        return out

    def merge(self, node: ir.Residual | ir.Concat | ir.Scale, inputs: tuple[int, ...]) -> int:
        op = _MERGES[type(node)]
        layer = ir.Layer(op, ir.join_path(node.path, op), op, MappingProxyType({}), node.out_shape, node.out_shape)
        return self.layer(layer, inputs)

    def node(self, node: ir.Node, x: int, parent: str | None = None) -> int:
        """Lower ``node`` applied to value ``x`` (inside a module standing at path ``parent``); its output value.

        A container the builder makes a module of (``cnncost.torch.build``) holds its input until its forward
        returns — its argument stays referenced — so its input is read, in effect, by its last step too."""
        first = len(self.steps)
        out = self._node(node, x)
        if self.steps and len(self.steps) > first and _is_module(node, parent):
            self.holds.append((x, len(self.steps) - 1))
        return out

    def _node(self, node: ir.Node, x: int) -> int:
        if isinstance(node, ir.Layer):
            return self.layer(node, (x,))
        if isinstance(node, ir.Sequence):
            for child in node.children:
                x = self.node(child, x, node.path)
            return x
        if isinstance(node, ir.Residual):
            if node.shortcut is not None and node.shortcut_first:  # the projection runs first (RegNet's order)
                short = self.node(node.shortcut, x, node.path)
                body = self.node(node.body, x, node.path)
            else:
                body = self.node(node.body, x, node.path)
                short = x if node.shortcut is None else self.node(node.shortcut, x, node.path)
            out = self.merge(node, (body, short))
            return out if node.activation is None else self.node(node.activation, out, node.path)
        if isinstance(node, ir.Scale):
            return self.merge(node, (x, self.node(node.gate, x, node.path)))
        if isinstance(node, ir.Concat):
            if node.split is None:
                outs = tuple(self.node(b, x, node.path) for b in node.branches)
            else:  # torch.split: each branch's slice is a view of the input
                outs = tuple(
                    self.node(b, self.value(elements(b.in_shape), self.storage[x]), node.path) for b in node.branches
                )
            return self.merge(node, outs)
        if isinstance(node, ir.Save):
            self.kept[node.name] = x
            return x
        if isinstance(node, ir.Join):
            return self.join(node, x)
        if isinstance(node, ir.Aux):
            return x  # a training-only head: the network measured here is built without it
        raise TypeError(f"not an IR node: {node!r}")

    def join(self, node: ir.Join, x: int) -> int:
        """Each saved tensor through its read's steps, then joined with ``x``. The built join drops a saved tensor
        from the network's store once its last join has read it (``cnncost.torch.build``): until then the store
        holds it — through every read of that join."""
        saved = [self.kept[name] for name in node.saved]
        parts = tuple(self.node(read, v, node.path) for read, v in zip(node.reads, saved, strict=True))
        if self.steps:
            self.holds.extend((v, len(self.steps) - 1) for v in saved)
        layer = ir.Layer(
            node.mode, ir.join_path(node.path, node.mode), node.mode, MappingProxyType({}), node.out_shape,
            node.out_shape,
        )
        return self.layer(layer, (x, *parts))


def _is_module(node: ir.Node, parent: str | None) -> bool:
    """Whether the builder makes ``node`` a container module of its own (one whose forward holds its input): a
    residual, scale or concat always; a sequence unless it shares its parent's path (its children are the
    parent's) or is one layer at its own path."""
    if isinstance(node, ir.Layer):
        return False
    if isinstance(node, ir.Sequence):
        if parent is not None and node.path == parent:
            return False
        own = [
            c for c in node.children
            if not (isinstance(c, ir.Layer) and get_op(c.op).build is None) and not isinstance(c, ir.Aux)
        ]
        return not (len(own) == 1 and own[0].path == node.path and not isinstance(own[0], ir.Sequence))
    return True


@frozen
class Program:
    """The lowered network: its steps, each value's elements per image and storage, the input and output values,
    and when each storage is last read (a step reading it, or a container holding it)."""

    steps: list[Step]
    sizes: list[int]
    storage: list[int]
    x: int
    out: int
    last: dict[int, int]


def lower(network: ir.Network, *, training: bool) -> Program:
    """The network as a program of steps (training or eval mode: dropout and stochastic depth differ)."""
    low = _Lowering(training)
    x = low.value(elements(network.input_shape))
    out = low.node(network.root, x)
    last = {low.storage[v]: -1 for v in range(len(low.sizes))}
    for i, s in enumerate(low.steps):
        for v in s.inputs:
            last[low.storage[v]] = max(last[low.storage[v]], i)
    for v, i in low.holds:  # a new kind of reader is one more (value, step) here
        last[low.storage[v]] = max(last[low.storage[v]], i)
    return Program(low.steps, low.sizes, low.storage, x, out, last)


# ------------------------------------------------------------------------------------------- results


@frozen
class LayerMemory:
    """One step's memory: ``activation`` the bytes of its output for the batch (0 for a view of its input);
    ``saved`` the bytes kept for backward that this step brings: its output when some op keeps it, and the new
    tensors it keeps itself (so the column sums to the total); ``trainable`` whether its weights train; ``live``
    the activation bytes live while the step runs in an eval forward pass (its inputs still read later, its output,
    its scratch, the input batch): the largest of them is ``MemoryReport.inference_peak``."""

    path: str
    op: str
    activation: int
    saved: int
    params: int
    trainable: bool
    live: int = 0


@frozen
class MemoryReport:
    """The memory figures of one network at one batch and dtype (bytes throughout). ``weights_by_dtype``: the
    fp32 parameters and, under autocast, the low-precision copies of the conv and linear weights."""

    name: str
    batch: int
    dtype: str
    optimizer: str
    device: str
    layers: tuple[LayerMemory, ...]
    weights: int
    weights_by_dtype: Mapping[str, int]
    trainable_params: int
    input: int
    activations: int
    inference_peak: int
    gradients: int
    optimizer_state: int
    saved: int
    saved_input: int  # the part of ``saved`` that is the input batch (kept by the first layer)
    autocast_copies: int
    training_peak: int
    phase_peaks: Mapping[str, int]

    @property
    def peak_phase(self) -> str:
        return max(self.phase_peaks, key=lambda k: self.phase_peaks[k])

    @property
    def mixed_precision(self) -> bool:
        return self.dtype != "fp32"


# ------------------------------------------------------------------------------------------- the model


def _trainable_predicate(trainable: Trainable) -> Callable[[str], bool]:
    if trainable is None:
        return lambda path: True
    if callable(trainable):
        return trainable
    chosen = frozenset(trainable)
    return lambda path: path in chosen


class _Bytes:
    """Bytes of a dtype class at one activation dtype and device."""

    def __init__(self, dtype: str, device: str) -> None:
        self.act = DTYPE_BYTES[dtype]
        self.mixed = dtype != "fp32"
        self.device = device

    def of(self, kept: Kept, batch: int) -> int:
        size = {
            "activation": self.act,
            "int64": 8,
            "fp32": 4,
            "mask": 1 if self.device == "cuda" else self.act,
            "weight": self.act if self.mixed else 0,  # fp32: the parameter itself
        }[kept.dtype]
        return kept.elements * size * (batch if kept.per_image else 1)


def memory(
    network: ir.Network,
    *,
    batch: int = 1,
    dtype: str = "fp32",
    optimizer: str = "sgd",
    trainable: Trainable = None,
    device: str = "cuda",
    foreach: bool | None = None,
) -> MemoryReport:
    """The memory of ``network`` at ``batch``: weights, activations, the inference peak, and the training step's
    gradients, optimizer state, saved activations and peak (see the module's docstring for what is modelled).

    ``trainable`` is None (everything trains), a set of layer paths, or a predicate on a layer's path.
    ``device`` (``cuda`` or ``cpu``) picks dropout's mask and the optimizer's default ``foreach`` (on CUDA)."""
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"no dtype '{dtype}'", hint=f"choose one of {', '.join(DTYPE_BYTES)}")
    if optimizer not in OPTIMIZER_STATE:
        raise UsageError(f"no optimizer '{optimizer}'", hint=f"choose one of {', '.join(OPTIMIZER_STATE)}")
    if device not in DEVICE_KINDS:
        raise UsageError(f"no device kind '{device}'", hint=f"choose one of {', '.join(DEVICE_KINDS)}")
    trains = _trainable_predicate(trainable)
    size = _Bytes(dtype, device)
    inference, layers_eval = _inference(network, batch, size)
    training = _Training(network, batch, size, trains, optimizer, device == "cuda" if foreach is None else foreach)
    if trainable is not None and not callable(trainable):
        known = {s.layer.path for s in training.steps}
        unknown = sorted(set(trainable) - known)
        if unknown:  # a misspelt or renamed path would silently freeze everything: refuse it
            raise UsageError(
                f"trainable names no layer of {network.name}: {', '.join(unknown[:3])}",
                hint="give layer paths as 'cnncost table' prints them (e.g. classifier.1)",
            )
    phases = training.run()
    weights = sum(s.params for s in training.steps) * 4
    act_by_path = {lm.path: lm.activation for lm in layers_eval}
    live_by_path = {lm.path: lm.live for lm in layers_eval}
    layers = tuple(
        LayerMemory(
            s.layer.path,
            s.layer.op,
            act_by_path.get(s.layer.path, 0),
            training.saved_by_step.get(i, 0),
            s.params,
            bool(s.params) and trains(s.layer.path),
            live_by_path.get(s.layer.path, 0),
        )
        for i, s in enumerate(training.steps)
    )
    return MemoryReport(
        name=network.name,
        batch=batch,
        dtype=dtype,
        optimizer=optimizer,
        device=device,
        layers=layers,
        weights=weights,
        weights_by_dtype=MappingProxyType(_weights_by_dtype(training.steps, weights, size, dtype)),
        trainable_params=training.trainable_params,
        input=training.input_bytes,
        activations=sum(lm.activation for lm in layers_eval),
        inference_peak=inference,
        gradients=training.trainable_params * 4,
        optimizer_state=training.trainable_params * 4 * OPTIMIZER_STATE[optimizer],
        saved=sum(training.saved_by_step.values()) + training.saved_input,
        saved_input=training.saved_input,
        autocast_copies=training.copies,
        training_peak=max(phases.values()),
        phase_peaks=MappingProxyType(phases),
    )


def _weights_by_dtype(steps: list[Step], weights: int, size: _Bytes, dtype: str) -> dict[str, int]:
    """The weights' bytes by dtype: the fp32 parameters and, under autocast, the low-precision copies of every
    conv and linear weight (cached by autocast for the pass)."""
    by_dtype = {"fp32": weights}
    if size.mixed:
        by_dtype[dtype] = sum(size.of(k, 1) for s in steps for k in s.saved.kept if k.dtype == "weight")
    return by_dtype


def _inference(network: ir.Network, batch: int, size: _Bytes) -> tuple[int, list[LayerMemory]]:
    """The peak of live activation bytes over an eval-mode forward pass (the input batch included), and each
    step's output bytes."""
    p = lower(network, training=False)
    steps, storage, x, out = p.steps, p.storage, p.x, p.out
    nbytes = [0] * len(p.sizes)
    for v, n in enumerate(p.sizes):
        if storage[v] == v:
            nbytes[v] = n * size.act * batch
    last = dict(p.last)
    last[storage[x]] = last[storage[out]] = len(steps)  # the caller holds its input and gets the output
    ends = _ends(last, len(steps))
    copies = 0
    live = nbytes[x]
    peak = live
    rows: list[LayerMemory] = []
    for i, s in enumerate(steps):
        own = storage[s.output] == s.output
        if own:
            live += nbytes[s.output]
        if size.mixed:  # autocast's cached low-precision weight copies stay until the pass ends
            copies += sum(size.of(k, batch) for k in s.saved.kept if k.dtype == "weight")
        during = live + copies + sum(size.of(k, batch) for k in s.saved.scratch_eval)
        peak = max(peak, during)
        for st in ends[i]:
            live -= nbytes[st]
        if own and last[s.output] < i:  # nothing reads it
            live -= nbytes[s.output]
        rows.append(LayerMemory(s.layer.path, s.layer.op, nbytes[s.output] if own else 0, 0, s.params, False, during))
    return peak, rows


def _ends(last: Mapping[int, int], n: int) -> list[list[int]]:
    """The storages whose last reader is each step."""
    ends: list[list[int]] = [[] for _ in range(n + 1)]
    for st, end in last.items():
        if 0 <= end < n:
            ends[end].append(st)
    return ends


class _Training:
    """The training step, simulated: live bytes through forward, backward and the optimizer step."""

    def __init__(
        self,
        network: ir.Network,
        batch: int,
        size: _Bytes,
        trains: Callable[[str], bool],
        optimizer: str,
        foreach: bool,
    ) -> None:
        self.program = lower(network, training=True)
        p = self.program
        self.steps, self.sizes, self.storage, self.x, self.out = p.steps, p.sizes, p.storage, p.x, p.out
        self.batch, self.size, self.optimizer, self.foreach = batch, size, optimizer, foreach
        self.trains = [bool(s.params) and trains(s.layer.path) for s in self.steps]
        self.trainable_params = sum(s.params for s, t in zip(self.steps, self.trains, strict=True) if t)
        self.saved_by_step: dict[int, int] = {}
        self.saved_input = 0
        self.copies = 0
        self.input_bytes = self.sizes[self.x] * size.act * batch

    def _bytes(self, v: int) -> int:
        return self.sizes[v] * self.size.act * self.batch

    def run(self) -> dict[str, int]:
        steps, storage = self.steps, self.storage
        n = len(steps)
        # Which values need a gradient: those a recording step wrote. A step records when one of its inputs
        # needs a gradient or its weights train.
        needs = [False] * len(self.sizes)
        records = [False] * n
        for i, s in enumerate(steps):
            records[i] = self.trains[i] or any(needs[v] for v in s.inputs)
            needs[s.output] = records[i]
        # Storage bytes, readers and keepers.
        nbytes = {storage[v]: self._bytes(v) for v in range(len(self.sizes)) if storage[v] == v}
        last = self.program.last
        held = {storage[self.x], storage[self.out]}  # the caller's input; the output, until after backward
        keepers: dict[int, int] = dict.fromkeys(nbytes, 0)  # recording steps keeping each storage
        kept_new: list[int] = [0] * n  # bytes of the new tensors each step keeps
        for i, s in enumerate(steps):
            if not records[i]:
                continue
            for k in self._kept(i):
                if k.what in (INPUT, OUTPUT, OTHER):
                    v = {INPUT: s.inputs[0], OUTPUT: s.output, OTHER: s.inputs[-1]}[k.what]
                    keepers[storage[v]] += 1
                else:
                    kept_new[i] += self.size.of(k, self.batch)
        # Per-step attribution of saved bytes (each kept storage once, at the step that wrote it).
        writer = {storage[s.output]: i for i, s in enumerate(steps) if storage[s.output] == s.output}
        for st, count in keepers.items():
            if count:
                if st in writer:
                    self.saved_by_step[writer[st]] = self.saved_by_step.get(writer[st], 0) + nbytes[st]
                else:
                    self.saved_input += nbytes[st]
        for i in range(n):
            copies = sum(self.size.of(k, self.batch) for k in steps[i].saved.kept if k.dtype == "weight")
            own_new = kept_new[i] - (copies if records[i] else 0)
            if own_new:
                self.saved_by_step[i] = self.saved_by_step.get(i, 0) + own_new
            if records[i]:
                self.copies += copies

        weights = sum(s.params for s in steps) * 4
        # ---- forward
        ends = _ends(last, n)
        live = nbytes[storage[self.x]]
        alive = {storage[self.x]}
        forward_peak = live
        for i, s in enumerate(steps):
            st = storage[s.output]
            if st not in alive:
                alive.add(st)
                live += nbytes[st]
            live += kept_new[i] if records[i] else 0
            forward_peak = max(forward_peak, live + sum(self.size.of(k, self.batch) for k in s.saved.scratch))
            for v in [st, *ends[i]]:
                if v in alive and last[v] <= i and not keepers[v] and v not in held:
                    alive.discard(v)
                    live -= nbytes[v]
        # the loss: cross-entropy keeps its log-softmax (the output's size) on a vector output
        loss = self._bytes(self.out) if len(steps[-1].layer.out_shape) == 1 else 0
        live += loss
        forward_peak = max(forward_peak, live)
        # ---- backward
        # the gradient storage (a key) of each value still waiting for its producer, the values sharing each
        # storage, and its bytes
        grads: dict[int, Any] = {self.out: "loss"}
        grad_refs: dict[Any, int] = {"loss": 1}
        grad_bytes: dict[Any, int] = {"loss": self._bytes(self.out)}
        live += grad_bytes["loss"]
        backward_peak = live
        live -= loss  # log-softmax released by the loss's backward
        for i in range(n - 1, -1, -1):
            s = steps[i]
            if not records[i]:
                continue
            made = 0
            op = s.layer.op
            g_out = grads.get(s.output)
            for v in dict.fromkeys(s.inputs):
                if not needs[v]:
                    continue
                if g_out is not None and (op in ("add", "concat") or storage[v] == storage[s.output]):
                    g = g_out  # passed on (an addition) or a view of it (a concat's slice, a view's gradient)
                    fresh = 0
                else:
                    g = (i, v)
                    fresh = self._bytes(v)
                if v in grads:  # another reader's gradient is there: accumulated in place, this one dropped
                    made = max(made, fresh)
                    continue
                grads[v] = g
                grad_refs[g] = grad_refs.get(g, 0) + 1
                if fresh:
                    grad_bytes[g] = fresh
                    live += fresh
            if self.trains[i]:
                live += s.params * 4
            scratch = self._backward_scratch(s)
            backward_peak = max(backward_peak, live + made + scratch)
            # release: the output's gradient and what this step kept
            if g_out is not None:
                del grads[s.output]
                grad_refs[g_out] -= 1
                if not grad_refs[g_out]:
                    live -= grad_bytes.pop(g_out, 0)
            live -= kept_new[i]
            for k in self._kept(i):
                if k.what in (INPUT, OUTPUT, OTHER):
                    v = {INPUT: s.inputs[0], OUTPUT: s.output, OTHER: s.inputs[-1]}[k.what]
                    st = storage[v]
                    keepers[st] -= 1
                    if not keepers[st] and st in alive and st not in held:
                        alive.discard(st)
                        live -= nbytes[st]
        # ---- optimizer step: weights, gradients, state and the step's temporaries; the input batch held
        trainable = self.trainable_params * 4
        state = trainable * OPTIMIZER_STATE[self.optimizer]
        temporaries = 0
        if self.optimizer in ("adam", "adamw"):
            largest = max((s.weight for s, t in zip(steps, self.trains, strict=True) if t), default=0) * 4
            temporaries = trainable if self.foreach else 2 * largest
        base = weights + state
        step_peak = base + nbytes[storage[self.x]] + trainable + temporaries
        return {
            "forward": base + forward_peak,
            "backward": base + backward_peak,
            "step": step_peak,
        }

    def _kept(self, i: int) -> list[Kept]:
        """What step ``i`` keeps, given whether its weights train."""
        return [k for k in self.steps[i].saved.kept if self.trains[i] or not k.if_trained]

    def _backward_scratch(self, s: Step) -> int:
        """Tensors a step's backward makes and drops at once: a product's weight gradient is the full-size
        product first (γ·x, x·g(x)), then summed down."""
        if s.layer.op in ("layer_scale", "multiply"):
            return self._bytes(s.inputs[0])
        return 0


# ------------------------------------------------------------------------------------------- will it fit

#: Memory of the devices in the bench peaks table (``cnncost.bench.peaks``), by its row names, in GiB: the
#: datasheets' "GB" of GPU memory are binary (an 80 GB A100 reports 81,920 MiB). A V100 is taken as its 16 GB
#: card (give ``--device-memory 32GiB`` for the 32 GB one).
DEVICE_MEMORY_GIB: dict[str, int] = {
    "NVIDIA H100 NVL": 94,
    "NVIDIA H100 PCIe": 80,
    "NVIDIA H100 SXM": 80,
    "NVIDIA H200 NVL": 141,
    "NVIDIA H200 SXM": 141,
    "NVIDIA A100 80GB PCIe": 80,
    "NVIDIA A100 80GB SXM": 80,
    "NVIDIA A100 40GB": 40,
    "NVIDIA L40S": 48,
    "NVIDIA L4": 24,
    "NVIDIA A10": 24,
    "NVIDIA T4": 16,
    "NVIDIA V100 PCIe": 16,
    "NVIDIA V100 SXM2": 16,
    "NVIDIA GeForce RTX 4090": 24,
}

_UNITS = {
    "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
_SIZE_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")


def parse_bytes(text: str) -> int | None:
    """``24GiB``, ``80 GB``, ``512MiB``, ``1.5TiB`` → bytes (GB = 10⁹, GiB = 2³⁰); None when ``text`` is not a
    number with a unit; a UsageError for a unit it does not know or a size that is not positive."""
    found = _SIZE_TEXT.match(text)
    if found is None:
        if re.match(r"^\s*[-+]?\d", text):
            raise UsageError(
                f"--device-memory '{text}' is not a size", hint="give a positive number and a unit, e.g. 24GiB or 80GB"
            )
        return None
    number, unit = float(found.group(1)), found.group(2).lower()
    if unit not in _UNITS:
        raise UsageError(
            f"--device-memory '{text}': no unit '{found.group(2)}'", hint="use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
        )
    nbytes = int(number * _UNITS[unit])
    if nbytes <= 0:
        raise UsageError(f"--device-memory '{text}' is not a positive size", hint="e.g. 24GiB")
    return nbytes


def largest_batch(network: ir.Network, budget: int, *, train: bool, **options: Any) -> int | None:
    """The largest batch (up to ``MAX_BATCH``) whose peak fits in ``budget`` bytes — a training step's with
    ``train``, else the weights and the inference peak — or None when batch 1 does not fit. Bytes grow with the
    batch, so a binary search: at most about 20 evaluations of the model."""

    def needs(batch: int) -> int:
        m = memory(network, batch=batch, **options)
        return m.training_peak if train else m.weights + m.inference_peak

    if needs(1) > budget:
        return None
    low, high = 1, MAX_BATCH
    if needs(high) <= budget:
        return high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if needs(mid) <= budget else (low, mid)
    return low
