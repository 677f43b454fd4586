"""The command line: thin Typer commands over ``cnncost.api``; the renderers make the text.

Every command parses its options, calls the API, renders the complete output to one string and prints it, so a
failure never leaves partial output on stdout. Errors are mapped to one stderr line and an exit code in one
place, ``main()``: a ``CnnCostError`` exits with its own code (1 for bad input, 2 for bad usage), bad
command-line usage with 2, Ctrl-C with 130. ``--debug`` (or ``CNNCOST_DEBUG=1``) shows the traceback.

Start-up stays light: this module imports only typer and cnncost's errors; the API, the renderers (rich) and,
for ``--verify`` only, PyTorch are imported inside the commands.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import traceback
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import typer

from cnncost.errors import CnnCostError, NotFoundError, UsageError
from cnncost.version import __version__

try:  # typer ≥ 0.2x carries its own click, whose exceptions derive from TyperException
    from typer import TyperException as ClickError
except ImportError:  # pragma: no cover - older typer on top of click
    from click import ClickException as ClickError  # type: ignore[no-redef,import-not-found,unused-ignore]

HELP = """What a convolutional network costs before you train it: per-layer output shapes, parameters and
multiply-adds (MACs) of bundled case-study networks or your own YAML specs, computed without PyTorch."""

EPILOG = "Counting convention: MACs = conv and linear multiply-accumulates (bias excluded); FLOPs = 2 × MACs."

app = typer.Typer(
    name="cnncost",
    help=HELP,
    epilog=EPILOG,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Typer's rich help imports rich's Markdown and syntax stack (~125 ms)
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class _State:
    debug = False
    interrupted = ""  # what a command that stopped at Ctrl-C still showed, for the one "interrupted" line


# --------------------------------------------------------------------------- options declared once, reused

SpecArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME_OR_PATH",
        help="a bundled network (see 'cnncost list'), a spec file, or FILE.yaml:VARIANT",
        show_default=False,
    ),
]
SizeOption = Annotated[
    str | None,
    typer.Option(
        "--size",
        "-s",
        metavar="H[xW]",
        help="input spatial size H×W, e.g. 224 or 224x160 (default: the spec's)",
        show_default=False,
    ),
]
BatchOption = Annotated[
    int,
    typer.Option("--batch", "-b", min=1, help="batch size: MACs and other ops scale with it, params do not"),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="set a spec variable, e.g. --set width=0.5 (repeatable)",
        show_default=False,
    ),
]
DepthOption = Annotated[
    int | None,
    typer.Option(
        "--depth",
        "-d",
        min=0,
        metavar="N",
        help="fold blocks nested deeper than N into one subtotal row (0: top level only; default: every layer, "
        "or for compare the deepest view within 40 rows)",
        show_default=False,
    ),
]
FormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", case_sensitive=False, help="output format (json, csv: machine-readable)"),
]
WideOption = Annotated[
    bool,
    typer.Option(
        "--wide", help="tables at full width whatever the terminal: no column left out, no text wrapped"
    ),
]


# ----------------------------------------------------------------------------------- parsing helpers

_SIZE = re.compile(r"^\s*(\d+)\s*(?:[x×X,]\s*(\d+))?\s*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``--size 224`` → (224, 224); ``--size 224x160`` → (224, 160) (height × width)."""
    if text is None:
        return None
    match = _SIZE.match(text)
    if not match:
        raise UsageError(
            f"--size {text!r} is not a size", hint="give H or HxW in pixels, e.g. --size 224 or --size 224x160"
        )
    h = int(match.group(1))
    w = int(match.group(2)) if match.group(2) is not None else h
    if h < 1 or w < 1:
        raise UsageError(f"--size {text}: a size must be at least 1×1", hint="e.g. --size 224")
    return (h, w)


def parse_value(text: str, name: str = "value") -> Any:
    """A ``--set`` value, read exactly as the same value written in the spec would be (``cnncost.spec.values``):
    ``false`` is false, ``[2, 2, 2, 2]`` a list, ``'text'`` text, ``nan`` a word; the spec validates the rest."""
    from cnncost.spec.values import read_value

    return read_value(text, name=name)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``--set KEY=VALUE`` (repeatable) → {KEY: value}; a key given twice keeps its last value."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.match(key) or not value:
            raise UsageError(
                f"--set {item!r} is not KEY=VALUE", hint="e.g. --set width=0.5 (one variable per --set)"
            )
        out[key] = parse_value(value, key)
    return out


