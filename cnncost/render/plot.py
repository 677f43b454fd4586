"""Pictures of what a network costs: ``cnncost plot NAME … -o FILE.png|svg|pdf --kind shapes|costs|compare``.

Each kind is two functions, kept apart so that tests (and ``cnncost docs --check``) can read what a picture shows
without drawing it:

- ``<kind>_data(subjects, depth)`` → the plotted figures as plain JSON-able data, read from the analysis records
  (nothing is computed here that the report does not hold);
- ``draw_<kind>(data)`` → a matplotlib ``Figure``.

``KINDS`` maps a kind's name to the pair; a new kind (a sweep, memory per layer) is one more pair and one entry
there, plus its name in the CLI's ``PlotKind``.

- **shapes**: per layer, height × width (left axis) and channels (right axis), both on log₂ scales so halving
  and doubling read as equal steps — the course's picture of H×W falling while C rises. After ``flatten`` a
  vector's length is drawn on the channel axis and the spatial line stops.
- **costs**: MACs and params per layer (or per block at ``--depth``; by default the deepest view within
  ``MAX_ROWS`` rows) as horizontal bars coloured by op, the three largest of each labelled with value and share,
  and each op's share of the whole network under the title (VGG-16: fc6 holds 74 % of the params, the convs 99 %
  of the MACs).
- **compare**: networks as points, MACs against params (log axes where the values span more than ``LOG_SPAN``×),
  labelled; the points of one NAME under several ``--set`` values are joined in order (MobileNet's width
  multiplier as a curve). Labels are placed by a greedy search around each point (nearest free spot first, a
  thin leader line when it had to move away) so that no two labels overlap and none leaves the axes; points
  that coincide on the page share one label.

matplotlib is imported only here, inside functions, and only its object API is used (``Figure``, no pyplot: no
window, no global state). Files are deterministic for the same data (no dates; a fixed SVG hash salt) and carry
a fingerprint of their data in their metadata (``fingerprint_of``), which is how ``cnncost docs --check`` tells a
stale picture from a fresh one whatever matplotlib release drew it. Numbers become text through
``cnncost.render.numbers`` only.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnncost.errors import MissingDependencyError, UsageError
from cnncost.render import numbers as num

if TYPE_CHECKING:
    from cnncost.analysis.records import Record, Report, Summary

#: A ``matplotlib.figure.Figure`` (matplotlib is imported inside functions only, and not for type checking).
Figure = Any

__all__ = [
    "FORMATS",
    "KINDS",
    "Subject",
    "compare_data",
    "costs_data",
    "draw_compare",
    "draw_costs",
    "draw_shapes",
    "figure",
    "fingerprint",
    "fingerprint_of",
    "format_of",
    "render",
    "require_matplotlib",
    "set_grid",
    "shapes_data",
]

#: File formats by extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Raised whenever the drawing changes, so ``cnncost docs --check`` finds pictures drawn the old way stale.
STYLE = 1
#: The most rows a costs panel shows by default (deeper blocks are folded until it fits).
MAX_ROWS = 60
#: The most networks the per-layer kinds (shapes, costs) draw in one figure.
MAX_PANELS = 8
#: An axis of the compare plot is logarithmic when its values span more than this factor.
LOG_SPAN = 10.0
DPI = 110
MARKER = "cnncost-data:"

#: Colours by op (costs) and for the two series of shapes; tab10's, readable in print and for most colour vision.
OP_COLOURS = {"conv": "#1f77b4", "linear": "#ff7f0e"}
OTHER_COLOUR = "#8c8c8c"
SPATIAL_COLOUR = "#1f77b4"
CHANNEL_COLOUR = "#d62728"


@dataclass(frozen=True)
class Subject:
    """One network to draw: its label (``mobilenet-v1 width=0.5``), the NAME it came from (``group``: the points
    of one group are joined in a compare plot) and its analysis (a full report, or a library summary)."""

    label: str
    group: str
    report: Report | Summary


# --------------------------------------------------------------------------------------------- helpers


def require_matplotlib() -> None:
    """One line, before any work, when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "cnncost plot needs matplotlib, which is not installed",
            hint="install it with: pip install matplotlib (from a cnncost checkout: pip install '.[plot]')",
        ) from None


