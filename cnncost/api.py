"""The Python face of cnncost. Every function is keyword-only past its subject and returns data, not text.

A *spec* is a bundled network name (``"vgg16"``), a path to a YAML file (``"my/net.yaml"``, or
``"family.yaml:variant"``), a ``pathlib.Path`` (always a file), or an already resolved :class:`cnncost.ir.Network`.
Arguments of the wrong Python type (a list or a dict where a spec is expected, ``size="224"``, a ``config`` that is
not a ``BenchConfig``) raise ``TypeError``; every refused value raises a ``CnnCostError``.

Errors are raised as :class:`cnncost.errors.CnnCostError` (one family; ``str(exc)`` is the one-line message).
PyTorch is imported only by the functions that need it, and the parser and formulas only by those that use them.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnncost import ir
from cnncost.spec import library

if TYPE_CHECKING:  # imported where used, so `cnncost list` (served from its cache) loads no parser or formula
    from collections.abc import Callable

    import torch

    from cnncost.analysis.check import CheckReport
    from cnncost.analysis.compare import Comparison
    from cnncost.analysis.memory import MemoryReport, Trainable
    from cnncost.analysis.records import Report, Summary
    from cnncost.analysis.sweep import Sweep
    from cnncost.bench import BenchConfig, BenchRun, ProgressEvent
    from cnncost.torch.depth_study import Progress as StudyProgress
    from cnncost.torch.depth_study import Study, StudyConfig
    from cnncost.torch.gradients import GradientReport
    from cnncost.torch.verify import VerifyResult

Spec = str | Path | ir.Network
Size = int | tuple[int, int] | None


def _size(size: Size) -> tuple[int, int] | None:
    if size is None:
        return None
    pair = (size, size) if isinstance(size, int) else tuple(size) if isinstance(size, (tuple, list)) else ()
    if len(pair) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair):
        raise TypeError(f"size must be an int or a (height, width) pair of ints, not {size!r}")
    return (pair[0], pair[1])


def _spec(spec: object, *, network: bool = True) -> None:
    """A spec is a name or path (``str``), a spec file (``pathlib.Path``, any ``os.PathLike``) or, where
    ``network``, a resolved ``ir.Network``; anything else is a TypeError."""
    kinds: tuple[type, ...] = (str, PathLike, ir.Network) if network else (str, PathLike)
    if not isinstance(spec, kinds):
        what = "a network name, a spec path (str or pathlib.Path)" + (" or a cnncost.ir.Network" if network else "")
        raise TypeError(f"a spec must be {what}, not {type(spec).__name__}")


def _variables(variables: object) -> None:
    if variables is not None and not isinstance(variables, Mapping):
        raise TypeError(f"variables must be a mapping of names to values, not {type(variables).__name__}")


def resolve(spec: Spec, *, size: Size = None, variables: Mapping[str, Any] | None = None) -> ir.Network:
    """Resolve a spec into its IR network (variables set, blocks expanded, shapes inferred).

    ``spec`` is a bundled network name or a path (``str``), a spec file (``pathlib.Path``), or a resolved
    ``Network``. Arguments of the wrong Python type raise TypeError; a refused value, a ``CnnCostError``."""
    _spec(spec)
    _variables(variables)
    from cnncost.spec.load import load_network

    return load_network(spec, size=_size(size), variables=variables)


def analyze(
    spec: Spec,
    *,
    size: Size = None,
    batch: int = 1,
    variables: Mapping[str, Any] | None = None,
    aux: bool = False,
) -> Report:
    """Per-layer shapes, parameters, MACs and other ops of a network, computed analytically (no torch).

    ``aux=True`` is the training view: training-only side heads (``aux:`` in a spec, e.g. GoogLeNet's auxiliary
    classifiers) get rows and count in the totals; by default they are left out, as they do not run at
    inference."""
    from cnncost.analysis.engine import analyze_network

    return analyze_network(resolve(spec, size=size, variables=variables), batch=batch, aux=aux)


def analyze_training(
    spec: Spec,
    *,
    size: Size = None,
    batch: int = 1,
    variables: Mapping[str, Any] | None = None,
    freeze: Sequence[str] = (),
    trainable: Sequence[str] = (),
    train_from: str | None = None,
    bn: str = "train",
    aux: bool = False,
    strict: bool = True,
) -> Report:
    """``analyze`` with a training analysis (``Report.training``): which layers train — all by default;
    ``train_from`` a row path, ``trainable`` and ``freeze`` patterns over row paths, ``freeze`` applied last —
    their trainable and frozen parameters, and the backward pass's MACs (input and weight gradients) and other
    ops, per layer and in total, for batchnorm in ``bn`` mode (``train`` or ``eval``); with ``aux``, the
    training-only side heads train too (their rows, forward and backward, are counted). A pattern that matches
    no row is an error — unless ``strict`` is false (``compare``: it need only match in one of the networks).
    Pure Python, no torch."""
    from cnncost.analysis.engine import analyze_network
    from cnncost.analysis.training import TrainOptions, with_training
    from cnncost.analysis.training import analyze_training as train

    for name, value in (("freeze", freeze), ("trainable", trainable)):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise TypeError(f"{name} must be a list of patterns, not {type(value).__name__}")
    options = TrainOptions(
        freeze=tuple(freeze), trainable=tuple(trainable), train_from=train_from, bn=bn, strict=strict
    )
    network = resolve(spec, size=size, variables=variables)
    report = analyze_network(network, batch=batch, aux=aux)
    return with_training(report, train(network, report, options))


def analyze_module(
    model: torch.nn.Module | str,
    input_shape: tuple[int, ...] = (3, 224, 224),
    *,
    batch: int = 1,
    name: str | None = None,
    timeout: float | None = 60.0,
    real_forward: bool = False,
    max_memory: int | None = None,
) -> Report:
    """Analyze any PyTorch model like a spec: per-module output shapes, params, MACs and other ops, on the meta
    device (no weights allocated, no real forward pass). ``model`` is an ``nn.Module`` or a target string
    (``"torchvision:resnet50"``, ``"package.module:callable"``, ``"path/to/file.py:Net"``); ``input_shape`` is
    per image in torch's order, ``(C, H, W)``. Operators it cannot cost are in ``Report.unknown_ops``.

    The model's own code runs within ``timeout`` seconds (None: no limit). ``real_forward`` runs it for real on
    the CPU with random weights instead (detection models), allocating at most ``max_memory`` bytes (2 GiB)."""
    from cnncost.errors import require_torch

    require_torch("analyzing a PyTorch module")
    from cnncost.torch.module import analyze_module as analyze_torch_module
    from cnncost.torch.module import analyze_target

    options: dict[str, Any] = {"timeout": timeout, "real_forward": real_forward, "max_memory": max_memory}
    if isinstance(model, str):
        return analyze_target(model, input_shape, batch=batch, name=name, **options)
    return analyze_torch_module(model, input_shape, batch=batch, name=name, **options)


def memory(
    spec: Spec,
    *,
    size: Size = None,
    batch: int = 1,
    variables: Mapping[str, Any] | None = None,
    dtype: str = "fp32",
    optimizer: str = "adam",
    trainable: Trainable = None,
    device: str = "cuda",
) -> MemoryReport:
    """Bytes a network needs (no torch): weights, activations per layer, the peak of live activations over an
    eval forward pass, and a training step's gradients, optimizer state (``sgd``, ``momentum``, ``adam``,
    ``adamw``), activations kept for backward and peak. ``dtype`` bf16 / fp16 is mixed precision (fp32 master
    weights); ``trainable``: None (all), a set of layer paths or a predicate on a layer's path; ``device``:
    ``cuda`` or ``cpu`` (dropout's mask, the optimizer's default). See ``cnncost.analysis.memory``."""
    from cnncost.analysis.engine import analyze_network
    from cnncost.analysis.memory import memory as network_memory

    network = resolve(spec, size=size, variables=variables)
    analyze_network(network, batch=batch)  # the batch checked as everywhere else
    return network_memory(
        network, batch=batch, dtype=dtype, optimizer=optimizer, trainable=trainable, device=device
    )


def library_summaries(pattern: str | None = None) -> list[Summary]:
    """Name, description, source, input, output and totals of each bundled network matching ``pattern`` — what
    ``cnncost list`` shows — served from an on-disk cache keyed on the specs and cnncost's own code."""
    from cnncost.cache import library_summaries as cached

    def compute() -> list[Summary]:  # the totals alone: no per-layer table (cnncost.analysis.summary)
        from cnncost.analysis.summary import summarize_network

        return [summarize_network(resolve(name)) for name in library.names()]

    every = cached(library.bundled_files(), compute, names=library.names())
    wanted = set(library.names(pattern))
    return [s for s in every if s.name in wanted]


