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

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cnncost.analysis.records import Report, Summary
from cnncost.frozen import frozen
from cnncost.render import CONVENTION
from cnncost.render import numbers as num
from cnncost.render.formats import header_lines, op_label, ordered_other

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

# ------------------------------------------------------------------------------------------ plain text grid

_STYLES = {"bold": "\x1b[1m", "dim": "\x1b[2m", "red": "\x1b[1;31m", "yellow": "\x1b[33m"}
_RESET = "\x1b[0m"

#: Spaces between two columns (rich's box.SIMPLE with its default padding).
GAP = 3

#: The narrowest gap a table closes to before it drops a column.
MIN_GAP = 2

#: The width ``--wide`` renders at: wide enough that no table wraps or drops anything.
FULL_WIDTH = 100_000


def styled(text: str, style: str | None, color: bool) -> str:
    """``text`` in a terminal style (``bold``, ``dim``, ``red``, ``yellow``) when ``color``; unchanged otherwise."""
    if not color or not style or not text:
        return text
    return f"{_STYLES[style]}{text}{_RESET}"


@frozen
class Column:
    """One column of a ``grid``: its header, its footer (totals), how it aligns, whether it may wrap, and whether
    it may be dropped.

    ``drop``: the column's rank in the order a too-narrow table drops columns — the lowest rank goes first;
    ``None`` (the default) never goes. ``style``: a terminal style per cell text (``FAIL`` → ``red``), applied
    after the layout, so styles never change a width.
    """

    header: str
    justify: str = "left"  # "left" or "right"
    footer: str | None = None
    flexible: bool = False  # wraps (at spaces, then after dots, else anywhere) to keep the table within the width
    min_width: int = 10
    drop: int | None = None
    style: Callable[[str], str | None] | None = None
    whole_words: bool = False  # a flexible column that never splits a word (numbers in it stay whole)


@frozen
class Layout:
    """A laid-out table: its lines and the headers of the columns dropped to fit the width (in dropping order)."""

    lines: list[str]
    dropped: list[str]


#: Whitespace other than a plain space, which textwrap rewrites
_OTHER_SPACE = re.compile(r"[\t\n\x0b\x0c\r]")
#: A figure and its SI prefix or unit (``19.4 M``, ``4.09 G``): free text never wraps between the two.
_FIGURE_UNIT = re.compile(r"(\d) ([kMGTPE]\b)")


def _fold(text: str, width: int, *, break_long_words: bool = True) -> list[str]:
    """``textwrap.wrap`` that keeps a figure and its SI prefix together (``19.4 M``) and returns one line at least."""
    if len(text) <= width and text == text.strip() and not _OTHER_SPACE.search(text):
        return [text] if text else [""]  # what textwrap gives a short line without tabs or edge spaces
    import textwrap  # only for text that needs folding: it costs a millisecond of every table's start

    glued = _FIGURE_UNIT.sub("\\1\u00a0\\2", text)
    lines = textwrap.wrap(glued, width, break_on_hyphens=False, break_long_words=break_long_words) or [""]
    return [line.replace("\u00a0", " ") for line in lines] if glued != text else lines


def wrap_cell(text: str, width: int, *, whole_words: bool = False) -> list[str]:
    """``text`` folded to ``width``: at spaces; a word still too long (a layer path, a name) after a dot or a
    hyphen; else anywhere
    (never with ``whole_words``: such a word overflows rather than being cut)."""
    lines = _fold(text, width, break_long_words=False)
    if whole_words:
        return lines
    out: list[str] = []
    for line in lines:
        while len(line) > width:
            cut = max(line.rfind(".", 0, width), line.rfind("-", 0, width)) + 1 or width
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def layout(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    color: bool = False,
    gap: int = GAP,
    rules: bool = True,
) -> Layout:
    """Lay out ``rows`` under ``columns`` at most ``width`` characters wide.

    A table that does not fit gives way in this order, stopping as soon as it fits: flexible columns wrap (the last
    flexible column first, down to its ``min_width`` and header; a ``whole_words`` column to its longest word);
    droppable columns go, lowest ``drop`` rank first, each time starting over from the natural widths; last, the
    gap between columns closes from ``gap`` to ``MIN_GAP``. Cells of columns that are not flexible are never cut or
    wrapped: a table with nothing left to give stays wider than ``width``. Lines carry no trailing spaces. With
    ``rules``, a rule goes under the header and above the footer row (when any column has a footer).
    """
    shown = list(range(len(columns)))
    droppable = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop is not None)
    dropped: list[int] = []
    while True:
        g = gap
        widths = _fit([columns[i] for i in shown], [[r[i] for i in shown] for r in rows], width, g, rules)
        if sum(widths) + g * (len(shown) - 1) <= width:
            break
        if droppable:
            _, i = droppable.pop(0)
            shown.remove(i)
            dropped.append(i)
            continue
        narrow = min(gap, MIN_GAP)
        narrow_widths = _fit([columns[i] for i in shown], [[r[i] for i in shown] for r in rows], width, narrow, rules)
        if sum(narrow_widths) + narrow * (len(shown) - 1) < sum(widths) + g * (len(shown) - 1):
            g, widths = narrow, narrow_widths
        break
    cols = [columns[i] for i in shown]
    lines = _draw(cols, [[r[i] for i in shown] for r in rows], widths, color=color, gap=g, rules=rules)
    return Layout(lines, [columns[i].header for i in dropped])


