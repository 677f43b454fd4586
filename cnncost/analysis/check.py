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

Keys: ``figure`` (``params``, ``macs``, ``flops``, ``output_shape`` or ``depth``: the weight layers — conv and
linear — on the longest path from input to output, as papers count depth), ``value`` (a number — written
plainly, with an SI suffix as the source prints it (``569M``, ``0.27M``, ``2.7K``, ``15.47G``, ``1.5B``), or as an
expression such as ``3.8 * 10**9`` — or ``[H, W, C]`` / ``[N]`` for shapes), ``source`` (required: where the
figure is published), ``layer`` (a row path, layer or block; default the whole network), ``tolerance``
(relative, e.g. ``0.005``; or ``rounded``: the source rounded the figure to the digits it prints, so whatever
rounds to them passes — ``0.27M`` accepts 0.265 M to 0.275 M; default 0: exact), ``size`` and ``variables`` (the
setting the source measured, e.g. MobileNet at width 0.5 and 160×160), ``network`` (in a family file, the one
network the figure is about; default every network of the file), ``aux`` (true: the training view, in which the
training-only side heads a spec declares with ``aux:`` are counted; default false), and ``deviation`` (why the
source is wrong: a mismatch with a stated reason is reported as *explained* and passes — the network is never
bent to fit; a deviation note on a figure that agrees fails, so that stale notes get removed).

A check must be able to fail, so values no source prints are errors in the spec (one located line): a value
that is not finite (``1e309``, ``1e400M``: infinity passes under any tolerance), negative, beyond 10^18 (no
network's params, MACs or FLOPs come near; ``MAX_FIGURE``), or written with more than 17 significant digits (more
than any source prints, and more than a float holds; ``MAX_SIGNIFICANT_DIGITS``); zero with ``tolerance:
rounded`` (zero has no last printed digit to round); a tolerance that is not a number from 0 to below 1.

Each distinct setting (``size``, ``variables``) of a network is resolved and analyzed once, however many figures
name it, and one report is held at a time. The work is bounded: the layers analyzed over all settings of one
network may not exceed ``MAX_CHECK_LAYERS`` (a ``LimitError`` names the numbers).

Everything here is pure Python; rendering lives in ``cnncost.render.check``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from cnncost import ir
from cnncost.analysis.engine import analyze_network
from cnncost.analysis.records import Record, Report
from cnncost.errors import LimitError, SpecError, suggest
from cnncost.frozen import field, frozen
from cnncost.spec.expr import evaluate
from cnncost.spec.resolve import resolve_document
from cnncost.spec.schema import check_document as check_spec_document
from cnncost.spec.schema import check_keys, fail, pos_of
from cnncost.spec.yamlsafe import Pos

FIGURES = ("params", "macs", "flops", "output_shape", "depth")
_LABELS = {"params": "params", "macs": "MACs", "flops": "FLOPs", "output_shape": "output shape", "depth": "depth"}
#: A number as a source prints it: digits (commas allowed), an optional exponent, an optional SI suffix.
_PRINTED = re.compile(r"^\s*(\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([kKMGBT]?)\s*$")
_SUFFIX = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12}
#: No network's params, MACs or FLOPs come near 10^18 (limits.MAX_INT bounds every integer a spec makes).
MAX_FIGURE = 10**18
#: A float holds 17 significant digits, and no source prints more.
MAX_SIGNIFICANT_DIGITS = 17
#: Layers analyzed over all documented settings of one network: twice the largest network (limits.MAX_LAYERS),
#: ten times what the whole bundled library needs (about 9,400), a few seconds of work.
MAX_CHECK_LAYERS = 100_000
ENTRY_KEYS: Mapping[str, str] = {
    "figure": " | ".join(FIGURES),
    "value": "the documented number (or [H, W, C] for shapes)",
    "source": "where the figure is published",
    "layer": "a row path (default: the whole network)",
    "tolerance": "relative tolerance (0.005), or 'rounded' for the digits the source prints (default 0)",
    "size": "input size the source measured at",
    "variables": "variable values the source measured with",
    "deviation": "why the source disagrees with its own arithmetic",
    "network": "in a family file: the one network this figure is about (default: every network of the file)",
    "aux": "true: the training view, with the training-only side heads (aux:) counted (default false)",
}

PASS, FAIL, EXPLAINED = "pass", "FAIL", "explained"


@frozen
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
    rounded: bool = False  # the tolerance is half a unit of the last digit the source prints
    aux: bool = False  # the training view: aux heads counted

    @property
    def label(self) -> str:
        name = _LABELS[self.figure]
        parts = [name if self.layer is None else f"{name} of {self.layer}"]
        if self.aux:
            parts.append("with aux heads")
        setting = [f"{self.size[0]}×{self.size[1]}"] if self.size else []
        setting += [f"{k}={v}" for k, v in self.variables.items()]
        if setting:
            parts.append(f"at {', '.join(setting)}")
        return " ".join(parts)


