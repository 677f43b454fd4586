"""Rich tables for the terminal: the per-layer table, the library listing and the op registry.

Each function returns the complete text; the caller prints it in one go. Widths are fixed by the caller
(``width``), so the same report renders the same way in a terminal, a pipe and a golden test.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from cnncost.analysis.records import Report
from cnncost.render import CONVENTION
from cnncost.render import numbers as num
from cnncost.render.formats import header_lines, op_label, other_summary


def to_text(renderables: Iterable[RenderableType], *, width: int, color: bool = False) -> str:
    """Render rich objects to a string at a fixed width (ANSI colour codes only when ``color``).

    Without colour, trailing spaces are removed from every line, so the text diffs cleanly.
    """
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
        force_jupyter=False,
        force_interactive=False,
    )
    for item in renderables:
        console.print(item)
    text = buffer.getvalue()
    if not color:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text


def new_table(**kwargs: Any) -> Table:
    """The house table style: a rule under the header (and above the footer), no outer frame."""
    return Table(box=box.SIMPLE, show_edge=False, pad_edge=False, header_style="bold", **kwargs)


def totals_grid(report: Report) -> Table:
    """params, MACs, FLOPs and other ops of the whole report, exact and in short form."""
    t = report.totals
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("params", num.integer(t.params), num.si(t.params), "")
    grid.add_row("MACs", num.integer(t.macs), num.si(t.macs), "")
    grid.add_row("FLOPs", num.integer(t.flops), num.si(t.flops), "2 × MACs")
    grid.add_row("other ops", num.integer(t.other_ops), num.si(t.other_ops), other_summary(t.other))
    return grid


def report_table(report: Report, *, depth: int | None = None, width: int = 120) -> Table:
    """The per-layer table (or collapsed rows at ``depth``) with a totals row as its footer.

    The formula column is left out when ``width`` leaves it less than 16 characters.
    """
    records = report.collapsed(depth)
    t = report.totals
    rows = [
        [
            r.path,
            op_label(r),
            num.shape(r.output_shape),
            num.integer(r.params),
            num.integer(r.macs),
            num.percent(r.macs, t.macs) if r.macs else "",
        ]
        for r in records
    ]
    footer = ["total", "", num.shape(report.output_shape), num.integer(t.params), num.integer(t.macs)]
    footer.append(num.percent(t.macs, t.macs))
    header = ["layer", "op", "output", "params", "MACs", "% MACs"]
    widths = [max(len(row[i]) for row in [header, footer, *rows]) for i in range(len(header))]
    show_formula = width - (sum(widths) + 3 * len(widths)) >= 16
    table = new_table(show_footer=True, footer_style="bold")
    for i, name in enumerate(header):
        numeric = i >= 2
        table.add_column(
            name,
            footer[i],
            justify="right" if numeric else "left",
            no_wrap=numeric,
            overflow="fold",
            min_width=min(widths[i], 24),
        )
    if show_formula:
        table.add_column("formula" if report.batch == 1 else "formula (per image)", overflow="fold")
        for row, r in zip(rows, records):
            row.append(r.formula or "")
    for row in rows:
        table.add_row(*row)
    return table


def render_report(report: Report, *, depth: int | None = None, width: int = 120, color: bool = False) -> str:
    """The whole ``cnncost table`` output: header, table with totals, FLOPs and other ops, convention."""
    parts: list[RenderableType] = [Text(line) for line in header_lines(report)]
    parts.append(Text(""))
    parts.append(report_table(report, depth=depth, width=width))
    parts.append(Text(""))
    parts.append(totals_grid(report))
    parts.append(Text(""))
    parts.append(Text(f"convention: {CONVENTION}", style="dim"))
    return to_text(parts, width=width, color=color)


def render_library(reports: Sequence[Report], *, width: int = 120, color: bool = False) -> str:
    """``cnncost list``: one row per bundled network with its description, input, params and MACs."""
    table = new_table()
    table.add_column("network", no_wrap=True)
    table.add_column("input", justify="right", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    table.add_column("description", overflow="fold", )
    for r in reports:
        table.add_row(
            r.name,
            num.shape(r.input_shape),
            num.si(r.totals.params),
            num.si(r.totals.macs),
            r.description,
        )
    footer = Text(f"{len(reports)} networks · MACs per image at the default input size", style="dim")
    return to_text([table, footer], width=width, color=color)


def render_ops(ops: Sequence[Mapping[str, Any]], *, width: int = 120, color: bool = False) -> str:
    """``cnncost ops``: each op a spec may use, its arguments with defaults, and what it does.

    ``ops`` are the plain dictionaries of ``cnncost.render.formats.op_rows``.
    """
    table = new_table()
    table.add_column("op", no_wrap=True)
    table.add_column("category", no_wrap=True)
    table.add_column("arguments (default)", overflow="fold", )
    table.add_column("summary", overflow="fold", )
    for op in ops:
        args = ", ".join(_argument_text(a) for a in op["arguments"])
        table.add_row(op["name"], op["category"], args or num.NONE, op["summary"])
    return to_text([table], width=width, color=color)


def _argument_text(arg: Mapping[str, Any]) -> str:
    if arg["required"]:
        return f"{arg['name']} (required)"
    default = arg["default"]
    return f"{arg['name']}={'auto' if default is None else num.plain(default)}"
