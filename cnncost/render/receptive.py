"""Receptive field and jump as table cells, JSON fields and CSV columns (``--rf``).

A row whose receptive field is known shows its size in input pixels and its jump (``196``, ``16``); a unit that
every input pixel reaches shows ``global``; a vector after a flatten keeps its values' size but has no jump
(``—``); a ``--module`` row past what the observed chain of modules proves shows nothing (never a guess).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cnncost.analysis.receptive import NOTE
from cnncost.analysis.records import Record, Report
from cnncost.render import numbers as num

if TYPE_CHECKING:
    from fractions import Fraction

#: What a unit that every input pixel reaches shows.
GLOBAL = "global"

#: The CSV columns ``--rf`` adds (after ``output_shape``): sizes in pixels, jumps as decimals, empty where unknown.
CSV_COLUMNS = ("rf_h", "rf_w", "jump_h", "jump_w", "rf_exact")

#: Said under a ``--module`` table whose rows are not all known.
MODULE_NOTE = (
    "a --module model's RF follows each tensor from the input through the modules and calls cnncost has a rule "
    "for; a row that read a tensor made otherwise (a custom layer, a reshape) is left blank, not guessed"
)


def cells(record: Record) -> tuple[str, str]:
    """The RF and jump cells of one row."""
    rf = record.receptive
    if rf is None:
        return "", ""
    if rf.size is None:
        return GLOBAL, num.NONE
    return num.receptive_size(rf.size, exact=rf.exact), num.NONE if rf.jump is None else num.jump(rf.jump)


def _number(value: int | Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def record_fields(record: Record) -> dict[str, Any]:
    """The ``rf`` object of one JSON row: ``size`` [h, w] in pixels and ``jump`` [h, w] (null when the unit sees
    the whole input, or — jump only — after a flatten), ``exact`` (false: the most an uneven grid can span),
    ``whole_input``, and ``note`` saying why a size or jump is null. The whole object is null where unknown."""
    rf = record.receptive
    if rf is None:
        return {"rf": None}
    return {
        "rf": {
            "size": None if rf.size is None else list(rf.size),
            "jump": None if rf.jump is None else [_number(j) for j in rf.jump],
            "exact": rf.exact,
            "whole_input": rf.whole,
            "note": rf.reason,
        }
    }


def csv_cells(record: Record) -> list[Any]:
    rf = record.receptive
    if rf is None:
        return ["", "", "", "", ""]
    if rf.size is None:
        return ["", "", "", "", "true"]
    jumps: Sequence[Any] = ["", ""] if rf.jump is None else [_number(j) for j in rf.jump]
    return [rf.size[0], rf.size[1], *jumps, "true" if rf.exact else "false"]


def notes(report: Report) -> list[str]:
    """What the figures mean, said once under the table (and in JSON)."""
    lines = [NOTE]
    if any(r.receptive is not None and not r.receptive.exact for r in report.records):
        lines.append("≤ marks a bound: after upsampling the grid is uneven and the RF the most a unit can span")
    if any(r.receptive is None for r in report.records):
        lines.append(MODULE_NOTE)
    return lines