@frozen
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


@frozen
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
    rounded = entry.get("tolerance") == "rounded"
    if rounded or (kind in ("output_shape", "depth") and entry.get("tolerance", 0) != 0):
        if kind in ("output_shape", "depth"):
            raise fail(
                f"{'a shape' if kind == 'output_shape' else 'depth'} is compared exactly; it takes no tolerance",
                file=file,
                pos=at("tolerance"),
                path=where,
                hint="remove 'tolerance'",
            )
        assert not isinstance(value, tuple)
        if value == 0:
            raise fail(
                "a documented zero cannot be 'rounded': zero has no last printed digit to round",
                file=file,
                pos=at("tolerance"),
                path=where,
                hint="remove 'tolerance: rounded' (zero is compared exactly)",
            )
        unit = _printed_unit(entry["value"], file=file, pos=at("value"), where=where)
        tolerance = unit / 2 / abs(value) if value else 0.0
    else:
        tolerance = _number(entry.get("tolerance", 0), file=file, pos=at("tolerance"), where=f"{where}.tolerance")
    if not 0 <= tolerance < 1:
        raise fail(
            f"tolerance {tolerance} must be a fraction from 0 to below 1",
            file=file,
            pos=at("tolerance"),
            path=where,
            hint="e.g. 0.005 for ±0.5 %, or 'rounded' to accept what rounds to the digits the source prints",
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
    aux = entry.get("aux", False)
    if not isinstance(aux, bool):
        raise fail("'aux' must be true or false", file=file, pos=at("aux"), path=where, hint="write aux: true")
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
        rounded,
        aux,
    )


def _printed(raw: str) -> tuple[Decimal, Decimal] | None:
    """``"0.27M"`` → (270000, 10000): the value and the unit of its last printed digit; None if not such text."""
    match = _PRINTED.match(raw)
    if match is None:
        return None
    try:
        digits = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return None
    scale = _SUFFIX[match.group(2)]
    exponent = digits.as_tuple().exponent
    assert isinstance(exponent, int)
    return digits * scale, Decimal(1).scaleb(exponent) * scale


def _printed_unit(raw: Any, *, file: str | None, pos: Pos, where: str) -> float:
    """The unit of the last digit a value is printed with: 1 for 60000, 0.01 for 0.27, 10⁴ for ``0.27M``."""
    if isinstance(raw, str):
        printed = _printed(raw)
        if printed is None:
            raise fail(
                f"'tolerance: rounded' needs the value as the source prints it, not {raw!r}",
                file=file,
                pos=pos,
                path=where,
                hint="write e.g. 569M, 0.27M, 1.5G or 15.47e9",
            )
        return float(printed[1])
    if isinstance(raw, float):
        exponent = Decimal(repr(raw)).normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        return float(Decimal(1).scaleb(exponent))
    return 1.0


def _number(raw: Any, *, file: str | None, pos: Pos, where: str) -> float:
    printed = _printed(raw) if isinstance(raw, str) else None
    if printed is not None:
        return float(printed[0])
    value = evaluate(raw, {}) if isinstance(raw, str) else raw
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise fail(
            f"expected a number, got {raw!r}",
            file=file,
            pos=pos,
            path=where,
            hint="write e.g. 138357544, 569M, 15.47e9 or '3.8 * 10**9'",
        )
    return value


def _value(kind: str, raw: Any, *, file: str | None, pos: Pos, where: str) -> float | tuple[int, ...]:
    if kind == "depth" and not (isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0):
        raise fail(f"a depth is a whole number of layers, got {raw!r}", file=file, pos=pos, path=where)
    if kind == "output_shape":
        if (
            not isinstance(raw, list)
            or len(raw) not in (1, 3)
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in raw)
        ):
            raise fail(f"an output shape is [H, W, C] or [N], got {raw!r}", file=file, pos=pos, path=where)
        return tuple(raw)
    try:
        value = _number(raw, file=file, pos=pos, where=f"{where}.value")
    except SpecError as exc:
        raise exc.located(file=file, line=pos[0], column=pos[1], path=where) from None
    _plausible(raw, value, file=file, pos=pos, where=where)
    return value


