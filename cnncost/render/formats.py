"""Machine and document formats: JSON (stable, versioned), CSV and Markdown.

JSON layout (``schema_version`` 1), documented in the README::

    {
      "schema_version": 1,
      "name": "vgg16", "description": "...", "source": "architectures/vgg16.yaml",
      "input": [224, 224, 3], "output": [1000], "batch": 1, "shape_order": "HWC",
      "variables": {"size": 224, ...},
      "convention": "params = learnable parameters; MACs = ...",
      "totals": {"params": ..., "macs": ..., "flops": ..., "other_ops": ..., "other": {"bias": ..., ...}},
      "layers": [
        {"name": "features.0", "kind": "layer", "op": "conv", "depth": 1,
         "input_shape": [224, 224, 3], "output_shape": [224, 224, 64],
         "params": 1792, "macs": 86704128, "flops": 173408256, "other_ops": ..., "other": {...},
         "formula": "3·3·3 × 64 × 224·224"},
        ...
      ],
      "unknown_ops": {}
    }

Shapes are ``[H, W, C]`` for feature maps and ``[N]`` for flat vectors; batch is never part of a shape. MACs,
FLOPs and other ops are for the whole batch, params are not; ``formula`` is per image. ``layers`` holds every
layer (``kind`` ``"layer"``); with a depth, blocks below it are folded into one row of their group ``kind``.
The layer rows always sum to ``totals``. ``unknown_ops`` names operators a ``--module`` model ran that cnncost has
no formula for, with their call counts (always empty for specs).

Every JSON output is strict JSON (RFC 8259): a number that is not finite (a ratio or deviation against zero) is
written as ``null``, never as ``NaN`` or ``Infinity``. Every CSV output escapes a text cell that a spreadsheet would
run as a formula — one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — by putting ``'``
before it (OWASP's advice on CSV injection), and writes a carriage return inside text as ``\\r``; numbers are
written as they are.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cnncost.analysis.records import OTHER_CATEGORIES, Record, Report, Summary
from cnncost.render import CONVENTION, SCHEMA_VERSION
from cnncost.render import numbers as num

SHAPE_ORDER = "HWC"


def ordered_other(other: Mapping[str, int]) -> dict[str, int]:
    """Other ops by category, in the registry's category order (unknown categories last), zeros left out."""
    order = [c for c in OTHER_CATEGORIES if c in other] + sorted(set(other) - set(OTHER_CATEGORIES))
    return {c: int(other[c]) for c in order if other[c]}


def record_dict(record: Record) -> dict[str, Any]:
    """One row of ``layers``."""
    return {
        "name": record.path,
        "kind": record.kind,
        "op": record.op,
        "depth": record.depth,
        "input_shape": list(record.input_shape),
        "output_shape": list(record.output_shape),
        "params": record.params,
        "macs": record.macs,
        "flops": record.flops,
        "other_ops": record.other_ops,
        "other": ordered_other(record.other),
        "formula": record.formula,
    }


def report_dict(report: Report, *, depth: int | None = None, rf: bool = False) -> dict[str, Any]:
    """The JSON object of one report (see the module docstring); ``rf`` adds ``receptive_field_note`` and an
    ``rf`` object per row (``cnncost.render.receptive.record_fields``)."""
    data = _report_dict(report, depth=depth)
    if rf:
        from cnncost.render.receptive import notes, record_fields

        data["receptive_field_note"] = " · ".join(notes(report))
        rows = zip(data["layers"], report.collapsed(depth), strict=True)
        data["layers"] = [{**row, **record_fields(r)} for row, r in rows]
    return data


def _report_dict(report: Report, *, depth: int | None = None) -> dict[str, Any]:
    t = report.totals
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": report.name,
        "description": report.description,
        "source": report.source,
        "input": list(report.input_shape),
        "output": list(report.output_shape),
        "batch": report.batch,
        "shape_order": SHAPE_ORDER,
        "variables": {k: _json_value(v) for k, v in report.variables.items()},
        "convention": CONVENTION,
        "totals": {
            "params": t.params,
            "macs": t.macs,
            "flops": t.flops,
            "other_ops": t.other_ops,
            "other": ordered_other(t.other),
        },
        "layers": [record_dict(r) for r in report.collapsed(depth)],
        "unknown_ops": dict(sorted(report.unknown_ops.items())),
    } | ({"aux_heads": list(report.aux_heads)} if report.aux_heads else {})
    if report.training is not None:
        from cnncost.render.train import add_to_json

        add_to_json(data, report)
    return data


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)


_NUMBER_LIST = re.compile(r"\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]")