def format_of(path: str) -> str:
    """The file format a plot's path asks for, by its extension; a one-line UsageError for any other."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(
            f"cannot write a plot to {path}: the format comes from the extension",
            hint="name a .png, .svg or .pdf file",
        )
    return fmt


def set_grid(items: Sequence[str] | None) -> list[list[str]]:
    """``--set`` items with several values (``width=0.25,0.5,1.0``; commas inside brackets or quotes belong to
    one value, as in ``depths=[2, 2, 2, 2]``) → every combination as ``KEY=VALUE`` items, first key slowest."""
    axes: list[list[str]] = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            axes.append([item])  # not KEY=VALUE: left for the CLI's parser to refuse
            continue
        axes.append([f"{key}={v}" for v in _split_top(value)] or [item])
    grid: list[list[str]] = [[]]
    for values in axes:
        grid = [[*combo, v] for combo in grid for v in values]
    return grid


def _split_top(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _report(subject: Subject, kind: str) -> Report:
    from cnncost.analysis.records import Report

    if not isinstance(subject.report, Report):  # pragma: no cover - the CLI analyzes what these kinds draw
        raise UsageError(f"--kind {kind} needs the full analysis of {subject.label}")
    return subject.report


def _op_group(op: str) -> str:
    return op if op in OP_COLOURS else "other"


# ---------------------------------------------------------------------------------------------- shapes


def shapes_data(subjects: Sequence[Subject], depth: int | None = None) -> dict[str, Any]:
    """Per network, the input and then every layer that changes the shape or holds params or MACs, with its
    output shape ([H, W, C], or [N] for a vector)."""
    networks = []
    for subject in subjects:
        report = _report(subject, "shapes")
        rows = [{"path": "input", "op": "input", "shape": list(report.input_shape)}]
        rows += [
            {"path": r.path, "op": r.op, "shape": list(r.output_shape)}
            for r in report.collapsed(depth)
            if r.params or r.macs or r.output_shape != r.input_shape
        ]
        networks.append({"name": subject.label, "rows": rows})
    return {"kind": "shapes", "depth": depth, "networks": networks}


def _log2_axis(axis: Any, values: Sequence[float], label: Callable[[float], str]) -> None:
    """A log₂ axis with its ticks at the values drawn (when few enough to read), else at powers of 2."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axis.set_yscale("log", base=2)
    distinct = sorted({v for v in values if v and not math.isnan(v)})
    if not distinct:
        return
    if len(distinct) <= 12:
        kept: list[float] = []
        for v in distinct:  # drop a tick closer than a sixth of an octave to the one below
            if not kept or math.log2(v / kept[-1]) >= 1 / 6:
                kept.append(v)
        ticks = kept
    else:
        ticks = [2.0**e for e in range(math.floor(math.log2(distinct[0])), math.floor(math.log2(distinct[-1])) + 2)]
    axis.yaxis.set_major_locator(FixedLocator(ticks))
    axis.yaxis.set_minor_locator(NullLocator())
    axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: label(v)))
    axis.set_ylim(distinct[0] / 1.6, distinct[-1] * 1.6)


