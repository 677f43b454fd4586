"""Time real forward passes of any ``nn.Module``: the methodology of ``cnncost bench`` as a library.

``run_bench(module_factory, macs_per_image, config, input_shape=…)`` builds the module once on the device, then
for each batch size:

1. puts the module in eval mode, in the precision's dtype and (for images) channels-last when asked, and runs
   everything under ``torch.inference_mode()`` with an input created on the device in that dtype and layout;
2. times the **first call** on its own (it includes ``torch.compile`` and cuDNN autotuning);
3. optionally captures a CUDA graph of the forward and times its replays from then on;
4. **warms up by time** at the exact shapes, then times ``repeats`` repeats of back-to-back calls, each
   synchronized on the device before and after (``cnncost.bench.timer``);
5. derives median / IQR / min per forward, images/s, GMAC/s, TFLOP/s and the fraction of the device's peak, and
   flags a noisy result (IQR/median > 10 %) and a figure above the peak (a measurement error);
6. on out-of-memory, halves the batch and retries, with a note;
7. with ``per_layer``, times every layer with forward hooks (CUDA events on a GPU) and places it on the roofline.

Ctrl-C returns the runs that finished (``BenchRun.interrupted``). Every global flag touched (TF32, cuDNN benchmark,
thread count) is restored.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cnncost.bench.backend import Backend, is_out_of_memory, num_threads, numeric_flags, select_backend
from cnncost.bench.config import BenchConfig
from cnncost.bench.peaks import lookup
from cnncost.bench.results import BenchResult, BenchRun, LayerTiming, ProgressEvent
from cnncost.bench.roofline import Roofline, classify, intensity
from cnncost.bench.stats import peak_fraction, summarize, throughput
from cnncost.bench.timer import Timer, measure
from cnncost.errors import CnnCostError, DeviceError, UsageError
from cnncost.frozen import frozen

ModuleFactory = Callable[[torch.device], nn.Module]
ProgressCallback = Callable[[ProgressEvent], None]

DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

#: torch.compile modes that capture CUDA graphs themselves (no manual capture on top of them).
_COMPILE_GRAPH_MODES = ("reduce-overhead", "max-autotune")

#: Un-timed passes with hooks before the per-layer passes.
_PER_LAYER_WARMUP = 2


@frozen
class LayerHint:
    """What the analysis knows about one layer: its op name and FLOPs for one image (2 × MACs)."""

    op: str
    flops_per_image: int


@dataclass
class _Setup:
    """The effective settings for this device (what actually runs), with the reasons for any change."""

    precision: str
    dtype: torch.dtype
    channels_last: bool
    compile: str
    manual_graphs: bool
    graphs: bool
    threads: int = 0
    notes: list[str] = field(default_factory=list)


def _effective(cfg: BenchConfig, backend: Backend, input_shape: tuple[int, ...], compile_defaulted: bool) -> _Setup:
    assert cfg.precision is not None and cfg.compile is not None
    notes: list[str] = []
    precision = cfg.precision
    where = "the CPU" if backend.kind == "cpu" else backend.name
    if precision == "tf32" and not backend.supports_tf32:
        notes.append(f"tf32 has no effect on {where}: ran fp32")
        precision = "fp32"
    if precision == "bf16" and backend.kind == "cuda" and not backend.supports_bf16:
        notes.append(f"{where} has no bf16 tensor cores: bf16 runs emulated")
    image = len(input_shape) == 3
    channels_last = bool(cfg.channels_last) and image
    if cfg.channels_last and not image:
        notes.append("channels-last applies to image inputs only: ignored for a vector input")
    compile_mode = cfg.compile
    if compile_defaulted and backend.kind == "cuda" and not backend.compile_available:
        notes.append("torch.compile needs Triton, which is not installed: ran eager")
    graphs = bool(cfg.cuda_graphs)
    manual = graphs
    if graphs and backend.kind != "cuda":
        notes.append("CUDA graphs need a GPU: ignored")
        graphs = manual = False
    elif compile_mode in _COMPILE_GRAPH_MODES and backend.kind == "cuda":
        # These modes capture CUDA graphs themselves.
        manual = False
        graphs = True
    return _Setup(precision, DTYPES[precision], channels_last, compile_mode, manual, graphs, notes=notes)


def _input(batch: int, input_shape: tuple[int, ...], backend: Backend, setup: _Setup) -> torch.Tensor:
    if len(input_shape) == 3:
        h, w, c = input_shape
        x = torch.randn((batch, c, h, w), device=backend.device, dtype=setup.dtype)
        return x.contiguous(memory_format=torch.channels_last) if setup.channels_last else x
    return torch.randn((batch, *input_shape), device=backend.device, dtype=setup.dtype)


def _course_shape(t: torch.Tensor) -> tuple[int, ...]:
    """A batched tensor's shape for one item in the course's order: (N, C, H, W) → (H, W, C)."""
    dims = tuple(int(d) for d in t.shape[1:])
    return (dims[1], dims[2], dims[0]) if len(dims) == 3 else dims


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip().rstrip(":")


def count_flops(module: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """FLOPs (2 × MACs) per module path for one forward of ``x``, by torch's FlopCounterMode; ``""`` = total."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        module(x)
    root = type(module).__name__
    out: dict[str, int] = {}
    for key, ops in counter.get_flop_counts().items():
        total = int(sum(ops.values()))
        if key == "Global":
            out[""] = total
        elif key == root:
            out.setdefault("", total)
        elif key.startswith(root + "."):
            out[key[len(root) + 1 :]] = total
    out.setdefault("", 0)
    return out


