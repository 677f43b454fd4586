"""What a benchmark run is asked to do, and the defaults each kind of device gets.

``BenchConfig`` is plain data (no torch): the CLI builds one from its options, the Python API takes one, and
``for_device`` fills every "device default" (``None``) with a concrete value once the device is known.

Defaults, and why:

* **CPU**: fp32, contiguous (NCHW) layout, eager (no ``torch.compile``), no CUDA graphs, batch 1, torch's own
  thread count. A CPU user asks "how long does one image take on this machine as PyTorch ships".
* **CUDA GPU**: the settings a GPU user would deploy with, so the figures are the fast ones:

  - ``bf16`` weights and inputs (tensor cores; same range as fp32, no loss scaling needed for inference);
  - channels-last memory layout (what cuDNN's tensor-core convolutions want; NCHW forces layout transposes);
  - ``torch.compile`` in its ``default`` mode when Triton is available (fuses batchnorm/activation/residual
    epilogues; the compile time lands in the separately reported first call, never in the timed figures);
  - CUDA graphs (one graph replay per forward instead of hundreds of kernel launches: this is what makes batch 1
    fast);
  - batches 1 and 256: the latency and the throughput a user quotes, in one table;
  - ``cudnn.benchmark`` on during the run (autotuned convolution algorithms; restored afterwards).

  Any of these that fails on a given setup (no Triton, a graph capture that fails) falls back to the slower
  road with a note on the result; nothing is silently dropped.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import fields, replace

from cnncost.errors import UsageError
from cnncost.frozen import frozen

#: Numeric precisions: ``fp32`` is true IEEE fp32 (TF32 off), ``tf32`` lets matmuls/convolutions use TF32
#: tensor cores on fp32 data, ``bf16``/``fp16`` run weights and inputs in that dtype.
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")

#: ``off`` or one of ``torch.compile``'s modes.
COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")

#: The most a run may be asked for: ten minutes of warm-up, an hour of timing, ten thousand repeats and four
#: threads per logical CPU (more only oversubscribes; torch crashes on absurd counts).
MAX_WARMUP_S = 600.0
MAX_MIN_TIME_S = 3600.0
MAX_REPEATS = 10_000


def max_threads() -> int:
    """The most ``--threads`` accepted: four per logical CPU of this machine."""
    return 4 * (os.cpu_count() or 1)


#: Above this IQR/median a result is flagged as noisy.
NOISY_THRESHOLD = 0.10

CPU_DEFAULTS: dict[str, object] = {
    "batches": (1,),
    "precision": "fp32",
    "channels_last": False,
    "compile": "off",
    "cuda_graphs": False,
}

CUDA_DEFAULTS: dict[str, object] = {
    "batches": (1, 256),
    "precision": "bf16",
    "channels_last": True,
    "compile": "default",  # "off" when torch.compile cannot run here (no Triton)
    "cuda_graphs": True,
}


@frozen
class BenchConfig:
    """A benchmark request. ``None`` means "the default for the device" (see the module docstring).

    ``warmup_s``: seconds of untimed calls after the first call (at least two calls), at the exact shapes.
    ``min_time_s``: total seconds of timed calls, spread over ``repeats`` repeats (each repeat times enough
    back-to-back calls to last ``min_time_s / repeats``; at least one call).
    ``peak_tflops`` overrides the device table for the effective precision; ``bandwidth_gbs`` does the same
    for the memory bandwidth used by the per-layer roofline.
    """

    device: str = "auto"
    batches: tuple[int, ...] | None = None
    precision: str | None = None
    channels_last: bool | None = None
    compile: str | None = None
    cuda_graphs: bool | None = None
    threads: int | None = None
    warmup_s: float = 1.0
    min_time_s: float = 2.0
    repeats: int = 10
    per_layer: bool = False
    peak_tflops: float | None = None
    bandwidth_gbs: float | None = None

    def __post_init__(self) -> None:
        self._check_types()
        if not _DEVICE.match(self.device):
            raise UsageError(
                f"unknown device '{self.device}'", hint="use --device cpu, cuda, cuda:N or auto"
            )
        if self.batches is not None:
            if not self.batches:
                raise UsageError("no batch size given", hint="use --batch N or --batch 1,8,64")
            for b in self.batches:
                if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                    raise UsageError(f"batch size {b!r} is not a positive integer", hint="use --batch 1,8,64")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise UsageError(
                f"unknown precision '{self.precision}'", hint=f"use one of {', '.join(PRECISIONS)}"
            )
        if self.compile is not None and self.compile not in COMPILE_MODES:
            raise UsageError(
                f"unknown compile mode '{self.compile}'", hint=f"use one of {', '.join(COMPILE_MODES)}"
            )
        if self.threads is not None and not 1 <= self.threads <= max_threads():
            raise UsageError(
                f"--threads {self.threads} is not between 1 and {max_threads()}",
                hint=f"this machine has {os.cpu_count() or 1} logical CPUs",
            )
        for flag, seconds, most in (("--warmup", self.warmup_s, MAX_WARMUP_S), ("--min-time", self.min_time_s,
                                                                             MAX_MIN_TIME_S)):
            if not 0 <= seconds <= most:  # also refuses nan
                raise UsageError(
                    f"{flag} {seconds:g} is not between 0 and {most:g} seconds", hint=f"e.g. {flag} 1"
                )
        if not 3 <= self.repeats <= MAX_REPEATS:
            raise UsageError(
                f"--repeats {self.repeats} is not between 3 (a median and an IQR) and {MAX_REPEATS:,}",
                hint="e.g. --repeats 10",
            )
        for flag, value in (("--peak", self.peak_tflops), ("--bandwidth", self.bandwidth_gbs)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise UsageError(f"{flag} {value:g} must be a positive number")

    def _check_types(self) -> None:
        """Wrong Python types are TypeErrors, as everywhere in Python (values are checked after)."""
        expected: dict[str, tuple[type, ...]] = {
            "device": (str,), "precision": (str,), "compile": (str,), "channels_last": (bool,),
            "cuda_graphs": (bool,), "per_layer": (bool,), "threads": (int,), "repeats": (int,),
            "warmup_s": (int, float), "min_time_s": (int, float), "peak_tflops": (int, float),
            "bandwidth_gbs": (int, float), "batches": (tuple, list),
        }
        optional = {"batches", "precision", "channels_last", "compile", "cuda_graphs", "threads", "peak_tflops",
                    "bandwidth_gbs"}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in optional:
                continue
            kinds = expected[f.name]
            wrong_bool = isinstance(value, bool) and bool not in kinds
            if wrong_bool or not isinstance(value, kinds):
                names = " or ".join(k.__name__ for k in kinds)
                raise TypeError(f"BenchConfig.{f.name} must be {names}, not {type(value).__name__}")
        for b in self.batches or ():
            if isinstance(b, bool) or not isinstance(b, int):
                raise TypeError(f"BenchConfig.batches must hold ints, not {type(b).__name__}")
        if isinstance(self.batches, list):
            object.__setattr__(self, "batches", tuple(self.batches))

    def for_device(self, kind: str, *, compile_available: bool = True) -> BenchConfig:
        """This config with every device default filled in for ``kind`` (``"cpu"`` or ``"cuda"``)."""
        defaults = dict(CUDA_DEFAULTS if kind == "cuda" else CPU_DEFAULTS)
        if kind == "cuda" and not compile_available:
            defaults["compile"] = "off"
        filled = {name: defaults[name] for name in defaults if getattr(self, name) is None}
        return replace(self, **filled)  # type: ignore[arg-type]


def parse_batches(text: str) -> tuple[int, ...]:
    """``"1,8,64"`` → ``(1, 8, 64)``, with a one-line error for anything else."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part.isdigit() or int(part) < 1:
            raise UsageError(f"--batch '{text}' is not a list of positive integers", hint="use --batch 1,8,64")
        out.append(int(part))
    return tuple(out)


