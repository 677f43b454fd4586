"""``cnncost sweep``: one row per point — the network, the swept values, the input, params and MACs — as a
table, JSON, CSV or Markdown. Extra metrics the rows carry (``SweepRow.metrics``) follow as further columns.

JSON layout::

    {"schema_version": 1, "spec": "mobilenet-v1", "networks": ["mobilenet-v1"], "axes": ["width", "size"],
     "batch": 1, "shape_order": "HWC", "convention": "...",
     "points": [{"network": "mobilenet-v1", "values": {"width": 1.0, "size": [224, 224]},
                 "input": [224, 224, 3], "output": [1000], "params": 4231976, "macs": 568740352,
                 "flops": 1137480704, "metrics": {}}, ...]}
"""

from __future__ import annotations

from typing import Any

from cnncost.analysis.sweep import SIZE, Sweep, SweepRow
from cnncost.render import CONVENTION, SCHEMA_VERSION
from cnncost.render import numbers as num
from cnncost.render.formats import SHAPE_ORDER, _json_value, csv_text, dumps, md_table


def _value(axis: str, value: Any) -> str:
    if axis == SIZE:
        h, w = value
        return str(h) if h == w else f"{h}×{w}"
    return num.plain(value)


def _metric(value: int | float) -> str:
    return num.integer(value) if isinstance(value, int) else num.decimal(value)


def _header(sweep: Sweep) -> tuple[list[str], list[bool]]:
    """Column names and whether each is a number (right-aligned)."""
    names = ["network"] if len(sweep.networks) > 1 else []
    names += [*sweep.axes, "input", "params", "MACs", *sweep.metric_names()]
    numeric = [False] * (len(sweep.networks) > 1) + [True] * (len(names) - (len(sweep.networks) > 1))
    return names, numeric


def _cells(sweep: Sweep, row: SweepRow) -> list[str]:
    cells = [row.network] if len(sweep.networks) > 1 else []
    cells += [_value(axis, row.values[axis]) for axis in sweep.axes]
    cells += [num.shape(row.input_shape), num.integer(row.params), num.integer(row.macs)]
    cells += [_metric(row.metrics[m]) if m in row.metrics else num.NONE for m in sweep.metric_names()]
    return cells


def _summary(sweep: Sweep) -> str:
    per = "per image" if sweep.batch == 1 else f"for a batch of {sweep.batch}"
    n = len(sweep.rows)
    points = f"{n} point{'' if n == 1 else 's'}"
    if len(sweep.networks) > 1:
        points += f" ({' × '.join(['network', *sweep.axes])})"
    elif sweep.axes:
        points += f" ({' × '.join(sweep.axes)})"
    return f"{sweep.spec}: {points} · MACs {per}"


def sweep_table(sweep: Sweep, *, width: int = 120, color: bool = False, **_: Any) -> str:
    from cnncost.render.table import Column, grid, join, wrap_line

    names, numeric = _header(sweep)
    columns = [Column(n, "right" if r else "left") for n, r in zip(names, numeric, strict=True)]
    lines = wrap_line(_summary(sweep), width)
    lines.append("")
    lines += grid(columns, [_cells(sweep, r) for r in sweep.rows], width=width, color=color)
    lines.append("")
    lines += wrap_line(f"convention: {CONVENTION}", width, "dim", color)
    return join(lines)


def sweep_dict(sweep: Sweep) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "spec": sweep.spec,
        "networks": list(sweep.networks),
        "axes": list(sweep.axes),
        "batch": sweep.batch,
        "shape_order": SHAPE_ORDER,
        "convention": CONVENTION,
        "points": [
            {
                "network": r.network,
                "values": {k: _json_value(v) for k, v in r.values.items()},
                "input": list(r.input_shape),
                "output": list(r.output_shape),
                "params": r.params,
                "macs": r.macs,
                "flops": r.flops,
                "metrics": dict(r.metrics),
            }
            for r in sweep.rows
        ],
    }


def sweep_json(sweep: Sweep, **_: Any) -> str:
    return dumps(sweep_dict(sweep))


def sweep_csv(sweep: Sweep, **_: Any) -> str:
    """One line per point: network, each axis (a size as ``HxW``), input, output, params, macs, flops, metrics."""
    metrics = sweep.metric_names()
    header = ["network", *sweep.axes, "input", "output", "params", "macs", "flops", *metrics]
    rows = [
        [
            r.network,
            *(_value(a, r.values[a]).replace("×", "x") if a == SIZE else _csv_value(r.values[a]) for a in sweep.axes),
            num.shape(r.input_shape, sep="x"),
            num.shape(r.output_shape, sep="x"),
            r.params,
            r.macs,
            r.flops,
            *(r.metrics.get(m, "") for m in metrics),
        ]
        for r in sweep.rows
    ]
    return csv_text(header, rows)


def _csv_value(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else num.plain(value)


def sweep_markdown(sweep: Sweep, **_: Any) -> str:
    names, numeric = _header(sweep)
    rows = [_cells(sweep, r) for r in sweep.rows]
    lines = [f"_{_summary(sweep)}_", ""]
    lines += md_table(names, rows, "".join("r" if n else "l" for n in numeric))
    return "\n".join(lines) + "\n"