def _significant_digits(raw: Any, value: float) -> int:
    """Significant digits as written: ``0.27M`` 2, ``1,000`` 4, ``138357544`` 9; a YAML float or an expression's
    result as its shortest repr."""
    printed = _PRINTED.match(raw) if isinstance(raw, str) else None
    if printed is not None:
        digits = Decimal(printed.group(1).replace(",", "")).as_tuple().digits
        return max(1, len(digits))
    if isinstance(value, int):
        return max(1, len(str(abs(value)).rstrip("0")))
    return len(Decimal(repr(value)).normalize().as_tuple().digits)


def _plausible(raw: Any, value: float, *, file: str | None, pos: Pos, where: str) -> None:
    """Refuse a documented number no source prints, with which a check could never fail (see the module doc)."""
    shown = raw if isinstance(raw, str) else repr(raw)
    if not math.isfinite(value):
        raise fail(
            f"value {shown} is not a finite number",
            file=file,
            pos=pos,
            path=where,
            hint="write the figure as the source prints it, e.g. 138357544, 569M or 15.47e9",
        )
    if value < 0:
        raise fail(f"value {shown} is negative; a count never is", file=file, pos=pos, path=where)
    if value > MAX_FIGURE:
        raise fail(
            f"value {shown} is beyond 10^18: no network's params, MACs or FLOPs come near",
            file=file,
            pos=pos,
            path=where,
            hint="check the digits and the suffix (K, M, G, T)",
        )
    if _significant_digits(raw, value) > MAX_SIGNIFICANT_DIGITS:
        raise fail(
            f"value {shown} has more than {MAX_SIGNIFICANT_DIGITS} significant digits, more than any source prints",
            file=file,
            pos=pos,
            path=where,
            hint="write the figure with the digits the source prints",
        )


# ----------------------------------------------------------------------------------------- computing


def check_document(
    doc: Mapping[str, Any], variants: Sequence[str | None], *, file: str | None
) -> tuple[list[Result], list[str]]:
    """Recompute every documented figure of the named networks of one document: each distinct setting (size,
    variables) is resolved and analyzed once and dropped before the next; the layers analyzed over all
    settings of a network are bounded by ``MAX_CHECK_LAYERS`` (see the module doc)."""
    check_spec_document(doc, file=file)  # a list, null or a scalar at the top: one located SpecError
    results: list[Result] = []
    unchecked: list[str] = []
    for variant in variants:
        figures = documented_entries(doc, variant, file=file)
        if not figures:
            unchecked.append(variant or str(doc.get("name")))
        settings: dict[tuple[Any, ...], list[int]] = {}
        for i, fig in enumerate(figures):
            key = (fig.size, tuple(sorted((k, repr(v)) for k, v in fig.variables.items())), fig.aux)
            settings.setdefault(key, []).append(i)
        done: list[Result | None] = [None] * len(figures)
        analyzed = 0
        for n, indexes in enumerate(settings.values()):
            first = figures[indexes[0]]
            network: ir.Network = resolve_document(
                doc, file=file, variant=variant, variables=first.variables or None, size=first.size
            )
            report = analyze_network(network, aux=first.aux)
            layers = len(report.records)
            analyzed += layers
            expected = analyzed + layers * (len(settings) - n - 1)
            if max(analyzed, expected) > MAX_CHECK_LAYERS:
                raise _too_much_work(doc, first, len(settings), layers, expected, file=file)
            analysis = Analysis(report, network)
            for i in indexes:
                done[i] = evaluate_figure(figures[i], report, analysis=analysis)
            del network, report, analysis  # one analysis alive at a time
        results += [r for r in done if r is not None]
    return results, unchecked


def _too_much_work(
    doc: Mapping[str, Any], fig: Figure, settings: int, layers: int, total: int, *, file: str | None
) -> LimitError:
    pos = pos_of(doc, "documented", (1, 1)) if "documented" in doc else (fig.line or 1, 1)
    return LimitError(
        f"checking {fig.network} means {settings:,} settings (size, variables) × {layers:,} layers = "
        f"about {total:,} layer analyses, more than {MAX_CHECK_LAYERS:,}",
        file=file,
        line=pos[0],
        column=pos[1],
        path="documented",
        hint="document figures at fewer sizes and variable settings",
    )


def weight_depth(node: ir.Node) -> int:
    """Weight layers (conv, transposed conv, linear) on the longest path through ``node``, as papers count depth
    ("ResNet-110", "22 layers deep"): a sequence adds up; parallel branches, a residual's body and shortcut, and a
    gate beside the identity are alternative paths, of which the longest counts."""
    if isinstance(node, ir.Layer):
        return 1 if node.op in ("conv", "conv_transpose", "linear") else 0
    if isinstance(node, ir.Sequence):
        return sum(weight_depth(child) for child in node.children)
    if isinstance(node, ir.Concat):
        return max((weight_depth(b) for b in node.branches), default=0)
    if isinstance(node, ir.Residual):
        shortcut = weight_depth(node.shortcut) if node.shortcut is not None else 0
        after = weight_depth(node.activation) if node.activation is not None else 0
        return max(weight_depth(node.body), shortcut) + after
    if isinstance(node, (ir.Save, ir.Aux)):
        return 0  # a marker; a side head off the inference path
    if isinstance(node, ir.Join):
        # depth is counted along the current path: a skip through a saved tensor left it earlier (U-Net), and
        # layers run on a saved tensor (FPN's lateral 1×1 conv) are a short side path
        return 0
    return weight_depth(node.gate)


