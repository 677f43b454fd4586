"""Sweeps: one network (or every variant of a family file) over a grid of variable values and input sizes.

``sweep(spec, sets={"width": [1.0, 0.75]}, sizes=[224, 192])`` analyzes every point of the cartesian product
networks × values × sizes, in the order given (the last axis varies fastest), and returns one typed row per point
with its params and MACs. MobileNet's Tables 6 and 7 are ``sweep("mobilenet-v1", sets={"width": [1.0, 0.75, 0.5,
0.25]}, sizes=[224, 192, 160, 128])``; a family file without ``:VARIANT`` gives one row per network it defines.

A grid is bounded: more than ``MAX_POINTS`` points is refused before any is analyzed. Values given as text
(``--set width=0.25,0.5``) are read one by one as the spec reader reads a value (``cnncost.spec.values``), so
``[2, 2, 2, 2]`` is one list and ``false`` is false; an error while analyzing a point names the point.

Nothing here imports torch.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cnncost.analysis.engine import analyze_network
from cnncost.errors import CnnCostError, LimitError, UsageError
from cnncost.frozen import field, frozen
from cnncost.ir import Shape
from cnncost.spec import library
from cnncost.spec.resolve import resolve_document
from cnncost.spec.values import read_value

#: The most points one sweep analyzes (a 20 × 20 grid): each is a whole network's analysis.
MAX_POINTS = 400

#: The axis name of the input size, beside the spec's variables.
SIZE = "size"

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SIZE = re.compile(r"^\s*(\d+)\s*(?:[x×X]\s*(\d+))?\s*$")


@frozen
class SweepRow:
    """One point of a sweep: the network, the value of every swept axis (variables in the order given, then
    ``size`` as ``(H, W)`` when sizes are swept), the input and output shapes, params and MACs (for the batch).

    ``metrics`` holds further figures by name for analyses that add columns (memory …): renderers show every
    metric the rows carry, after params and MACs."""

    network: str
    values: Mapping[str, Any]
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int
    metrics: Mapping[str, int | float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def flops(self) -> int:
        return 2 * self.macs


@frozen
class Sweep:
    """Every point of a sweep, in grid order. ``axes`` names the swept axes (variables, then ``size``);
    ``networks`` the networks swept (several for a family file)."""

    spec: str
    networks: tuple[str, ...]
    axes: tuple[str, ...]
    batch: int
    rows: tuple[SweepRow, ...]

    def metric_names(self) -> list[str]:
        """The extra metrics the rows carry, in first-seen order."""
        names: dict[str, None] = {}
        for row in self.rows:
            names.update(dict.fromkeys(row.metrics))
        return list(names)


# --------------------------------------------------------------------------------------- reading the grid


def split_values(text: str) -> list[str]:
    """``0.25,0.5`` → ``["0.25", "0.5"]``: commas split values except inside brackets, braces or quotes, so
    ``[2, 2, 2, 2],[3, 4, 6, 3]`` is two lists."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, c in enumerate(text):
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth = max(0, depth - 1)
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_sets(items: Sequence[str] | None) -> dict[str, list[Any]]:
    """``--set KEY=V1,V2,…`` (repeatable) → {KEY: [values]}; each value read as the spec reader reads one."""
    out: dict[str, list[Any]] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key) or not text.strip():
            raise UsageError(f"--set {item!r} is not KEY=V1,V2,…", hint="e.g. --set width=0.25,0.5,0.75,1.0")
        if key == SIZE:
            raise UsageError("--set size=… : sweep input sizes with --size", hint="e.g. --size 128,160,192,224")
        values = []
        for part in split_values(text):
            if not part:
                raise UsageError(f"--set {key}={text}: an empty value between commas", hint="e.g. --set width=0.5,1.0")
            values.append(read_value(part, name=key))
        out[key] = values
    return out


def parse_sizes(text: str | None) -> list[tuple[int, int]]:
    """``--size 128,160,224x192`` → [(128, 128), (160, 160), (224, 192)] (H×W with an ``x``)."""
    if text is None:
        return []
    sizes = []
    for part in text.split(","):
        match = _SIZE.match(part)
        if not match:
            raise UsageError(
                f"--size {part.strip()!r} is not a size", hint="give sizes as H or HxW, separated by commas: 128,160"
            )
        h = int(match.group(1))
        w = int(match.group(2)) if match.group(2) is not None else h
        if h < 1 or w < 1:
            raise UsageError(f"--size {part.strip()}: a size must be at least 1×1", hint="e.g. --size 128,224")
        sizes.append((h, w))
    return sizes


# ------------------------------------------------------------------------------------------------ the sweep


def _networks(spec: str | Path) -> tuple[library.Located, ...]:
    """The networks a spec names: one, or every variant of a family file. A bare file name of the bundled library
    (``resnet.yaml``) that names no file here is the bundled file."""
    if isinstance(spec, str) and library.looks_like_path(spec) and "/" not in spec and "\\" not in spec:
        head = spec.rsplit(":", 1)[0] if ".yaml:" in spec or ".yml:" in spec else spec
        bundled = library.bundled_dir() / head
        if not Path(head).exists() and bundled.is_file():
            spec = str(bundled) + spec[len(head) :]
    return library.locate_all(spec)


def _point_text(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_plain(v)}" for k, v in values.items())


def _plain(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2:
        return f"{value[0]}×{value[1]}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def sweep(
    spec: str | Path,
    *,
    sets: Mapping[str, Sequence[Any]] | None = None,
    sizes: Sequence[tuple[int, int]] = (),
    batch: int = 1,
) -> Sweep:
    """Analyze every point of networks × ``sets`` × ``sizes`` (see the module docstring)."""
    sets = dict(sets or {})
    for key, values in sets.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise UsageError(f"the sweep of '{key}' has no values", hint=f"give at least one, e.g. {key}=1,2")
    located = _networks(spec)
    axes = [*sets, *([SIZE] if sizes else [])]
    grid = [list(v) for v in sets.values()] + ([list(sizes)] if sizes else [])
    count = len(located)
    for axis in grid:
        count *= len(axis)
    if count > MAX_POINTS:
        raise LimitError(
            f"the sweep has {count:,} points, more than {MAX_POINTS}",
            hint="sweep fewer values at a time (the points are the product of every list)",
        )
    rows = []
    for found in located:
        for point in itertools.product(*grid):
            at = dict(zip(axes, point, strict=True))
            variables = {k: v for k, v in at.items() if k != SIZE}
            size = at.get(SIZE)
            try:
                network = resolve_document(
                    found.doc, file=found.file, variant=found.variant, variables=variables, size=size
                )
                report = analyze_network(network, batch=batch)
            except CnnCostError as exc:
                if at:
                    exc.message = f"sweep point {_point_text(at)}: {exc.message}"
                    exc.args = (exc.one_line(),)
                raise
            rows.append(
                SweepRow(
                    network=network.name,
                    values=MappingProxyType(at),
                    input_shape=report.input_shape,
                    output_shape=report.output_shape,
                    params=report.totals.params,
                    macs=report.totals.macs,
                )
            )
    return Sweep(
        spec=str(spec),
        networks=tuple(dict.fromkeys(r.network for r in rows)),
        axes=tuple(axes),
        batch=batch,
        rows=tuple(rows),
    )
