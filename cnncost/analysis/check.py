"""Documented figures: what the sources publish about a network, recomputed and compared (``cnncost check``).

A spec carries its sources' figures under ``documented`` — at the top level (for every network the file
defines) or inside a variant (for that one) — one mapping per figure::

    documented:
      - {figure: params, value: 138357544, source: "torchvision VGG16_Weights docs"}
      - {figure: macs, value: 15.47e9, tolerance: 0.0005, source: "torchvision: 15.47 GFLOPS"}
      - {figure: output_shape, layer: c1, value: [28, 28, 6], source: "course table"}
      - {figure: macs, layer: reduce, value: 2408448, source: "course notes"}
      - figure: macs
        layer: conv5x5
        value: 10048000
        source: "course notes, 'Using 1×1 convolution'"
        deviation: "the notes' arithmetic slips: 5·5·16 × 32 × 28·28 = 10,035,200"

Keys: ``figure`` (``params``, ``macs``, ``flops`` or ``output_shape``), ``value`` (a number — written plainly
or as an expression such as ``15.47e9`` or ``3.8 * 10**9`` — or ``[H, W, C]`` / ``[N]`` for shapes), ``source``
(required: where the figure is published), ``layer`` (a row path, layer or block; default the whole network),
``tolerance`` (relative, matching how the source rounds; default 0: exact), ``size`` and ``variables`` (the
setting the source measured, e.g. MobileNet at width 0.5 and 160×160), ``network`` (in a family file, the one
network the figure is about; default every network of the file), and ``deviation`` (why the source is wrong: a
mismatch with a stated reason is reported as *explained* and passes — the network is never bent to fit).

Everything here is pure Python; rendering lives in ``cnncost.render.check``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnncost import ir
from cnncost.analysis.engine import analyze_network
from cnncost.analysis.records import Record, Report
from cnncost.errors import SpecError, suggest
from cnncost.spec.expr import evaluate
from cnncost.spec.resolve import resolve_document
from cnncost.spec.schema import check_keys, fail, pos_of
from cnncost.spec.yamlsafe import Pos

FIGURES = ("params", "macs", "flops", "output_shape")
ENTRY_KEYS: Mapping[str, str] = {
    "figure": " | ".join(FIGURES),
    "value": "the documented number (or [H, W, C] for shapes)",
    "source": "where the figure is published",
    "layer": "a row path (default: the whole network)",
    "tolerance": "relative tolerance, e.g. 0.005 for a figure rounded to 3 digits (default 0)",
    "size": "input size the source measured at",
    "variables": "variable values the source measured with",
    "deviation": "why the source disagrees with its own arithmetic",
    "network": "in a family file: the one network this figure is about (default: every network of the file)",
}

PASS, FAIL, EXPLAINED = "pass", "FAIL", "explained"


@dataclass(frozen=True)
class Figure:
    """One documented figure, validated."""

    network: str
    figure: str
    value: float | tuple[int, ...]
    source: str
    layer: str | None = None
    tolerance: float = 0.0
    size: tuple[int, int] | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    deviation: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def label(self) -> str:
        name = {"params": "params", "macs": "MACs", "flops": "FLOPs", "output_shape": "output shape"}[self.figure]
        parts = [name if self.layer is None else f"{name} of {self.layer}"]
        setting = [f"{self.size[0]}×{self.size[1]}"] if self.size else []
        setting += [f"{k}={v}" for k, v in self.variables.items()]
        if setting:
            parts.append(f"at {', '.join(setting)}")
        return " ".join(parts)


@dataclass(frozen=True)
class Result:
    figure: Figure
    computed: float | tuple[int, ...] | None
    status: str
    note: str = ""

    @property
    def deviation(self) -> float | None:
        """Relative deviation of the computed value from the documented one (None for shapes)."""
        doc, got = self.figure.value, self.computed
        if isinstance(doc, tuple) or not isinstance(got, (int, float)):
            return None
        if doc == 0:
            return 0.0 if got == 0 else math.inf
        return (got - doc) / doc

    @property
    def ok(self) -> bool:
        return self.status != FAIL


@dataclass(frozen=True)
class CheckReport:
    """Every documented figure of the networks checked, in order; ``unchecked`` names networks with none."""

    results: tuple[Result, ...]
    unchecked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


# ------------------------------------------------------------------------------------------- reading


def documented_entries(doc: Mapping[str, Any], variant: str | None, *, file: str | None) -> list[Figure]:
    """The validated figures a document gives for one of its networks (top-level entries, then the variant's)."""
    network = variant or str(doc.get("name"))
    lists: list[tuple[Any, str, Pos]] = []
    if "documented" in doc:
        lists.append((doc["documented"], "documented", pos_of(doc, "documented", (1, 1))))
    variants = doc.get("variants") or {}
    if variant is not None and isinstance(variants.get(variant), Mapping) and "documented" in variants[variant]:
        vdoc = variants[variant]
        lists.append((vdoc["documented"], f"variants.{variant}.documented", pos_of(vdoc, "documented", (1, 1))))
    figures: list[Figure] = []
    for raw, where, pos in lists:
        if not isinstance(raw, list):
            raise fail(
                "'documented' must be a list of figures",
                file=file,
                pos=pos,
                path=where,
                hint="write '- {figure: params, value: …, source: …}'",
            )
        for i, entry in enumerate(raw):
            here, epos = f"{where}[{i}]", pos_of(raw, i, pos)
            if isinstance(entry, Mapping) and "network" in entry:
                names = [str(n) for n in variants] or [str(doc.get("name"))]
                if entry["network"] not in names:
                    raise fail(
                        f"this file defines no network {entry['network']!r}",
                        file=file,
                        pos=pos_of(entry, "network", epos),
                        path=here,
                        hint=suggest(str(entry["network"]), names) or "networks: " + ", ".join(names),
                    )
                if entry["network"] != network:
                    continue
            figures.append(_entry(entry, network, file=file, pos=epos, where=here))
    return figures


def _entry(entry: Any, network: str, *, file: str | None, pos: Pos, where: str) -> Figure:
    if not isinstance(entry, Mapping):
        raise fail(
            "a documented figure must be a mapping",
            file=file,
            pos=pos,
            path=where,
            hint="write '{figure: params, value: …, source: …}'",
        )
    check_keys(entry, ENTRY_KEYS, what="a documented figure", file=file, spec_path=where)
    for key in ("figure", "value", "source"):
        if key not in entry:
            raise fail(
                f"a documented figure needs '{key}'",
                file=file,
                pos=pos,
                path=where,
                hint=f"add {key}: … ({ENTRY_KEYS[key]})",
            )

    def at(key: str) -> Pos:
        return pos_of(entry, key, pos)

    kind = entry["figure"]
    if kind not in FIGURES:
        raise fail(
            f"unknown figure {kind!r}",
            file=file,
            pos=at("figure"),
            path=where,
            hint=suggest(str(kind), FIGURES) or "one of " + ", ".join(FIGURES),
        )
    if not isinstance(entry["source"], str) or not entry["source"].strip():
        raise fail("'source' must say where the figure is published", file=file, pos=at("source"), path=where)
    value = _value(kind, entry["value"], file=file, pos=at("value"), where=where)
    tolerance = _number(entry.get("tolerance", 0), file=file, pos=at("tolerance"), where=f"{where}.tolerance")
    if not 0 <= tolerance < 1:
        raise fail(
            f"tolerance {tolerance} must be a fraction from 0 to below 1",
            file=file,
            pos=at("tolerance"),
            path=where,
            hint="e.g. 0.005 for a figure given to three significant digits",
        )
    layer = entry.get("layer")
    if layer is not None and not isinstance(layer, str):
        raise fail("'layer' must be a row path such as layer1.0.conv1", file=file, pos=at("layer"), path=where)
    size = entry.get("size")
    size_pair: tuple[int, int] | None = None
    if size is not None:
        sizes = size if isinstance(size, list) else [size, size]
        if len(sizes) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise fail("'size' must be N or [H, W] in pixels", file=file, pos=at("size"), path=where)
        size_pair = (sizes[0], sizes[1])
    variables = entry.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise fail("'variables' must be a mapping", file=file, pos=at("variables"), path=where)
    deviation = entry.get("deviation")
    if deviation is not None and (not isinstance(deviation, str) or not deviation.strip()):
        raise fail("'deviation' must explain the disagreement in words", file=file, pos=at("deviation"), path=where)
    return Figure(
        network,
        kind,
        value,
        entry["source"].strip(),
        layer,
        tolerance,
        size_pair,
        dict(variables),
        deviation,
        file,
        pos[0],
    )


def _number(raw: Any, *, file: str | None, pos: Pos, where: str) -> float:
    value = evaluate(raw, {}) if isinstance(raw, str) else raw
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise fail(
            f"expected a number, got {raw!r}",
            file=file,
            pos=pos,
            path=where,
            hint="write e.g. 138357544, 15.47e9 or '3.8 * 10**9'",
        )
    return value


def _value(kind: str, raw: Any, *, file: str | None, pos: Pos, where: str) -> float | tuple[int, ...]:
    if kind == "output_shape":
        if (
            not isinstance(raw, list)
            or len(raw) not in (1, 3)
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in raw)
        ):
            raise fail(f"an output shape is [H, W, C] or [N], got {raw!r}", file=file, pos=pos, path=where)
        return tuple(raw)
    try:
        return _number(raw, file=file, pos=pos, where=f"{where}.value")
    except SpecError as exc:
        raise exc.located(file=file, line=pos[0], column=pos[1], path=where) from None


