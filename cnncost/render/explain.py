"""``cnncost explain``: one network's cost broken down by category, and what every other counter reports for it.

Two tables. The first splits every row (every layer, or the blocks at ``depth``) and the total into cnncost's
categories: conv MACs, linear MACs (and any other matrix products), bias additions, batchnorm, activations,
pooling, residual additions, and the rarer categories when the network has them. The second lists each
well-known tool — torchvision's documented GFLOPS, fvcore, FlopCounterMode, ptflops (both backends), torchinfo —
with the exact number it reports for this network (``cnncost.analysis.conventions``), its ratio to our MACs on
the same scope, and the one-line reason it differs.

Laid out by the house ``grid`` (``render.table``, rich's ``box.SIMPLE`` look), since a per-layer table can have
thousands of rows; every number becomes text through ``render.numbers``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnncost.analysis.conventions import PeerCount, describe, predict_all
from cnncost.analysis.records import OTHER_CATEGORIES, Record, Report
from cnncost.render import CONVENTION, SCHEMA_VERSION
from cnncost.render import numbers as num
from cnncost.render.formats import dumps, header_lines
from cnncost.render.table import FULL_WIDTH, Column, Layout, dropped_lines, grid, join, layout, wrap_line

#: MAC categories: which MAC column a row's MACs belong to.
MAC_CATEGORIES = ("conv", "linear", "matmul")

#: Column headers of the categories, in table order (other-op categories after the MACs).
HEADERS: Mapping[str, str] = {
    "conv": "conv MACs",
    "linear": "linear MACs",
    "matmul": "other MACs",
    "bias": "bias",
    "batchnorm": "batchnorm",
    "activation": "activation",
    "pooling": "pooling",
    "residual": "residual",
    "elementwise": "elementwise",
    "normalization": "normalization",
}

#: The categories the issue asks for, shown even when zero.
ALWAYS = ("conv", "linear", "bias", "batchnorm", "activation", "pooling", "residual")


def mac_category(record: Record) -> str:
    """Which MAC column a layer's MACs go to: ``conv``, ``linear`` or ``matmul`` (matrix products called
    directly in a module's forward)."""
    if record.op == "conv":
        return "conv"
    if record.op == "linear":
        return "linear"
    functions = (record.observed.functions if record.observed is not None else None) or {}
    macs_by = [name for name, stats in functions.items() if stats.macs]
    if macs_by and all("conv" in name for name in macs_by):
        return "conv"
    if macs_by and all(name.endswith(".linear") for name in macs_by):
        return "linear"
    return "matmul"


def breakdown(record: Record) -> dict[str, int]:
    """One layer's cost by category (whole batch): its MACs under its MAC category, then its other ops."""
    out: dict[str, int] = {}
    if record.macs:
        out[mac_category(record)] = record.macs
    for category, n in record.other.items():
        if n:
            out[category] = out.get(category, 0) + n
    return out


def _add(into: dict[str, int], part: Mapping[str, int]) -> None:
    for key, n in part.items():
        into[key] = into.get(key, 0) + n


def category_rows(report: Report, depth: int | None = None) -> list[tuple[Record, dict[str, int]]]:
    """The rows ``cnncost table`` shows at ``depth`` with each one's cost by category (a group row: the sum of
    the layers under it). The rows sum to ``category_totals(report)``."""
    layers = report.layers()
    per_layer = {id(r): breakdown(r) for r in layers}
    shown = report.collapsed(depth)
    out: list[tuple[Record, dict[str, int]]] = []
    for row in shown:
        if row.is_layer:
            out.append((row, per_layer[id(row)]))
            continue
        total: dict[str, int] = {}
        prefix = f"{row.path}."
        for layer in layers:
            if layer.path.startswith(prefix):
                _add(total, per_layer[id(layer)])
        out.append((row, total))
    return out


def category_totals(report: Report) -> dict[str, int]:
    """The whole network's cost by category (whole batch)."""
    total: dict[str, int] = {}
    for layer in report.layers():
        _add(total, breakdown(layer))
    return total


def _categories(totals: Mapping[str, int]) -> list[str]:
    order = [*MAC_CATEGORIES, *OTHER_CATEGORIES]
    known = [c for c in order if c in ALWAYS or totals.get(c)]
    return known + sorted(c for c in totals if c not in order and totals[c])


# ------------------------------------------------------------------------------------------------ text


