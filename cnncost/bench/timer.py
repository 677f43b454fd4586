"""The timing loop, with the clock and the device synchronization injected.

Nothing here imports torch. The runner passes ``time.perf_counter`` and, on a GPU, ``torch.cuda.synchronize``;
tests pass a fake clock and a recording mock, so the warm-up, the repeat sizing, the statistics and the points
where the device is synchronized are all checked without a GPU.

The rule every measurement follows: **synchronize, read the clock, run the calls, synchronize, read the clock**.
A GPU runs kernels asynchronously; reading a wall clock without the second synchronize measures how fast Python
can queue work, not how fast the GPU does it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from cnncost.frozen import frozen

Clock = Callable[[], float]
Sync = Callable[[], None]


def _no_sync() -> None:
    return None


@frozen
class Timer:
    """A synchronized stopwatch: ``clock`` returns seconds; ``synchronize`` waits for the device."""

    clock: Clock = time.perf_counter
    synchronize: Sync = _no_sync

    def time_calls(self, fn: Callable[[], object], calls: int) -> float:
        """Total seconds of ``calls`` back-to-back calls of ``fn``, synchronized before and after."""
        if calls < 1:
            raise ValueError("time_calls needs at least one call")
        self.synchronize()
        start = self.clock()
        for _ in range(calls):
            fn()
        self.synchronize()
        return self.clock() - start


@frozen
class Measurement:
    """Raw timing of one configuration. ``samples_s`` holds seconds per call, one value per repeat."""

    warmup_calls: int
    warmup_s: float
    calls_per_repeat: int
    samples_s: tuple[float, ...]


#: The warm-up runs at least this many calls, whatever its time budget.
MIN_WARMUP_CALLS = 2


def calls_per_repeat(estimate_s: float, *, min_time_s: float, repeats: int) -> int:
    """How many back-to-back calls make one repeat last ``min_time_s / repeats`` (at least one)."""
    if estimate_s <= 0:
        return 1
    # The small tolerance keeps an exact ratio (0.25 s / 0.125 s) from rounding up through float error.
    return max(1, math.ceil(min_time_s / repeats / estimate_s - 1e-9))


def measure(
    fn: Callable[[], object],
    timer: Timer,
    *,
    warmup_s: float,
    min_time_s: float,
    repeats: int,
    on_step: Callable[[str, float], None] | None = None,
) -> Measurement:
    """Warm up by time at the exact shapes, then time ``repeats`` repeats.

    The warm-up calls ``fn`` one at a time (each synchronized) until ``warmup_s`` seconds have passed and at least
    ``MIN_WARMUP_CALLS`` calls were made; the fastest call of its second half sizes the repeats
    (``calls_per_repeat``).
    ``on_step(phase, fraction)`` reports progress (``"warm-up"``/``"measure"``, 0…1).
    """
    step = on_step or (lambda phase, fraction: None)
    step("warm-up", 0.0)
    warm: list[float] = []
    elapsed = 0.0
    while len(warm) < MIN_WARMUP_CALLS or elapsed < warmup_s:
        t = timer.time_calls(fn, 1)
        warm.append(t)
        elapsed += t
        step("warm-up", min(1.0, elapsed / warmup_s) if warmup_s > 0 else 1.0)
    # The first warm-up calls are often far slower (allocations, autotuning): size the repeats from the fastest
    # call of the second half, the steady state.
    estimate = min(warm[len(warm) // 2 :])
    n = calls_per_repeat(estimate, min_time_s=min_time_s, repeats=repeats)
    samples: list[float] = []
    step("measure", 0.0)
    for i in range(repeats):
        samples.append(timer.time_calls(fn, n) / n)
        step("measure", (i + 1) / repeats)
    return Measurement(warmup_calls=len(warm), warmup_s=elapsed, calls_per_repeat=n, samples_s=tuple(samples))
