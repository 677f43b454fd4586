"""Time a real training step: ``cnncost bench NAME --train``.

One step is what a training loop does per batch: ``zero_grad``, forward, loss (cross-entropy against random
labels for a classifier's ``N × classes`` output; the mean square of any other output), ``backward`` and the
optimizer's ``step`` (SGD with momentum 0.9 over the trainable parameters). The module is in training mode
(dropout active), its batchnorms in the chosen mode (``--bn``); layers are frozen as chosen (``requires_grad``,
the same selection as ``cnncost table --train``).

The methodology is inference's (``cnncost.bench.runner``): the first step timed on its own (it includes
``torch.compile``'s forward *and* backward graphs, cuDNN autotuning and the optimizer's state), a warm-up by
time, then ``repeats`` repeats of back-to-back steps, each synchronized on the device — median, IQR and min.
Reduced precision is mixed precision, as training runs it: ``torch.autocast`` in bf16/fp16 over fp32 master
weights (fp16 with a gradient scaler). CUDA graphs are not used for training steps.

Achieved TFLOP/s come from the **exact** MACs of the step — forward plus backward as the training analysis
counts them for the chosen frozen layers (``cnncost.analysis.training``), 2 FLOPs per MAC — not 3× forward.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from cnncost import ir
from cnncost.analysis.engine import analyze_network
from cnncost.analysis.training import TrainOptions, analyze_training
from cnncost.bench.backend import Backend, is_out_of_memory, num_threads, numeric_flags, select_backend
from cnncost.bench.config import BenchConfig
from cnncost.bench.results import BenchResult, BenchRun
from cnncost.bench.runner import ProgressCallback, _effective, _first_line, _input, timed_figures
from cnncost.bench.timer import Timer, measure
from cnncost.errors import CnnCostError, DeviceError, UsageError

#: The optimizer of a timed step.
OPTIMIZER = "SGD, momentum 0.9"


def make_step(
    module: nn.Module, x: torch.Tensor, *, precision: str, device_type: str, classes: int | None
) -> Callable[[], object]:
    """One training step of ``module`` on ``x`` as a function (see the module doc): zero_grad, forward, loss,
    backward, optimizer step. Labels are fixed random classes when the output is ``N × classes``."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-3, momentum=0.9) if params else None
    autocast = precision in ("bf16", "fp16")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler(device_type) if precision == "fp16" and device_type == "cuda" else None
    labels = torch.randint(0, classes, (x.shape[0],), device=x.device) if classes else None

    def loss_of(out: torch.Tensor) -> torch.Tensor:
        if labels is not None and out.dim() == 2:
            return nn.functional.cross_entropy(out.float(), labels)
        return out.float().square().mean()

    def step() -> object:
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=dtype, enabled=autocast):
            out = module(x)
        loss = loss_of(out)
        if not loss.requires_grad:
            return loss  # nothing trains: a forward and a loss
        if scaler is not None and optimizer is not None:
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()  # type: ignore[no-untyped-call]
            if optimizer is not None:
                optimizer.step()
        return loss

    return step


def train_bytes(params: int, trainable: int, batch: int, saved_elements: int, input_elements: int) -> int:
    """An estimate of a training step's memory, for refusing absurd requests before anything is allocated (not
    the memory prediction): fp32 weights, gradients and momentum of the trainable ones, and every layer's output
    kept for backward plus the input, in fp32."""
    return 4 * (params + 2 * trainable) + 4 * batch * (saved_elements + input_elements)