def draw_shapes(data: Mapping[str, Any]) -> Figure:
    from matplotlib.figure import Figure

    networks = data["networks"]
    longest = max(len(n["rows"]) for n in networks)
    fig = Figure(figsize=(max(8.0, 0.36 * longest + 2.5), 4.6 * len(networks)), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(networks), 1, squeeze=False)[:, 0]
    for ax, network in zip(axes, networks, strict=True):
        rows = network["rows"]
        xs = list(range(len(rows)))
        heights = [float(r["shape"][0]) if len(r["shape"]) == 3 else math.nan for r in rows]
        widths = [float(r["shape"][1]) if len(r["shape"]) == 3 else math.nan for r in rows]
        channels = [float(r["shape"][-1]) for r in rows]
        square = all(h == w or math.isnan(h) for h, w in zip(heights, widths, strict=True))
        handles = []
        if square:
            (line,) = ax.plot(xs, heights, marker="o", color=SPATIAL_COLOUR, lw=2, label="height × width")
            handles.append(line)
            _log2_axis(ax, heights, lambda v: f"{v:g}×{v:g}")
            ax.set_ylabel("height × width (pixels)", color=SPATIAL_COLOUR)
        else:
            (line,) = ax.plot(xs, heights, marker="o", color=SPATIAL_COLOUR, lw=2, label="height")
            (wline,) = ax.plot(xs, widths, marker="^", color=SPATIAL_COLOUR, lw=1.2, ls="--", label="width")
            handles += [line, wline]
            _log2_axis(ax, heights + widths, lambda v: f"{v:g}")
            ax.set_ylabel("height, width (pixels)", color=SPATIAL_COLOUR)
        twin = ax.twinx()
        vectors = any(math.isnan(h) for h in heights)
        clabel = "channels (after flatten: the vector's length)" if vectors else "channels"
        (cline,) = twin.plot(xs, channels, marker="s", color=CHANNEL_COLOUR, lw=2, label=clabel)
        handles.append(cline)
        _log2_axis(twin, channels, lambda v: num.integer(round(v)))
        twin.set_ylabel("channels (a vector's length after flatten)", color=CHANNEL_COLOUR)
        ax.set_xticks(xs, [r["path"] for r in rows], rotation=60, ha="right", rotation_mode="anchor", fontsize=8)
        ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.grid(axis="y", color="0.9", lw=0.8)
        ax.set_axisbelow(True)
        first, last = rows[0]["shape"], rows[-1]["shape"]
        ax.set_title(f"{network['name']}: {num.shape(first)} → {num.shape(last)}", loc="left", fontsize=11)
        ax.legend(
            handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(handles), fontsize=8,
            frameon=False, borderaxespad=0.2,
        )  # fmt: skip
    fig.suptitle("Per layer, height × width fall while channels rise (log₂ scales)", fontsize=12)
    return fig


# ----------------------------------------------------------------------------------------------- costs


def _cost_rows(report: Report, depth: int | None) -> tuple[int | None, list[Record]]:
    """The rows a costs panel shows: every layer with params or MACs at ``depth`` (None: every layer); by
    default the deepest view that fits ``MAX_ROWS`` rows."""

    def rows(d: int | None) -> list[Record]:
        return [r for r in report.collapsed(d) if r.params or r.macs]

    if depth is not None:
        return depth, rows(depth)
    if len(rows(None)) <= MAX_ROWS:
        return None, rows(None)
    deepest = max((r.depth for r in report.records), default=0)
    for d in range(deepest, -1, -1):
        if len(rows(d)) <= MAX_ROWS:
            return d, rows(d)
    return 0, rows(0)


def costs_data(subjects: Sequence[Subject], depth: int | None = None) -> dict[str, Any]:
    """Per network, MACs and params of each row (a layer, or a folded block), the totals, and each op's share of
    the whole network's MACs and params (from its layer rows)."""
    networks = []
    for subject in subjects:
        report = _report(subject, "costs")
        shown, rows = _cost_rows(report, depth)
        by_op: dict[str, dict[str, int]] = {}
        for r in report.layers():
            if r.params or r.macs:
                entry = by_op.setdefault(r.op, {"macs": 0, "params": 0})
                entry["macs"] += r.macs
                entry["params"] += r.params
        networks.append(
            {
                "name": subject.label,
                "depth": shown,
                "batch": report.batch,
                "totals": {"macs": report.totals.macs, "params": report.totals.params},
                "by_op": by_op,
                "rows": [
                    {"path": r.path, "op": r.op, "kind": r.kind, "macs": r.macs, "params": r.params,
                     "main_op": _main_op(report, r)}
                    for r in rows
                ],
            }
        )
    return {"kind": "costs", "networks": networks}


