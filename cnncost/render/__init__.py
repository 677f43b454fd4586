"""Renderers: the only place analysis results become text (rich tables, JSON, CSV, Markdown).

Every renderer takes frozen results (``Report``, ``Comparison``) and returns the whole output as one string, so
the CLI can print it at once and never leaves partial output on stdout when something fails. Numbers become
strings only through ``cnncost.render.numbers``. Rich is imported by the table renderers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cnncost.analysis.compare import Comparison
    from cnncost.analysis.records import Report, Summary

#: The counting convention in one line (CONVENTIONS.md), printed under every table and carried in JSON.
CONVENTION = (
    "MACs = conv and linear multiply-accumulates, bias excluded · FLOPs = 2 × MACs · other ops counted apart"
)

#: Version of the JSON layout written by ``--format json``; raised only when a field changes meaning or goes.
SCHEMA_VERSION = 1

#: The output formats every command offers.
FORMATS = ("table", "json", "csv", "markdown")


class Verified(Protocol):
    """What the renderers need from a PyTorch verification (``cnncost.torch.verify.VerifyResult``)."""

    @property
    def ok(self) -> bool: ...

    @property
    def rows(self) -> Sequence[Any]: ...

    @property
    def measured_params(self) -> int: ...

    @property
    def measured_flops(self) -> int: ...


def verify_line(result: Verified) -> str:
    """One sentence saying what the PyTorch verification confirmed."""
    from cnncost.render import numbers as num

    state = "agrees" if result.ok else "DISAGREES"
    groups = len(getattr(result, "groups", ()))
    blocks = f" and {groups} blocks" if groups else ""
    oracles = list(getattr(result, "oracles", ()))
    first = f" ({oracles[0].counts})" if oracles else ""
    more = "".join(f"; {o.tool} ({o.counts}): {num.integer(o.value)} {o.unit}" for o in oracles[1:])
    return (
        f"verified: PyTorch on the meta device {state} on the params, FLOPs (= 2 × MACs) and output shape of all "
        f"{len(result.rows)} layers{blocks} — {num.integer(result.measured_params)} params, "
        f"{num.integer(result.measured_flops)} FLOPs by FlopCounterMode{first}{more}"
    )


def verify_dict(result: Verified) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "method": "PyTorch on the meta device: params, FlopCounterMode FLOPs and output shape of every layer"
        + ("; fvcore MACs of every layer" if getattr(result, "fvcore_macs", None) is not None else ""),
        "layers": len(result.rows),
        "groups": len(getattr(result, "groups", ())),
        "params": result.measured_params,
        "flops": result.measured_flops,
        "fvcore_macs_per_image": getattr(result, "fvcore_macs", None),
        "fvcore_total_per_image": getattr(result, "fvcore_total", None),
        "oracles": [
            {"tool": o.tool, "counts": o.counts, "value": o.value, "unit": o.unit}
            for o in getattr(result, "oracles", ())
        ],
    }


def report_text(
    report: Report,
    *,
    fmt: str = "table",
    depth: int | None = None,
    width: int = 120,
    color: bool = False,
    verified: Verified | None = None,
) -> str:
    """``cnncost table`` in any format. A verification adds a line (table, Markdown) or a ``verify`` key (JSON);
    CSV stays one row per layer."""
    from cnncost.render import formats

    if fmt == "json":
        data = formats.report_dict(report, depth=depth)
        if verified is not None:
            data["verify"] = verify_dict(verified)
        return formats.dumps(data)
    if fmt == "csv":
        return formats.report_csv(report, depth=depth)
    if fmt == "markdown":
        text = formats.report_markdown(report, depth=depth)
        return text + (f"\n{verify_line(verified)}\n" if verified is not None else "")
    from cnncost.render.table import join, render_report, wrap_line

    text = render_report(report, depth=depth, width=width, color=color)
    return text + (join(wrap_line(verify_line(verified), width)) if verified is not None else "")


def library_text(reports: Sequence[Summary], *, fmt: str = "table", width: int = 120, color: bool = False) -> str:
    """``cnncost list`` in any format."""
    from cnncost.render import formats

    if fmt == "json":
        return formats.library_json(reports)
    if fmt == "csv":
        return formats.library_csv(reports)
    if fmt == "markdown":
        return formats.library_markdown(reports)
    from cnncost.render.table import render_library

    return render_library(reports, width=width, color=color)


def ops_text(ops: Sequence[Any], *, fmt: str = "table", width: int = 120, color: bool = False) -> str:
    """``cnncost ops`` (the op registry's entries) in any format."""
    from cnncost.render import formats

    if fmt == "json":
        return formats.ops_json(ops)
    if fmt == "csv":
        return formats.ops_csv(ops)
    if fmt == "markdown":
        return formats.ops_markdown(ops)
    from cnncost.render.table import render_ops

    return render_ops(formats.op_rows(ops), width=width, color=color)


def compare_text(comparison: Comparison, *, fmt: str = "table", width: int = 120, color: bool = False) -> str:
    """``cnncost compare`` in any format."""
    from cnncost.render import compare

    if fmt == "json":
        return compare.compare_json(comparison)
    if fmt == "csv":
        return compare.compare_csv(comparison)
    if fmt == "markdown":
        return compare.compare_markdown(comparison)
    return compare.render_compare(comparison, width=width, color=color)