def spec_source(name: str) -> tuple[str, str | None]:
    """The YAML text of a bundled network's spec file, to copy and adapt, and the variant that names the network
    when the file defines a family (``resnet50`` in ``resnet.yaml``), else None. Only bundled names: a file of your
    own is already at hand."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a bundled network's name (str), not {type(name).__name__}")
    if library.looks_like_path(name):
        from cnncost.errors import UsageError

        raise UsageError(
            f"'{name}' is a path: 'show' prints the spec of a bundled network",
            hint="run 'cnncost list' for their names",
        )
    from cnncost.spec import yamlsafe

    located = library.locate(name)
    return yamlsafe.read_text(Path(located.file)), located.variant


def library_entries(pattern: str | None = None) -> list[library.Entry]:
    """The bundled networks (name, description, file), in natural order, optionally filtered by a pattern."""
    return library.entries(pattern)


def build(
    spec: Spec,
    *,
    size: Size = None,
    variables: Mapping[str, Any] | None = None,
    device: Any = None,
    aux: bool = False,
) -> torch.nn.Module:
    """The network as a ``torch.nn.Module`` with random weights (``device="meta"`` allocates none). ``aux=True``
    builds the training-only side heads too (run in ``.train()`` mode only, outputs in ``aux_outputs``)."""
    from cnncost.errors import require_torch

    require_torch("building a network")
    from cnncost.torch.build import build_module

    return build_module(resolve(spec, size=size, variables=variables), device=device, aux=aux)


def compare(
    *specs: Spec | torch.nn.Module,
    modules: Sequence[str | torch.nn.Module] = (),
    size: Size = None,
    batch: int = 1,
    variables: Mapping[str, Any] | None = None,
    depth: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    timeout: float | None = 60.0,
    real_forward: bool = False,
    max_memory: int | None = None,
    training: Mapping[str, Any] | None = None,
) -> Comparison:
    """Analyze each network (same size, batch and variables) and line them up: totals with ratios to the first,
    and rows matched by path down to ``depth`` (None: the deepest view within 40 rows).

    ``specs`` are specs (names, paths, resolved networks) or ``nn.Module`` objects, in the order given; then
    ``modules``: PyTorch models, as ``nn.Module`` objects or target strings (``"torchvision:resnet50"``,
    ``"pkg.mod:fn"``, ``"path/to/file.py:Net"``), analyzed like :func:`analyze_module` for ``input_shape`` per
    image (default: 3 channels at ``size``, else 224×224) with ``timeout``, ``real_forward`` and ``max_memory``.
    Specs alone are pure Python: torch is imported only for a module. ``training`` (the keyword arguments of
    :func:`analyze_training`: ``freeze``, ``trainable``, ``train_from``, ``bn``) analyzes each spec's training
    step too; modules show their ``requires_grad`` as they have it."""
    if not specs and not modules:
        raise TypeError("compare needs at least one spec")
    from cnncost.analysis.compare import compare as compare_reports

    if isinstance(modules, (str, bytes)) or not isinstance(modules, Sequence):
        raise TypeError(f"modules must be a list of nn.Module objects or target strings, not {type(modules).__name__}")
    items: list[Any] = [*specs, *modules]
    shape = input_shape if input_shape is not None else (3, *(_size(size) or (224, 224)))
    run: dict[str, Any] = {"timeout": timeout, "real_forward": real_forward, "max_memory": max_memory}
    reports = []
    for i, item in enumerate(items):
        if i >= len(specs) or _is_module(item):
            reports.append(analyze_module(item, shape, batch=batch, **run))
        elif training is not None:
            reports.append(
                analyze_training(item, size=size, batch=batch, variables=variables, strict=False, **training)
            )
        else:
            reports.append(analyze(item, size=size, batch=batch, variables=variables))
    if training is not None:
        from cnncost.analysis.training import TrainOptions, check_patterns

        trained = [r for r in reports if r.training is not None and r.training.source == "options"]
        if trained:
            check_patterns(TrainOptions(**training), trained)
    return compare_reports(reports, depth=depth)


def _is_module(obj: object) -> bool:
    """An ``nn.Module`` — without importing torch (an object can only be one when torch is already imported)."""
    torch_module = sys.modules.get("torch")
    return torch_module is not None and isinstance(obj, torch_module.nn.Module)


def sweep(
    spec: str | Path,
    *,
    sets: Mapping[str, Sequence[Any]] | None = None,
    sizes: Sequence[Size] = (),
    batch: int = 1,
) -> Sweep:
    """Analyze a network (or every network of a family file) at every point of the cartesian product of ``sets``
    (variable → values) and ``sizes``: one ``SweepRow`` per point with its params and MACs, in grid order (the
    last axis fastest). ``sweep("mobilenet-v1", sets={"width": [1.0, 0.75, 0.5, 0.25]}, sizes=[224, 192, 160,
    128])`` is MobileNet's Tables 6 and 7. More than ``cnncost.analysis.sweep.MAX_POINTS`` points are refused.
    Pure Python, no torch."""
    from cnncost.analysis.sweep import sweep as run_sweep

    _spec(spec, network=False)
    _variables(sets)
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list of sizes, not {type(sizes).__name__}")
    pairs = [_size(s) for s in sizes]
    return run_sweep(
        Path(spec) if isinstance(spec, PathLike) else spec,
        sets=sets,
        sizes=[p for p in pairs if p is not None],
        batch=batch,
    )


def check(*specs: str | Path) -> CheckReport:
    """Recompute every figure the specs' sources document (``documented:``) and compare, within each figure's
    tolerance. No spec: the whole bundled library. A family file named without ``:VARIANT`` checks every
    network it defines. Pure Python, no torch."""
    from cnncost.analysis.check import check_document, merge

    for spec in specs:
        _spec(spec, network=False)
    names: list[str | Path] = [Path(s) if isinstance(s, PathLike) else s for s in specs] or [
        entry.name for entry in library.entries()
    ]
    parts = []
    for spec in names:
        for found in library.locate_all(spec):
            parts.append(check_document(found.doc, [found.variant], file=found.file))
    return merge(parts)


def verify(
    spec: Spec,
    *,
    size: Size = None,
    batch: int = 1,
    variables: Mapping[str, Any] | None = None,
    fvcore: bool = False,
) -> VerifyResult:
    """Build the network on the meta device (no weights) and confirm every row of its analysis with PyTorch:
    parameters per module, FLOPs = 2 × MACs per layer by FlopCounterMode, and output shapes. ``fvcore=True``
    adds fvcore's FlopCountAnalysis as a second oracle (one image, real CPU tensors, seconds): its conv and linear
    MACs compared layer by layer, and its own total (batchnorm, pooling… included) reported beside them. Each
    oracle's number says what it counts: ``VerifyResult.oracles``."""
    from cnncost.errors import require_torch

    require_torch("--verify")
    from cnncost.torch.verify import verify as verify_module

    if not isinstance(fvcore, bool):
        raise TypeError(f"fvcore must be True or False, not {fvcore!r}")
    from cnncost.analysis.engine import analyze_network

    network = resolve(spec, size=size, variables=variables)
    return verify_module(network, analyze_network(network, batch=batch), fvcore=fvcore)


