"""Line plots as PNG files: one or more panels, one line per series (matplotlib, an optional extra).

``save_lines(path, panels)`` is the whole interface: a panel has a title, axis labels, a log or linear y axis and
its series (label, x values, y values). matplotlib is imported inside the function (with its non-interactive Agg
backend), so nothing else in cnncost loads it; without it the one-line error says how to get it. The PNG is
rendered into memory and written atomically (``cnncost.atomic``): a failure leaves no half-written file.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from cnncost.errors import MissingDependencyError

INSTALL_HINT = "install it with: pip install matplotlib (from a cnncost checkout: pip install '.[plot]')"


@dataclass(frozen=True)
class Series:
    """One line: ``color`` an index into matplotlib's colour cycle (default: the series' place), ``dashed`` for a
    second measure of the same thing (test beside training error)."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: int | None = None
    dashed: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    xlabel: str
    ylabel: str
    series: Sequence[Series] = field(default_factory=tuple)
    log_y: bool = False
    y_limits: tuple[float, float] | None = None
    x_ticks: Sequence[float] | None = None


def require_matplotlib(feature: str = "a plot") -> None:
    """A one-line error when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            f"{feature} needs matplotlib, which is not installed", hint=INSTALL_HINT
        ) from None


def png_bytes(panels: Sequence[Panel], *, title: str | None = None) -> bytes:
    """The panels side by side as PNG bytes."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    width = max(6.4 * len(panels), 8.0)
    figure = Figure(figsize=(width, 4.8), dpi=100, layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        for i, series in enumerate(panel.series):
            xs, ys = list(series.x), list(series.y)
            if panel.log_y:  # a zero or negative value has no place on a log axis: leave a gap there
                ys = [y if y > 0 and math.isfinite(y) else math.nan for y in ys]
            ax.plot(
                xs,
                ys,
                label=series.label,
                marker="o" if len(xs) <= 12 else None,
                markersize=4,
                color=f"C{i if series.color is None else series.color}",
                linestyle="--" if series.dashed else "-",
            )
        if panel.log_y:
            ax.set_yscale("log")
        if panel.x_ticks is None and all(float(x).is_integer() for series in panel.series for x in series.x):
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if panel.y_limits is not None:
            ax.set_ylim(*panel.y_limits)
        if panel.x_ticks is not None:
            ax.set_xticks(list(panel.x_ticks))
        ax.set_title(panel.title)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.grid(True, which="major", alpha=0.3)
        if panel.series:
            ax.legend(fontsize="small")
    if title:
        figure.suptitle(wrap_title(title, int(width * 10)))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def wrap_title(title: str, chars: int) -> str:
    """A title broken into lines of at most about ``chars`` characters, at its `` · `` separators."""
    lines: list[str] = []
    for part in title.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= chars:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "\n".join(lines)


def save_lines(path: str, panels: Sequence[Panel], *, title: str | None = None) -> None:
    """Write the panels as one PNG to ``path``, atomically."""
    from cnncost.atomic import write_bytes

    write_bytes(path, png_bytes(panels, title=title))
