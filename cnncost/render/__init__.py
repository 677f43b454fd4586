"""Renderers: the only place analysis results become text (rich tables, JSON, CSV, Markdown).

Every renderer takes frozen results (``Report``, ``Comparison``) and returns the whole output as one string, so
the CLI can print it at once and never leaves partial output on stdout when something fails. Numbers become
strings only through ``cnncost.render.numbers``. Rich is imported by the table renderers only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

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


# ------------------------------------------------------------------------------------------- the seam


class Formats(NamedTuple):
    """How one kind of result becomes text in each output format: ``"module:function"`` names, imported only when
    used (rich stays out of JSON and CSV), or ``None`` where the kind has no such format.

    A table function is called ``f(result, width=…, color=…, **options)``, a data function ``f(result,
    **options)``, with the keyword options its command passes (``depth``, ``verified``, ``training``); the formats
    of one kind all take the same options.
    """

    table: str
    json: str
    csv: str | None = None
    markdown: str | None = None


#: Every command's renderers, by the kind of result it shows: adding a command or a format is one entry here.
RENDERERS: dict[str, Formats] = {
    "report": Formats(
        "cnncost.render:report_table", "cnncost.render:report_json", "cnncost.render:report_csv",
        "cnncost.render:report_markdown",
    ),
    "library": Formats(
        "cnncost.render.table:library_table", "cnncost.render.formats:library_json",
        "cnncost.render.formats:library_csv", "cnncost.render.formats:library_markdown",
    ),
    "ops": Formats(
        "cnncost.render.table:ops_table", "cnncost.render.formats:ops_json", "cnncost.render.formats:ops_csv",
        "cnncost.render.formats:ops_markdown",
    ),
    "compare": Formats(
        "cnncost.render.compare:render_compare", "cnncost.render.compare:compare_json",
        "cnncost.render.compare:compare_csv", "cnncost.render.compare:compare_markdown",
    ),
    "check": Formats("cnncost.render.check:render_check", "cnncost.render.check:check_json"),
    "explain": Formats(
        "cnncost.render.explain:render_explain", "cnncost.render.explain:explain_json",
        "cnncost.render.explain:explain_csv", "cnncost.render.explain:explain_markdown",
    ),
    "bench": Formats(
        "cnncost.render.bench:bench_table", "cnncost.render.bench:bench_json", "cnncost.render.bench:bench_csv",
        "cnncost.render.bench:bench_markdown",
    ),
    "memory": Formats(
        "cnncost.render.memory:memory_table", "cnncost.render.memory:memory_json", "cnncost.render.memory:memory_csv"
    ),
    "sweep": Formats(
        "cnncost.render.sweep:sweep_table", "cnncost.render.sweep:sweep_json", "cnncost.render.sweep:sweep_csv",
        "cnncost.render.sweep:sweep_markdown",
    ),
    "gradients": Formats(
        "cnncost.render.gradients:gradients_table", "cnncost.render.gradients:gradients_json",
        "cnncost.render.gradients:gradients_csv",
    ),
    "depth-study": Formats(
        "cnncost.render.depth_study:study_table", "cnncost.render.depth_study:study_json",
        "cnncost.render.depth_study:study_csv",
    ),
}


def render(
    kind: str,
    result: Any,
    fmt: str = "table",
    *,
    width: int = 120,
    color: bool = False,
    wide: bool = False,
    **options: Any,
) -> str:
    """The one way a result becomes text: ``kind`` (a key of ``RENDERERS``) in ``fmt`` (one of ``FORMATS``).

    ``width`` and ``color`` reach only the table; ``wide`` renders the table at full width (nothing wrapped,
    nothing dropped), whatever the terminal.
    """
    import importlib

    from cnncost.errors import UsageError

    target = getattr(RENDERERS[kind], fmt, None) if fmt in FORMATS else None
    if target is None:
        offered = ", ".join(f for f in FORMATS if getattr(RENDERERS[kind], f))
        raise UsageError(f"no {fmt} output for {kind}", hint=f"choose one of {offered}")
    module, _, name = target.partition(":")
    function: Callable[..., str] = getattr(importlib.import_module(module), name)
    if fmt != "table":
        return function(result, **options)
    if wide:
        from cnncost.render.table import FULL_WIDTH

        width = FULL_WIDTH
    return function(result, width=width, color=color, **options)


# ------------------------------------------------------------------------------------------- the report


def report_table(
    report: Report,
    *,
    depth: int | None = None,
    width: int = 120,
    color: bool = False,
    verified: Verified | None = None,
    train: bool = False,
    rf: bool = False,
    **_: Any,
) -> str:
    """``cnncost table`` as a table; a verification adds its line; ``train``: the train view; ``rf`` the receptive
    field columns."""
    from cnncost.render.table import join, render_report, wrap_line

    if train:
        from cnncost.render.train import render_train

        text = render_train(report, depth=depth, width=width, color=color)
    else:
        text = render_report(report, depth=depth, width=width, color=color, rf=rf)
    if verified is None:
        return text
    return text + join(wrap_line(verify_line(verified), width, None if verified.ok else "red", color))


def report_json(
    report: Report, *, depth: int | None = None, verified: Verified | None = None, rf: bool = False, **_: Any
) -> str:
    """``cnncost table --format json``; a verification adds a ``verify`` key, ``rf`` an ``rf`` field per row."""
    from cnncost.render import formats

    data = formats.report_dict(report, depth=depth, rf=rf)
    if verified is not None:
        data["verify"] = verify_dict(verified)
    return formats.dumps(data)


def report_csv(report: Report, *, depth: int | None = None, rf: bool = False, **_: Any) -> str:
    """``cnncost table --format csv``: one row per layer, verified or not (``rf``: receptive field columns)."""
    from cnncost.render import formats

    return formats.report_csv(report, depth=depth, rf=rf)


def report_markdown(
    report: Report, *, depth: int | None = None, verified: Verified | None = None, rf: bool = False, **_: Any
) -> str:
    """``cnncost table --format markdown``; a verification adds its line, ``rf`` the receptive field columns."""
    from cnncost.render import formats

    text = formats.report_markdown(report, depth=depth, rf=rf)
    return text + (f"\n{verify_line(verified)}\n" if verified is not None else "")


# ------------------------------------------------------------------ the names the commands used before the seam


def report_text(
    report: Report,
    *,
    fmt: str = "table",
    depth: int | None = None,
    width: int = 120,
    color: bool = False,
    verified: Verified | None = None,
    wide: bool = False,
) -> str:
    """``cnncost table`` in any format (``render("report", …)``)."""
    return render("report", report, fmt, width=width, color=color, wide=wide, depth=depth, verified=verified)


def library_text(
    reports: Sequence[Summary], *, fmt: str = "table", width: int = 120, color: bool = False, wide: bool = False
) -> str:
    """``cnncost list`` in any format (``render("library", …)``)."""
    return render("library", reports, fmt, width=width, color=color, wide=wide)


def ops_text(
    ops: Sequence[Any], *, fmt: str = "table", width: int = 120, color: bool = False, wide: bool = False
) -> str:
    """``cnncost ops`` (the op registry's entries) in any format (``render("ops", …)``)."""
    return render("ops", ops, fmt, width=width, color=color, wide=wide)


def compare_text(
    comparison: Comparison, *, fmt: str = "table", width: int = 120, color: bool = False, wide: bool = False
) -> str:
    """``cnncost compare`` in any format (``render("compare", …)``)."""
    return render("compare", comparison, fmt, width=width, color=color, wide=wide)