@dataclass
class _Session:
    """State shared by the batches of one network: the module, its compiled form, what fell back."""

    name: str
    module: nn.Module
    runner: Callable[[torch.Tensor], object]
    setup: _Setup
    backend: Backend
    timer: Timer
    macs_per_image: int
    input_shape: tuple[int, ...]
    cfg: BenchConfig
    hints: Mapping[str, LayerHint] | None
    progress: ProgressCallback | None
    launch_floor_s: float | None = None

    def emit(self, batch: int, phase: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(self.name, batch, phase, max(0.0, min(1.0, fraction))))


def run_bench(
    module_factory: ModuleFactory,
    macs_per_image: int | None,
    config: BenchConfig,
    *,
    input_shape: tuple[int, ...],
    name: str = "module",
    layer_hints: Mapping[str, LayerHint] | None = None,
    progress: ProgressCallback | None = None,
    backend: Backend | None = None,
    timer: Timer | None = None,
    activation_elements: int | None = None,
    param_count: int | None = None,
) -> BenchRun:
    """Benchmark the module ``module_factory(device)`` at every batch size of ``config``.

    ``input_shape`` is one input in the course's order: ``(H, W, C)`` for images, ``(N,)`` for vectors.
    ``macs_per_image`` comes from the analytic report; ``None`` counts it with torch's FlopCounterMode.
    ``layer_hints`` (module path → op and FLOPs per image) names the layers a per-layer run reports; without
    it every leaf module is reported, with FLOPs from FlopCounterMode. ``backend`` and ``timer`` exist for tests.
    ``activation_elements`` (the largest activation of one image) and ``param_count`` feed the memory estimate
    that refuses a batch too large for the device before anything is built (``check_memory``).
    """
    if len(input_shape) not in (1, 3) or any(d < 1 for d in input_shape):
        raise UsageError(f"input shape {input_shape} is neither (H, W, C) nor (N,)")
    backend = backend or select_backend(config.device)
    cfg = config.for_device(backend.kind, compile_available=backend.compile_available)
    setup = _effective(cfg, backend, input_shape, compile_defaulted=config.compile is None)
    timer = timer or Timer(time.perf_counter, backend.synchronize)
    assert cfg.batches is not None
    for batch in cfg.batches:
        check_memory(
            name, batch, backend, setup, input_shape, activation_elements=activation_elements, param_count=param_count
        )
    results: list[BenchResult] = []
    try:
        with num_threads(cfg.threads) as threads, numeric_flags(
            backend.kind, setup.precision, cudnn_benchmark=backend.kind == "cuda"
        ):
            setup.threads = threads
            if progress is not None:
                progress(ProgressEvent(name, cfg.batches[0], "build", 0.0))
            try:
                module = _prepare(module_factory, backend, setup)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                raise DeviceError(
                    f"{name}: the network's weights do not fit in the memory of {backend.name}",
                    hint="use --precision bf16, a smaller variant (--set), or another --device",
                ) from None
            if macs_per_image is None:
                probe = _input(1, input_shape, backend, setup)
                macs_per_image = count_flops(module, probe)[""] // 2
                setup.notes.append("MACs counted by torch's FlopCounterMode")
            session = _Session(
                name, module, _compiled(module, setup), setup, backend, timer, macs_per_image, input_shape,
                cfg, layer_hints, progress,
            )
            for batch in cfg.batches:
                results.append(_bench_batch(session, batch))
    except KeyboardInterrupt:
        return BenchRun(tuple(results), interrupted=True)
    return BenchRun(tuple(results))


