"""Statistics and unit conversions of a timing run: pure arithmetic, no torch, no clock.

Every figure a result reports is derived here from per-call seconds, so it can be checked by hand:

* quartiles by linear interpolation between closest ranks (numpy's default, ``statistics.quantiles`` with
  ``method="inclusive"``): the q-quantile of sorted ``x[0..n-1]`` sits at rank ``q·(n−1)``;
* images/s = batch / median seconds;
* GMAC/s = MACs per image × batch / median seconds / 10⁹;
* TFLOP/s = 2 × MACs per image × batch / median seconds / 10¹² (FLOPs = 2 × MACs, CONVENTIONS.md);
* fraction of peak = achieved TFLOP/s / peak TFLOP/s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cnncost.bench.config import NOISY_THRESHOLD
from cnncost.frozen import frozen


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0 ≤ q ≤ 1) by linear interpolation at rank ``q·(n−1)`` of the sorted values."""
    if not values:
        raise ValueError("quantile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    xs = sorted(values)
    rank = q * (len(xs) - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo)


@frozen
class Summary:
    """Median, quartiles, IQR and extremes of per-call times (seconds)."""

    n: int
    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def spread(self) -> float:
        """IQR / median: the relative spread that decides whether a result is noisy."""
        return self.iqr / self.median if self.median > 0 else math.inf

    @property
    def noisy(self) -> bool:
        return self.spread > NOISY_THRESHOLD


def summarize(samples: Sequence[float]) -> Summary:
    if not samples:
        raise ValueError("no timing samples")
    return Summary(
        n=len(samples),
        median=quantile(samples, 0.5),
        q1=quantile(samples, 0.25),
        q3=quantile(samples, 0.75),
        minimum=min(samples),
        maximum=max(samples),
    )


@frozen
class Throughput:
    images_per_s: float
    gmacs_per_s: float
    tflops: float


def throughput(*, batch: int, seconds: float, macs_per_image: int) -> Throughput:
    """Achieved rates for one forward pass of ``batch`` images taking ``seconds``."""
    if seconds <= 0:
        raise ValueError(f"a forward pass cannot take {seconds} s")
    macs = macs_per_image * batch
    return Throughput(
        images_per_s=batch / seconds,
        gmacs_per_s=macs / seconds / 1e9,
        tflops=2 * macs / seconds / 1e12,
    )


def peak_fraction(tflops: float, peak_tflops: float | None) -> float | None:
    """Achieved / peak, or None when the peak is unknown. Above 1 is a measurement error, never a success."""
    if peak_tflops is None or peak_tflops <= 0:
        return None
    return tflops / peak_tflops