# ------------------------------------------------------------------------------------------- output


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def output_width() -> int:
    """Table width: ``COLUMNS`` when set, else the terminal's, else 120 (pipes and files)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 40:
        return int(columns)
    if _stdout_is_terminal():
        return max(40, shutil.get_terminal_size((120, 24)).columns)
    return 120


def output_color() -> bool:
    """Colour only on a terminal, and never under ``NO_COLOR`` or ``TERM=dumb``."""
    return _stdout_is_terminal() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class _ReaderGone(Exception):
    """stdout's reader went away (a broken pipe)."""


def emit(text: str) -> None:
    """Print a command's complete output at once. A closed stdout or a failed write (a full disk) is one error
    line; a reader that went away (``| head``) raises ``_ReaderGone``, which ``main`` ends quietly (exit 141)."""
    stream = sys.stdout
    if stream is None:  # started with stdout closed (`cnncost table vgg16 >&-`)
        raise CnnCostError("cannot write the output: stdout is closed", hint="redirect it to a file or a pipe")
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise _ReaderGone from None  # not an OSError, so click does not turn it into its own exit
    except OSError as exc:
        _silence_stdout()
        raise CnnCostError(
            f"cannot write the output to stdout: {exc.strerror or exc}",
            hint="check the file or device stdout goes to (a full disk?)",
        ) from None


def _render_options() -> dict[str, Any]:
    return {"width": output_width(), "color": output_color()}


def show(render: Callable[[dict[str, Any]], str], fmt: str) -> None:
    """Render a command's output (``render(options)``) and print it safe for a terminal: control characters and
    bidi overrides from the input as visible escapes (``\\x1b``, ``\\u202e``), in JSON as ``\\uXXXX`` escapes
    (``cnncost.render.text``). Colour is kept only when the plain text needs no escape, so the only escape
    sequences on the terminal are the renderers' own styles."""
    from cnncost.render.text import json_safe, terminal_safe

    options = _render_options()
    if fmt == "json":
        emit(json_safe(render(options)))
        return
    if not options["color"]:
        emit(terminal_safe(render(options)))
        return
    plain = render({**options, "color": False})
    emit(terminal_safe(plain) if terminal_safe(plain) != plain else render(options))


# ------------------------------------------------------------------------------------------ commands


def _version(value: bool) -> None:
    if value:
        emit(f"cnncost {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="print the version and exit"),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="show the Python traceback of an error (or set CNNCOST_DEBUG=1)")
    ] = False,
) -> None:
    if debug:
        _State.debug = True


@app.command("list")
def list_networks(
    pattern: Annotated[
        str | None,
        typer.Argument(help="only networks whose name matches (a substring or a glob: 'resnet*')", show_default=False),
    ] = None,
    fmt: FormatOption = Format.table,
    wide: WideOption = False,
) -> None:
    """The bundled networks with a one-line description, parameters and MACs (per image)."""
    from cnncost import api, render

    summaries = api.library_summaries(pattern)
    if not summaries:
        raise NotFoundError(
            f"no bundled network matches '{pattern}'", hint="run 'cnncost list' to see them all"
        )
    show(lambda o: render.render("library", summaries, fmt.value, wide=wide, **o), fmt.value)


# ----------------------------------------------------------------------- any PyTorch model (--module)

OptionalSpecArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[NAME_OR_PATH]",
        help="a bundled network (see 'cnncost list'), a spec file, or FILE.yaml:VARIANT (or give --module)",
        show_default=False,
    ),
]
ModuleOption = Annotated[
    str | None,
    typer.Option(
        "--module",
        "-m",
        metavar="MODULE:CALLABLE",
        help="analyze a PyTorch model instead of a spec: torchvision:resnet50, mypackage.models:build or "
        "path/to/file.py:Net (called with no arguments; analyzed on the meta device, needs torch)",
        show_default=False,
    ),
]
InputShapeOption = Annotated[
    str | None,
    typer.Option(
        "--input-shape",
        metavar="C,H,W",
        help="input of a --module model per image, torch's order (default: 3,224,224, or 3 channels at --size)",
        show_default=False,
    ),
]

TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="the most a --module model's own code (import, build, forward) may take, in seconds",
    ),
]
RealForwardOption = Annotated[
    bool,
    typer.Option(
        "--real-forward",
        help="run the --module model for real on the CPU with random weights instead of on the meta device "
        "(detection models; data-dependent parts are named in the output)",
    ),
]
MaxMemoryOption = Annotated[
    float,
    typer.Option(
        "--max-memory",
        metavar="GIB",
        help="the most a --module model built or run with real tensors may allocate, in GiB",
    ),
]


def _module_options(timeout: float, real_forward: bool, max_memory: float) -> dict[str, Any]:
    if not 0 < max_memory <= 1024:
        raise UsageError(f"--max-memory {max_memory:g} is out of range", hint="give GiB above 0, at most 1024")
    if not 0 < timeout <= 86_400:
        raise UsageError(f"--timeout {timeout:g} is out of range", hint="give seconds above 0, at most 86400")
    return {"timeout": timeout, "real_forward": real_forward, "max_memory": int(max_memory * 1024**3)}


_DIMS = re.compile(r"^\s*\d+(\s*[,x×X]\s*\d+)*\s*$")


def parse_input_shape(text: str | None, size: tuple[int, int] | None = None) -> tuple[int, ...]:
    """``--input-shape 3,224,224`` → (3, 224, 224); without it, 3 channels at ``--size`` or 224×224."""
    if text is None:
        h, w = size or (224, 224)
        return (3, h, w)
    if not _DIMS.match(text):
        raise UsageError(f"--input-shape {text!r} is not C,H,W", hint="e.g. --input-shape 3,224,224")
    dims = tuple(int(d) for d in re.split(r"[,x×X]", text.replace(" ", "")))
    if any(d < 1 for d in dims):
        raise UsageError(f"--input-shape {text}: every size must be at least 1", hint="e.g. --input-shape 3,224,224")
    return dims


def _report_of(
    spec: str | None,
    module: str | None,
    input_shape: str | None,
    size: str | None,
    batch: int,
    sets: list[str] | None,
    run: dict[str, Any] | None = None,
) -> Any:
    """The analysis of a spec, or of a ``--module`` model on the meta device."""
    from cnncost import api

    if spec is not None and module is not None:
        raise UsageError("give a network or --module, not both", hint="to compare them: cnncost compare A --module M")
    if module is None:
        if spec is None:
            raise UsageError(
                "missing argument NAME_OR_PATH (or --module MODULE:CALLABLE)",
                hint="e.g. cnncost table vgg16, or cnncost table --module torchvision:resnet50",
            )
        if input_shape is not None:
            raise UsageError("--input-shape is for --module models", hint="for a spec use --size H[xW]")
        return api.analyze(spec, batch=batch, size=parse_size(size), variables=parse_sets(sets))
    if sets:
        raise UsageError("--set sets spec variables; a --module model has none", hint="remove --set")
    return api.analyze_module(module, parse_input_shape(input_shape, parse_size(size)), batch=batch, **(run or {}))


