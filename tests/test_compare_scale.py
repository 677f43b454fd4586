"""``compare`` scales linearly with the number of rows: matching paths is not a list search per path."""

from __future__ import annotations

import random

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


class _Counted(str):
    """A path that counts how often it is hashed or compared: the work a merge does, without a clock."""

    work = 0

    def __hash__(self) -> int:
        _Counted.work += 1
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        _Counted.work += 1
        return str.__eq__(self, other)


def _work(n: int) -> int:
    paths = [_Counted(f"layer{i}.conv") for i in range(n)]
    extra = [_Counted(f"extra{i}") for i in range(n // 2)]
    _Counted.work = 0
    _merge_order([paths, list(paths), paths[::2] + extra])
    return _Counted.work


def test_merge_order_is_linear() -> None:
    """8× the paths cost 8× the work (a linked order), not 64× (a list.index per path): counted in hash and
    equality calls, so the test needs no clock and cannot flake on a busy machine."""
    ratio = _work(16_000) / _work(2_000)
    assert ratio < 9, f"8x the paths took {ratio:.1f}x the work"
    assert _reference_work_ratio() > 20  # the obvious quadratic merge is caught by the same measure


def _reference_work_ratio() -> float:
    def work(n: int) -> int:
        paths = [_Counted(f"layer{i}.conv") for i in range(n)]
        extra = [_Counted(f"extra{i}") for i in range(n // 2)]
        _Counted.work = 0
        _reference_merge([paths, list(paths), paths[::2] + extra])
        return _Counted.work

    return work(800) / work(100)