def config_from_options(
    *,
    device: str = "auto",
    batch: str | None = None,
    precision: str | None = None,
    channels_last: bool | None = None,
    compile: bool | None = None,
    compile_mode: str | None = None,
    cuda_graphs: bool | None = None,
    threads: int | None = None,
    warmup: float = 1.0,
    min_time: float = 2.0,
    repeats: int = 10,
    per_layer: bool = False,
    peak: float | None = None,
    bandwidth: float | None = None,
) -> BenchConfig:
    """A ``BenchConfig`` from command-line values: ``--batch 1,8``, ``--compile/--no-compile`` with
    ``--compile-mode``; ``None`` keeps the device default."""
    if compile is False:
        mode: str | None = "off"
    elif compile is True:
        mode = compile_mode or "default"
    else:
        mode = compile_mode
    return BenchConfig(
        device=device.lower(),
        batches=parse_batches(batch) if batch is not None else None,
        precision=precision.lower() if precision is not None else None,
        channels_last=channels_last,
        compile=mode,
        cuda_graphs=cuda_graphs,
        threads=threads,
        warmup_s=warmup,
        min_time_s=min_time,
        repeats=repeats,
        per_layer=per_layer,
        peak_tflops=peak,
        bandwidth_gbs=bandwidth,
    )