@app.command()
def table(
    spec: OptionalSpecArgument = None,
    module: ModuleOption = None,
    input_shape: InputShapeOption = None,
    size: SizeOption = None,
    batch: BatchOption = 1,
    sets: SetOption = None,
    depth: DepthOption = None,
    fmt: FormatOption = Format.table,
    timeout: TimeoutOption = 60.0,
    real_forward: RealForwardOption = False,
    max_memory: MaxMemoryOption = 2.0,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="build the network with PyTorch on the meta device and confirm every row (needs torch)"
        ),
    ] = False,
    fvcore: Annotated[
        bool,
        typer.Option(
            "--fvcore",
            help="with --verify: also run fvcore as a second oracle (real CPU tensors, one image; slower)",
        ),
    ] = False,
    wide: WideOption = False,
) -> None:
    """Per-layer output shape, params, MACs and share of the total, with totals (FLOPs, other ops)."""
    from cnncost import api, render

    if verify and module is not None:
        raise UsageError("--verify checks a spec against its PyTorch build", hint="a --module model is PyTorch's own")
    if fvcore and not verify:
        raise UsageError("--fvcore is an oracle of --verify", hint="add --verify")
    run = _module_options(timeout, real_forward, max_memory)
    report = _report_of(spec, module, input_shape, size, batch, sets, run)
    options: dict[str, Any] = {"size": parse_size(size), "variables": parse_sets(sets)}
    verified = None
    if verify and spec is not None:
        verified = api.verify(spec, batch=batch, fvcore=fvcore, **options).check()
    show(
        lambda o: render.render("report", report, fmt.value, wide=wide, depth=depth, verified=verified, **o), fmt.value
    )


@app.command()
def compare(
    specs: Annotated[
        list[str] | None,
        typer.Argument(metavar="A B [C…]", help="two or more networks (names or spec files)", show_default=False),
    ] = None,
    modules: Annotated[
        list[str] | None,
        typer.Option(
            "--module",
            "-m",
            metavar="MODULE:CALLABLE",
            help="a PyTorch model to compare too, after the specs (repeatable; see 'cnncost table --help')",
            show_default=False,
        ),
    ] = None,
    input_shape: InputShapeOption = None,
    size: SizeOption = None,
    batch: BatchOption = 1,
    sets: SetOption = None,
    depth: DepthOption = None,
    fmt: FormatOption = Format.table,
    timeout: TimeoutOption = 60.0,
    real_forward: RealForwardOption = False,
    max_memory: MaxMemoryOption = 2.0,
    wide: WideOption = False,
) -> None:
    """Totals side by side with ratios to the first network, and blocks and branches matched by path."""
    from cnncost import api, render

    specs, modules = specs or [], modules or []
    if len(specs) + len(modules) < 2:
        raise UsageError(
            "compare needs at least two networks", hint="e.g. cnncost compare conv5x5 conv5x5-bottleneck"
        )
    shape = parse_input_shape(input_shape, parse_size(size)) if modules else None
    run = _module_options(timeout, real_forward, max_memory) if modules else {}
    comparison = api.compare(
        *specs, modules=modules, size=parse_size(size), batch=batch, variables=parse_sets(sets), depth=depth,
        input_shape=shape, **run,
    )
    show(lambda o: render.render("compare", comparison, fmt.value, wide=wide, **o), fmt.value)


class CheckFormat(str, Enum):
    table = "table"
    json = "json"


@app.command()
def check(
    specs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NAME_OR_PATH…]",
            help="networks or spec files to check (a family file: every network in it) [default: the library]",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", case_sensitive=False, help="output format")] = (
        CheckFormat.table
    ),
    junit: Annotated[
        str | None,
        typer.Option("--junit", metavar="FILE", help="also write JUnit XML for CI systems (atomically)"),
    ] = None,
    wide: WideOption = False,
) -> None:
    """Recompute every figure the sources document (the specs' 'documented:') and compare: exit 0 only when
    all pass (an explained deviation passes)."""
    from cnncost import api, render
    from cnncost.atomic import check_writable, write_text
    from cnncost.render.check import junit_xml

    if junit is not None:
        check_writable(junit)
    report = api.check(*(specs or []))
    if not report.results:
        raise CnnCostError(
            "no documented figures to check in " + ", ".join(report.unchecked or ["these specs"]),
            hint="add a 'documented:' list to the spec (see the README, 'Keeping documented numbers true')",
        )
    if junit is not None:
        write_text(junit, junit_xml(report))
    show(lambda o: render.render("check", report, fmt.value, wide=wide, **o), fmt.value)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def explain(
    spec: OptionalSpecArgument = None,
    module: ModuleOption = None,
    input_shape: InputShapeOption = None,
    size: SizeOption = None,
    batch: BatchOption = 1,
    sets: SetOption = None,
    depth: DepthOption = None,
    fmt: FormatOption = Format.table,
    training: Annotated[
        bool, typer.Option("--training", help="predict fvcore for a model in training mode (batchnorm: 5 per element)")
    ] = False,
    timeout: TimeoutOption = 60.0,
    real_forward: RealForwardOption = False,
    max_memory: MaxMemoryOption = 2.0,
    wide: WideOption = False,
) -> None:
    """Cost by category (conv and linear MACs, bias, batchnorm, activations, pooling, residual additions) per
    layer and in total, and the exact number torchvision, fvcore, FlopCounterMode, ptflops and torchinfo report
    for the same network, each with why it differs from ours."""
    from cnncost import render

    run = _module_options(timeout, real_forward, max_memory)
    report = _report_of(spec, module, input_shape, size, batch, sets, run)
    show(
        lambda o: render.render("explain", report, fmt.value, wide=wide, depth=depth, training=training, **o), fmt.value
    )


