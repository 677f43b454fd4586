"""The command line: thin Typer commands over ``cnncost.api``; the renderers make the text.

Every command parses its options, calls the API, renders the complete output to one string and prints it, so a
failure never leaves partial output on stdout. Errors are mapped to one stderr line and an exit code in one
place, ``main()``: a ``CnnCostError`` exits with its own code (1 for bad input, 2 for bad usage), bad
command-line usage with 2, Ctrl-C with 130. ``--debug`` (or ``CNNCOST_DEBUG=1``) shows the traceback.

Start-up stays light: this module imports only typer and cnncost's errors; the API, the renderers (rich) and,
for ``--verify`` only, PyTorch are imported inside the commands. Printing, ``--size``/``--set`` and the error
line live in ``cnncost.console``, shared with the console script's short road (``cnncost.entry``), which answers
``table NAME``, ``list`` and ``--version`` without importing Typer and hands everything else to ``main`` here.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from enum import Enum
from typing import Annotated, Any

import typer

from cnncost.cli_train import (
    BnOption,
    FreezeOption,
    TrainableOption,
    TrainFromOption,
    TrainOption,
    chosen,
    train_kwargs,
)
from cnncost.console import Interrupts as _Interrupts
from cnncost.console import ReaderGone as _ReaderGone
from cnncost.console import (  # noqa: F401 - the helpers' public names stay importable from here
    emit,
    output_color,
    output_width,
    parse_sets,
    parse_size,
    parse_value,
    show,
)
from cnncost.console import error as _error
from cnncost.console import note as _note
from cnncost.console import silence_stdout as _silence_stdout
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
    aux: bool = False,
) -> Any:
    """The analysis of a spec (with ``aux``: its training view, aux heads counted), or of a ``--module`` model on
    the meta device."""
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
        return api.analyze(spec, batch=batch, size=parse_size(size), variables=parse_sets(sets), aux=aux)
    if aux:
        raise UsageError("--aux counts a spec's training-only aux heads", hint="a --module model: remove --aux")
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
    aux: Annotated[
        bool,
        typer.Option(
            "--aux",
            help="the training view: also count the training-only side heads a spec declares (aux:, e.g. "
            "GoogLeNet's auxiliary classifiers), which the inference totals leave out",
        ),
    ] = False,
    freeze: FreezeOption = None,
    trainable: TrainableOption = None,
    train_from: TrainFromOption = None,
    bn: BnOption = "train",
    train: TrainOption = False,
    memory: Annotated[
        bool, typer.Option("--memory", help="bytes per layer and a memory summary (weights, activations, peaks)")
    ] = False,
    optimizer: Annotated[
        str | None,
        typer.Option("--optimizer", metavar="NAME", help="with --train: sgd, momentum, adam or adamw (default adam)",
                     show_default=False),
    ] = None,
    dtype: Annotated[
        str | None,
        typer.Option("--dtype", metavar="DTYPE", help="fp32, or bf16/fp16 mixed precision (fp32 master weights)",
                     show_default=False),
    ] = None,
    device_memory: Annotated[
        str | None,
        typer.Option("--device-memory", metavar="SIZE|DEVICE",
                     help="say whether it fits: 24GiB, 80GB, or a device (H100, A100 40GB, RTX 4090)",
                     show_default=False),
    ] = None,
    rf: Annotated[
        bool,
        typer.Option(
            "--rf", help="add each row's receptive field (input pixels one unit sees) and jump (its stride so far)"
        ),
    ] = False,
) -> None:
    """Per-layer output shape, params, MACs and share of the total, with totals (FLOPs, other ops)."""
    from cnncost import api, render

    if verify and aux:
        raise UsageError("--verify checks the inference network against PyTorch", hint="remove --aux (or --verify)")
    if verify and module is not None:
        raise UsageError("--verify checks a spec against its PyTorch build", hint="a --module model is PyTorch's own")
    if fvcore and not verify:
        raise UsageError("--fvcore is an oracle of --verify", hint="add --verify")
    if rf and train:
        raise UsageError("--rf adds columns to the inference table; the train view has its own", hint="drop one")
    run = _module_options(timeout, real_forward, max_memory)
    options: dict[str, Any] = {"size": parse_size(size), "variables": parse_sets(sets)}
    if (train or chosen(freeze, trainable, train_from, bn)) and module is None and spec is not None:
        trained = train_kwargs(freeze, trainable, train_from, bn)
        report = api.analyze_training(spec, batch=batch, aux=aux, **options, **trained)  # type: ignore[arg-type]
    elif train or chosen(freeze, trainable, train_from, bn):
        raise UsageError(
            "the training options need a spec (the backward pass is computed from its network)",
            hint="give a network name or path instead of --module",
        )
    else:
        report = _report_of(spec, module, input_shape, size, batch, sets, run, aux=aux)
    verified = None
    if verify and spec is not None:
        verified = api.verify(spec, batch=batch, fvcore=fvcore, **options).check()
    if memory or device_memory is not None or optimizer is not None or dtype is not None:
        from cnncost.memview import memory_view

        if aux:
            raise UsageError(
                "--memory models the network as built for inference and training, without its aux heads",
                hint="remove --aux",
            )

        view = memory_view(spec, module, report, options, batch, memory, train, optimizer, dtype, device_memory, depth)
        show(lambda o: render.render("memory", view, fmt.value, wide=wide, depth=depth, verified=verified, **o),
             fmt.value)
        return
    show(
        lambda o: render.render(
            "report", report, fmt.value, wide=wide, depth=depth, verified=verified, train=train, rf=rf, **o
        ),
        fmt.value,
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
    freeze: FreezeOption = None,
    trainable: TrainableOption = None,
    train_from: TrainFromOption = None,
    bn: BnOption = "train",
    train: TrainOption = False,
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
        training=train_kwargs(freeze, trainable, train_from, bn) if train or chosen(freeze, trainable, train_from, bn)
        else None,
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
def sweep(
    spec: SpecArgument,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=V1,V2,…",
            help="values of a spec variable to sweep, e.g. --set width=0.25,0.5,0.75,1.0 (repeatable: every "
            "combination is a point; a list value in brackets: --set depths=[2,2,2,2],[3,4,6,3])",
            show_default=False,
        ),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(
            "--size", "-s", metavar="N[,N…]", help="input sizes to sweep, e.g. 128,160,192,224 (H×W as 224x160)",
            show_default=False,
        ),
    ] = None,
    batch: BatchOption = 1,
    fmt: FormatOption = Format.table,
    wide: WideOption = False,
) -> None:
    """Params and MACs at every point of a grid of variable values and input sizes (a family file: every
    network it defines), e.g. MobileNet's width multiplier × resolution."""
    from cnncost import api, render
    from cnncost.analysis.sweep import parse_sets, parse_sizes

    result = api.sweep(spec, sets=parse_sets(sets), sizes=parse_sizes(size), batch=batch)
    show(lambda o: render.render("sweep", result, fmt.value, wide=wide, **o), fmt.value)


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
    train: Annotated[
        bool, typer.Option("--train", help="time training steps (forward, loss, backward, optimizer step)")
    ] = False,
    freeze: FreezeOption = None,
    trainable: TrainableOption = None,
    train_from: TrainFromOption = None,
    bn: BnOption = "train",
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
    if chosen(freeze, trainable, train_from, bn) and not train:
        raise UsageError(
            "--freeze, --trainable, --train-from and --bn choose what a training step trains", hint="add --train"
        )
    with ProgressBar(enabled=sys.stderr.isatty()) as progress:
        if train:
            trained = train_kwargs(freeze, trainable, train_from, bn)
            run = api.bench_train(
                *specs, config=config, size=parse_size(size), variables=parse_sets(sets), progress=progress,
                **trained,  # type: ignore[arg-type]
            )
        else:
            run = api.bench(
                *specs, config=config, size=parse_size(size), variables=parse_sets(sets), progress=progress
            )
    show(lambda o: render.render("bench", run.results, fmt.value, wide=wide, **o), fmt.value)
    if run.interrupted:
        _State.interrupted = f"showing the {len(run.results)} run(s) that finished"
        raise typer.Exit(130)