def category_layout(report: Report, *, depth: int | None = None, width: int = 120, color: bool = False) -> Layout:
    """The per-row table of categories with a totals row (short SI figures; the exact totals follow it).

    At a narrow width the layer path wraps after its dots, then columns go: the op first, then the categories
    from the smallest total up (those that are zero first; conv MACs never). The exact total of every category
    stays in the lines under the table."""
    totals = category_totals(report)
    cats = _categories(totals)
    rows = [
        [r.path, r.op if r.is_layer else r.kind, *(num.si(parts[c]) if parts.get(c) else "" for c in cats)]
        for r, parts in category_rows(report, depth)
    ]
    order = sorted((c for c in cats if c != "conv"), key=lambda c: (totals.get(c, 0), cats.index(c)))
    columns = [
        Column("layer", footer="total", flexible=True, min_width=12),
        Column("op", footer="", drop=0),
        *(
            Column(
                HEADERS.get(c, c),
                "right",
                num.si(totals.get(c, 0)) if totals.get(c) else "—",
                drop=order.index(c) + 1 if c in order else None,
            )
            for c in cats
        ),
    ]
    return layout(columns, rows, width=width, color=color)


def category_lines(
    report: Report, *, depth: int | None = None, width: int = 120, color: bool = False
) -> list[str]:
    """The lines of ``category_layout``."""
    return category_layout(report, depth=depth, width=width, color=color).lines


def total_lines(report: Report, *, color: bool = False) -> list[str]:
    """Each category in total, exact, with its share of all counted operations."""
    totals = category_totals(report)
    everything = sum(totals.values())
    rows = [
        [HEADERS.get(c, c), num.integer(totals.get(c, 0)), num.percent(totals.get(c, 0), everything)]
        for c in _categories(totals)
    ]
    rows.append(["all of them", num.integer(everything), ""])
    return grid([Column(""), Column("", "right"), Column("", "right")], rows, width=10_000, color=color, gap=2,
                rules=False)


def _scope(count: PeerCount, batch: int) -> str:
    if count.peer.scope == "image" or batch == 1:
        return "1 image"
    return f"batch of {batch}"


def _number(p: PeerCount) -> str:
    """The tool's number, or "not predicted *" where no test proves the rule for everything in the network."""
    return num.integer(p.count) if p.predicted else "not predicted *"


def peer_lines(report: Report, peers: Sequence[PeerCount], *, width: int = 120, color: bool = False) -> list[str]:
    """The tools table: the number each reports for this network (exact, then short), what it counts, its ratio
    to our MACs on the same scope and why it differs. Where no number can be stood by — a kind of layer, call or
    operator no test proves the tool's rule for, or a row the rule does not model — the row says "not predicted"
    and a note below says why: never a number."""
    rows = [
        [
            p.peer.tool,
            _number(p),
            f"{p.peer.unit}, {_scope(p, report.batch)}",
            num.ratio(p.count, p.ours) if p.predicted else "—",
            p.peer.reason,
        ]
        for p in peers
    ]
    columns = [
        Column("tool"),
        Column("number", "right"),
        Column("counted as"),
        Column("× our MACs", "right"),
        Column("why it differs", flexible=True, min_width=30, drop=0),
    ]
    table = layout(columns, rows, width=width, color=color)
    lines = list(table.lines)
    if table.dropped:  # too narrow for the reasons beside the numbers: they follow the table, one per tool
        for p in peers:
            lines += wrap_line(f"{p.peer.tool}: {p.peer.reason}", width)
    for p in peers:
        if not p.predicted:
            lines += wrap_line(f"* {p.peer.tool}: not predicted: {p.why_not}", width, "dim", color)
        for note in p.assumed if p.predicted else ():
            lines += wrap_line(f"{p.peer.tool}: {note}", width, "dim", color)
    how = "; ".join(f"{p.peer.tool}: {p.peer.reports}" for p in peers)
    lines += wrap_line(f"numbers as read from: {how}", width, "dim", color)
    return lines