def _fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, gap: int, rules: bool) -> list[int]:
    has_header = rules and any(c.header for c in columns)
    widths = [
        max([len(c.header) if has_header else 0, len(c.footer or ""), *(len(r[i]) for r in rows)])
        for i, c in enumerate(columns)
    ]
    excess = sum(widths) + gap * (len(columns) - 1) - width
    for i in reversed([i for i, c in enumerate(columns) if c.flexible]):  # the last flexible column gives way first
        if excess <= 0:
            break
        column = columns[i]
        floor = max(column.min_width, len(column.header) if has_header else 0)
        if column.whole_words:
            floor = max(floor, *(_longest_word(r[i]) for r in rows), 0) if rows else floor
        give = min(excess, max(0, widths[i] - floor))
        widths[i] -= give
        excess -= give
    return widths


def _draw(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int],
    *,
    color: bool,
    gap: int,
    rules: bool,
) -> list[str]:
    has_header = rules and any(c.header for c in columns)
    has_footer = any(c.footer is not None for c in columns)
    table_width = sum(widths) + gap * (len(columns) - 1)
    spacer = " " * gap
    right = [c.justify == "right" for c in columns]
    plain_body = not color or all(c.style is None for c in columns)

    def lines_of(cells: Sequence[str], style: str | None = None, body: bool = False) -> list[str]:
        if (plain_body or not body) and not any(
            len(cell) > widths[i] and columns[i].flexible for i, cell in enumerate(cells)
        ):  # the usual row: one line, nothing wrapped or styled per cell (what the loop below gives it, faster)
            parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=False)]
            line = spacer.join(parts).rstrip()
            return [styled(line, style, color) if style else line]
        wrapped = []
        for i, cell in enumerate(cells):
            if len(cell) > widths[i] and columns[i].flexible:
                wrapped.append(wrap_cell(cell, widths[i], whole_words=columns[i].whole_words))
            else:
                wrapped.append([cell])
        out = []
        for k in range(max(len(w) for w in wrapped)):
            parts = []
            for i, w in enumerate(wrapped):
                text = w[k] if k < len(w) else ""
                padded = text.rjust(widths[i]) if columns[i].justify == "right" else text.ljust(widths[i])
                cell_style = columns[i].style
                if body and color and cell_style is not None and text:
                    padded = padded.replace(text, styled(text, cell_style(cells[i]), color), 1)
                parts.append(padded)
            line = spacer.join(parts).rstrip()
            out.append(styled(line, style, color) if style else line)
        return out

    rule = styled("─" * table_width, "dim", color)
    lines: list[str] = []
    if has_header:
        lines += lines_of([c.header for c in columns], "bold")
        lines.append(rule)
    for row in rows:
        lines += lines_of(row, body=True)
    if has_footer:
        if rules:
            lines.append(rule)
        lines += lines_of([c.footer or "" for c in columns], "bold")
    return lines


def grid(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    color: bool = False,
    gap: int = GAP,
    rules: bool = True,
) -> list[str]:
    """The lines of ``layout`` (for tables with no droppable columns, or callers that do not say what went)."""
    return layout(columns, rows, width=width, color=color, gap=gap, rules=rules).lines


def dropped_lines(dropped: Sequence[str], width: int, color: bool = False) -> list[str]:
    """The footer line of a table that dropped columns to fit: which, and how to see them."""
    if not dropped:
        return []
    names = ", ".join(f"'{d}'" for d in dropped)
    return wrap_line(
        f"left out to fit {width} columns: {names} — add --wide (or widen the terminal) to see them",
        width,
        "yellow",
        color,
    )