def bench(
    *specs: Spec,
    config: BenchConfig | None = None,
    size: Size = None,
    variables: Mapping[str, Any] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
) -> BenchRun:
    """Time real forward passes of each network (random weights) on the device of ``config``: one
    ``BenchResult`` per network × batch, against the device's peak. Needs PyTorch. See ``cnncost.bench``."""
    from cnncost.bench.config import BenchConfig as Config
    from cnncost.errors import require_torch

    if config is not None and not isinstance(config, Config):
        raise TypeError(f"config must be a cnncost.bench.BenchConfig or None, not {type(config).__name__}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable or None, not {type(progress).__name__}")
    for spec in specs:
        _spec(spec)
    _variables(variables)
    require_torch("cnncost bench")
    from cnncost.bench.network import bench_networks

    return bench_networks(specs, config or Config(), size=_size(size), variables=variables, progress=progress)


def bench_train(
    *specs: Spec,
    config: BenchConfig | None = None,
    size: Size = None,
    variables: Mapping[str, Any] | None = None,
    freeze: Sequence[str] = (),
    trainable: Sequence[str] = (),
    train_from: str | None = None,
    bn: str = "train",
    progress: Callable[[ProgressEvent], None] | None = None,
) -> BenchRun:
    """Time real training steps (forward, loss, backward, optimizer step) of each network, layers frozen as
    chosen (as :func:`analyze_training`), with the methodology of :func:`bench`; TFLOP/s from the step's exact
    MACs (forward + backward). Needs PyTorch. See ``cnncost.bench.train``."""
    from cnncost.analysis.training import TrainOptions
    from cnncost.bench.config import BenchConfig as Config
    from cnncost.errors import require_torch

    if config is not None and not isinstance(config, Config):
        raise TypeError(f"config must be a cnncost.bench.BenchConfig or None, not {type(config).__name__}")
    for spec in specs:
        _spec(spec)
    _variables(variables)
    options = TrainOptions(freeze=tuple(freeze), trainable=tuple(trainable), train_from=train_from, bn=bn)
    require_torch("cnncost bench --train")
    from cnncost.bench.train import bench_train as run

    return run(specs, config or Config(), options, size=_size(size), variables=variables, progress=progress)