def _main_op(report: Report, row: Record) -> str:
    """The op holding most of a row's MACs (else its params): the row's own op for a layer; for a folded block,
    that of its layers (a ResNet block is mostly conv)."""
    if row.is_layer:
        return row.op
    inside: dict[str, tuple[int, int]] = {}
    for r in report.layers():
        if r.path.startswith(row.path + "."):
            macs, params = inside.get(r.op, (0, 0))
            inside[r.op] = (macs + r.macs, params + r.params)
    return max(sorted(inside), key=lambda op: inside[op]) if inside else row.op


def _share_line(network: Mapping[str, Any]) -> str:
    totals = network["totals"]
    parts = []
    for op, value in sorted(network["by_op"].items(), key=lambda kv: (-kv[1]["macs"], -kv[1]["params"], kv[0])):
        macs = num.percent(value["macs"], totals["macs"]) if totals["macs"] else num.NONE
        params = num.percent(value["params"], totals["params"]) if totals["params"] else num.NONE
        parts.append(f"{op}: {macs} of MACs, {params} of params")
    return " · ".join(parts[:4]) + (" · …" if len(parts) > 4 else "")


def draw_costs(data: Mapping[str, Any]) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    networks = data["networks"]
    heights = [0.2 * len(n["rows"]) + 2.0 for n in networks]
    longest_name = max((len(r["path"]) for n in networks for r in n["rows"]), default=8)
    fig = Figure(figsize=(12.0 + 0.05 * longest_name, sum(heights)), dpi=DPI, layout="constrained")
    subfigs = fig.subfigures(len(networks), 1, height_ratios=heights, squeeze=False)[:, 0]
    for sub, network in zip(subfigs, networks, strict=True):
        rows = network["rows"]
        names = [r["path"] for r in rows]
        ys = list(range(len(rows)))
        axes = sub.subplots(1, 2, sharey=True)
        present: dict[str, str] = {}
        for ax, key, title in zip(axes, ("macs", "params"), ("MACs", "parameters"), strict=True):
            values = [r[key] for r in rows]
            colours = []
            for r in rows:
                group = _op_group(r["main_op"])
                colours.append(OP_COLOURS.get(group, OTHER_COLOUR))
                present[group] = colours[-1]
            ax.barh(ys, values, color=colours, height=0.72, label=key)
            total = network["totals"][key]
            largest = max(values, default=0)
            top = [i for i in range(len(rows)) if total and values[i] >= 0.1 * total]  # a tenth of the whole or more
            top = top or sorted(range(len(rows)), key=lambda i: -values[i])[:3]
            for i in top:
                if values[i] <= 0:
                    continue
                text = f"{num.tick(values[i])} ({num.percent(values[i], total)})"
                ax.text(values[i] + 0.01 * largest, i, text, va="center", fontsize=8, fontweight="bold")
            ax.set_xlim(0, largest * 1.32 if largest else 1)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: num.tick(v)))
            per = " per image" if key == "macs" and network["batch"] == 1 else ""
            ax.set_title(f"{title}{per} — total {num.tick(total)}", fontsize=10)
            ax.grid(axis="x", color="0.9", lw=0.8)
            ax.set_axisbelow(True)
        axes[0].set_yticks(ys, names, fontsize=8 if len(rows) <= 40 else 7)
        axes[0].invert_yaxis()
        folded = "" if network["depth"] is None else f", blocks folded to depth {network['depth']}"
        heading = f"{network['name']}: where the MACs and the parameters are ({len(rows)} rows{folded})"
        sub.suptitle(f"{heading}\n{_share_line(network)}", fontsize=11)
        order = [k for k in ("conv", "linear", "other") if k in present]
        labels = {"conv": "conv", "linear": "linear (fully connected)", "other": "other ops"}
        folded_note = "\n(a block: the op with most\nof its MACs)" if network["depth"] is not None else ""
        axes[1].legend(
            handles=[Patch(color=present[k], label=labels[k]) for k in order], loc="upper left",
            bbox_to_anchor=(1.02, 1.0), fontsize=8, title=f"op{folded_note}", title_fontsize=8, frameon=False,
        )  # fmt: skip
    return fig


