"""``cnncost depth-study`` as text and pictures: one row per network (final training and test error), the
verdict lines (did the degradation appear?), a progress bar on stderr, and the two PNGs — training error against
iterations per family (one line per depth: the course's two graphs) and final error against depth (one line per
family). JSON is the results file itself (``cnncost.torch.depth_study.study_dict``); CSV is one row per recorded
point: ``network,family,depth,iteration,train_error,train_loss,test_error``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cnncost.render import numbers as num

if TYPE_CHECKING:
    from cnncost.torch.depth_study import NetworkResult, Progress, Study

FAMILY_NAMES = {"plain": "plain networks", "resnet": "residual networks (ResNets)"}

TRAINING_PNG = "training-error.png"
DEPTH_PNG = "error-vs-depth.png"


def _pct(value: float | None) -> str:
    return num.NONE if value is None else f"{100 * value:.1f}%"


def setting_line(study: Study) -> str:
    c = study.config
    s = c.settings()
    data = study.data
    lr = num.plain(s["lr"])
    optimizer = f"SGD lr {lr} momentum 0.9 weight decay 1e-4" if c.optimizer == "sgd" else f"Adam lr {lr}"
    filters = "/".join(str(f) for f in s["filters"])
    threads = f"{c.threads} thread{'s' if c.threads != 1 else ''}"
    return (
        f"digits {num.shape(data['input'])} ({num.integer(data['train'])} train / {num.integer(data['test'])} test) · "
        f"width {num.plain(c.width)} ({filters} filters) · batchnorm {'on' if c.bn else 'off'} · init {c.init} · "
        f"{optimizer} · batch {c.batch} · {num.integer(c.budget)} iterations · seed {c.seed} · {threads} · "
        f"{study.environment['device']}"
    )


def verdict_lines(study: Study) -> list[str]:
    from cnncost.torch.depth_study import verdicts

    lines = []
    for question, answer, numbers in verdicts(study.results):
        lines.append(f"{question}: {answer} ({numbers})")
    return lines


def study_table(study: Study, *, width: int = 120, color: bool = False, **_: Any) -> str:
    from cnncost.render.table import Column, join, layout, styled, wrap_line

    lines = [styled("depth study: plain vs residual networks, same budget", "bold", color)]
    lines += wrap_line(setting_line(study), width)
    lines.append("")
    columns = [
        Column("network", flexible=True, min_width=8),
        Column("depth", "right"),
        Column("params", "right", drop=2),
        Column("train error", "right"),
        Column("test error", "right"),
        Column("train loss", "right", drop=3),
        Column("start loss", "right", drop=1),
        Column("seconds", "right", drop=4),
    ]
    rows = []
    for r in study.results:
        final = r.final
        rows.append(
            [
                r.name + (" (diverged)" if r.diverged else ""),
                str(r.depth),
                num.integer(r.params),
                _pct(r.final_train_error) if not r.diverged else "diverged",
                _pct(None if final is None else final.test_error),
                num.NONE if final is None else f"{final.train_loss:.4f}",
                f"{r.initial_loss:.4f}",
                f"{r.seconds:,.1f}",
            ]
        )
    laid = layout(columns, rows, width=width, color=color)
    lines += laid.lines
    if laid.dropped:
        names = ", ".join(f"'{d}'" for d in laid.dropped)
        lines += wrap_line(
            f"left out to fit {width} columns: {names} — add --wide (or widen the terminal) to see them",
            width,
            "yellow",
            color,
        )
    lines.append("")
    for line in verdict_lines(study):
        lines += wrap_line(line, width, "bold", color)
    if study.resumed:
        resumed = f"{study.resumed} network(s) taken from the results file (same settings)"
        lines += wrap_line(resumed, width, "dim", color)
    lines += wrap_line(
        "train error: mean over the last record's mini-batches, in training mode; test error: held-out images; "
        "within noise: higher by less than 2 standard errors of the two measurements",
        width,
        "dim",
        color,
    )
    return join(lines)


def study_json(study: Study, **_: Any) -> str:
    from cnncost.render.formats import dumps
    from cnncost.torch.depth_study import study_dict

    data = study_dict(study)  # the results file's layout, plus the verdicts
    data["verdicts"] = verdict_lines(study)
    return dumps(data)


def study_csv(study: Study, **_: Any) -> str:
    from cnncost.render.formats import csv_text

    rows = [
        [r.name, r.family, r.depth, p.iteration, p.train_error, p.train_loss, p.test_error]
        for r in study.results
        for p in r.curve
    ]
    return csv_text(["network", "family", "depth", "iteration", "train_error", "train_loss", "test_error"], rows)


# ------------------------------------------------------------------------------------------------ pictures


def _family_panels(results: Sequence[NetworkResult], families: Sequence[str]) -> list[Any]:
    from cnncost.render.plot import Panel, Series

    panels = []
    for family in families:
        nets = sorted((r for r in results if r.family == family), key=lambda r: r.depth)
        series = [
            Series(f"{r.family}-{r.depth}", [p.iteration for p in r.curve], [100 * p.train_error for p in r.curve])
            for r in nets
        ]
        panels.append(
            Panel(
                f"{FAMILY_NAMES.get(family, family)}: training error",
                "iterations",
                "training error (%)",
                series,
                y_limits=(0, 100),
            )
        )
    return panels


def _depth_panel(results: Sequence[NetworkResult], families: Sequence[str]) -> Any:
    from cnncost.render.plot import Panel, Series

    series = []
    depths: set[int] = set()
    for color, family in enumerate(families):
        nets = sorted((r for r in results if r.family == family and r.final is not None), key=lambda r: r.depth)
        depths |= {r.depth for r in nets}
        x = [r.depth for r in nets]
        series.append(Series(f"{family}: training", x, [100 * r.curve[-1].train_error for r in nets], color))
        series.append(Series(f"{family}: test", x, [100 * r.curve[-1].test_error for r in nets], color, dashed=True))
    return Panel(
        "final error against depth (solid: training, dashed: test)",
        "depth (weight layers)",
        "error at the end of the budget (%)",
        series,
        y_limits=(0, 100),
        x_ticks=sorted(depths),
    )


def save_pictures(study: Study, directory: str) -> list[str]:
    """The two PNGs in ``directory``: training error against iterations per family, final error against depth."""
    import os

    from cnncost.render.plot import save_lines

    families = [f for f in study.config.families if any(r.family == f for r in study.results)]
    title = setting_line(study)
    training = os.path.join(directory, TRAINING_PNG)
    depth = os.path.join(directory, DEPTH_PNG)
    feature = "the depth study's pictures"
    save_lines(training, _family_panels(study.results, families), title=title, feature=feature)
    save_lines(depth, [_depth_panel(study.results, families)], title=title, feature=feature)
    return [training, depth]


# ------------------------------------------------------------------------------------------------ progress


class ProgressBar:
    """One line on stderr, redrawn in place: network k of n, a bar over its iterations, the last loss. Silent
    when ``enabled`` is False (stderr not a terminal), so pipes and logs stay clean."""

    WIDTH = 24

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._shown = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._shown:
            self._write("\r\x1b[2K")
            self._shown = False

    def _write(self, text: str) -> None:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            self.enabled = False

    def __call__(self, event: Progress) -> None:
        if not self.enabled:
            return
        if event.skipped:
            line = f"[{event.index}/{event.total}] {event.name}: in the results file already"
        else:
            if event.iteration % max(1, event.budget // 200) and event.iteration != event.budget:
                return
            filled = round(self.WIDTH * event.iteration / event.budget)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            line = (
                f"[{event.index}/{event.total}] {event.name} [{bar}] {event.iteration}/{event.budget} "
                f"loss {event.loss:.3f}"
            )
        self._write("\r\x1b[2K" + line)
        self._shown = True