def finite(data: Any) -> Any:
    """``data`` with every float that is not finite (NaN, ±infinity) replaced by None: JSON has no such numbers."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, Mapping):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def dumps(data: Any) -> str:
    """JSON text as every command writes it: strict JSON (non-finite numbers as null), two-space indent, lists of
    numbers (shapes) on one line, UTF-8 kept readable, one final newline."""
    import json  # here: the table, CSV and Markdown renderers never need it

    text = json.dumps(finite(data), indent=2, ensure_ascii=False, allow_nan=False)
    text = _NUMBER_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    return text + "\n"


def report_json(report: Report, *, depth: int | None = None) -> str:
    return dumps(report_dict(report, depth=depth))


# ------------------------------------------------------------------------------------------- text parts


def op_label(record: Record) -> str:
    """What a row is: the op of a layer, or the kind (and block name) of a collapsed group."""
    if record.is_layer:
        return record.op
    if record.op and record.op != record.kind:
        return f"{record.kind} {record.op}"
    return record.kind


def other_summary(other: Mapping[str, int]) -> str:
    """``bias 13.56 M · activation 13.56 M · pooling 3.61 M`` in the registry's category order."""
    return " · ".join(f"{cat} {num.si(n)}" for cat, n in ordered_other(other).items())


def header_lines(report: Report) -> list[str]:
    """The lines above a table: the network and what it was computed for."""
    title = report.name + (f" — {report.description}" if report.description else "")
    facts = [
        f"input {num.shape(report.input_shape)}",
        f"output {num.shape(report.output_shape)}",
        f"batch {report.batch}",
    ]
    lines = [title, " · ".join(facts)]
    if report.variables:
        lines.append("variables: " + ", ".join(f"{k}={num.plain(v)}" for k, v in report.variables.items()))
    if report.aux_heads:
        lines.append("training view: the training-only aux heads are counted — " + ", ".join(report.aux_heads))
    return lines


def totals_lines(report: Report) -> list[str]:
    t = report.totals
    lines = [
        f"params {num.count(t.params)} · MACs {num.count(t.macs)} · FLOPs {num.count(t.flops)}",
    ]
    if t.other_ops:
        lines.append(f"other ops {num.count(t.other_ops)}: {other_summary(t.other)}")
    else:
        lines.append("other ops 0")
    return lines



# -------------------------------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "name",
    "kind",
    "op",
    "depth",
    "input_shape",
    "output_shape",
    "params",
    "macs",
    "flops",
    "other_ops",
    *OTHER_CATEGORIES,
    "formula",
)