# ---------------------------------------------------------------------------- gradient flow and depth study

#: Spec variables that switch batchnorm on and off (``--bn/--no-bn``): the CIFAR ResNets' and VGG's.
BN_VARIABLES = ("bn", "batchnorm")


def with_bn(
    spec: Spec, *, bn: bool | None, size: Size = None, variables: Mapping[str, Any] | None = None
) -> ir.Network:
    """The network with its batchnorm switch (a ``bn`` or ``batchnorm`` variable) set to ``bn``; ``None`` keeps the
    spec's default. A network without such a variable is refused in one line when ``bn`` is given."""
    network = resolve(spec, size=size, variables=variables)
    if bn is None:
        return network
    if not isinstance(bn, bool):
        raise TypeError(f"bn must be True, False or None, not {bn!r}")
    switch = next((name for name in BN_VARIABLES if name in network.variables), None)
    if switch is None:
        from cnncost.errors import UsageError

        raise UsageError(
            f"--{'' if bn else 'no-'}bn: {network.name} has no batchnorm switch (a 'bn' or 'batchnorm' variable)",
            hint="leave out --bn/--no-bn for it; resnet20…resnet110, plain20…plain110 and vgg11…vgg19 have one",
        )
    if network.variables[switch] == bn:
        return network
    return resolve(spec, size=size, variables={**(variables or {}), switch: bn})