@app.command()
def ops(fmt: FormatOption = Format.table, wide: WideOption = False) -> None:
    """The ops and combinators a spec may use, their arguments with defaults, and what each does."""
    from cnncost import render
    from cnncost.ops import all_ops
    from cnncost.spec.schema import combinators

    entries = [*all_ops(), *combinators()]
    show(lambda o: render.render("ops", entries, fmt.value, wide=wide, **o), fmt.value)


@app.command("show")
def show_spec(
    name: Annotated[str, typer.Argument(metavar="NAME", help="a bundled network (see 'cnncost list')")],
) -> None:
    """Print a bundled network's spec (YAML), to copy and adapt."""
    from cnncost import api

    text, variant = api.spec_source(name)
    show(lambda o: text, "table")
    if variant is not None:
        _note(
            f"{name} is the variant '{variant}' of this family file: save it as FILE.yaml and run "
            f"'cnncost table FILE.yaml:{variant}'"
        )


@app.command()
def bench(
    specs: Annotated[
        list[str],
        typer.Argument(metavar="NAME_OR_PATH…", help="one or more networks (names or spec files)", show_default=False),
    ],
    device: Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:N or auto (the GPU when usable)")] = "auto",
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch", "-b", metavar="N[,N…]", help="batch sizes (default: 1 on CPU; 1,256 on GPU)", show_default=False
        ),
    ] = None,
    size: SizeOption = None,
    sets: SetOption = None,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision",
            metavar="fp32|tf32|bf16|fp16",
            help="fp32 is IEEE fp32 (TF32 off) (default: fp32 on CPU, bf16 on GPU)",
            show_default=False,
        ),
    ] = None,
    channels_last: Annotated[
        bool | None,
        typer.Option("--channels-last/--no-channels-last", help="channels-last layout (default: on GPU only)"),
    ] = None,
    compile_: Annotated[
        bool | None,
        typer.Option(
            "--compile/--no-compile", help="torch.compile the module (default: on GPU when Triton is installed)"
        ),
    ] = None,
    compile_mode: Annotated[
        str | None,
        typer.Option(
            "--compile-mode",
            metavar="MODE",
            help="torch.compile mode: default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs",
            show_default=False,
        ),
    ] = None,
    cuda_graphs: Annotated[
        bool | None,
        typer.Option("--cuda-graphs/--no-cuda-graphs", help="replay each forward as one CUDA graph (default: on GPU)"),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", min=1, help="CPU threads (torch.set_num_threads) (default: torch's)", show_default=False
        ),
    ] = None,
    warmup: Annotated[
        float, typer.Option("--warmup", min=0.0, metavar="SECONDS", help="untimed warm-up after the first call")
    ] = 1.0,
    min_time: Annotated[
        float, typer.Option("--min-time", min=0.0, metavar="SECONDS", help="timed seconds per batch size, in total")
    ] = 2.0,
    repeats: Annotated[
        int, typer.Option("--repeats", min=3, help="timed repeats (median, IQR and min over them)")
    ] = 10,
    per_layer: Annotated[
        bool, typer.Option("--per-layer", help="time every layer; TFLOP/s, FLOP/byte and roofline bound per layer")
    ] = False,
    peak: Annotated[
        float | None,
        typer.Option("--peak", metavar="TFLOPS", help="the device's peak for the precision (default: known GPUs)"),
    ] = None,
    bandwidth: Annotated[
        float | None,
        typer.Option("--bandwidth", metavar="GB/S", help="memory bandwidth for --per-layer (default: known GPUs)"),
    ] = None,
    fmt: FormatOption = Format.table,
    wide: WideOption = False,
) -> None:
    """Time real forward passes (random weights, nothing downloaded) against the device's peak. Needs PyTorch."""
    from cnncost import api, render
    from cnncost.bench.config import config_from_options
    from cnncost.render.bench import ProgressBar

    config = config_from_options(
        device=device, batch=batch, precision=precision, channels_last=channels_last, compile=compile_,
        compile_mode=compile_mode, cuda_graphs=cuda_graphs, threads=threads, warmup=warmup, min_time=min_time,
        repeats=repeats, per_layer=per_layer, peak=peak, bandwidth=bandwidth,
    )
    with ProgressBar(enabled=sys.stderr.isatty()) as progress:
        run = api.bench(*specs, config=config, size=parse_size(size), variables=parse_sets(sets), progress=progress)
    show(lambda o: render.render("bench", run.results, fmt.value, wide=wide, **o), fmt.value)
    if run.interrupted:
        _State.interrupted = f"showing the {len(run.results)} run(s) that finished"
        raise typer.Exit(130)


