"""``cnncost gradients`` as text: per network, a table of gradient norms by weight layer and one of output scales
by block; then one summary row per network with the first/last gradient ratio. JSON and CSV carry the same.

JSON layout::

    {"schema_version": 1, "shape_order": "HWC", "measure": "...", "batch": 32, "seed": 0, "init": "default",
     "networks": [{"name": "plain56", "description": "...", "input": [32, 32, 3], "variables": {...},
                   "loss": 2.33, "first_last_ratio": 1142.3, "input_std": 1.0,
                   "layers": [{"index": 1, "path": "conv1", "op": "conv", "weights": 432, "grad_norm": ...,
                               "weight_norm": ...}, ...],
                   "blocks": [{"path": "layer1.0", "op": "sequence", "output": [32, 32, 16], "std": ...}, ...]}]}

CSV: one row per measurement, ``network,measure,index,path,op,value`` with ``measure`` either ``grad_norm`` (of a
weight layer, ``index`` 1 = nearest the input) or ``output_std`` (of a block, ``index`` in forward order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cnncost.render import SCHEMA_VERSION
from cnncost.render import numbers as num

if TYPE_CHECKING:
    from cnncost.torch.gradients import GradientReport

MEASURE = (
    "at initialization, in training mode: one batch of random N(0, 1) inputs with random labels, mean "
    "cross-entropy loss; L2 norm of each weight layer's weight gradient (biases aside), standard deviation of "
    "each block's output over the batch"
)


def _setting(reports: Sequence[GradientReport]) -> str:
    first = reports[0]
    return f"init {first.init} · batch {first.batch} · seed {first.seed}"


def _plot_title(reports: Sequence[GradientReport]) -> str:
    switches = {next((r.variables[k] for k in ("bn", "batchnorm") if k in r.variables), None) for r in reports}
    bn = "" if len(switches) != 1 or None in switches else f" · batchnorm {'on' if switches.pop() else 'off'}"
    return _setting(reports) + bn


def ratio_text(report: GradientReport) -> str:
    return (
        f"{num.scientific(report.ratio)} ({report.first.path} {num.scientific(report.first.grad_norm)} / "
        f"{report.last.path} {num.scientific(report.last.grad_norm)})"
    )


def gradients_table(reports: Sequence[GradientReport], *, width: int = 120, color: bool = False, **_: Any) -> str:
    from cnncost.render.table import Column, join, styled, wrap_line
    from cnncost.render.table import layout as lay

    lines: list[str] = []
    for report in reports:
        head = f"{report.name} — {report.description}" if report.description else report.name
        lines += [styled(line, "bold", color) for line in wrap_line(head, width)]
        bn = report.variables.get("bn")
        extra = "" if bn is None else f" · batchnorm {'on' if bn else 'off'}"
        lines += wrap_line(
            f"input {num.shape(report.input_shape)} · {_setting([report])}{extra} · loss {report.loss:.4f}", width
        )
        lines.append("")
        columns = [
            Column("#", "right"),
            Column("weight layer", flexible=True, min_width=8),
            Column("op", drop=1),
            Column("weights", "right", drop=2),
            Column("grad norm", "right"),
        ]
        rows = [
            [str(r.index), r.path, r.op, num.integer(r.weights), num.scientific(r.grad_norm)] for r in report.layers
        ]
        laid = lay(columns, rows, width=width, color=color)
        lines += laid.lines
        lines += wrap_line(f"first/last gradient norm: {ratio_text(report)}", width, "bold", color)
        lines.append("")
        block_columns = [
            Column("block", flexible=True, min_width=8),
            Column("kind", drop=1),
            Column("output", "right"),
            Column("output std", "right"),
        ]
        block_rows = [["input", "", num.shape(report.input_shape), num.scientific(report.input_std)]]
        block_rows += [[b.path, b.op, num.shape(b.output_shape), num.scientific(b.std)] for b in report.blocks]
        laid_blocks = lay(block_columns, block_rows, width=width, color=color)
        lines += laid_blocks.lines
        dropped = sorted(set(laid.dropped) | set(laid_blocks.dropped))
        if dropped:
            names = ", ".join(f"'{d}'" for d in dropped)
            lines += wrap_line(
                f"left out to fit {width} columns: {names} — add --wide (or widen the terminal) to see them",
                width,
                "yellow",
                color,
            )
        lines.append("")
    lines += summary_lines(reports, width=width, color=color)
    lines += wrap_line("measured " + MEASURE, width, "dim", color)
    return join(lines)


def summary_lines(reports: Sequence[GradientReport], *, width: int, color: bool) -> list[str]:
    from cnncost.render.table import Column, grid

    columns = [
        Column("network", flexible=True, min_width=8),
        Column("layers", "right"),
        Column("loss", "right"),
        Column("first grad", "right"),
        Column("last grad", "right"),
        Column("first/last", "right"),
    ]
    rows = [
        [
            r.name,
            str(len(r.layers)),
            f"{r.loss:.4f}",
            num.scientific(r.first.grad_norm),
            num.scientific(r.last.grad_norm),
            num.scientific(r.ratio),
        ]
        for r in reports
    ]
    return grid(columns, rows, width=width, color=color)


def report_dict(report: GradientReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "description": report.description,
        "input": list(report.input_shape),
        "variables": {k: (list(v) if isinstance(v, tuple) else v) for k, v in report.variables.items()},
        "loss": report.loss,
        "first_last_ratio": report.ratio,
        "input_std": report.input_std,
        "layers": [
            {
                "index": r.index,
                "path": r.path,
                "op": r.op,
                "weights": r.weights,
                "grad_norm": r.grad_norm,
                "weight_norm": r.weight_norm,
            }
            for r in report.layers
        ],
        "blocks": [{"path": b.path, "op": b.op, "output": list(b.output_shape), "std": b.std} for b in report.blocks],
    }


def gradients_json(reports: Sequence[GradientReport], **_: Any) -> str:
    from cnncost.render.formats import dumps

    first = reports[0]
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "shape_order": "HWC",
            "measure": MEASURE,
            "batch": first.batch,
            "seed": first.seed,
            "init": first.init,
            "networks": [report_dict(r) for r in reports],
        }
    )


def gradients_csv(reports: Sequence[GradientReport], **_: Any) -> str:
    from cnncost.render.formats import csv_text

    rows: list[list[Any]] = []
    for report in reports:
        rows += [[report.name, "grad_norm", r.index, r.path, r.op, r.grad_norm] for r in report.layers]
        rows += [[report.name, "output_std", i, b.path, b.op, b.std] for i, b in enumerate(report.blocks, start=1)]
    return csv_text(["network", "measure", "index", "path", "op", "value"], rows)


def gradients_plot(reports: Sequence[GradientReport], path: str) -> None:
    """Two panels, one line per network: the gradient norm of each weight layer (input → output) and the output
    std of each block (0 = the input), both on log scales."""
    from cnncost.render.plot import Panel, Series, save_lines

    grads = Panel(
        "gradient norm per weight layer at initialization",
        "weight layer (1 = nearest the input)",
        "‖∂loss/∂W‖",
        [Series(r.name, [x.index for x in r.layers], [x.grad_norm for x in r.layers]) for r in reports],
        log_y=True,
    )
    scales = Panel(
        "forward activation scale per block",
        "block (0 = the input)",
        "std of the block's output",
        [
            Series(r.name, list(range(len(r.blocks) + 1)), [r.input_std, *(b.std for b in r.blocks)])
            for r in reports
        ],
        log_y=True,
    )
    save_lines(path, [grads, scales], title=_plot_title(reports), feature="cnncost gradients --output")