def gradients(
    *specs: Spec,
    size: Size = None,
    variables: Mapping[str, Any] | None = None,
    bn: bool | None = None,
    batch: int = 32,
    seed: int = 0,
    init: str = "default",
) -> list[GradientReport]:
    """Gradient flow at initialization: for each network, the gradient norm of every weight layer (input to
    output) and the output std of every block, on one seeded batch of random inputs and labels with
    cross-entropy loss (``cnncost.torch.gradients.GradientReport``). Needs PyTorch."""
    for spec in specs:
        _spec(spec)
    _variables(variables)
    for name, value in (("batch", batch), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, not {value!r}")
    from cnncost.errors import require_torch

    require_torch("cnncost gradients")
    from cnncost.torch.gradients import gradient_flow

    networks = [with_bn(spec, bn=bn, size=size, variables=variables) for spec in specs]
    return [gradient_flow(network, batch=batch, seed=seed, init=init) for network in networks]


def depth_study(
    config: StudyConfig | None = None,
    *,
    results_path: str | None = None,
    fresh: bool = False,
    progress: Callable[[StudyProgress], None] | None = None,
) -> Study:
    """Train plain and residual CIFAR-family nets of several depths for one budget on scikit-learn's digits
    (``cnncost.torch.depth_study``): their training and test error against iterations. With ``results_path``,
    the results are written there after each network and a rerun with the same settings skips the finished ones.
    Needs PyTorch and scikit-learn."""
    from cnncost.errors import require_torch

    require_torch("cnncost depth-study")
    from cnncost.torch.depth_study import StudyConfig as Config
    from cnncost.torch.depth_study import run_study

    if config is not None and not isinstance(config, Config):
        raise TypeError(f"config must be a StudyConfig or None, not {type(config).__name__}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable or None, not {type(progress).__name__}")
    return run_study(config or Config(), results_path=results_path, fresh=fresh, progress=progress)