# ------------------------------------------------------------------------------------------ plot


# -------------------------------------------------------------------- gradient flow and the depth study

SeedOption = Annotated[int, typer.Option("--seed", min=0, help="random seed: same seed, same numbers")]
BnSwitchOption = Annotated[
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
    bn: BnSwitchOption = None,
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
        from cnncost.render.plot import require_matplotlib

        check_writable(output)
        require_matplotlib("cnncost gradients --output")
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


class PlotKind(str, Enum):
    shapes = "shapes"
    costs = "costs"
    compare = "compare"
    sweep = "sweep"
    memory = "memory"


@app.command()
def plot(
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE.png|FILE.svg|FILE.pdf",
            help="the picture to write (atomically); the extension sets the format",
            show_default=False,
        ),
    ],
    specs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NAME…]", help="networks: names, spec files, or a glob over the library ('resnet*')",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        PlotKind,
        typer.Option(
            "--kind", "-k", case_sensitive=False,
            help="shapes: H×W and channels per layer; costs: MACs and params per layer or block; compare: networks "
            "as points, MACs against params; sweep: MACs and params along swept --set values or --size list (a "
            "family file: its variants); memory: activation bytes per layer and live over the forward pass, with "
            "the inference peak (--train: kept for backward)",
        ),
    ] = PlotKind.costs,
    every: Annotated[bool, typer.Option("--all", help="every bundled network (with --kind compare)")] = False,
    size: Annotated[
        str | None,
        typer.Option(
            "--size", "-s", metavar="H[xW][,…]",
            help="input spatial size H×W, e.g. 224 or 224x160 (default: the spec's); --kind sweep: several, "
            "e.g. 128,160,192,224",
            show_default=False,
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE[,VALUE…]",
            help="set a spec variable; several values draw the network once per value (repeatable: every "
            "combination; --kind sweep: the x axis and one line per value), e.g. --set width=0.25,0.5,0.75,1.0",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        int,
        typer.Option("--batch", "-b", min=1, help="batch size: MACs and activation bytes scale with it, params do not"),
    ] = 1,
    train: Annotated[
        bool,
        typer.Option("--train", help="--kind memory: also what each layer keeps for backward (a training step)"),
    ] = False,
    optimizer: Annotated[
        str | None,
        typer.Option("--optimizer", metavar="NAME", help="--kind memory --train: sgd, momentum, adam or adamw "
                     "(default adam)", show_default=False),
    ] = None,
    dtype: Annotated[
        str | None,
        typer.Option("--dtype", metavar="DTYPE", help="--kind memory: fp32, or bf16/fp16 mixed precision "
                     "(default fp32)", show_default=False),
    ] = None,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth", "-d", min=0, metavar="N",
            help="shapes and costs: fold blocks nested deeper than N into one row (default: every layer; costs: "
            "the deepest view within 60 rows)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Draw a picture of what networks cost (needs matplotlib): per-layer shapes, per-layer costs, networks
    compared as points, a sweep's MACs and params along its values, or activation memory per layer. Numbers are
    the analysis's own (as 'table', 'sweep' and 'table --memory' print them)."""
    from cnncost.analysis.sweep import parse_sizes
    from cnncost.atomic import check_writable, write_bytes
    from cnncost.render import plot as plots

    fmt = plots.format_of(output)
    check_writable(output)
    plots.require_matplotlib()
    if size is not None and "," in size and kind is not PlotKind.sweep:
        raise UsageError(
            f"--size {size}: --kind {kind.value} draws one input size", hint="give one size, or use --kind sweep"
        )
    sizes = parse_sizes(size) if kind is PlotKind.sweep else [s for s in [parse_size(size)] if s is not None]
    data, what = plots.collect(
        kind.value, specs or [], every=every, sets=sets, sizes=sizes, batch=batch, depth=depth, train=train,
        optimizer=optimizer, dtype=dtype,
    )  # fmt: skip
    write_bytes(output, plots.render(data, fmt))
    _note(f"wrote {output}: {kind.value} of {what}")


# ------------------------------------------------------------------------- docs: Markdown kept true


@app.command()
def docs(
    files: Annotated[
        list[str] | None,
        typer.Argument(metavar="FILE.md…", help="Markdown files with cnncost blocks", show_default=False),
    ] = None,
    check_: Annotated[
        bool, typer.Option("--check", help="exit 1 with a unified diff when a block is stale; write nothing")
    ] = False,
    update: Annotated[bool, typer.Option("--update", help="rewrite the stale blocks in place (atomically)")] = False,
    width: Annotated[int, typer.Option("--width", min=40, max=400, help="the width tables are rendered at")] = 100,
) -> None:
    """Regenerate the blocks of Markdown files that carry a cnncost command: '<!-- cnncost: table vgg16 -->',
    the command's output, '<!-- /cnncost -->'. The command runs in-process in the file's folder, without colour
    at --width columns; only cnncost commands run (not docs or bench), never a shell. A block renders as the
    command prints: --format markdown raw (a table renders), json and csv in a ```json/```csv fence, anything
    else in a ```text fence; a plot marker (plot NAME -o FILE.png) writes the image and links it. Markers in
    fenced code are text. --check exits 1 with a diff when a block is stale; --update rewrites only the blocks,
    the rest of the file byte for byte."""
    from cnncost import docs as marked
    from cnncost.atomic import check_writable, write_bytes

    if check_ == update or not files:
        raise UsageError(
            "give Markdown files and one of --check or --update", hint="e.g. cnncost docs README.md --check"
        )
    command = typer.main.get_command(app)
    names = set(getattr(command, "commands", {}))
    if update:
        for name in files:
            check_writable(name)
    results = [marked.refresh(name, run=lambda args: _captured(list(args), width), commands=names) for name in files]
    stale = [r for r in results if r.stale]
    if check_:
        emit("".join(r.diff() + r.image_lines() for r in stale))
        for r in results:
            state = f"STALE — run: cnncost docs {r.shown} --update" if r.stale else "up to date"
            _note(f"{r.shown}: {r.blocks} block(s), {state}")
        if stale:
            raise typer.Exit(1)
        return
    for r in stale:
        for image in r.images:
            write_bytes(image.path, image.data)
        if r.new != r.old:
            write_bytes(r.path, r.new.encode("utf-8"))
    for r in results:
        _note(f"{r.shown}: {r.blocks} block(s), {'updated' if r.stale else 'already up to date'}")


def _captured(args: list[str], width: int) -> str:
    """Run one cnncost command in this process and return what it printed (at ``width`` columns, no colour);
    a failure — an error, a usage error or a non-zero exit — is a ``CnnCostError``."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    saved = {key: os.environ.get(key) for key in ("COLUMNS", "NO_COLOR")}
    os.environ.update(COLUMNS=str(width), NO_COLOR="1")
    try:
        command = typer.main.get_command(app)
        _fast_params(command)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = command.main(args=args, prog_name="cnncost", standalone_mode=False)
    except ClickError as exc:
        raise UsageError(_usage_message(exc)) from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    code = result if isinstance(result, int) else 0
    if code:
        said = err.getvalue().strip().splitlines()
        raise CnnCostError(f"exited {code}" + (f": {said[-1]}" if said else ""))
    return out.getvalue()


# ------------------------------------------------------------------------------------ the one error map


def _usage_message(exc: Any) -> str:
    message = " ".join(str(exc.format_message()).split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" — see '{ctx.command_path} --help'"
    return message


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

