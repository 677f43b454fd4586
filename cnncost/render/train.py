"""The training side of a report (``cnncost.analysis.training``): the trainable column and totals any table
shows once layers were chosen to train or freeze, the ``--train`` view (forward + backward per image and per
step, the ratio to inference, other ops by category, and what the figures assume), and the JSON / CSV fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnncost.analysis.records import Record, Report
from cnncost.analysis.training import Training, TrainRow
from cnncost.render import numbers as num
from cnncost.render.formats import header_lines, op_label, ordered_other
from cnncost.render.table import FULL_WIDTH, Column, dropped_lines, grid, join, layout, wrap_line

#: The order a narrow terminal drops columns of the train view (``--wide`` shows them all).
TRAIN_DROP_ORDER = ("∇weights", "∇input", "op", "trainable")


def rows_by_path(training: Training) -> dict[str, TrainRow]:
    return {row.path: row for row in training.rows}


def trainable_cell(record: Record, row: TrainRow) -> str:
    """A row's trainable parameters (blank for a row without parameters)."""
    return num.integer(row.trainable_params) if record.params else ""


def params_lines(training: Training, *, color: bool = False) -> list[str]:
    """Trainable and frozen parameters, beneath any table of a report with a training analysis."""
    rows = [
        ["trainable params", num.integer(training.trainable_params), num.si(training.trainable_params), ""],
        ["frozen params", num.integer(training.frozen_params), num.si(training.frozen_params), ""],
    ]
    columns = [Column(""), Column("", "right"), Column("", "right"), Column("")]
    return grid(columns, rows, width=10_000, color=color, gap=2, rules=False)


def _share(part: int, whole: int) -> str:
    small = whole and 0 < part < whole // 100
    return num.percent(part, whole, digits=4 if small else 1)