# -------------------------------------------------------------------- gradient flow and the depth study

SeedOption = Annotated[int, typer.Option("--seed", min=0, help="random seed: same seed, same numbers")]
BnOption = Annotated[
    bool | None,
    typer.Option(
        "--bn/--no-bn",
        help="switch batchnorm on or off, where the spec has a 'bn' or 'batchnorm' variable (default: the spec's)",
        show_default=False,
    ),
]
PlotOption = Annotated[
    str | None,
    typer.Option("--output", "-o", metavar="FILE.png", help="also draw the plot to this PNG (needs matplotlib)"),
]


class Init(str, Enum):
    default = "default"
    kaiming = "kaiming"
    xavier = "xavier"


@app.command()
def gradients(
    specs: Annotated[
        list[str],
        typer.Argument(metavar="NAME_OR_PATH…", help="one or more networks (names or spec files)", show_default=False),
    ],
    batch: Annotated[int, typer.Option("--batch", "-b", min=2, help="random inputs in the batch")] = 32,
    seed: SeedOption = 0,
    init: Annotated[
        Init, typer.Option("--init", case_sensitive=False, help="weights: PyTorch's default, Kaiming or Xavier")
    ] = Init.default,
    bn: BnOption = None,
    size: SizeOption = None,
    sets: SetOption = None,
    output: PlotOption = None,
    fmt: FormatOption = Format.table,
    wide: WideOption = False,
) -> None:
    """Gradient norm of every weight layer at initialization, input to output, with the first/last ratio, and the
    output std of every block: does the gradient vanish or explode on its way back? Needs PyTorch."""
    from cnncost import api, render

    if output is not None:
        from cnncost.atomic import check_writable
        from cnncost.render.curves import require_matplotlib

        check_writable(output)
        require_matplotlib("--output")
    reports = api.gradients(
        *specs, size=parse_size(size), variables=parse_sets(sets), bn=bn, batch=batch, seed=seed, init=init.value
    )
    if output is not None:
        from cnncost.render.gradients import gradients_plot

        gradients_plot(reports, output)
        _note(f"plot written to {output}")
    show(lambda o: render.render("gradients", reports, fmt.value, wide=wide, **o), fmt.value)


class Optimizer(str, Enum):
    sgd = "sgd"
    adam = "adam"


def _int_list(text: str, option: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and len(p) <= 6 for p in parts):
        raise UsageError(f"{option} {text!r} is not a list of whole numbers", hint=f"e.g. {option} 8,20,56")
    return tuple(int(p) for p in parts)