def render_explain(
    report: Report,
    *,
    depth: int | None = None,
    width: int = 120,
    color: bool = False,
    training: bool = False,
    wide: bool = False,
) -> str:
    """The whole ``cnncost explain`` output: header, categories per row and in total, the tools' numbers."""
    if wide:
        width = FULL_WIDTH
    peers = predict_all(report, training=training)
    scope = "whole batch" if report.batch > 1 else "one image"
    lines: list[str] = []
    for line in header_lines(report):
        lines += wrap_line(line, width)
    lines.append("")
    lines += wrap_line(f"cost by category ({scope}; MACs apart from every other operation)", width, "bold", color)
    table = category_layout(report, depth=depth, width=width, color=color)
    lines += table.lines
    if table.dropped:
        lines += ["", *dropped_lines(table.dropped, width, color)]
    lines.append("")
    lines += total_lines(report, color=color)
    if report.unknown_ops:
        listed = ", ".join(f"{name} ×{n}" for name, n in sorted(report.unknown_ops.items()))
        lines.append("")
        lines += wrap_line(f"operators cnncost does not cost (counted as nothing above): {listed}", width)
    lines.append("")
    mode = "training mode" if training else "eval mode"
    lines += wrap_line(f"what other tools report for this network ({mode})", width, "bold", color)
    lines += peer_lines(report, peers, width=width, color=color)
    lines.append("")
    lines += wrap_line(f"convention: {CONVENTION}", width, "dim", color)
    return join(lines)


# ------------------------------------------------------------------------------------------------ data


def explain_dict(report: Report, *, depth: int | None = None, training: bool = False) -> dict[str, Any]:
    """``cnncost explain --format json``: categories per row and in total, and every tool's number — ``count``
    null, ``predicted`` false and ``not_predicted`` the one-line reason where it is not predicted
    (``cnncost.analysis.conventions.describe``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "name": report.name,
        "input": list(report.input_shape),
        "batch": report.batch,
        "shape_order": "HWC",
        "convention": CONVENTION,
        "macs": report.totals.macs,
        "categories": category_totals(report),
        "layers": [
            {"name": r.path, "kind": r.kind, "op": r.op, "categories": parts}
            for r, parts in category_rows(report, depth)
        ],
        "unknown_ops": dict(report.unknown_ops),
        "training": training,
        "tools": [describe(p) for p in predict_all(report, training=training)],
    }


def explain_json(report: Report, *, depth: int | None = None, training: bool = False) -> str:
    """``cnncost explain --format json``: ``explain_dict`` written like every command's JSON (shapes on one line)."""
    return dumps(explain_dict(report, depth=depth, training=training))


def explain_markdown(report: Report, *, depth: int | None = None, training: bool = False) -> str:
    """``cnncost explain --format markdown``: the two tables as GitHub Markdown."""
    totals = category_totals(report)
    cats = _categories(totals)
    head = ["layer", "op", *(HEADERS.get(c, c) for c in cats)]
    lines = [f"## {report.name}", "", "| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for r, parts in category_rows(report, depth):
        cells = [r.path, r.op if r.is_layer else r.kind, *(num.integer(parts[c]) if parts.get(c) else "" for c in cats)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| **total** | | " + " | ".join(num.integer(totals.get(c, 0)) for c in cats) + " |")
    lines += ["", "| tool | reports | number | × our MACs | why it differs |", "|---|---|---|---|---|"]
    for p in predict_all(report, training=training):
        lines.append(
            f"| {p.peer.tool} | `{p.peer.reports}` | {_number(p) if p.predicted else f'not predicted: {p.why_not}'} | "
            f"{num.ratio(p.count, p.ours) if p.predicted else '—'} | {p.peer.reason} |"
        )
    return "\n".join(lines) + "\n"


def explain_text(
    report: Report,
    *,
    fmt: str = "table",
    depth: int | None = None,
    width: int = 120,
    color: bool = False,
    training: bool = False,
    wide: bool = False,
) -> str:
    """``cnncost explain`` in any format (``render("explain", …)``; ``csv``: the category rows)."""
    from cnncost.render import render

    return render("explain", report, fmt, width=width, color=color, wide=wide, depth=depth, training=training)


def explain_csv(report: Report, *, depth: int | None = None, training: bool = False) -> str:
    """``cnncost explain --format csv``: one row per layer (or block) with its cost by category, then the total."""
    import csv
    import io

    totals = category_totals(report)
    cats = _categories(totals)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "op", *cats])
    for r, parts in category_rows(report, depth):
        writer.writerow([r.path, r.op if r.is_layer else r.kind, *(parts.get(c, 0) for c in cats)])
    writer.writerow(["total", "", *(totals.get(c, 0) for c in cats)])
    return buffer.getvalue()
