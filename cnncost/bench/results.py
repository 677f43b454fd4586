"""Frozen results of a benchmark run. Renderers format them; nothing here knows about terminals or torch.

One ``BenchResult`` per network × batch. Times are milliseconds per forward pass of the whole batch; rates are
derived from the median (see ``cnncost.bench.stats``). ``precision``, ``layout``, ``compile`` and
``cuda_graphs`` are the *effective* settings (what actually ran), which may differ from the request — the notes
say why.
"""

from __future__ import annotations

from cnncost.frozen import frozen


@frozen
class LayerTiming:
    """One layer of a ``--per-layer`` run, for the whole batch.

    ``flops`` = 2 × MACs (None when unknown); ``bytes_moved`` = inputs + outputs + weights and buffers at their
    dtype's size; ``intensity`` = flops / bytes_moved; ``bound`` is ``compute``, ``memory``, ``launch`` or None
    (unknown roofline); ``roofline_fraction`` = shortest possible time / measured time.
    """

    path: str
    op: str
    output_shape: tuple[int, ...]
    time_ms: float
    share: float
    flops: int | None
    bytes_moved: int
    tflops: float | None
    intensity: float | None
    bound: str | None
    roofline_fraction: float | None


@frozen
class BenchResult:
    """One network at one batch size on one device.

    ``input_shape`` is one image in torch's order (C, H, W) or (N,); ``batch`` is what was measured and
    ``requested_batch`` what was asked (they differ after out-of-memory halving). ``peak_fraction`` is None when
    the peak is unknown; ``above_peak`` flags a figure over the device's peak, which is a measurement error.
    With per-layer timings, ``launch_floor_us`` is the measured per-op floor of the device and
    ``layer_coverage`` the share of a hooked eager forward that the timed layers account for (the rest is
    residual additions, concatenations and Python between layers).
    """

    name: str
    device: str
    device_name: str
    batch: int
    requested_batch: int
    precision: str
    layout: str
    compile: str
    cuda_graphs: bool
    threads: int
    torch_version: str
    input_shape: tuple[int, ...]
    macs_per_image: int
    first_call_ms: float
    median_ms: float
    iqr_ms: float
    min_ms: float
    repeats: int
    calls_per_repeat: int
    warmup_calls: int
    images_per_s: float
    gmacs_per_s: float
    tflops: float
    peak_tflops: float | None
    peak_source: str | None
    peak_fraction: float | None
    noisy: bool
    above_peak: bool
    notes: tuple[str, ...] = ()
    layers: tuple[LayerTiming, ...] | None = None
    launch_floor_us: float | None = None
    layer_coverage: float | None = None
    #: What one timed call is: ``inference`` (a forward pass) or ``train`` (a training step: forward, loss,
    #: backward, optimizer step; ``macs_per_image`` then counts forward + backward).
    mode: str = "inference"

    @property
    def spread(self) -> float:
        """IQR / median."""
        return self.iqr_ms / self.median_ms if self.median_ms > 0 else float("inf")


@frozen
class BenchRun:
    """Every result of one request, in order. ``interrupted`` is True when Ctrl-C stopped it early: the
    results are then the runs that finished."""

    results: tuple[BenchResult, ...]
    interrupted: bool = False


@frozen
class ProgressEvent:
    """Sent to the progress callback: ``phase`` is ``build``, ``first call``, ``warm-up``, ``measure``,
    ``per-layer`` or ``done``; ``fraction`` is how far this network × batch run is (0…1)."""

    name: str
    batch: int
    phase: str
    fraction: float