def join(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def wrap_line(text: str, width: int, style: str | None = None, color: bool = False) -> list[str]:
    """A free-text line folded at spaces to ``width``."""
    return [styled(line, style, color) for line in _fold(text, width)]


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


#: The order a narrow terminal drops columns of the per-layer table (``--wide`` shows them all).
REPORT_DROP_ORDER = ("formula", "% MACs", "op")


def report_layout(
    report: Report, *, depth: int | None = None, width: int = 120, color: bool = False, rf: bool = False
) -> Layout:
    """The per-layer table (or collapsed rows at ``depth``) with a totals row.

    At a narrow width columns go in ``REPORT_DROP_ORDER``: the formula first (when the width leaves it less than 16
    characters), then the share of MACs, then the op. The formula is an extra that comes and goes with the width,
    as it always has: ``render_report`` names only the other columns when they go.
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
            r.formula or "",
        ]
        for r in records
    ]
    formula = "formula" if report.batch == 1 else "formula (per image)"
    if report.training is not None:  # layers were chosen to train or freeze: a trainable column
        from cnncost.render.train import rows_by_path, trainable_cell

        trained = rows_by_path(report.training)
        for cells, r in zip(rows, records, strict=True):
            cells.insert(4, trainable_cell(r, trained[r.path]))
    columns = [
        Column("layer", footer="total"),
        Column("op", footer="", drop=REPORT_DROP_ORDER.index("op")),
        Column("output", "right", num.shape(report.output_shape)),
        Column("params", "right", num.integer(t.params)),
        *([Column("trainable", "right", num.integer(report.training.trainable_params))] if report.training else []),
        Column("MACs", "right", num.integer(t.macs)),
        Column("% MACs", "right", num.percent(t.macs, t.macs), drop=REPORT_DROP_ORDER.index("% MACs")),
        Column(formula, footer="", flexible=True, min_width=16, drop=REPORT_DROP_ORDER.index("formula")),
    ]
    if rf:  # --rf: receptive field and jump after the output (asked for, so never dropped)
        from cnncost.render.receptive import cells as rf_cells

        columns[3:3] = [Column("RF", "right", footer=""), Column("jump", "right", footer="")]
        rows = [[*row[:3], *rf_cells(r), *row[3:]] for row, r in zip(rows, records, strict=True)]
    return layout(columns, rows, width=width, color=color)


def report_lines(report: Report, *, depth: int | None = None, width: int = 120, color: bool = False) -> list[str]:
    """The lines of ``report_layout``."""
    return report_layout(report, depth=depth, width=width, color=color).lines


def render_report(
    report: Report,
    *,
    depth: int | None = None,
    width: int = 120,
    color: bool = False,
    wide: bool = False,
    rf: bool = False,
) -> str:
    """The whole ``cnncost table`` output: header, table with totals, FLOPs and other ops, convention."""
    if wide:
        width = FULL_WIDTH
    lines: list[str] = []
    for line in header_lines(report):
        lines += wrap_line(line, width)
    lines.append("")
    table = report_layout(report, depth=depth, width=width, color=color, rf=rf)
    lines += table.lines
    lines.append("")
    lines += totals_lines(report, color=color)
    if report.training is not None:
        from cnncost.render.train import params_lines

        lines += ["", *params_lines(report.training, color=color)]
    if report.unknown_ops:
        listed = ", ".join(f"{name} ×{n:,}" for name, n in sorted(report.unknown_ops.items()))
        lines += wrap_line(f"not costed (operators cnncost has no formula for): {listed}", width, "yellow", color)
    announced = [d for d in table.dropped if not d.startswith("formula")]
    if announced:
        lines += ["", *dropped_lines(announced, width, color)]
    lines.append("")
    if rf:
        from cnncost.render.receptive import notes

        for note in notes(report):
            lines += wrap_line(note, width, "dim", color)
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


def library_table(reports: Sequence[Summary], *, width: int = 120, color: bool = False) -> str:
    """``cnncost list`` as a table (the seam's name for ``render_library``)."""
    return render_library(reports, width=width, color=color)


def ops_table(ops: Sequence[Any], *, width: int = 120, color: bool = False) -> str:
    """``cnncost ops`` as a table: the registry's entries (``OpDef``) through ``op_rows`` to ``render_ops``."""
    from cnncost.render.formats import op_rows

    return render_ops(op_rows(ops), width=width, color=color)


def _argument_text(arg: Mapping[str, Any]) -> str:
    if arg["required"]:
        return f"{arg['name']} (required)"
    default = arg["default"]
    return f"{arg['name']}={'auto' if default is None else num.plain(default)}"
