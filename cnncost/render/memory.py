"""Memory output (``cnncost table NAME --memory``, ``--device-memory``): the per-layer bytes table, the summary
beneath it, and the one "will it fit" line; JSON and CSV carry the same figures as exact bytes.

The result rendered is a :class:`MemoryView`: the layer report, the memory report, what ``--train`` asked for,
and the device's memory when one was given. Bytes become text only through ``numbers.size``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.frozen import frozen
from cnncost.render import numbers as num

if TYPE_CHECKING:
    from cnncost.analysis.memory import MemoryReport
    from cnncost.analysis.records import Report


@frozen
class Fit:
    """A device's memory to hold the figures against: its bytes and how the user named it."""

    nbytes: int
    label: str  # as the user gave it: a size (24GiB) or the device's name
    named: bool = False  # a device, named by the peaks table
    #: the largest batch whose peak fits (None: not even batch 1; or not searched)
    largest_batch: int | None = None


@frozen
class MemoryView:
    report: Report
    memory: MemoryReport
    train: bool
    table: bool  # the per-layer memory table (--memory); else the layer report's own table
    fit: Fit | None = None

    @property
    def needed(self) -> int:
        """Bytes the asked-for pass needs: a training step's peak, or the weights (with autocast's copies) and the
        inference peak."""
        m = self.memory
        return m.training_peak if self.train else m.weights + m.inference_peak


def _precision(m: MemoryReport) -> str:
    if not m.mixed_precision:
        return "fp32"
    return f"{m.dtype} autocast, fp32 weights"


def _what(view: MemoryView) -> str:
    m = view.memory
    if view.train:
        return f"a training step at batch {m.batch} ({_precision(m)}, {m.optimizer})"
    return f"inference at batch {m.batch} ({_precision(m)})"


def fit_line(view: MemoryView) -> str | None:
    """One sentence: does the pass fit in the device's memory, with how much to spare or short."""
    fit = view.fit
    if fit is None:
        return None
    need, have = view.needed, fit.nbytes
    verdict = "fits" if need <= have else "does NOT fit"
    where = f"the {fit.label} ({num.size(have)})" if fit.named else num.size(have)
    if need <= have:
        margin = f"{num.size(have - need)} to spare"
    elif fit.largest_batch is not None:
        margin = f"{num.size(need - have)} short — batch {fit.largest_batch} fits"
    else:
        margin = f"{num.size(need - have)} short, even at batch 1"
    share = num.share(need / have)
    return f"{verdict} in {where}: {_what(view)} needs {num.size(need)} ({share}), {margin} (tensors only)"


def summary_rows(view: MemoryView) -> list[list[str]]:
    """The memory summary: what the figures are and their bytes."""
    m = view.memory
    rows = [
        ["weights", num.integer(m.weights), num.size(m.weights), f"{num.integer(m.weights // 4)} params in fp32"],
        *(
            [f"  {dtype} copies", num.integer(n), num.size(n), "autocast's conv/linear weights"]
            for dtype, n in m.weights_by_dtype.items()
            if dtype != "fp32"
        ),
        ["input", num.integer(m.input), num.size(m.input), f"the batch of {m.batch}, {m.dtype}"],
        ["activations", num.integer(m.activations), num.size(m.activations), "every layer's output, summed"],
        ["inference peak", num.integer(m.inference_peak), num.size(m.inference_peak),
         "live activations at once (eval)" + (", with autocast copies" if m.mixed_precision else "")],
    ]
    if view.train:
        rows += [
            ["gradients", num.integer(m.gradients), num.size(m.gradients),
             f"{num.integer(m.trainable_params)} trainable params"],
            ["optimizer state", num.integer(m.optimizer_state), num.size(m.optimizer_state), m.optimizer],
            ["saved for backward", num.integer(m.saved), num.size(m.saved), "activations kept by the ops"],
        ]
        rows.append(["training peak", num.integer(m.training_peak), num.size(m.training_peak),
                     f"live at once, in the {m.peak_phase}"])
    return rows


def _saved_column(view: MemoryView) -> bool:
    return view.train


