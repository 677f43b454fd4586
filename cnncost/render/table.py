"""Tables for the terminal: the per-layer table, the library listing and the op registry.

Each function returns the complete text; the caller prints it in one go. Widths are fixed by the caller
(``width``), so the same report renders the same way in a terminal, a pipe and a golden test.

The tables are laid out by ``grid``, a small fixed-width layout in the style of rich's ``box.SIMPLE`` tables (a
rule under the header and above the totals, three spaces between columns, one flexible column that wraps).
A per-layer table can have thousands of rows (ResNet-1202 has about 4,000 layers); rich's Table measures and
renders every cell as rich text, which costs about 60 ms for ResNet-50's 169 rows, more than the whole analysis,
while ``grid`` takes well under a millisecond. Rich stays available through ``to_text``/``new_table`` for
renderers whose tables are small.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnncost.analysis.records import Report, Summary
from cnncost.render import CONVENTION
from cnncost.render import numbers as num
from cnncost.render.formats import header_lines, op_label, ordered_other

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

# ------------------------------------------------------------------------------------------ plain text grid

_STYLES = {"bold": "\x1b[1m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"

#: Spaces between two columns (rich's box.SIMPLE with its default padding).
GAP = 3


def styled(text: str, style: str | None, color: bool) -> str:
    """``text`` in a terminal style (``bold``, ``dim``) when ``color``; unchanged otherwise."""
    if not color or not style or not text:
        return text
    return f"{_STYLES[style]}{text}{_RESET}"


@dataclass(frozen=True)
class Column:
    """One column of a ``grid``: its header, its footer (totals), how it aligns and whether it may wrap."""

    header: str
    justify: str = "left"  # "left" or "right"
    footer: str | None = None
    flexible: bool = False  # wraps (at spaces, else anywhere) to keep the table within the width
    min_width: int = 10


def grid(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    color: bool = False,
    gap: int = GAP,
    rules: bool = True,
) -> list[str]:
    """Lay out ``rows`` under ``columns`` at most ``width`` characters wide (only flexible columns give way).

    Lines carry no trailing spaces. With ``rules``, a rule goes under the header and above the footer row (when
    any column has a footer).
    """
    has_header = rules and any(c.header for c in columns)
    has_footer = any(c.footer is not None for c in columns)
    natural = [
        max([len(c.header) if has_header else 0, len(c.footer or ""), *(len(r[i]) for r in rows)])
        for i, c in enumerate(columns)
    ]
    widths = list(natural)
    total = sum(widths) + gap * (len(columns) - 1)
    flexible = [i for i, c in enumerate(columns) if c.flexible]
    excess = total - width
    for i in reversed(flexible):  # the last flexible column gives way first
        if excess <= 0:
            break
        floor = max(columns[i].min_width, len(columns[i].header) if has_header else 0)
        give = min(excess, max(0, widths[i] - floor))
        widths[i] -= give
        excess -= give
    table_width = sum(widths) + gap * (len(columns) - 1)
    spacer = " " * gap

    def lines_of(cells: Sequence[str], style: str | None = None) -> list[str]:
        wrapped = []
        for i, cell in enumerate(cells):
            if len(cell) > widths[i] and columns[i].flexible:
                wrapped.append(textwrap.wrap(cell, widths[i], break_on_hyphens=False) or [""])
            else:
                wrapped.append([cell])
        out = []
        for k in range(max(len(w) for w in wrapped)):
            parts = []
            for i, w in enumerate(wrapped):
                text = w[k] if k < len(w) else ""
                parts.append(text.rjust(widths[i]) if columns[i].justify == "right" else text.ljust(widths[i]))
            out.append(styled(spacer.join(parts).rstrip(), style, color))
        return out

    rule = styled("─" * table_width, "dim", color)
    lines: list[str] = []
    if has_header:
        lines += lines_of([c.header for c in columns], "bold")
        lines.append(rule)
    for row in rows:
        lines += lines_of(row)
    if has_footer:
        if rules:
            lines.append(rule)
        lines += lines_of([c.footer or "" for c in columns], "bold")
    return lines


def join(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def wrap_line(text: str, width: int, style: str | None = None, color: bool = False) -> list[str]:
    """A free-text line folded at spaces to ``width``."""
    return [styled(line, style, color) for line in textwrap.wrap(text, width, break_on_hyphens=False) or [""]]


# ------------------------------------------------------------------------------- rich, for small tables


def to_text(renderables: Iterable[RenderableType], *, width: int, color: bool = False) -> str:
    """Render rich objects to a string at a fixed width (ANSI colour codes only when ``color``).

    Without colour, trailing spaces are removed from every line, so the text diffs cleanly.
    """
    import io

    from rich.console import Console

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
    """The house rich table style: a rule under the header (and above the footer), no outer frame."""
    from rich import box
    from rich.table import Table

    return Table(box=box.SIMPLE, show_edge=False, pad_edge=False, header_style="bold", **kwargs)


# ------------------------------------------------------------------------------------------ the reports


def totals_lines(report: Report, *, color: bool = False) -> list[str]:
    """params, MACs, FLOPs and other ops (by category) of the whole report, exact and in short form."""
    t = report.totals
    rows = [
        ["params", num.integer(t.params), num.si(t.params), ""],
        ["MACs", num.integer(t.macs), num.si(t.macs), ""],
        ["FLOPs", num.integer(t.flops), num.si(t.flops), "2 × MACs"],
        ["other ops", num.integer(t.other_ops), num.si(t.other_ops), "not in MACs:" if t.other_ops else ""],
    ]
    rows += [[f"  {category}", num.integer(n), num.si(n), ""] for category, n in ordered_other(t.other).items()]
    columns = [Column(""), Column("", "right"), Column("", "right"), Column("")]
    return grid(columns, rows, width=10_000, color=color, gap=2, rules=False)


def report_lines(report: Report, *, depth: int | None = None, width: int = 120, color: bool = False) -> list[str]:
    """The per-layer table (or collapsed rows at ``depth``) with a totals row.

    The formula column is left out when the width leaves it less than 16 characters.
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
    columns = [
        Column("layer", footer="total"),
        Column("op", footer=""),
        Column("output", "right", num.shape(report.output_shape)),
        Column("params", "right", num.integer(t.params)),
        Column("MACs", "right", num.integer(t.macs)),
        Column("% MACs", "right", num.percent(t.macs, t.macs)),
    ]
    used = sum(max([len(c.header), len(c.footer or ""), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns))
    if width - (used + GAP * len(columns)) >= 16:
        columns.append(Column("formula" if report.batch == 1 else "formula (per image)", footer="", flexible=True))
        for row, r in zip(rows, records, strict=True):
            row.append(r.formula or "")
    return grid(columns, rows, width=width, color=color)


def render_report(report: Report, *, depth: int | None = None, width: int = 120, color: bool = False) -> str:
    """The whole ``cnncost table`` output: header, table with totals, FLOPs and other ops, convention."""
    lines: list[str] = []
    for line in header_lines(report):
        lines += wrap_line(line, width)
    lines.append("")
    lines += report_lines(report, depth=depth, width=width, color=color)
    lines.append("")
    lines += totals_lines(report, color=color)
    if report.unknown_ops:
        listed = ", ".join(f"{name} ×{n:,}" for name, n in sorted(report.unknown_ops.items()))
        lines += wrap_line(f"not costed (operators cnncost has no formula for): {listed}", width)
    lines.append("")
    lines += wrap_line(f"convention: {CONVENTION}", width, "dim", color)
    return join(lines)


def render_library(reports: Sequence[Summary], *, width: int = 120, color: bool = False) -> str:
    """``cnncost list``: one row per bundled network with its input, params, MACs and description."""
    columns = [
        Column("network"),
        Column("input", "right"),
        Column("params", "right"),
        Column("MACs", "right"),
        Column("description", flexible=True, min_width=20),
    ]
    rows = [
        [r.name, num.shape(r.input_shape), num.si(r.totals.params), num.si(r.totals.macs), r.description]
        for r in reports
    ]
    lines = grid(columns, rows, width=width, color=color)
    lines += wrap_line(f"{len(reports)} networks · MACs per image at the default input size", width, "dim", color)
    return join(lines)


def render_ops(ops: Sequence[Mapping[str, Any]], *, width: int = 120, color: bool = False) -> str:
    """``cnncost ops``: each op a spec may use, its arguments with defaults, and what it does.

    ``ops`` are the plain dictionaries of ``cnncost.render.formats.op_rows``.
    """
    columns = [
        Column("op"),
        Column("category"),
        Column("arguments (default)", flexible=True, min_width=20),
        Column("summary", flexible=True, min_width=20),
    ]
    rows = [
        [op["name"], op["category"], ", ".join(_argument_text(a) for a in op["arguments"]) or num.NONE, op["summary"]]
        for op in ops
    ]
    return join(grid(columns, rows, width=width, color=color))


def _argument_text(arg: Mapping[str, Any]) -> str:
    if arg["required"]:
        return f"{arg['name']} (required)"
    default = arg["default"]
    return f"{arg['name']}={'auto' if default is None else num.plain(default)}"
