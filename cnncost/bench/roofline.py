"""Per-layer roofline: what bounds a layer, from its time, its FLOPs and the bytes it moves.

For a layer doing ``F`` FLOPs and moving ``B`` bytes (inputs + outputs + weights, at the dtype's size) on a device
with peak ``P`` FLOP/s and memory bandwidth ``W`` bytes/s:

* arithmetic intensity ``I = F / B`` (FLOP per byte); the ridge point is ``P / W``;
* the roofline's shortest possible time is ``max(F / P, B / W)``; achieved / attainable is that time divided by
  the measured one;
* **launch**-bound: the layer is so small that launching it costs more than its work — its measured time is
  within ``LAUNCH_FACTOR`` × the device's kernel-launch floor (measured on the spot: the time of a one-element
  add), or the roofline time is below that floor;
* otherwise **compute**-bound when ``I`` ≥ ridge point, **memory**-bound below it.

Without a known peak and bandwidth only the launch test can be made; other layers stay unclassified (None).
"""

from __future__ import annotations

from cnncost.frozen import frozen

#: A layer whose time is within this factor of the launch floor is launch-bound.
LAUNCH_FACTOR = 2.0

BOUNDS = ("compute", "memory", "launch")


@frozen
class Roofline:
    """Device limits for one precision. ``None`` where unknown."""

    peak_flops: float | None  # FLOP/s
    bandwidth: float | None  # bytes/s
    launch_floor_s: float | None

    @property
    def ridge(self) -> float | None:
        """FLOP per byte where the compute and memory roofs meet."""
        if self.peak_flops is None or self.bandwidth is None:
            return None
        return self.peak_flops / self.bandwidth

    def attainable_s(self, flops: int, bytes_moved: int) -> float | None:
        if self.peak_flops is None or self.bandwidth is None:
            return None
        return max(flops / self.peak_flops, bytes_moved / self.bandwidth)


def intensity(flops: int, bytes_moved: int) -> float | None:
    """FLOPs per byte moved (None when nothing is moved)."""
    return flops / bytes_moved if bytes_moved > 0 else None


def classify(time_s: float, flops: int, bytes_moved: int, roof: Roofline) -> tuple[str | None, float | None]:
    """``(bound, fraction of the roofline achieved)`` for one layer; either may be None when unknown."""
    attainable = roof.attainable_s(flops, bytes_moved)
    fraction = attainable / time_s if attainable is not None and time_s > 0 else None
    floor = roof.launch_floor_s
    if floor is not None and (time_s <= LAUNCH_FACTOR * floor or (attainable is not None and attainable < floor)):
        return "launch", fraction
    ridge = roof.ridge
    ai = intensity(flops, bytes_moved)
    if ridge is None or ai is None:
        return None, fraction
    return ("compute" if ai >= ridge else "memory"), fraction