def memory_table(view: MemoryView, *, width: int = 120, color: bool = False, **options: Any) -> str:
    """``--memory``: bytes per layer and the summary; ``--device-memory`` alone: the layer report's table (the
    train view with ``--train``, as ``cnncost table --train`` prints it) with the fit line beneath."""
    from cnncost.render import report_table
    from cnncost.render.table import Column, dropped_lines, grid, join, layout, styled, wrap_line

    lines: list[str] = []
    if not view.table:
        text = report_table(view.report, width=width, color=color, train=view.train, **options)
        line = fit_line(view)
        return text + (join(wrap_line(line, width)) if line else "")
    m = view.memory
    title = f"{m.name} — memory at batch {m.batch}, {_precision(m)}"
    lines += wrap_line(title, width, "bold", color)
    lines.append("")
    columns = [
        Column("layer", flexible=True, min_width=12),
        Column("op", drop=1),
        Column("activations", "right", footer=num.size(m.activations)),
    ]
    if _saved_column(view):
        columns.append(Column("saved", "right", footer=num.size(m.saved)))
    columns[0] = Column("layer", flexible=True, min_width=12, footer="total")
    rows = []
    if _saved_column(view) and m.saved_input:
        rows.append(["(input)", "", "", num.size(m.saved_input)])
    for r in m.layers:
        row = [r.path, r.op, num.size(r.activation) if r.activation else ""]
        if _saved_column(view):
            row.append(num.size(r.saved) if r.saved else "")
        rows.append(row)
    laid = layout(columns, rows, width=width, color=color)
    lines += laid.lines
    lines += dropped_lines(laid.dropped, width, color)
    lines.append("")
    label = Column("")
    lines += grid([label, Column("", "right"), Column("", "right"), Column("", flexible=True, min_width=12)],
                  summary_rows(view), width=width, color=color, gap=2, rules=False)
    notes = (
        "activations: a layer's output for the batch (none for a view of its input); saved: what a training "
        "step keeps of it for backward (and the layer's own kept tensors: indices, statistics, masks)"
        if view.train
        else "activations: a layer's output for the batch (none for a view of its input)"
    )
    lines += [""] + [styled(x, "dim", color) for x in wrap_line(notes, width)]
    verified = options.get("verified")
    if verified is not None:
        from cnncost.render import verify_line

        lines += wrap_line(verify_line(verified), width, None if verified.ok else "red", color)
    line = fit_line(view)
    if line:
        lines += wrap_line(line, width, None if view.needed <= (view.fit.nbytes if view.fit else 0) else "red",
                           color)
    return join(lines)


def memory_dict(view: MemoryView) -> dict[str, Any]:
    """The ``memory`` object of the JSON output: exact bytes."""
    m = view.memory
    data: dict[str, Any] = {
        "unit": "bytes",
        "batch": m.batch,
        "dtype": m.dtype,
        "mixed_precision": m.mixed_precision,
        "optimizer": m.optimizer,
        "device_kind": m.device,
        "train": view.train,
        "weights": m.weights,
        "weights_by_dtype": dict(m.weights_by_dtype),
        "input": m.input,
        "activations": m.activations,
        "inference_peak": m.inference_peak,
        "trainable_params": m.trainable_params,
        "gradients": m.gradients,
        "optimizer_state": m.optimizer_state,
        "saved_for_backward": m.saved,
        "autocast_copies": m.autocast_copies,
        "training_peak": m.training_peak,
        "training_peak_phase": m.peak_phase,
        "phase_peaks": dict(m.phase_peaks),
        "needed": view.needed,
        "layers": [
            {"path": r.path, "op": r.op, "activation": r.activation, "saved": r.saved} for r in m.layers
        ],
    }
    if view.fit is not None:
        data["device_memory"] = {
            "label": view.fit.label,
            "device": view.fit.named,
            "bytes": view.fit.nbytes,
            "fits": view.needed <= view.fit.nbytes,
            "largest_batch": view.fit.largest_batch,
        }
    return data


def memory_json(view: MemoryView, **options: Any) -> str:
    """The layer report's JSON with a ``memory`` object."""
    from cnncost.render import formats

    data = formats.report_dict(view.report, depth=options.get("depth"))
    data["memory"] = memory_dict(view)
    return formats.dumps(data)


CSV_COLUMNS = ["path", "op", "activation_bytes", "saved_bytes"]


def memory_csv(view: MemoryView, **options: Any) -> str:
    """One row per layer (and merge): its output's bytes and what it brings to the saved-for-backward total; the
    columns sum to the totals (the input batch, when the first layer keeps it, is in the JSON's total only)."""
    from cnncost.render.formats import csv_text

    return csv_text(CSV_COLUMNS, [[r.path, r.op, r.activation, r.saved] for r in view.memory.layers])