# --------------------------------------------------------------------------------------------- compare


def compare_data(subjects: Sequence[Subject], depth: int | None = None) -> dict[str, Any]:
    """Each network's total MACs and params, its label and group; the axes' scales."""
    points: list[dict[str, Any]] = [
        {
            "label": s.label,
            "group": s.group,
            "macs": s.report.totals.macs,
            "params": s.report.totals.params,
            "batch": getattr(s.report, "batch", 1),
        }
        for s in subjects
    ]
    scales = {}
    for key in ("macs", "params"):
        values = [int(p[key]) for p in points if int(p[key]) > 0]
        span = max(values) / min(values) if values else 1.0
        scales[key] = "log" if span > LOG_SPAN else "linear"
    return {"kind": "compare", "points": points, "scales": scales}


def _family(name: str) -> str:
    match = re.match(r"[A-Za-z]+", name)
    return match.group(0).lower() if match else name


def _limits(values: Sequence[float], scale: str) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if scale == "log":
        lo, hi = max(lo, 1.0), max(hi, 1.0)
        span = max(math.log10(hi / lo), 0.6)
        return lo / 10 ** (0.12 * span), hi * 10 ** (0.12 * span)
    pad = (hi - lo) * 0.15 or max(abs(hi) * 0.2, 1.0)
    return max(0.0, lo - pad), hi + pad


def draw_compare(data: Mapping[str, Any]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    points = data["points"]
    scales = data["scales"]
    many = len(points) > 12
    fig = Figure(figsize=(16.0, 11.0) if many else (10.0, 7.0), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    families = sorted({_family(p["group"]) for p in points})
    palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
        "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354",
        "#756bb1", "#636363",
    ]  # fmt: skip
    colour = {f: palette[i % len(palette)] for i, f in enumerate(families)}
    xs = [float(p["macs"]) for p in points]
    ys = [float(p["params"]) for p in points]
    ax.set_xscale(scales["macs"])
    ax.set_yscale(scales["params"])
    ax.set_xlim(*_limits(xs, scales["macs"]))
    ax.set_ylim(*_limits(ys, scales["params"]))
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault(p["group"], []).append(i)
    for group, members in groups.items():
        if len(members) > 1:
            ordered = sorted(members, key=lambda i: xs[i])
            ax.plot(
                [xs[i] for i in ordered], [ys[i] for i in ordered], color=colour[_family(group)], lw=1.2, alpha=0.7,
                label=f"_curve {group}",
            )  # fmt: skip
    ax.scatter(
        xs, ys, s=28 if many else 40, c=[colour[_family(p["group"])] for p in points], zorder=3, label="networks",
        edgecolors="white", linewidths=0.6,
    )  # fmt: skip
    for axis, key, values in ((ax.xaxis, "macs", xs), (ax.yaxis, "params", ys)):
        if scales[key] == "log" and math.log10(max(values) / max(min(values), 1.0)) < 3:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # a few decades: 1-2-5 steps
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: num.tick(v)))
        axis.set_minor_formatter(NullFormatter())
    ax.grid(which="major", color="0.88", lw=0.8)
    ax.set_axisbelow(True)
    batch = {p["batch"] for p in points}
    per = "per image" if batch == {1} else "for the batch"
    ax.set_xlabel(f"MACs {per} (multiply-accumulates{', log scale' if scales['macs'] == 'log' else ''})")
    ax.set_ylabel(f"parameters{' (log scale)' if scales['params'] == 'log' else ''}")
    title = f"Parameters against MACs: {len(points)} network{'s' if len(points) != 1 else ''}"
    ax.set_title(title, fontsize=12)
    FigureCanvasAgg(fig)
    fig.canvas.draw()  # lay the figure out, then freeze it: labels are placed in its pixels
    fig.set_layout_engine("none")
    dropped = place_labels(fig, ax, xs, ys, [p["label"] for p in points], fontsize=7.5 if many else 9)
    if dropped:
        more = "…" if len(dropped) > 5 else ""
        ax.set_title(f"{title} ({len(dropped)} label(s) left out for lack of room: {', '.join(dropped[:5])}{more})")
    return fig