# ----------------------------------------------------------------------------------------- computing


def check_document(
    doc: Mapping[str, Any], variants: Sequence[str | None], *, file: str | None
) -> tuple[list[Result], list[str]]:
    """Recompute every documented figure of the named networks of one document."""
    results: list[Result] = []
    unchecked: list[str] = []
    for variant in variants:
        figures = documented_entries(doc, variant, file=file)
        if not figures:
            unchecked.append(variant or str(doc.get("name")))
        cache: dict[tuple[Any, ...], Report] = {}
        for fig in figures:
            key = (fig.size, tuple(sorted((k, repr(v)) for k, v in fig.variables.items())))
            if key not in cache:
                network: ir.Network = resolve_document(
                    doc, file=file, variant=variant, variables=fig.variables or None, size=fig.size
                )
                cache[key] = analyze_network(network)
            results.append(evaluate_figure(fig, cache[key]))
    return results, unchecked


def evaluate_figure(fig: Figure, report: Report) -> Result:
    """Compare one figure with a report: pass within tolerance, explained when a stated deviation covers a
    mismatch, FAIL otherwise (also when the layer does not exist)."""
    row: Record | None = None
    if fig.layer is not None:
        try:
            row = report.find(fig.layer)
        except KeyError:
            paths = [r.path for r in report.records]
            hint = suggest(fig.layer, paths)
            return Result(fig, None, FAIL, f"no row '{fig.layer}' in {report.name}" + (f"; {hint}" if hint else ""))
    computed: float | tuple[int, ...]
    if fig.figure == "output_shape":
        computed = tuple(row.output_shape if row else report.output_shape)
        matches = computed == fig.value
    else:
        source: Any = row if row is not None else report.totals
        number: int = {"params": source.params, "macs": source.macs, "flops": 2 * source.macs}[fig.figure]
        documented = fig.value
        assert not isinstance(documented, tuple)
        computed = number
        matches = abs(number - documented) <= fig.tolerance * abs(documented)
    if matches:
        return Result(fig, computed, PASS)
    if fig.deviation:
        return Result(fig, computed, EXPLAINED, fig.deviation)
    return Result(fig, computed, FAIL, "outside the tolerance" if fig.figure != "output_shape" else "shape differs")


def merge(parts: Iterable[tuple[list[Result], list[str]]]) -> CheckReport:
    results: list[Result] = []
    unchecked: list[str] = []
    for r, u in parts:
        results += r
        unchecked += u
    return CheckReport(tuple(results), tuple(unchecked))
