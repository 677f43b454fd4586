"""``cnncost compare``: totals side by side with ratios to the first network, then the rows matched by path.

A group row shows the sum it stands for when it adds up a few MAC-bearing layers
(``2,408,448 + 10,035,200 = 12,443,648``), so a branch of one network reads directly against the same branch of
another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnncost.analysis.compare import Cell, Comparison
from cnncost.analysis.training import Training
from cnncost.render import SCHEMA_VERSION
from cnncost.render import numbers as num
from cnncost.render.formats import csv_text, dumps, md_table, report_dict

#: A group made of layers only writes out its sum when it adds up at most this many MAC-bearing layers.
MAX_TERMS = 4


def labels(comparison: Comparison) -> list[str]:
    """Column labels: the network names, made unique (``vgg16``, ``vgg16 #2``) when a name repeats."""
    out: list[str] = []
    for report in comparison.reports:
        label, n = report.name, 2
        while label in out:
            label, n = f"{report.name} #{n}", n + 1
        out.append(label)
    return out


def cell_text(cell: Cell | None) -> str:
    if cell is None:
        return num.NONE
    if cell.flat and 2 <= len(cell.terms) <= MAX_TERMS and sum(cell.terms) == cell.macs:
        return num.terms(cell.terms, cell.macs)
    return num.integer(cell.macs)


def _ratio_text(cell: Cell | None, ref: Cell | None) -> str:
    if cell is None or ref is None:
        return ""
    return num.ratio(cell.macs, ref.macs)


def _row_label(path: str, depth: int) -> str:
    return "  " * (depth + 1) + path if path else "total"


def totals_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    ref = comparison.reference.totals
    header = ["network", "input", "output", "params", "× params", "MACs", "× MACs", "FLOPs", "other ops"]
    rows = []
    for label, report in zip(labels(comparison), comparison.reports, strict=True):
        t = report.totals
        rows.append(
            [
                label,
                num.shape(report.input_shape),
                num.shape(report.output_shape),
                num.integer(t.params),
                num.ratio(t.params, ref.params),
                num.integer(t.macs),
                num.ratio(t.macs, ref.macs),
                num.integer(t.flops),
                num.integer(t.other_ops),
            ]
        )
    if any(r.training is not None for r in comparison.reports):  # layers chosen to train: what a step costs
        header += ["trainable", "frozen", "step MACs"]
        for line, report in zip(rows, comparison.reports, strict=True):
            tr = report.training
            step = num.integer(tr.step_macs) if tr is not None and tr.source == "options" else num.NONE
            line += [num.integer(tr.trainable_params), num.integer(tr.frozen_params), step] if tr else [num.NONE] * 3
    return header, rows


def block_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    names = labels(comparison)
    header = ["row"]
    for i, name in enumerate(names):
        header.append(f"{name} MACs")
        if i:
            header.append(f"× {names[0]}")
    rows = []
    for row in comparison.rows:
        line = [_row_label(row.path, row.depth)]
        for i, cell in enumerate(row.cells):
            line.append(cell_text(cell))
            if i:
                line.append(_ratio_text(cell, row.cells[0]))
        rows.append(line)
    return header, rows


def _caption(comparison: Comparison) -> str:
    batch = comparison.reference.batch
    return (
        f"rows matched by path to depth {comparison.depth} (--depth) · MACs for batch {batch} · "
        f"layers without params or MACs hidden · {num.NONE} no such row"
    )


#: The order a narrow terminal drops columns of the totals table (``--wide`` shows them all).
TOTALS_DROP_ORDER = ("other ops", "FLOPs", "frozen", "× params", "input", "output")


def render_compare(comparison: Comparison, *, width: int = 120, color: bool = False, wide: bool = False) -> str:
    """The whole ``cnncost compare`` output as text.

    At a narrow width the totals table drops columns in ``TOTALS_DROP_ORDER``; the rows table wraps a written-out
    sum at its spaces, then drops the ratio columns (the last network's first), then the MAC columns of the last
    networks; a line under the tables names what went."""
    from cnncost.render.table import FULL_WIDTH, Column, dropped_lines, join, layout, wrap_line

    if wide:
        width = FULL_WIDTH
    names = labels(comparison)
    lines = wrap_line(
        f"compare {' vs '.join(names)} · batch {comparison.reference.batch} · ratios to {names[0]}", width
    )
    header, rows = totals_rows(comparison)
    columns = [Column(header[0])] + [
        Column(h, "right", drop=TOTALS_DROP_ORDER.index(h) if h in TOTALS_DROP_ORDER else None) for h in header[1:]
    ]
    totals = layout(columns, rows, width=width, color=color)
    lines += ["", *totals.lines, ""]
    header, rows = block_rows(comparison)
    n = len(names)
    ratios = len(header) - 1 - n
    columns = [Column(header[0])]
    for i, h in enumerate(header[1:], start=1):
        network = (i + 1) // 2 - 1 if i > 1 else 0  # MACs of network k sit at 2k (k ≥ 1), its ratio at 2k + 1
        is_ratio = i > 1 and i % 2 == 1
        # Ratios go first, the last network's first; then the MAC columns of the last networks (never the first).
        rank = (n - network) if is_ratio else (ratios + n - network if network else None)
        columns.append(Column(h, "right", flexible=not is_ratio, min_width=len(h), whole_words=True, drop=rank))
    blocks = layout(columns, rows, width=width, color=color)
    lines += blocks.lines
    dropped = [*totals.dropped, *blocks.dropped]
    if dropped:
        lines += ["", *dropped_lines(dropped, width, color)]
    lines += ["", *wrap_line(_caption(comparison), width, "dim", color)]
    return join(lines)


def _cell_dict(cell: Cell | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    return {
        "kind": cell.kind,
        "op": cell.op,
        "output_shape": list(cell.output_shape),
        "params": cell.params,
        "macs": cell.macs,
        "other_ops": cell.other_ops,
        "terms": list(cell.terms),
        "flat": cell.flat,
    }


def compare_dict(comparison: Comparison) -> dict[str, Any]:
    """``compare --format json``: one report object per network, the ratios to the first, the matched rows."""
    return {
        "schema_version": SCHEMA_VERSION,
        "reference": comparison.reference.name,
        "networks": [report_dict(r) for r in comparison.reports],
        "ratios": [
            {
                "name": r.name,
                "reference": r.reference,
                "params": r.params,
                "macs": r.macs,
                "flops": r.flops,
                "other_ops": r.other_ops,
            }
            for r in comparison.ratios()
        ],
        "depth": comparison.depth,
        "rows": [
            {
                "path": row.path,
                "depth": row.depth,
                "kind": "layer" if row.is_layer else "group",
                "cells": [_cell_dict(c) for c in row.cells],
            }
            for row in comparison.rows
        ],
    }


def compare_json(comparison: Comparison) -> str:
    return dumps(compare_dict(comparison))


def compare_csv(comparison: Comparison) -> str:
    """One line per matched row (the first, ``total``, the whole network): params and MACs of each network,
    empty where a network has no such row."""
    header = ["path", "depth"]
    trained = [r.training for r in comparison.reports]
    with_training = any(t is not None for t in trained)
    for name in labels(comparison):
        header += [f"{name}:params", f"{name}:macs"]
        header += [f"{name}:trainable_params"] if with_training else []
    rows: list[Sequence[Any]] = []
    for row in comparison.rows:
        line: list[Any] = [row.path or "total", row.depth]
        for cell, training in zip(row.cells, trained, strict=True):
            line += ["", ""] if cell is None else [cell.params, cell.macs]
            if with_training:
                line.append(_trainable(training, row.path) if cell is not None else "")
        rows.append(line)
    return csv_text(header, rows)


def _trainable(training: Training | None, path: str) -> int | str:
    """The trainable parameters of a compared row (the whole network for path ``""``); empty without training."""
    if training is None:
        return ""
    if not path:
        return training.trainable_params
    return next((r.trainable_params for r in training.rows if r.path == path), "")


def compare_markdown(comparison: Comparison) -> str:
    header, rows = totals_rows(comparison)
    lines = md_table(header, rows, "l" + "r" * (len(header) - 1))
    header, rows = block_rows(comparison)
    rows = [
        ["\u00a0\u00a0" * (row.depth + 1) + f"`{row.path}`" if row.path else "**total**", *r[1:]]
        for row, r in zip(comparison.rows, rows, strict=True)
    ]
    lines += ["", *md_table(header, rows, "l" + "r" * (len(header) - 1))]
    lines += ["", f"_{_caption(comparison)}_"]
    return "\n".join(lines) + "\n"