def step_lines(training: Training, *, width: int, color: bool = False) -> list[str]:
    """Per image and per step: forward, backward (input and weight gradients), the step, its ratio to
    inference; other ops by category, forward and backward."""
    batch = training.batch
    total = training.total
    per = [
        ("forward MACs", training.forward_macs),
        ("backward MACs", training.backward_macs),
        ("  ∇input", total.grad_input_macs),
        ("  ∇weights", total.grad_weight_macs),
        ("training step MACs", training.step_macs),
        ("training step FLOPs", 2 * training.step_macs),
    ]
    rows = [[label, num.integer(n // batch), num.integer(n), num.si(n)] for label, n in per]
    forward_other = ordered_other(training.forward_other)
    backward_other = ordered_other(total.other)
    for title, other in (("other ops, forward", forward_other), ("other ops, backward", backward_other)):
        n = sum(other.values())
        rows.append([title, num.integer(n // batch), num.integer(n), num.si(n)])
        rows += [[f"  {c}", num.integer(v // batch), num.integer(v), num.si(v)] for c, v in other.items()]
    columns = [
        Column(""),
        Column("per image", "right"),
        Column(f"per step (batch {batch})", "right"),
        Column("", "right"),
    ]
    lines = grid(columns, rows, width=width, color=color, gap=2)
    ratio = num.ratio(training.step_macs, training.forward_macs, digits=2)
    lines.append("")
    lines += wrap_line(
        f"a training step is {ratio} inference's MACs: backward adds "
        f"{_share(training.backward_macs, training.forward_macs)} to the forward pass",
        width,
    )
    return lines


def train_layout(report: Report, training: Training, *, depth: int | None, width: int, color: bool) -> Any:
    records = report.collapsed(depth)
    by_path = rows_by_path(training)
    total = training.total
    rows = []
    for r in records:
        row = by_path[r.path]
        rows.append(
            [
                r.path,
                op_label(r),
                trainable_cell(r, row),
                num.integer(r.macs),
                num.integer(row.grad_input_macs) if row.grad_input_macs else "",
                num.integer(row.grad_weight_macs) if row.grad_weight_macs else "",
                num.integer(row.backward_macs),
            ]
        )
    columns = [
        Column("layer", footer="total"),
        Column("op", footer="", drop=TRAIN_DROP_ORDER.index("op")),
        Column("trainable", "right", num.integer(total.trainable_params), drop=TRAIN_DROP_ORDER.index("trainable")),
        Column("forward MACs", "right", num.integer(training.forward_macs)),
        Column("∇input", "right", num.integer(total.grad_input_macs), drop=TRAIN_DROP_ORDER.index("∇input")),
        Column("∇weights", "right", num.integer(total.grad_weight_macs), drop=TRAIN_DROP_ORDER.index("∇weights")),
        Column("backward MACs", "right", num.integer(training.backward_macs)),
    ]
    return layout(columns, rows, width=width, color=color)


def render_train(
    report: Report, *, depth: int | None = None, width: int = 120, color: bool = False, wide: bool = False
) -> str:
    """``cnncost table NAME --train``: per layer, trainable params and forward / backward MACs; beneath, the step
    per image and per batch, its ratio to inference, other ops by category, and what the figures assume."""
    training = report.training
    if training is None:
        raise ValueError("the train view needs a report with a training analysis")
    if wide:
        width = FULL_WIDTH
    lines: list[str] = []
    for line in header_lines(report):
        lines += wrap_line(line, width)
    lines.append("")
    table = train_layout(report, training, depth=depth, width=width, color=color)
    lines += table.lines
    lines.append("")
    lines += step_lines(training, width=width, color=color)
    lines.append("")
    lines += params_lines(training, color=color)
    if table.dropped:
        lines += ["", *dropped_lines(table.dropped, width, color)]
    lines.append("")
    lines += wrap_line(f"assumes: {training.assumptions()}", width, "dim", color)
    lines += wrap_line(
        "backward MACs: ∇input = grad_out ⋆ W where the input needs a gradient, ∇weights = grad_out ⋆ x for "
        "trainable layers, each the size of the forward product (README: the counting convention); forward other ops "
        "as at inference (a training forward's batch statistics and dropout masks are not counted)",
        width,
        "dim",
        color,
    )
    return join(lines)


# -------------------------------------------------------------------------------------------- machine output


def row_fields(row: TrainRow) -> dict[str, Any]:
    """The training fields of one JSON row."""
    return {
        "trainable_params": row.trainable_params,
        "frozen_params": row.frozen_params,
        "input_grad": row.input_grad,
        "weight_grad": row.weight_grad,
        "backward_macs": row.backward_macs,
        "grad_input_macs": row.grad_input_macs,
        "grad_weight_macs": row.grad_weight_macs,
        "backward_other": ordered_other(row.other),
    }


def training_dict(training: Training) -> dict[str, Any]:
    """The ``training`` object of a report's JSON (whole batch, like the report's other figures); of a PyTorch
    module's report, its trainable and frozen parameters only (``requires_grad``)."""
    if training.source == "requires_grad":
        return {
            "selection": "requires_grad",
            "trainable_params": training.trainable_params,
            "frozen_params": training.frozen_params,
        }
    return {
        "selection": training.options.describe() if training.source == "options" else "requires_grad",
        "bn": training.options.bn,
        "first_input_grad": training.first_input_grad,
        "trainable_params": training.trainable_params,
        "frozen_params": training.frozen_params,
        "forward_macs": training.forward_macs,
        "backward_macs": training.backward_macs,
        "grad_input_macs": training.total.grad_input_macs,
        "grad_weight_macs": training.total.grad_weight_macs,
        "step_macs": training.step_macs,
        "step_flops": 2 * training.step_macs,
        "ratio_to_inference": num.ratio_value(training.step_macs, training.forward_macs),
        "backward_other": ordered_other(training.total.other),
        "assumes": training.assumptions(),
    }


def add_to_json(data: dict[str, Any], report: Report) -> dict[str, Any]:
    """``data`` (a report's JSON object) with the training fields in each row and a ``training`` object, when
    the report has a training analysis; unchanged otherwise."""
    if report.training is None:
        return data
    by_path = rows_by_path(report.training)
    for row in data["layers"]:
        fields = row_fields(by_path[row["name"]])
        if report.training.source == "requires_grad":
            fields = {k: fields[k] for k in ("trainable_params", "frozen_params")}
        row.update(fields)
    data["training"] = training_dict(report.training)
    return data


CSV_TRAIN_COLUMNS = ("trainable_params", "frozen_params", "backward_macs", "grad_input_macs", "grad_weight_macs")


def csv_extra(report: Report, records: Sequence[Record]) -> tuple[tuple[str, ...], list[list[int]]]:
    """The training columns of a report's CSV (none without a training analysis), row by row."""
    if report.training is None:
        return (), [[] for _ in records]
    by_path: Mapping[str, TrainRow] = rows_by_path(report.training)
    cells = []
    for r in records:
        row = by_path[r.path]
        cells.append(
            [
                row.trainable_params,
                row.frozen_params,
                row.backward_macs,
                row.grad_input_macs,
                row.grad_weight_macs,
            ]
        )
    return CSV_TRAIN_COLUMNS, cells