def node_at(root: ir.Node, path: str) -> ir.Node | None:
    """The outermost node with this path (a residual before its transparent body), or None."""
    if root.path == path:
        return root
    for child in ir.children_of(root):
        found = node_at(child, path)
        if found is not None:
            return found
    return None


class Analysis:
    """One analyzed setting, indexed once for every figure that reads it: rows by path (the first, as
    ``Report.find``), the network's output shape, nodes by path and their depths — so that checking F figures
    of an L-layer network costs about F + L, not F × L."""

    #: Missing rows get a "did you mean" over every path (slow for a huge network) this many times per analysis.
    SUGGESTIONS = 20

    def __init__(self, report: Report, network: ir.Network | None = None) -> None:
        self.report, self.network = report, network
        self.rows: dict[str, Record] = {}
        for r in report.records:
            self.rows.setdefault(r.path, r)
        self.output_shape = report.output_shape
        self._nodes: dict[str, ir.Node] | None = None
        self._depths: dict[str, int] = {}
        self._suggested = 0

    def suggestion(self, layer: str) -> str | None:
        if self._suggested >= self.SUGGESTIONS:
            return None
        self._suggested += 1
        return suggest(layer, self.rows)

    def depth(self, layer: str | None) -> int:
        """Weight depth of the whole network (``None``) or of the outermost node at a path (0 if none)."""
        if self.network is None:
            raise ValueError("a depth figure needs the resolved network")
        key = "" if layer is None else layer
        if key not in self._depths:
            if layer is None:
                node: ir.Node | None = self.network.root
            else:
                if self._nodes is None:
                    self._nodes = {}
                    stack: list[ir.Node] = [self.network.root]
                    while stack:  # pre-order: the outermost node of a path is met first
                        current = stack.pop()
                        self._nodes.setdefault(current.path, current)
                        stack.extend(reversed(list(ir.children_of(current))))
                node = self._nodes.get(layer)
            self._depths[key] = weight_depth(node) if node is not None else 0
        return self._depths[key]


def evaluate_figure(
    fig: Figure, report: Report, *, network: ir.Network | None = None, analysis: Analysis | None = None
) -> Result:
    """Compare one figure with a report: pass within tolerance, explained when a stated deviation covers a
    mismatch, FAIL otherwise (also when the layer does not exist, and when a deviation note is stale because
    the figures agree). ``depth`` needs the resolved ``network``. Pass ``analysis`` (made once from ``report``
    and ``network``) when evaluating many figures of one report."""
    if analysis is None:
        analysis = Analysis(report, network)
    row: Record | None = None
    if fig.layer is not None:
        row = analysis.rows.get(fig.layer)
        if row is None:
            hint = analysis.suggestion(fig.layer)
            return Result(fig, None, FAIL, f"no row '{fig.layer}' in {report.name}" + (f"; {hint}" if hint else ""))
    computed: float | tuple[int, ...]
    if fig.figure == "depth":
        computed = analysis.depth(fig.layer)
        matches = computed == fig.value
    elif fig.figure == "output_shape":
        computed = tuple(row.output_shape if row else analysis.output_shape)
        matches = computed == fig.value
    else:
        source: Any = row if row is not None else report.totals
        number: int = {"params": source.params, "macs": source.macs, "flops": 2 * source.macs}[fig.figure]
        documented = fig.value
        assert not isinstance(documented, tuple)
        computed = number
        matches = abs(number - documented) <= fig.tolerance * abs(documented)
    if matches and fig.deviation:
        return Result(fig, computed, FAIL, "the figures agree now: remove the stale 'deviation' note")
    if matches:
        return Result(fig, computed, PASS)
    if fig.deviation:
        return Result(fig, computed, EXPLAINED, fig.deviation)
    return Result(fig, computed, FAIL, "shape differs" if fig.figure == "output_shape" else "outside the tolerance")


def merge(parts: Iterable[tuple[list[Result], list[str]]]) -> CheckReport:
    results: list[Result] = []
    unchecked: list[str] = []
    for r, u in parts:
        results += r
        unchecked += u
    return CheckReport(tuple(results), tuple(unchecked))
