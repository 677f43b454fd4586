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
    from cnncost.analysis.records import Report, Summary
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
    spec: Spec, *, size: Size = None, batch: int = 1, variables: Mapping[str, Any] | None = None
) -> Report:
    """Per-layer shapes, parameters, MACs and other ops of a network, computed analytically (no torch)."""
    from cnncost.analysis.engine import analyze_network

    return analyze_network(resolve(spec, size=size, variables=variables), batch=batch)


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


def library_summaries(pattern: str | None = None) -> list[Summary]:
    """Name, description, source, input, output and totals of each bundled network matching ``pattern`` — what
    ``cnncost list`` shows — served from an on-disk cache keyed on the specs and cnncost's own code."""
    from cnncost.cache import library_summaries as cached

    def compute() -> list[Summary]:
        return [analyze(name).summary() for name in library.names()]

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
    spec: Spec, *, size: Size = None, variables: Mapping[str, Any] | None = None, device: Any = None
) -> torch.nn.Module:
    """The network as a ``torch.nn.Module`` with random weights (``device="meta"`` allocates none)."""
    from cnncost.errors import require_torch

    require_torch("building a network")
    from cnncost.torch.build import build_module

    return build_module(resolve(spec, size=size, variables=variables), device=device)


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
) -> Comparison:
    """Analyze each network (same size, batch and variables) and line them up: totals with ratios to the first,
    and rows matched by path down to ``depth`` (None: the deepest view within 40 rows).

    ``specs`` are specs (names, paths, resolved networks) or ``nn.Module`` objects, in the order given; then
    ``modules``: PyTorch models, as ``nn.Module`` objects or target strings (``"torchvision:resnet50"``,
    ``"pkg.mod:fn"``, ``"path/to/file.py:Net"``), analyzed like :func:`analyze_module` for ``input_shape`` per
    image (default: 3 channels at ``size``, else 224×224) with ``timeout``, ``real_forward`` and ``max_memory``.
    Specs alone are pure Python: torch is imported only for a module."""
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
        else:
            reports.append(analyze(item, size=size, batch=batch, variables=variables))
    return compare_reports(reports, depth=depth)


def _is_module(obj: object) -> bool:
    """An ``nn.Module`` — without importing torch (an object can only be one when torch is already imported)."""
    torch_module = sys.modules.get("torch")
    return torch_module is not None and isinstance(obj, torch_module.nn.Module)


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