def place_labels(
    fig: Any, ax: Any, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], *, fontsize: float = 9
) -> list[str]:
    """Label points so that no two labels overlap, none covers a point and none leaves the axes: points that
    coincide on the page (within 4 pixels) share one label; each label takes the nearest free spot on rings of
    growing radius around its point (crowded points first), with a thin leader line once it is away from the
    point. Returns the labels that found no room (none, for the library at the default size)."""
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    px = [tuple(to_px((x, y))) for x, y in zip(xs, ys, strict=True)]
    area = ax.get_window_extent(renderer)
    # points that coincide on the page share a label
    clusters: list[list[int]] = []
    for i, (x, y) in enumerate(px):
        for cluster in clusters:
            cx, cy = px[cluster[0]]
            if abs(cx - x) <= 4 and abs(cy - y) <= 4:
                cluster.append(i)
                break
        else:
            clusters.append([i])
    pad = 2.0
    points = [(x - 4, y - 4, x + 4, y + 4) for x, y in px]
    placed: list[tuple[float, float, float, float]] = []

    def crowd(cluster: list[int]) -> int:
        cx, cy = px[cluster[0]]
        return sum(1 for x, y in px if abs(x - cx) < 80 and abs(y - cy) < 40)

    def free(box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        if x0 < area.x0 + 2 or y0 < area.y0 + 2 or x1 > area.x1 - 2 or y1 > area.y1 - 2:
            return False
        for a0, b0, a1, b1 in placed:
            if x0 < a1 + pad and a0 < x1 + pad and y0 < b1 + pad and b0 < y1 + pad:
                return False
        return all(not (x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1) for a0, b0, a1, b1 in points)

    scale = fig.dpi / 72.0
    dropped: list[str] = []
    for cluster in sorted(clusters, key=lambda c: (-crowd(c), c[0])):
        text = "\n".join(textwrap.wrap(", ".join(labels[i] for i in cluster), 34)) or labels[cluster[0]]
        probe = ax.text(0, 0, text, fontsize=fontsize, transform=None)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        w, h = extent.width, extent.height
        x, y = px[cluster[0]]
        spot = None
        for radius in (6, 11, 18, 27, 38, 52, 70, 92, 120, 155, 200, 260):
            steps = 12 if radius < 40 else 24
            for k in range(steps):
                angle = 2 * math.pi * k / steps
                c, s = math.cos(angle), math.sin(angle)
                ha = "left" if c > 0.25 else "right" if c < -0.25 else "center"
                va = "bottom" if s > 0.25 else "top" if s < -0.25 else "center"
                ox, oy = x + radius * c, y + radius * s
                x0 = ox - {"left": 0.0, "center": w / 2, "right": w}[ha]
                y0 = oy - {"bottom": 0.0, "center": h / 2, "top": h}[va]
                box = (x0, y0, x0 + w, y0 + h)
                if free(box):
                    spot = (radius * c, radius * s, ha, va, box, radius)
                    break
            if spot:
                break
        if spot is None:
            dropped.append(text.replace("\n", " "))
            continue
        dx, dy, ha, va, box, radius = spot
        arrow = {"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 0, "shrinkB": 3} if radius > 11 else None
        ax.annotate(
            text, xy=(xs[cluster[0]], ys[cluster[0]]), xytext=(dx / scale, dy / scale), textcoords="offset points",
            ha=ha, va=va, fontsize=fontsize, arrowprops=arrow, gid="point-label", zorder=4,
        )  # fmt: skip
        placed.append(box)
    return dropped


# --------------------------------------------------------------------------------------------- subjects


def gather(
    names: Sequence[str],
    *,
    kind: str,
    every: bool = False,
    size: tuple[int, int] | None = None,
    grid: Sequence[tuple[str, Mapping[str, Any]]] = (("", {}),),
) -> list[Subject]:
    """The networks a plot draws: each NAME (a bundled name, a spec file, or a glob over the library such as
    ``'resnet*'``; ``every``: the whole library) under each ``--set`` combination of ``grid`` (its label text and
    its variables). Library totals come from the cache where the kind needs totals only."""
    import os

    from cnncost import api
    from cnncost.errors import NotFoundError

    if every and names:
        raise UsageError("give networks or --all, not both", hint="e.g. cnncost plot --kind compare --all -o all.png")
    if not names and not every:
        raise UsageError("plot needs a network (or --all)", hint="e.g. cnncost plot vgg16 --kind costs -o vgg16.png")
    plain = len(grid) == 1 and not grid[0][1] and size is None and not KINDS[kind].per_layer
    subjects: list[Subject] = []
    for name in names or ["*"]:
        if any(c in name for c in "*?[") and not os.path.exists(name):
            found = api.library_summaries(name)
            if not found:
                raise NotFoundError(f"no bundled network matches '{name}'", hint="run 'cnncost list' to see them all")
            if plain:
                subjects += [Subject(s.name, s.name, s) for s in found]
                continue
            expanded = [s.name for s in found]
        else:
            expanded = [name]
        for each in expanded:
            for label, variables in grid:
                report = api.analyze(each, size=size, variables=dict(variables))
                subjects.append(Subject(f"{each} {label}".strip(), each, report))
        if KINDS[kind].per_layer and len(subjects) > MAX_PANELS:
            raise UsageError(
                f"--kind {kind} draws one panel per network, at most {MAX_PANELS}",
                hint="name fewer networks, or use --kind compare",
            )
    return subjects


# ------------------------------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class Kind:
    data: Callable[[Sequence[Subject], int | None], dict[str, Any]]
    draw: Callable[[Mapping[str, Any]], Figure]
    per_layer: bool  # needs the full analysis of each network (at most MAX_PANELS of them)


KINDS: dict[str, Kind] = {
    "shapes": Kind(shapes_data, draw_shapes, per_layer=True),
    "costs": Kind(costs_data, draw_costs, per_layer=True),
    "compare": Kind(compare_data, draw_compare, per_layer=False),
}


def figure(data: Mapping[str, Any]) -> Figure:
    """The picture of ``<kind>_data``'s result."""
    return KINDS[data["kind"]].draw(data)


def fingerprint(data: Mapping[str, Any]) -> str:
    """What a picture shows, as a short hash of its data and the drawing style (``STYLE``)."""
    text = json.dumps({"style": STYLE, "data": data}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def render(data: Mapping[str, Any], fmt: str) -> bytes:
    """The picture as the bytes of a PNG, SVG or PDF file, with its data's fingerprint in its metadata."""
    import matplotlib

    mark = MARKER + fingerprint(data)
    metadata: dict[str, dict[str, str | None]] = {
        "png": {"Software": None, "Description": mark},
        "svg": {"Date": None, "Creator": None, "Description": mark},
        "pdf": {"CreationDate": None, "Creator": None, "Producer": None, "Subject": mark},
    }
    with matplotlib.rc_context({"svg.hashsalt": "cnncost", "svg.fonttype": "path", "pdf.compression": 6}):
        fig = figure(data)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata[fmt], facecolor="white")
    return buffer.getvalue()


_FINGERPRINT = re.compile(rb"cnncost-data:([0-9a-f]{32})")


def fingerprint_of(path: str | Path) -> str | None:
    """The data fingerprint a cnncost picture carries (None for a missing file or another picture). PNG text
    chunks, SVG metadata and the PDF info dictionary all hold it as plain ASCII, so a search finds it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(64 * 1024 * 1024)
    except OSError:
        return None
    found = _FINGERPRINT.search(data)
    return found.group(1).decode("ascii") if found else None