@app.command("depth-study")
def depth_study(
    depths: Annotated[str, typer.Option("--depths", metavar="D,D,…", help="depths 6n + 2 to train")] = "8,20,56",
    families: Annotated[
        str, typer.Option("--families", metavar="plain,resnet", help="which families: plain, resnet or both")
    ] = "plain,resnet",
    budget: Annotated[int, typer.Option("--budget", min=1, help="training iterations per network")] = 400,
    width: Annotated[float, typer.Option("--width", help="multiplies the 16/32/64 filters of the three stacks")] = 0.5,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer", case_sensitive=False)] = Optimizer.sgd,
    lr: Annotated[
        float | None,
        typer.Option("--lr", help="learning rate (default: 0.05 for SGD with momentum 0.9, 0.001 for Adam)",
                     show_default=False),
    ] = None,
    bn: Annotated[bool, typer.Option("--bn/--no-bn", help="batchnorm after every conv")] = True,
    batch: Annotated[int, typer.Option("--batch", "-b", min=2, help="images per mini-batch")] = 64,
    seed: SeedOption = 0,
    size: Annotated[int, typer.Option("--size", min=8, help="input size: 8 is the digits' own; more upsamples")] = 8,
    init: Annotated[Init, typer.Option("--init", case_sensitive=False, help="weight initialization")] = Init.kaiming,
    threads: Annotated[int, typer.Option("--threads", min=1, help="CPU threads (1: reproducible, and fair)")] = 1,
    device: Annotated[str, typer.Option("--device", help="cpu or cuda")] = "cpu",
    output_dir: Annotated[
        str, typer.Option("--output-dir", "-o", metavar="DIR", help="where the results JSON and the PNGs go")
    ] = "depth-study",
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--fresh",
            help="skip the networks DIR's results file holds for the same settings, or start over and overwrite it",
        ),
    ] = True,
    fmt: FormatOption = Format.table,
    wide: WideOption = False,
) -> None:
    """Train plain and residual nets of several depths for the same budget on scikit-learn's 8×8 digits (nothing
    downloaded): does the deeper plain net end at a higher training error? Results JSON (resumable) and two PNGs
    in DIR. Needs PyTorch and scikit-learn (from a checkout: pip install '.[study]')."""
    from cnncost import api, render
    from cnncost.errors import require_torch

    require_torch("cnncost depth-study")
    from cnncost.render.depth_study import ProgressBar, save_pictures
    from cnncost.torch.depth_study import StudyConfig, check_config

    config = StudyConfig(
        depths=_int_list(depths, "--depths"), families=tuple(f.strip() for f in families.split(",") if f.strip()),
        budget=budget, width=width, optimizer=optimizer.value, lr=lr, bn=bn, batch=batch, seed=seed, size=size,
        init=init.value, device=device, threads=threads,
    )
    check_config(config)
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise UsageError(f"--output-dir {output_dir} is a file", hint="name a directory (it is created if missing)")
    parent = os.path.dirname(os.path.abspath(output_dir))
    if not os.path.isdir(parent):
        raise UsageError(f"--output-dir {output_dir}: {parent} does not exist", hint="create it first")
    os.makedirs(output_dir, exist_ok=True)
    results = os.path.join(output_dir, "depth-study.json")
    with ProgressBar(enabled=sys.stderr.isatty()) as progress:
        study = api.depth_study(config, results_path=results, fresh=not resume, progress=progress)
    try:
        pictures = save_pictures(study, output_dir) if study.results else []
        _note(f"results in {results}; pictures: {', '.join(pictures)}")
    except CnnCostError as exc:  # no matplotlib: the numbers stand without the pictures
        _note(f"results in {results}; no pictures: {exc.one_line()}")
    show(lambda o: render.render("depth-study", study, fmt.value, wide=wide, **o), fmt.value)
    if study.interrupted:
        _State.interrupted = f"{len(study.results)} network(s) finished and kept in {results}"
        raise typer.Exit(130)


# ------------------------------------------------------------------------------------ the one error map


def _error(message: str) -> None:
    """The one stderr line (control characters escaped); nothing when stderr itself is gone."""
    _stderr_line(f"error: {message}")


def _note(message: str) -> None:
    """A remark on stderr beside a command's output (stdout stays exactly the output)."""
    _stderr_line(f"note: {message}")