def estimate_bytes(
    batch: int, element_bytes: int, input_shape: tuple[int, ...], *, activation_elements: int | None,
    param_count: int | None,
) -> int:
    """Bytes a forward at ``batch`` is expected to hold at its peak: the weights, the input, and three times the
    largest activation (a layer's input and output, and a residual's saved shortcut). An estimate for refusing
    absurd requests, not a prediction: allocator slack and workspaces come on top."""
    image = math.prod(input_shape)
    largest = max(activation_elements or 0, image)
    return element_bytes * ((param_count or 0) + batch * (image + 3 * largest))


def check_memory(
    name: str, batch: int, backend: Backend, setup: _Setup, input_shape: tuple[int, ...], *,
    activation_elements: int | None, param_count: int | None,
) -> None:
    """Refuse (one line, exit 2) a batch whose estimated memory exceeds what the backend allows."""
    if backend.memory_bytes is None:
        return
    element = torch.empty((), dtype=setup.dtype).element_size()
    need = estimate_bytes(
        batch, element, input_shape, activation_elements=activation_elements, param_count=param_count
    )
    if need <= backend.memory_bytes:
        return
    per_image = estimate_bytes(1, element, input_shape, activation_elements=activation_elements, param_count=0)
    fits = max(0, (backend.memory_bytes - element * (param_count or 0)) // max(per_image, 1))
    where = f"half of this machine's {2 * backend.memory_bytes / 1e9:.1f} GB of RAM" if backend.kind == "cpu" else (
        f"the {backend.memory_bytes / 1e9:.1f} GB of {backend.name}"
    )
    raise UsageError(
        f"{name}: batch {batch:,} needs about {need / 1e9:,.1f} GB in {setup.precision} (input, activations and "
        f"weights, estimated), more than {where}",
        hint=f"use a smaller --batch (about {fits:,} at most here)" if fits else "use a smaller --size or variant",
    )


def _prepare(factory: ModuleFactory, backend: Backend, setup: _Setup) -> nn.Module:
    module = factory(backend.device)
    module.eval()
    if setup.dtype != torch.float32:
        module.to(dtype=setup.dtype)
    if setup.channels_last:
        module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return module


def _compiled(module: nn.Module, setup: _Setup) -> Callable[[torch.Tensor], object]:
    if setup.compile == "off":
        return module
    mode = None if setup.compile == "default" else setup.compile
    # Static shapes: each batch size gets its own specialised graph, as a deployed model would.
    return torch.compile(module, mode=mode, dynamic=False)  # type: ignore[no-any-return]


def _bench_batch(s: _Session, requested: int) -> BenchResult:
    """One batch size, halving on out-of-memory."""
    batch = requested
    notes: list[str] = []
    while True:
        try:
            return _bench_at(s, batch, requested, notes)
        except (CnnCostError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise CnnCostError(
                    f"{s.name}: the forward pass failed on {s.backend.name} at batch {batch} in "
                    f"{s.setup.precision}: {_first_line(exc)}",
                    hint="try --precision fp32, --no-compile or another --device",
                ) from exc
        # Out of memory: outside the except block, so the failed attempt's tensors can be freed.
        gc.collect()
        s.backend.empty_cache()
        if batch == 1:
            raise DeviceError(
                f"{s.name}: out of memory on {s.backend.name} even at batch 1",
                hint="use a smaller --size, --precision bf16, or another --device",
            )
        notes.append(f"batch {batch} ran out of memory on {s.backend.label}: halved to {batch // 2}")
        batch //= 2


def _bench_at(s: _Session, batch: int, requested: int, oom_notes: list[str]) -> BenchResult:
    setup, cfg, timer = s.setup, s.cfg, s.timer
    notes = list(setup.notes) + oom_notes
    x = _input(batch, s.input_shape, s.backend, setup)
    weight_phase = 0.85 if cfg.per_layer else 1.0
    with torch.inference_mode():
        s.emit(batch, "first call", 0.0)
        runner = s.runner
        try:
            first_s = timer.time_calls(lambda: runner(x), 1)
        except (CnnCostError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if setup.compile == "off" or is_out_of_memory(exc):
                raise
            setup.notes.append(f"torch.compile failed ({_first_line(exc)}): ran eager")
            notes.append(setup.notes[-1])
            if setup.compile in _COMPILE_GRAPH_MODES:
                setup.graphs = False
            setup.compile = "off"
            s.runner = runner = s.module
            first_s = timer.time_calls(lambda: runner(x), 1)
        fn: Callable[[], object] = lambda: runner(x)  # noqa: E731
        graphs = setup.graphs
        if setup.manual_graphs and s.backend.capture_graph is not None:
            try:
                fn = s.backend.capture_graph(fn)
            except (CnnCostError, KeyboardInterrupt):
                raise
            except Exception as exc:
                if is_out_of_memory(exc):
                    raise
                notes.append(f"CUDA graph capture failed ({_first_line(exc)}): timed without graphs")
                graphs = False
        s.emit(batch, "warm-up", 0.05)

        def step(phase: str, fraction: float) -> None:
            if phase == "warm-up":
                s.emit(batch, phase, 0.05 + 0.25 * fraction)
            else:
                s.emit(batch, phase, 0.30 + (weight_phase - 0.30) * fraction)

        m = measure(fn, timer, warmup_s=cfg.warmup_s, min_time_s=cfg.min_time_s, repeats=cfg.repeats, on_step=step)
        figures, row, peak = timed_figures(m, first_s, batch, s.macs_per_image, s.backend, cfg, setup.precision, notes)
        layers: tuple[LayerTiming, ...] | None = None
        coverage: float | None = None
        if cfg.per_layer:
            s.emit(batch, "per-layer", weight_phase)
            if setup.compile != "off" or graphs:
                notes.append(
                    "per-layer times come from eager forwards with hooks (compiled and CUDA graphs hide layers)"
                )
            bandwidth_gbs = cfg.bandwidth_gbs or (row.bandwidth_gbs if row is not None else None)
            roof = Roofline(
                peak_flops=peak * 1e12 if peak is not None else None,
                bandwidth=bandwidth_gbs * 1e9 if bandwidth_gbs is not None else None,
                launch_floor_s=_launch_floor(s),
            )
            layers, coverage = time_layers(s.module, x, s.backend, roof, passes=cfg.repeats, hints=s.hints)
    s.emit(batch, "done", 1.0)
    return BenchResult(
        name=s.name,
        device=s.backend.label,
        device_name=s.backend.name,
        batch=batch,
        requested_batch=requested,
        precision=setup.precision,
        layout="channels_last" if setup.channels_last else "contiguous",
        compile=setup.compile,
        cuda_graphs=graphs,
        threads=setup.threads,
        torch_version=str(torch.__version__),
        input_shape=s.input_shape,
        **figures,
        notes=tuple(dict.fromkeys(notes)),
        layers=layers,
        launch_floor_us=s.launch_floor_s * 1e6 if s.launch_floor_s is not None else None,
        layer_coverage=coverage,
    )


def timed_figures(
    m: Any,
    first_s: float,
    batch: int,
    macs_per_image: int,
    backend: Backend,
    cfg: BenchConfig,
    precision: str,
    notes: list[str],
) -> tuple[dict[str, Any], Any, float | None]:
    """The figures every BenchResult carries from one measurement ``m`` (``timer.measure``): the first call,
    median / IQR / min, images/s, GMAC/s, TFLOP/s from ``macs_per_image`` and the fraction of the device's peak
    (``--peak``, else the datasheet's for ``precision``); a rate above the peak adds a note. Also the device's
    peaks-table row and the peak, for the roofline."""
    summary = summarize(m.samples_s)
    rates = throughput(batch=batch, seconds=summary.median, macs_per_image=macs_per_image)
    row = lookup(backend.name) if backend.kind == "cuda" else None
    peak: float | None
    source: str | None
    if cfg.peak_tflops is not None:
        peak, source = cfg.peak_tflops, "--peak"
    elif row is not None:
        peak, source = row.tflops(precision), f"{row.name} ({row.source})"
    else:
        peak, source = None, None
    fraction = peak_fraction(rates.tflops, peak)
    above = fraction is not None and fraction > 1.0
    if above:
        notes.append(
            f"{rates.tflops:.1f} TFLOP/s is above the peak of {peak:g}: a measurement error "
            "(wrong --peak, wrong MAC count or an unsynchronized timer), not a result"
        )
    figures = {
        "macs_per_image": macs_per_image,
        "first_call_ms": first_s * 1e3,
        "median_ms": summary.median * 1e3,
        "iqr_ms": summary.iqr * 1e3,
        "min_ms": summary.minimum * 1e3,
        "repeats": summary.n,
        "calls_per_repeat": m.calls_per_repeat,
        "warmup_calls": m.warmup_calls,
        "images_per_s": rates.images_per_s,
        "gmacs_per_s": rates.gmacs_per_s,
        "tflops": rates.tflops,
        "peak_tflops": peak,
        "peak_source": source,
        "peak_fraction": fraction,
        "noisy": summary.noisy,
        "above_peak": above,
    }
    return figures, row, peak


def _launch_floor(s: _Session) -> float:
    """The device's per-op floor: seconds per call of a one-element in-place add, timed like a forward."""
    if s.launch_floor_s is None:
        t = torch.zeros(1, device=s.backend.device)
        fn = lambda: t.add_(1)  # noqa: E731
        s.timer.time_calls(fn, 20)
        calls = 200
        s.launch_floor_s = min(s.timer.time_calls(fn, calls) / calls for _ in range(5))
    return s.launch_floor_s


# ------------------------------------------------------------------------------------------------- per layer


def _tensors(value: object) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _nbytes(value: object) -> int:
    return sum(t.numel() * t.element_size() for t in _tensors(value))


def _targets(module: nn.Module, hints: Mapping[str, LayerHint] | None) -> list[tuple[str, nn.Module]]:
    named = dict(module.named_modules())
    if hints is not None:
        # Leaf modules only: merge pseudo-layers (``layer1.0.add``) have no module, containers are not layers.
        return [
            (path, named[path])
            for path in hints
            if path and path in named and not any(True for _ in named[path].children())
        ]
    leaves = [(path, m) for path, m in named.items() if path and not any(True for _ in m.children())]
    return leaves or [("", module)]


def time_layers(
    module: nn.Module,
    x: torch.Tensor,
    backend: Backend,
    roof: Roofline,
    *,
    passes: int,
    hints: Mapping[str, LayerHint] | None = None,
) -> tuple[tuple[LayerTiming, ...], float | None]:
    """Per-layer times (median over ``passes`` hooked forwards) placed on the roofline, and the share of a whole
    hooked forward that the layers account for.

    Each target layer gets a pre-hook and a post-hook that take a mark of the backend's layer clock (a
    ``perf_counter`` reading on the CPU, a CUDA event on a GPU, read after one synchronize per pass).
    """
    targets = _targets(module, hints)
    flops_by_path: Mapping[str, int] | None = None
    if hints is None:
        flops_by_path = count_flops(module, x)
    batch = int(x.shape[0])
    clock = backend.layer_clock()
    open_marks: dict[str, list[object]] = {}
    pairs: dict[str, list[tuple[object, object]]] = {}
    outputs: dict[str, tuple[int, ...]] = {}
    moved: dict[str, int] = {}
    order: list[str] = []
    handles = []

    def pre(path: str) -> Callable[..., None]:
        def hook(_m: nn.Module, _args: object) -> None:
            open_marks.setdefault(path, []).append(clock.mark())

        return hook

    def post(path: str, owner: nn.Module) -> Callable[..., None]:
        def hook(_m: nn.Module, args: object, out: object) -> None:
            end = clock.mark()
            pairs.setdefault(path, []).append((open_marks[path].pop(), end))
            if path not in moved:
                weights = sum(t.numel() * t.element_size() for t in (*owner.parameters(), *owner.buffers()))
                moved[path] = _nbytes(args) + _nbytes(out) + weights
                first = next(_tensors(out), None)
                outputs[path] = _course_shape(first) if first is not None and first.dim() >= 1 else ()
                order.append(path)

        return hook

    per_layer: dict[str, list[float]] = {path: [] for path, _ in targets}
    totals: list[float] = []
    try:
        for path, m in targets:
            handles.append(m.register_forward_pre_hook(pre(path)))
            handles.append(m.register_forward_hook(post(path, m)))
        with torch.inference_mode():
            for i in range(_PER_LAYER_WARMUP + passes):
                pairs.clear()
                start = clock.mark()
                module(x)
                end = clock.mark()
                clock.finish()
                if i < _PER_LAYER_WARMUP:
                    continue
                totals.append(clock.elapsed_s(start, end))
                for path, spans in pairs.items():
                    per_layer[path].append(sum(clock.elapsed_s(a, b) for a, b in spans))
    finally:
        for h in handles:
            h.remove()
    medians = {path: summarize(per_layer[path]).median for path in order}
    layer_sum = sum(medians.values())
    rows: list[LayerTiming] = []
    for path in order:
        t = medians[path]
        flops: int | None
        if hints is not None:
            op, flops = hints[path].op, hints[path].flops_per_image * batch
        else:
            op = type(dict(targets)[path]).__name__
            flops = flops_by_path.get(path, 0) if flops_by_path is not None else None
        bound, fraction = classify(t, flops or 0, moved[path], roof)
        rows.append(
            LayerTiming(
                path=path,
                op=op,
                output_shape=outputs[path],
                time_ms=t * 1e3,
                share=t / layer_sum if layer_sum > 0 else 0.0,
                flops=flops,
                bytes_moved=moved[path],
                tflops=flops / t / 1e12 if flops is not None and t > 0 else None,
                intensity=intensity(flops, moved[path]) if flops is not None else None,
                bound=bound,
                roofline_fraction=fraction,
            )
        )
    total = summarize(totals).median if totals else 0.0
    coverage = layer_sum / total if total > 0 else None
    return tuple(rows), coverage