#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell as written: text a spreadsheet would run as a formula gets a leading ``'``, and a carriage return
    (which Python's CSV writer leaves unquoted, so that a reader would split the row there) is written ``\\r``;
    numbers stay numbers."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START):
        value = "'" + value
    return value.replace("\r", "\\r")


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with a header; every text cell that could run as a formula escaped (``csv_cell``)."""
    buffer = io.StringIO()
    import csv  # only for --format csv (start-up)

    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return buffer.getvalue()


def report_csv(report: Report, *, depth: int | None = None, rf: bool = False) -> str:
    """One row per layer (or collapsed group) with a header; shapes as ``28x28x6``, counts as plain integers.

    There is no totals row, so every numeric column sums to the report's totals. ``rf`` adds the receptive field
    columns after ``output_shape`` (``cnncost.render.receptive.CSV_COLUMNS``).
    """
    from cnncost.render.train import csv_extra

    records = report.collapsed(depth)
    extra_columns, extra = csv_extra(report, records)
    rows = []
    for r, more in zip(records, extra, strict=True):
        rows.append(
            [
                r.path,
                r.kind,
                r.op,
                r.depth,
                num.shape(r.input_shape, sep="x"),
                num.shape(r.output_shape, sep="x"),
                r.params,
                r.macs,
                r.flops,
                r.other_ops,
                *(r.other.get(c, 0) for c in OTHER_CATEGORIES),
                r.formula or "",
                *more,
            ]
        )
    if rf:
        from cnncost.render import receptive

        at = CSV_COLUMNS.index("output_shape") + 1
        rows = [[*row[:at], *receptive.csv_cells(r), *row[at:]] for row, r in zip(rows, records, strict=True)]
        return csv_text((*CSV_COLUMNS[:at], *receptive.CSV_COLUMNS, *CSV_COLUMNS[at:], *extra_columns), rows)
    return csv_text((*CSV_COLUMNS, *extra_columns), rows)


# --------------------------------------------------------------------------------------------- Markdown


def md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> list[str]:
    """A GitHub-flavoured Markdown table; ``align`` has one letter per column, ``l`` or ``r``."""
    marks = {"l": "---", "r": "--:"}
    lines = [
        "| " + " | ".join(md_cell(h) for h in header) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    lines.extend("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)
    return lines


def report_markdown(report: Report, *, depth: int | None = None, rf: bool = False) -> str:
    title, *facts = header_lines(report)
    total_macs = report.totals.macs
    rows = [
        [
            f"`{r.path}`",
            op_label(r),
            num.shape(r.output_shape),
            num.integer(r.params),
            num.integer(r.macs),
            num.percent(r.macs, total_macs) if r.macs else "",
            r.formula or "",
        ]
        for r in report.collapsed(depth)
    ]
    rows.append(
        [
            "**total**",
            "",
            num.shape(report.output_shape),
            f"**{num.integer(report.totals.params)}**",
            f"**{num.integer(total_macs)}**",
            num.percent(total_macs, total_macs),
            "",
        ]
    )
    formula = "formula" if report.batch == 1 else "formula (per image)"
    header, align = ["layer", "op", "output", "params", "MACs", "% MACs", formula], "llrrrrl"
    if rf:
        from cnncost.render.receptive import cells, notes

        header, align = [*header[:3], "RF", "jump", *header[3:]], "llrrrrrrl"
        shown = [*report.collapsed(depth), None]
        rows = [[*row[:3], *(cells(r) if r else ("", "")), *row[3:]] for row, r in zip(rows, shown, strict=True)]
    lines = [f"**{md_cell(title)}**", ""] + [md_cell(line) + "  " for line in facts] + [""]
    lines += md_table(header, rows, align)
    lines += [""] + [md_cell(line) + "  " for line in totals_lines(report)]
    if rf:
        lines += [""] + [f"_{md_cell(note)}_  " for note in notes(report)]
    lines += ["", f"_convention: {md_cell(CONVENTION)}_"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------- library and ops


def library_dicts(reports: Sequence[Summary]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "description": r.description,
            "source": r.source,
            "input": list(r.input_shape),
            "output": list(r.output_shape),
            "shape_order": SHAPE_ORDER,
            "params": r.totals.params,
            "macs": r.totals.macs,
            "flops": r.totals.flops,
        }
        for r in reports
    ]


def library_json(reports: Sequence[Summary]) -> str:
    return dumps({"schema_version": SCHEMA_VERSION, "networks": library_dicts(reports)})


def library_csv(reports: Sequence[Summary]) -> str:
    header = ("name", "input", "output", "params", "macs", "flops", "description", "source")
    rows = [
        [
            r.name,
            num.shape(r.input_shape, sep="x"),
            num.shape(r.output_shape, sep="x"),
            r.totals.params,
            r.totals.macs,
            r.totals.flops,
            r.description,
            r.source or "",
        ]
        for r in reports
    ]
    return csv_text(header, rows)


def library_markdown(reports: Sequence[Summary]) -> str:
    rows = [
        [
            f"`{r.name}`",
            num.shape(r.input_shape),
            num.integer(r.totals.params),
            num.integer(r.totals.macs),
            r.description,
            r.source or "",
        ]
        for r in reports
    ]
    header = ["network", "input", "params", "MACs", "description", "source"]
    return "\n".join(md_table(header, rows, "lrrrll")) + "\n"


def op_rows(ops: Iterable[Any]) -> list[dict[str, Any]]:
    """Plain dictionaries describing registry entries (``OpDef``): name, category, summary, arguments."""
    out = []
    for op in ops:
        args = [
            {
                "name": name,
                "kind": field.kind,
                "required": field.required,
                "default": None if field.required else _json_value(field.default),
                "help": field.help,
            }
            for name, field in op.fields.items()
        ]
        out.append({"name": op.name, "category": op.category, "summary": op.summary, "arguments": args})
    return out


def ops_json(ops: Iterable[Any]) -> str:
    return dumps({"schema_version": SCHEMA_VERSION, "ops": op_rows(ops)})


def ops_csv(ops: Iterable[Any]) -> str:
    rows = []
    for op in op_rows(ops):
        args = " ".join(
            a["name"] if a["required"] else f"{a['name']}={'' if a['default'] is None else a['default']}"
            for a in op["arguments"]
        )
        rows.append([op["name"], op["category"], args, op["summary"]])
    return csv_text(("op", "category", "arguments", "summary"), rows)


def ops_markdown(ops: Iterable[Any]) -> str:
    rows = []
    for op in op_rows(ops):
        args = ", ".join(
            f"`{a['name']}`" if a["required"] else f"`{a['name']}={_default_text(a['default'])}`"
            for a in op["arguments"]
        )
        rows.append([f"`{op['name']}`", op["category"], args or num.NONE, op["summary"]])
    return "\n".join(md_table(["op", "category", "arguments", "summary"], rows, "llll")) + "\n"


def _default_text(value: Any) -> str:
    return "auto" if value is None else num.plain(value)
