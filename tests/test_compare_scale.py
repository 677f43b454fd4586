"""``compare`` scales linearly with the number of rows: matching paths is not a list search per path."""

from __future__ import annotations

import random
import time

from cnncost.analysis.compare import _merge_order


def _reference_merge(orders: list[list[str]]) -> list[str]:
    """The rule, written the slow obvious way: the first network's order kept; a path only later networks have
    goes right after its predecessor in that network."""
    merged: list[str] = []
    for order in orders:
        position = 0
        for path in order:
            if path in merged:
                position = merged.index(path) + 1
            else:
                merged.insert(position, path)
                position += 1
    return merged


def test_merge_order_keeps_the_rule() -> None:
    rng = random.Random(7)
    for _ in range(200):
        universe = [f"p{i}" for i in range(rng.randint(0, 12))]
        orders = [rng.sample(universe, rng.randint(0, len(universe))) for _ in range(rng.randint(1, 4))]
        assert _merge_order(orders) == _reference_merge(orders)


def _best_time(orders: list[list[str]]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        _merge_order(orders)
        best = min(best, time.perf_counter() - start)
    return best


def test_merge_order_is_linear() -> None:
    """8× the paths may cost about 8× the time (a linked order), not 64× (a list.index per path). The baseline
    is measured here, on this machine, so only the ratio is asserted."""

    def orders(n: int) -> list[list[str]]:
        paths = [f"layer{i}.conv" for i in range(n)]
        return [paths, list(paths), paths[::2] + [f"extra{i}" for i in range(n // 2)]]

    small, large = orders(2_000), orders(16_000)
    ratio = _best_time(large) / max(_best_time(small), 1e-6)
    assert ratio < 24, f"8x the paths took {ratio:.0f}x the time"