def _stderr_line(text: str) -> None:
    from cnncost.errors import printable

    try:
        sys.stderr.write(f"{printable(text)}\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def _usage_message(exc: Any) -> str:
    message = " ".join(str(exc.format_message()).split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" — see '{ctx.command_path} --help'"
    return message


class _Interrupts:
    """Ctrl-C, idempotently: the first SIGINT raises ``KeyboardInterrupt`` (the command stops, cleans up and
    reports in one line); any further SIGINT is ignored, so a second Ctrl-C during that cleanup, the error
    report or the interpreter's shutdown can never print a traceback. SIGTERM and SIGKILL still end a stuck run.
    """

    def __init__(self) -> None:
        self.received = False
        self.previous: Any = None
        self.installed = False

    def __enter__(self) -> _Interrupts:
        import signal

        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
            self.installed = True
        except (ValueError, OSError):  # not the main thread, or no signals here: leave Python's default
            pass
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.received:
            return
        self.received = True
        raise KeyboardInterrupt

    def close(self, *, own_process: bool) -> None:
        """Put the previous handler back — unless this run was interrupted and owns the process (the script),
        where later SIGINTs stay ignored until the interpreter has exited."""
        import signal

        if not self.installed:
            return
        if self.received and own_process:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGINT, self.previous)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    interrupts = _Interrupts().__enter__()
    _ascii_fallback()
    try:
        return _main(argv)
    except KeyboardInterrupt:  # between the command and its error report
        _error("interrupted")
        return 130
    finally:
        interrupts.close(own_process=argv is None)


def _main(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    _State.debug = os.environ.get("CNNCOST_DEBUG", "") not in ("", "0")
    _State.interrupted = ""
    command = typer.main.get_command(app)
    _fast_params(command)
    try:
        result = command.main(args=args, prog_name="cnncost", standalone_mode=False)
    except CnnCostError as exc:
        if _State.debug:
            traceback.print_exc()
        _error(exc.one_line())
        return exc.exit_code
    except typer.Abort:
        _error("aborted")
        return 1
    except ClickError as exc:  # bad command-line usage, reported by the parser
        if _State.debug:
            traceback.print_exc()
        message = _usage_message(exc)
        if str(exc.format_message()).strip():  # no_args_is_help has already printed the help
            _error(message)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        _error(_interrupted())
        return 130
    except (_ReaderGone, BrokenPipeError):  # the reader went away (`| head`): quiet; the shell's code for SIGPIPE
        _silence_stdout()
        return 141
    except Exception as exc:  # a bug: one line, the traceback only on request
        if _State.debug:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _error(
            f"internal error: {type(exc).__name__}{': ' + first if first else ''} "
            "(run with --debug for the traceback, and please report it)"
        )
        return 1
    if result == 130:  # typer turns Ctrl-C inside a command into exit code 130
        _error(_interrupted())
        return 130
    return result if isinstance(result, int) else 0


def _fast_params(command: Any) -> None:
    """Plain option values coerced without importing pydantic (start-up; ``cnncost.cliparams``)."""
    try:
        from cnncost.cliparams import install
    except ImportError:  # pragma: no cover - a Typer before 0.2x coerces without pydantic anyway
        return
    install(command)


def _ascii_fallback() -> None:
    """Where stdout or stderr cannot encode '×' or '—' (an ASCII or latin-1 locale), write ASCII forms instead
    of failing (``cnncost.render.text``); UTF-8 streams, the usual case, import nothing. The help is plain text
    (fast) on UTF-8 streams; elsewhere Typer's rich help, which writes through the stream as set up here (plain
    help goes through click, which rewraps an ASCII stdout as UTF-8)."""
    fallback = False
    for stream in (sys.stdout, sys.stderr):
        encoding = str(getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
        if stream is not None and encoding not in ("utf-8", "utf8"):
            from cnncost.render.text import install

            install(stream)
            fallback = True
    app.rich_markup_mode = "rich" if fallback else None


def _interrupted() -> str:
    return "interrupted" + (f" — {_State.interrupted}" if _State.interrupted else "")


def _silence_stdout() -> None:
    # The reader went away (`cnncost table resnet50 | head`): stop Python complaining when it flushes stdout.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
