"""``cnncost check`` output: a table, JSON, and JUnit XML for CI systems.

JSON (``check_json``): ``ok``, the counts, ``unchecked`` and one object per figure in ``results``; ``deviation``
is the relative deviation (computed − documented) / documented, ``null`` for shapes and depths and where it is not
a finite number (a documented 0 against a non-zero count, shown as ∞ in the table). JSON is strict: no ``NaN`` or
``Infinity`` anywhere.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree as ET

from cnncost.analysis.check import EXPLAINED, FAIL, PASS, CheckReport, Result
from cnncost.render import numbers as num
from cnncost.render.formats import dumps
from cnncost.render.table import FULL_WIDTH, Column, Layout, dropped_lines, join, layout, styled, wrap_line


def value_text(value: float | tuple[int, ...] | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return num.shape(value)
    if float(value).is_integer():
        return num.integer(int(value))
    return num.si(value, digits=3)


def deviation_text(result: Result) -> str:
    """The relative deviation as a signed percentage (``cnncost.render.numbers.signed_percent``)."""
    dev = result.deviation
    if dev is None:
        return "—" if result.status != PASS or isinstance(result.figure.value, tuple) else "0"
    return num.signed_percent(dev)


def tolerance_text(result: Result) -> str:
    tol = result.figure.tolerance
    text = "exact" if tol == 0 else "±" + num.share(tol, digits=2).replace(".00%", "%")
    return f"{text} rounded" if result.figure.rounded else text


#: The order a narrow terminal gives up columns of the check table (the JSON and --wide keep them all): the
#: source first moves below the table (the column keeps a number, ``src``), then the tolerance goes, then ``src``.
DROP_ORDER = ("source", "tolerance", "src")


def status_style(status: str) -> str | None:
    """Failures in red, explained deviations in yellow (on a terminal with colour)."""
    return {FAIL: "red", EXPLAINED: "yellow"}.get(status)


def render_check(report: CheckReport, *, width: int = 120, color: bool = False, wide: bool = False) -> str:
    """The check table, the notes on every row that did not simply pass, and a one-line summary.

    At a narrow width columns give way in ``DROP_ORDER``, and a line under the table says which went."""
    if wide:
        width = FULL_WIDTH
    sources = list(dict.fromkeys(r.figure.source for r in report.results))

    def columns(numbered: bool) -> list[Column]:
        last = (
            Column("src", "right", drop=DROP_ORDER.index("src"))
            if numbered
            else Column("source", flexible=True, min_width=16, drop=DROP_ORDER.index("source"))
        )
        return [
            Column("network", flexible=True, min_width=10),  # a long name wraps after a hyphen or a dot
            Column("figure", flexible=True, min_width=14, whole_words=True),
            Column("documented", "right"),
            Column("computed", "right"),
            Column("deviation", "right"),
            Column("tolerance", "right", drop=DROP_ORDER.index("tolerance")),
            last,
            Column("status", style=status_style),
        ]

    def rows(numbered: bool) -> list[list[str]]:
        return [
            [
                r.figure.network,
                r.figure.label,
                value_text(r.figure.value),
                value_text(r.computed),
                deviation_text(r),
                tolerance_text(r),
                str(sources.index(r.figure.source) + 1) if numbered else r.figure.source,
                r.status,
            ]
            for r in report.results
        ]

    table = layout(columns(False), rows(False), width=width, color=color) if report.results else Layout([], [])
    below: list[str] = []
    dropped = table.dropped
    if "source" in table.dropped:
        table = layout(columns(True), rows(True), width=width, color=color)
        if "src" not in table.dropped:  # the sources, numbered, under the table
            dropped = table.dropped
            below = ["", *wrap_line("sources:", width)]
            for n, source in enumerate(sources, start=1):
                below += wrap_line(f"{n:>{len(str(len(sources)))}}  {source}", width)
        else:
            dropped = ["source", "tolerance"]
    lines = [*table.lines, *below]
    notes = [r for r in report.results if r.status != PASS]
    if notes:
        lines.append("")
        for r in notes:
            lines += wrap_line(
                f"{r.status}: {r.figure.network} · {r.figure.label}: {r.note}", width, status_style(r.status), color
            )
    if dropped:
        lines.append("")
        lines += dropped_lines(dropped, width, color)
    if report.unchecked:
        lines.append("")
        lines += wrap_line("no documented figures: " + ", ".join(report.unchecked), width)
    lines.append("")
    summary = (
        f"{report.count(PASS)} passed, {report.count(EXPLAINED)} explained, {report.count(FAIL)} failed "
        f"· {len({r.figure.network for r in report.results})} network(s)"
    )
    lines.append(styled(summary, "red" if report.count(FAIL) else "bold", color))
    return join(lines)


def result_dict(r: Result) -> dict[str, Any]:
    value = list(r.figure.value) if isinstance(r.figure.value, tuple) else r.figure.value
    computed = list(r.computed) if isinstance(r.computed, tuple) else r.computed
    return {
        "network": r.figure.network,
        "figure": r.figure.figure,
        "layer": r.figure.layer,
        "label": r.figure.label,
        "size": list(r.figure.size) if r.figure.size else None,
        "variables": dict(r.figure.variables),
        "documented": value,
        "computed": computed,
        "deviation": r.deviation,
        "tolerance": r.figure.tolerance,
        "rounded": r.figure.rounded,
        "source": r.figure.source,
        "status": r.status,
        "note": r.note or None,
        "file": r.figure.file,
        "line": r.figure.line,
    }


def check_json(report: CheckReport) -> str:
    return dumps(
        {
            "ok": report.ok,
            "passed": report.count(PASS),
            "explained": report.count(EXPLAINED),
            "failed": report.count(FAIL),
            "unchecked": list(report.unchecked),
            "results": [result_dict(r) for r in report.results],
        }
    )


#: Characters XML 1.0 forbids anywhere, even escaped: C0 controls but tab, newline and carriage return; surrogates;
#: U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 forbids written out (``\\x01``), so the document always parses."""
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text
    )


def junit_xml(report: CheckReport) -> str:
    """JUnit XML: one testsuite per network, one testcase per documented figure. Always well-formed XML 1.0:
    characters it forbids (control characters in a source, say) are written out as ``\\xNN``."""
    x = xml_text
    suites = ET.Element(
        "testsuites", name="cnncost check", tests=str(len(report.results)), failures=str(report.count(FAIL))
    )
    by_network: dict[str, list[Result]] = {}
    for r in report.results:
        by_network.setdefault(r.figure.network, []).append(r)
    for network, results in by_network.items():
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=x(network),
            tests=str(len(results)),
            failures=str(sum(1 for r in results if r.status == FAIL)),
            errors="0",
            skipped="0",
        )
        for r in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=x(f"cnncost.{network}"),
                name=x(r.figure.label),
                file=x(r.figure.file or ""),
                line=str(r.figure.line or ""),
            )
            detail = x(
                f"documented {value_text(r.figure.value)} ({r.figure.source}), computed {value_text(r.computed)}, "
                f"deviation {deviation_text(r)}, tolerance {tolerance_text(r)}"
            )
            if r.status == FAIL:
                failure = ET.SubElement(case, "failure", message=f"{x(r.note)}: {detail}", type="DocumentedFigure")
                failure.text = detail
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"{r.status}: {detail}" + (f" — {x(r.note)}" if r.note else "")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
