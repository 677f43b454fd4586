"""The device a benchmark runs on: where tensors go, how to wait for it, and the global flags it needs.

Everything device-specific the runner does goes through a ``Backend``, so tests can hand the runner a backend
that calls itself ``cuda`` but keeps tensors on the CPU and records every synchronize — the GPU road is then
exercised, point by point, on a machine without a GPU.

Global state is never left changed: ``numeric_flags`` and ``num_threads`` save what they touch and put it back
(on success, on error and on Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from cnncost.errors import DeviceError


class LayerClock(Protocol):
    """Timestamps taken inside forward hooks: ``mark()`` now, ``elapsed_s(a, b)`` once ``finish()`` returned."""

    def mark(self) -> Any: ...

    def finish(self) -> None: ...

    def elapsed_s(self, start: Any, end: Any) -> float: ...


@dataclass
class WallLayerClock:
    """CPU: marks are ``perf_counter`` readings (the CPU executes each op before the hook returns)."""

    clock: Callable[[], float]

    def mark(self) -> float:
        return self.clock()

    def finish(self) -> None:
        return None

    def elapsed_s(self, start: float, end: float) -> float:
        return end - start


@dataclass
class CudaEventLayerClock:
    """GPU: marks are CUDA events recorded on the stream, read after one synchronize at the end of the pass
    (no per-layer synchronize, so the GPU pipeline is not disturbed)."""

    device: torch.device

    def mark(self) -> Any:
        event = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        event.record(torch.cuda.current_stream(self.device))
        return event

    def finish(self) -> None:
        torch.cuda.synchronize(self.device)

    def elapsed_s(self, start: Any, end: Any) -> float:
        return float(start.elapsed_time(end)) / 1000.0


def _no_sync() -> None:
    return None


@dataclass
class Backend:
    """One device. ``kind`` is ``cpu`` or ``cuda``; ``device`` is where tensors are created."""

    kind: str
    device: torch.device
    name: str
    synchronize: Callable[[], None] = _no_sync
    supports_tf32: bool = False
    supports_bf16: bool = True
    compile_available: bool = True
    capture_graph: Callable[[Callable[[], object]], Callable[[], object]] | None = None
    layer_clock: Callable[[], LayerClock] = field(default_factory=lambda: _wall_layer_clock)
    empty_cache: Callable[[], None] = _no_sync
    #: What one run may use, for the estimate that refuses an absurd batch before allocating (None: no bound).
    memory_bytes: int | None = None

    @property
    def label(self) -> str:
        return str(self.device) if self.kind == "cpu" else f"cuda:{self.device.index or 0}"


def _wall_layer_clock() -> LayerClock:
    import time

    return WallLayerClock(time.perf_counter)


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "CPU"


#: The share of the machine's RAM a CPU run may take (the rest is the system's and the other programs').
CPU_MEMORY_SHARE = 0.5


def cpu_memory_bytes() -> int | None:
    """Half of the machine's physical memory, or None when the system does not say."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    return int(total * CPU_MEMORY_SHARE) if total > 0 else None


def cpu_backend() -> Backend:
    cores = os.cpu_count()
    name = f"{cpu_name()} ({cores} logical CPUs)" if cores else cpu_name()
    return Backend(
        kind="cpu", device=torch.device("cpu"), name=name, compile_available=True, memory_bytes=cpu_memory_bytes()
    )


def _has_triton() -> bool:
    try:
        from torch.utils._triton import has_triton

        return bool(has_triton())
    except Exception:
        return False


