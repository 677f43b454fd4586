"""``cnncost bench`` results as text: one comparison table, JSON (a list of objects), CSV, Markdown.

JSON layout: a list with one object per network × batch::

    [{"name": "resnet50", "device": "cuda:0", "device_name": "NVIDIA H100 80GB HBM3", "batch": 256,
      "requested_batch": 256, "precision": "bf16", "layout": "channels_last", "compile": "default",
      "cuda_graphs": true, "threads": 16, "torch_version": "2.x", "input": [224, 224, 3], "shape_order": "HWC",
      "macs_per_image": 4089184256, "first_call_ms": ..., "median_ms": ..., "iqr_ms": ..., "min_ms": ...,
      "repeats": 10, "calls_per_repeat": ..., "warmup_calls": ..., "images_per_s": ..., "gmacs_per_s": ...,
      "tflops": ..., "peak_tflops": 989.0, "peak_source": "...", "peak_fraction": 0.43, "noisy": false,
      "above_peak": false, "notes": [], "layers": [...]   # only with --per-layer
    }]

``peak_fraction`` and ``peak_tflops`` are null when the device's peak is unknown. Times are milliseconds per
forward pass of the whole batch; ``tflops`` counts FLOPs = 2 × MACs of the analytic report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnncost.bench.results import BenchResult, LayerTiming, ProgressEvent
from cnncost.render import numbers as num

SHAPE_ORDER = "HWC"

#: Scalar fields of a result, in JSON and CSV order.
RESULT_FIELDS = (
    "name",
    "device",
    "device_name",
    "batch",
    "requested_batch",
    "precision",
    "layout",
    "compile",
    "cuda_graphs",
    "threads",
    "torch_version",
    "macs_per_image",
    "first_call_ms",
    "median_ms",
    "iqr_ms",
    "min_ms",
    "repeats",
    "calls_per_repeat",
    "warmup_calls",
    "images_per_s",
    "gmacs_per_s",
    "tflops",
    "peak_tflops",
    "peak_source",
    "peak_fraction",
    "noisy",
    "above_peak",
)

LAYER_FIELDS = (
    "path",
    "op",
    "time_ms",
    "share",
    "flops",
    "bytes_moved",
    "tflops",
    "intensity",
    "bound",
    "roofline_fraction",
)


# ----------------------------------------------------------------------------------------- numbers as text
# Every figure becomes text through cnncost.render.numbers; these names stay for the renderers' readers.

ms = num.duration
rate = num.rate
tflops = num.sig3
fraction = num.share


def spread(result: BenchResult) -> str:
    return f"{ms(result.iqr_ms)} ({num.share(result.spread)})"


# ------------------------------------------------------------------------------------------------- data


def layer_dict(layer: LayerTiming) -> dict[str, Any]:
    data: dict[str, Any] = {f: getattr(layer, f) for f in LAYER_FIELDS}
    data["output_shape"] = list(layer.output_shape)
    return data


def result_dict(result: BenchResult) -> dict[str, Any]:
    """The JSON object of one network × batch (see the module docstring)."""
    data: dict[str, Any] = {}
    for f in RESULT_FIELDS:
        data[f] = getattr(result, f)
        if f == "torch_version":
            data["input"] = list(result.input_shape)
            data["shape_order"] = SHAPE_ORDER
    data["notes"] = list(result.notes)
    if result.launch_floor_us is not None:
        data["launch_floor_us"] = result.launch_floor_us
    if result.layer_coverage is not None:
        data["layer_coverage"] = result.layer_coverage
    if result.mode != "inference":
        data["mode"] = result.mode
    if result.layers is not None:
        data["layers"] = [layer_dict(layer) for layer in result.layers]
    return data


def bench_json(results: Sequence[BenchResult]) -> str:
    from cnncost.render.formats import dumps

    return dumps([result_dict(r) for r in results])


def bench_csv(results: Sequence[BenchResult]) -> str:
    """One row per network × batch; with per-layer results, one row per layer (with its network and batch)."""
    from cnncost.render.formats import csv_text

    if any(r.layers is not None for r in results):
        header = ["name", "batch", "precision", *LAYER_FIELDS, "output_shape"]
        rows = [
            [r.name, r.batch, r.precision, *(_csv(getattr(layer, f)) for f in LAYER_FIELDS),
             num.shape(layer.output_shape, sep="x")]
            for r in results
            for layer in r.layers or ()
        ]
        return csv_text(header, rows)
    header = [*RESULT_FIELDS, "input", "notes"]
    rows = [
        [*(_csv(getattr(r, f)) for f in RESULT_FIELDS), num.shape(r.input_shape, sep="x"), "; ".join(r.notes)]
        for r in results
    ]
    return csv_text(header, rows)


def _csv(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


# ---------------------------------------------------------------------------------------------- tables


def _common(results: Sequence[BenchResult], field: str) -> str:
    values = list(dict.fromkeys(str(getattr(r, field)) for r in results))
    return " / ".join(values)


def header_lines(results: Sequence[BenchResult]) -> list[str]:
    """What every figure below was measured with: device, torch, effective precision, layout, compile, …"""
    graphs = " / ".join(dict.fromkeys("on" if r.cuda_graphs else "off" for r in results))
    return [
        f"device {_common(results, 'device_name')} ({_common(results, 'device')}) · "
        f"torch {_common(results, 'torch_version')}",
        f"precision {_common(results, 'precision')} · layout {_common(results, 'layout')} · "
        f"compile {_common(results, 'compile')} · CUDA graphs {graphs} · threads {_common(results, 'threads')}",
    ]


def _row(r: BenchResult) -> list[str]:
    flags = []
    if r.noisy:
        flags.append("noisy")
    if r.above_peak:
        flags.append("ERROR: above peak")
    if r.batch != r.requested_batch:
        flags.append(f"asked {r.requested_batch}")
    return [
        r.name,
        str(r.batch),
        ms(r.first_call_ms),
        ms(r.median_ms),
        spread(r),
        ms(r.min_ms),
        rate(r.images_per_s),
        num.decimal(r.gmacs_per_s),
        tflops(r.tflops),
        fraction(r.peak_fraction, above=r.above_peak),
        ", ".join(flags),
    ]


_HEADER = ("network", "batch", "first", "median", "IQR", "min", "images/s", "GMAC/s", "TFLOP/s", "% peak",
           "flags")

#: The order a narrow terminal drops columns of the comparison table (rank per header; unlisted: never).
DROP_ORDER = ("first", "min", "GMAC/s", "IQR", "images/s")


def _columns(
    header: Sequence[str], left: Sequence[int], drop: Sequence[str], flexible: Sequence[str] = ()
) -> list[Any]:
    from cnncost.render.table import Column

    return [
        Column(
            name,
            "left" if i in left else "right",
            drop=drop.index(name) if name in drop else None,
            flexible=name in flexible,
            min_width=12 if name in ("layer", "flags") else len(name),
            whole_words=name != "layer",  # a layer path may wrap after a dot; a figure never splits
            style=_flag_style if name == "flags" else None,
        )
        for i, name in enumerate(header)
    ]


def _flag_style(text: str) -> str | None:
    return "red" if "ERROR" in text else "yellow" if text else None


def footer_lines(results: Sequence[BenchResult]) -> list[str]:
    lines = []
    peaks = list(dict.fromkeys((r.peak_tflops, r.peak_source, r.precision) for r in results))
    for peak, source, precision in peaks:
        if peak is None:
            lines.append(f"peak: unknown for this device in {precision} (give --peak TFLOPS to see % of peak)")
        elif source == "--peak":
            lines.append(f"peak: {peak:g} TFLOP/s {precision}, as given by --peak")
        else:
            lines.append(f"peak: {peak:g} TFLOP/s dense {precision} — {source}")
    for r in results:
        lines.extend(f"{r.name} batch {r.batch}: {note}" for note in r.notes)
    if any(r.mode == "train" for r in results):
        lines.append(
            "(train): times per training step of the whole batch (forward, loss, backward, optimizer step); "
            "TFLOP/s from its exact MACs, forward + backward as 'cnncost table --train' counts them"
        )
    lines.append(
        "times in ms per forward pass of the whole batch: the first call on its own, then median, IQR and min over "
        "repeats after a warm-up; TFLOP/s from the analytic MACs (FLOPs = 2 × MACs); noisy = IQR above 10% of "
        "the median"
    )
    return lines


def _layer_row(layer: LayerTiming) -> list[str]:
    return [
        layer.path,
        layer.op,
        num.shape(layer.output_shape),
        ms(layer.time_ms),
        num.share(layer.share),
        tflops(layer.tflops),
        num.decimal(layer.intensity),
        layer.bound or num.NONE,
        fraction(layer.roofline_fraction),
    ]


_LAYER_HEADER = ("layer", "op", "output", "ms", "share", "TFLOP/s", "FLOP/B", "bound", "% roofline")

#: The order a narrow terminal drops columns of a per-layer table.
LAYER_DROP_ORDER = ("output", "FLOP/B", "bound", "TFLOP/s", "op")


def bench_table(
    results: Sequence[BenchResult], *, width: int = 120, color: bool = False, wide: bool = False
) -> str:
    """The comparison table (one row per network × batch), and a per-layer table under it when measured.

    At a narrow width the tables drop columns in ``DROP_ORDER`` and ``LAYER_DROP_ORDER`` and say so below."""
    from cnncost.render.table import FULL_WIDTH, dropped_lines, join, layout, wrap_line

    if wide:
        width = FULL_WIDTH
    if not results:
        return join(["no benchmark finished"])
    lines: list[str] = []
    for line in header_lines(results):
        lines += wrap_line(line, width)
    lines.append("")
    table = layout(
        _columns(_HEADER, (0, len(_HEADER) - 1), DROP_ORDER, ("flags", "IQR")),
        [_row(r) for r in results],
        width=width,
        color=color,
    )
    lines += table.lines
    dropped = list(table.dropped)
    for r in results:
        if r.layers is None:
            continue
        floor = "" if r.launch_floor_us is None else f" · launch floor {r.launch_floor_us:.1f} µs"
        if r.layer_coverage is not None:
            floor += f" · the layers cover {num.share(r.layer_coverage, digits=0)} of a hooked eager forward"
        lines += ["", *wrap_line(f"{r.name} batch {r.batch} per layer{floor}", width, "bold", color)]
        per_layer = layout(
            _columns(_LAYER_HEADER, (0, 1, 7), LAYER_DROP_ORDER, ("layer",)),
            [_layer_row(layer) for layer in r.layers],
            width=width,
            color=color,
        )
        lines += per_layer.lines
        dropped += [d for d in per_layer.dropped if d not in dropped]
        if any(layer.roofline_fraction is not None and layer.roofline_fraction > 1 for layer in r.layers):
            lines += wrap_line(
                "% roofline above 100%: the layer ran faster than the roofline allows at the stated memory "
                "bandwidth — its data came from cache, or the bandwidth (--bandwidth) is too low",
                width,
                "dim",
                color,
            )
    lines.append("")
    lines += dropped_lines(dropped, width, color)
    for line in footer_lines(results):
        lines += wrap_line(line, width, "dim", color)
    return join(lines)


def bench_markdown(results: Sequence[BenchResult]) -> str:
    lines = [*(f"{line}  " for line in header_lines(results)), ""]
    lines.append("| " + " | ".join(_HEADER) + " |")
    lines.append("|" + "|".join("---" if i in (0, len(_HEADER) - 1) else "---:" for i in range(len(_HEADER))) + "|")
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in _row(r)) + " |" for r in results]
    lines.append("")
    lines += [f"- {line}" for line in footer_lines(results)]
    return "\n".join(lines) + "\n"


def bench_text(
    results: Sequence[BenchResult], *, fmt: str = "table", width: int = 120, color: bool = False, wide: bool = False
) -> str:
    """``cnncost bench`` output in any format (``render("bench", …)``)."""
    from cnncost.render import render

    return render("bench", results, fmt, width=width, color=color, wide=wide)


# ---------------------------------------------------------------------------------------------- progress


class ProgressBar:
    """The progress of a run on stderr (rich), one line per network × batch; a no-op when ``enabled`` is False
    (stderr not a terminal), so pipes and logs stay clean. Use as a context manager and pass it as the
    library's progress callback."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._tasks: dict[tuple[str, int], Any] = {}

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, event: ProgressEvent) -> None:
        if self._progress is None:
            return
        from rich.markup import escape

        from cnncost.errors import printable

        key = (event.name, event.batch)
        description = f"{escape(printable(event.name))} batch {event.batch}: {event.phase}"
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(description, total=1.0)
        self._progress.update(self._tasks[key], completed=event.fraction, description=description)