def run_train_bench(
    network: ir.Network,
    config: BenchConfig,
    options: TrainOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    backend: Backend | None = None,
    timer: Timer | None = None,
    build: Callable[[torch.device], nn.Module] | None = None,
) -> BenchRun:
    """Time one training step of ``network`` (random weights, built on the device) at every batch of ``config``,
    with the layers ``options`` choose frozen (see the module doc). ``build`` (device → the module of
    ``network``) replaces the builder — to time a module someone else holds too (benchmarks/train_vs_loop.py);
    ``backend`` and ``timer`` exist for tests."""
    from cnncost.torch.build import build_module
    from cnncost.torch.train import apply_trainable, set_bn_mode

    options = options or TrainOptions()
    report = analyze_network(network)
    training = analyze_training(network, report, options)
    step_macs = training.step_macs  # batch 1: per image
    backend = backend or select_backend(config.device)
    cfg = config.for_device(backend.kind, compile_available=backend.compile_available)
    setup = _effective(cfg, backend, tuple(network.input_shape), compile_defaulted=config.compile is None)
    if setup.graphs:
        setup.notes.append("CUDA graphs are not used for training steps")
        setup.graphs = setup.manual_graphs = False
    if setup.precision in ("bf16", "fp16"):
        setup.notes.append(f"mixed precision: autocast {setup.precision} over fp32 weights")
    setup.notes.append(
        f"training step: forward, loss, backward, {OPTIMIZER}; {training.assumptions()}; "
        f"MACs = forward {training.forward_macs:,} + backward {training.backward_macs:,} per image"
    )
    timer = timer or Timer(time.perf_counter, backend.synchronize)
    classes = report.output_shape[0] if len(report.output_shape) == 1 else None
    saved = sum(_elements(r.output_shape) for r in report.layers())
    assert cfg.batches is not None
    if backend.memory_bytes is not None:
        for batch in cfg.batches:
            need = train_bytes(
                report.totals.params, training.trainable_params, batch, saved, _elements(network.input_shape)
            )
            if need > backend.memory_bytes:
                raise UsageError(
                    f"{network.name}: a training step at batch {batch:,} needs about {need / 1e9:,.1f} GB "
                    f"(weights, gradients, momentum and saved activations, estimated), more than the "
                    f"{backend.memory_bytes / 1e9:.1f} GB this device allows",
                    hint="use a smaller --batch or --size, or freeze layers (--train-from)",
                )
    results: list[BenchResult] = []
    try:
        with num_threads(cfg.threads) as threads, numeric_flags(
            backend.kind, setup.precision, cudnn_benchmark=backend.kind == "cuda"
        ):
            setup.threads = threads
            for batch in cfg.batches:
                module = build(backend.device) if build else build_module(network, device=backend.device)
                apply_trainable(module, report, training)
                set_bn_mode(module, options.bn)
                if setup.channels_last:
                    module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
                shape = tuple(network.input_shape)
                timed = _time_steps(
                    network.name, module, shape, batch, cfg, setup, backend, timer, step_macs, classes, progress
                )
                results.append(timed)
                del module
                gc.collect()
                backend.empty_cache()
                setup.threads = threads
    except KeyboardInterrupt:
        return BenchRun(tuple(results), interrupted=True)
    return BenchRun(tuple(results))


def _elements(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _time_steps(
    name: str,
    module: nn.Module,
    input_shape: tuple[int, ...],
    batch: int,
    cfg: BenchConfig,
    setup: Any,
    backend: Backend,
    timer: Timer,
    step_macs: int,
    classes: int | None,
    progress: ProgressCallback | None,
) -> BenchResult:
    from cnncost.bench.results import ProgressEvent

    def emit(phase: str, fraction: float) -> None:
        if progress is not None:
            progress(ProgressEvent(name, batch, phase, max(0.0, min(1.0, fraction))))

    notes = list(setup.notes)
    image = _input(batch, input_shape, backend, replace(setup, dtype=torch.float32))  # autocast casts it
    runner: nn.Module | Callable[..., Any] = module
    if setup.compile != "off":
        mode = None if setup.compile == "default" else setup.compile
        runner = torch.compile(module, mode=mode, dynamic=False)
    step = make_step(runner, image, precision=setup.precision, device_type=backend.device.type, classes=classes)  # type: ignore[arg-type]
    emit("first call", 0.0)
    try:
        first_s = timer.time_calls(step, 1)
    except (CnnCostError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if is_out_of_memory(exc):
            raise DeviceError(
                f"{name}: a training step at batch {batch} ran out of memory on {backend.name}",
                hint="use a smaller --batch, --precision bf16, or freeze layers (--train-from)",
            ) from None
        if setup.compile == "off":
            raise CnnCostError(
                f"{name}: the training step failed on {backend.name} at batch {batch}: {_first_line(exc)}",
                hint="try --precision fp32 or another --device",
            ) from exc
        notes.append(f"torch.compile failed ({_first_line(exc)}): ran eager")
        setup.compile = "off"
        step = make_step(module, image, precision=setup.precision, device_type=backend.device.type, classes=classes)
        first_s = timer.time_calls(step, 1)
    emit("warm-up", 0.05)
    m = measure(
        step,
        timer,
        warmup_s=cfg.warmup_s,
        min_time_s=cfg.min_time_s,
        repeats=cfg.repeats,
        on_step=lambda phase, f: emit(phase, 0.05 + 0.95 * f),
    )
    figures, _, _ = timed_figures(m, first_s, batch, step_macs, backend, cfg, setup.precision, notes)
    emit("done", 1.0)
    return BenchResult(
        name=f"{name} (train)",
        device=backend.label,
        device_name=backend.name,
        batch=batch,
        requested_batch=batch,
        precision=setup.precision,
        layout="channels_last" if setup.channels_last else "contiguous",
        compile=setup.compile,
        cuda_graphs=False,
        threads=setup.threads,
        torch_version=str(torch.__version__),
        input_shape=input_shape,
        **figures,
        notes=tuple(dict.fromkeys(notes)),
        mode="train",
    )


def bench_train(
    specs: tuple[Any, ...],
    config: BenchConfig,
    options: TrainOptions | None = None,
    *,
    size: tuple[int, int] | None = None,
    variables: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> BenchRun:
    """``run_train_bench`` for each spec in turn: one run whose results make one table."""
    from cnncost.spec.load import load_network

    results: list[BenchResult] = []
    for spec in specs:
        run = run_train_bench(load_network(spec, size=size, variables=variables), config, options, progress=progress)
        results.extend(run.results)
        if run.interrupted:
            return BenchRun(tuple(results), interrupted=True)
    return BenchRun(tuple(results))