def _cuda_graph_capture(device: torch.device) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def capture(fn: Callable[[], object]) -> Callable[[], object]:
        # Warm up on a side stream (required before capture), then record one forward into a graph and
        # replay it: one launch per forward instead of one per kernel.
        stream = torch.cuda.Stream(device)  # type: ignore[no-untyped-call]
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream):
            for _ in range(3):
                fn()
        torch.cuda.current_stream(device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fn()
        torch.cuda.synchronize(device)
        return graph.replay

    return capture


def cuda_backend(index: int | None) -> Backend:
    """The CUDA device ``index`` (default: the current one), or a one-line ``DeviceError``."""
    want = "cuda" if index is None else f"cuda:{index}"
    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        raise DeviceError(
            f"--device {want}: this PyTorch ({torch.__version__}) is built without CUDA",
            hint="install a CUDA build of PyTorch, or use --device cpu",
        )
    if not torch.cuda.is_available():
        raise DeviceError(
            f"--device {want}: no usable CUDA GPU (torch.cuda.is_available() is False)",
            hint="check the driver and CUDA_VISIBLE_DEVICES, or use --device cpu",
        )
    count = torch.cuda.device_count()
    i = torch.cuda.current_device() if index is None else index
    if i >= count:
        raise DeviceError(
            f"--device {want}: there {'is' if count == 1 else 'are'} only {count} CUDA device(s)",
            hint=f"use --device cuda:0…cuda:{count - 1}",
        )
    device = torch.device("cuda", i)
    major, _minor = torch.cuda.get_device_capability(device)
    return Backend(
        kind="cuda",
        device=device,
        name=torch.cuda.get_device_name(device),
        synchronize=lambda: torch.cuda.synchronize(device),
        supports_tf32=major >= 8,
        supports_bf16=major >= 8,
        compile_available=_has_triton(),
        capture_graph=_cuda_graph_capture(device),
        layer_clock=lambda: CudaEventLayerClock(device),
        empty_cache=torch.cuda.empty_cache,
        memory_bytes=int(torch.cuda.get_device_properties(device).total_memory),
    )


def select_backend(device: str) -> Backend:
    """``auto`` → the GPU when one is usable, else the CPU; ``cuda`` without one → ``DeviceError`` (exit 2)."""
    if device == "cpu":
        return cpu_backend()
    if device == "auto":
        return cuda_backend(None) if torch.cuda.is_available() else cpu_backend()
    index = int(device.split(":", 1)[1]) if ":" in device else None
    return cuda_backend(index)


def is_out_of_memory(exc: BaseException) -> bool:
    """A CUDA or CPU allocation failure (also when wrapped by torch.compile)."""
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


# ---------------------------------------------------------------------------------------------- global flags


def _has_new_precision_api() -> bool:
    # torch ≥ 2.9: per-backend ``fp32_precision`` strings. Mixing them with the legacy ``allow_tf32`` booleans
    # makes torch raise on the next read, so only one of the two APIs is ever touched.
    try:
        conv = getattr(torch.backends.cudnn, "conv", None)
        return isinstance(torch.backends.cuda.matmul.fp32_precision, str) and isinstance(
            getattr(conv, "fp32_precision", None), str
        )
    except (AttributeError, RuntimeError):
        return False


@contextlib.contextmanager
def numeric_flags(kind: str, precision: str, *, cudnn_benchmark: bool) -> Iterator[None]:
    """On CUDA: TF32 on only for ``tf32`` (``fp32`` means IEEE fp32), ``cudnn.benchmark`` as asked; every flag
    is restored on exit. On the CPU nothing global is touched."""
    if kind != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    matmul = torch.backends.cuda.matmul
    conv: Any = getattr(cudnn, "conv", None)
    benchmark = cudnn.benchmark
    tf32 = precision == "tf32"
    if _has_new_precision_api():
        saved_new = (matmul.fp32_precision, conv.fp32_precision)
        try:
            matmul.fp32_precision = "tf32" if tf32 else "ieee"
            conv.fp32_precision = "tf32" if tf32 else "ieee"
            cudnn.benchmark = cudnn_benchmark
            yield
        finally:
            matmul.fp32_precision, conv.fp32_precision = saved_new
            cudnn.benchmark = benchmark
    else:
        saved_old = (matmul.allow_tf32, cudnn.allow_tf32)
        try:
            matmul.allow_tf32 = tf32
            cudnn.allow_tf32 = tf32
            cudnn.benchmark = cudnn_benchmark
            yield
        finally:
            matmul.allow_tf32, cudnn.allow_tf32 = saved_old
            cudnn.benchmark = benchmark


@contextlib.contextmanager
def num_threads(threads: int | None) -> Iterator[int]:
    """``torch.set_num_threads(threads)`` for the duration, restored after; yields the count in force."""
    before = torch.get_num_threads()
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
