"""Comparing networks: totals side by side with ratios to the first, and rows matched by path.

Pure data, no formatting. Rows are the records of each report down to a depth (groups with their subtotals and
the layers above that depth), matched across networks by their path, so two specs that name their blocks and
branches alike line up: the 5×5 branch of ``inception-naive`` (one conv, 120,422,400 MACs) sits beside the same
branch of ``inception-bottleneck`` (2,408,448 + 10,035,200 = 12,443,648). A group row keeps the MACs of the
layers it adds up (``terms``) so a renderer can show the sum written out.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnncost.analysis.records import Record, Report
from cnncost.frozen import frozen
from cnncost.ir import Shape

#: With no depth given, the deepest tree view whose matched rows stay within this many rows.
AUTO_MAX_ROWS = 40


@frozen
class Cell:
    """One network's side of a matched row."""

    kind: str
    op: str
    output_shape: Shape
    params: int
    macs: int
    other_ops: int
    terms: tuple[int, ...]  # MACs of each MAC-bearing layer the row adds up, in order (a layer: itself)
    flat: bool  # a layer, or a group made of layers only (no nested groups): its sum reads well written out


@frozen
class Row:
    """A path present in at least one network; ``cells`` has one entry per network (``None`` where absent).

    The first row of every comparison is the whole network: path ``""``, depth -1."""

    path: str
    depth: int
    is_layer: bool
    cells: tuple[Cell | None, ...]


@frozen
class Ratio:
    """Totals of one network divided by those of the reference (the first network); ``None`` for x / 0."""

    name: str
    reference: str
    params: float | None
    macs: float | None
    flops: float | None
    other_ops: float | None


@frozen
class Comparison:
    reports: tuple[Report, ...]
    depth: int
    rows: tuple[Row, ...]

    @property
    def reference(self) -> Report:
        return self.reports[0]

    def ratios(self) -> tuple[Ratio, ...]:
        ref = self.reference.totals
        out = []
        for report in self.reports[1:]:
            t = report.totals
            out.append(
                Ratio(
                    name=report.name,
                    reference=self.reference.name,
                    params=_div(t.params, ref.params),
                    macs=_div(t.macs, ref.macs),
                    flops=_div(t.flops, ref.flops),
                    other_ops=_div(t.other_ops, ref.other_ops),
                )
            )
        return tuple(out)


def _div(a: int, b: int) -> float | None:
    return None if b == 0 else a / b


def _subtree_terms(records: Sequence[Record], index: int) -> tuple[tuple[int, ...], bool]:
    """MACs of the MAC-bearing layers inside record ``index`` (records are in pre-order with depths), and
    whether that subtree holds layers only."""
    head = records[index]
    if head.is_layer:
        return ((head.macs,) if head.macs else ()), True
    terms = []
    flat = True
    for r in records[index + 1 :]:
        if r.depth <= head.depth:
            break
        if not r.is_layer:
            flat = False
        elif r.macs:
            terms.append(r.macs)
    return tuple(terms), flat


def _cells(report: Report, depth: int) -> dict[str, tuple[Record, Cell]]:
    """Rows of one report down to ``depth``, by path; the first (outermost) record of a path wins."""
    out: dict[str, tuple[Record, Cell]] = {}
    for i, r in enumerate(report.records):
        if r.depth > depth or r.path in out:
            continue
        terms, flat = _subtree_terms(report.records, i)
        out[r.path] = (r, Cell(r.kind, r.op, r.output_shape, r.params, r.macs, r.other_ops, terms, flat))
    return out


class _Head:
    """The start of the merged order."""


def _merge_order(orders: Sequence[Sequence[str]]) -> list[str]:
    """All paths, the first network's order kept; a path only later networks have goes after its predecessor.

    The merged order is a linked list (``after``: each path's successor), so placing a path is O(1) and the whole
    merge is linear in the number of paths (a ``list.index`` per path made 50,000-layer comparisons quadratic)."""
    head = _Head()  # before the first path: never equal to a path
    after: dict[str | _Head, str | None] = {head: None}
    for order in orders:
        position: str | _Head = head
        for path in order:
            if path not in after:
                after[path] = after[position]
                after[position] = path
            position = path
    merged: list[str] = []
    current = after[head]
    while current is not None:
        merged.append(current)
        current = after[current]
    return merged


def _network_cell(report: Report) -> Cell:
    """The whole network as one cell: its totals, and every MAC-bearing layer as a term."""
    t = report.totals
    terms = tuple(r.macs for r in report.layers() if r.macs)
    flat = all(r.is_layer for r in report.records)
    return Cell("network", "network", report.output_shape, t.params, t.macs, t.other_ops, terms, flat)


def _rows_at(reports: Sequence[Report], depth: int) -> tuple[Row, ...]:
    per_report = [_cells(r, depth) for r in reports]
    order = _merge_order([list(cells) for cells in per_report])
    rows = [Row("", -1, False, tuple(_network_cell(r) for r in reports))]
    for path in order:
        present = [cells[path] for cells in per_report if path in cells]
        first_record = present[0][0]
        row_cells = tuple(cells[path][1] if path in cells else None for cells in per_report)
        if first_record.is_layer and all(c is None or (c.macs == 0 and c.params == 0) for c in row_cells):
            continue  # a layer without params or MACs anywhere (activation, pooling, dropout) adds nothing here
        rows.append(Row(path, first_record.depth, first_record.is_layer, row_cells))
    return tuple(rows)


def compare(reports: Sequence[Report], *, depth: int | None = None, max_rows: int = AUTO_MAX_ROWS) -> Comparison:
    """Compare ``reports`` (the first is the reference for ratios).

    ``depth`` limits the matched rows to records at that nesting depth or above; ``None`` picks the deepest view
    that keeps at most ``max_rows`` rows (at least the top level). The first row is always the whole network.
    """
    if not reports:
        raise ValueError("compare needs at least one report")
    if depth is None:
        deepest = max((r.depth for report in reports for r in report.records), default=0)
        depth = 0
        for d in range(deepest, -1, -1):
            if len(_rows_at(reports, d)) <= max_rows:
                depth = d
                break
    return Comparison(tuple(reports), depth, _rows_at(reports, depth))
