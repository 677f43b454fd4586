"""Timing methodology and results of ``cnncost bench``; knows nothing of terminals.

The light parts (``BenchConfig``, results, statistics, the timer, the peak table, the roofline) import no torch.
``run_bench`` and ``bench_network`` need PyTorch and are imported on first use, so ``import cnncost.bench``
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.bench.config import PRECISIONS, BenchConfig, parse_batches
from cnncost.bench.results import BenchResult, BenchRun, LayerTiming, ProgressEvent

__all__ = [
    "PRECISIONS",
    "BenchConfig",
    "BenchResult",
    "BenchRun",
    "LayerHint",
    "LayerTiming",
    "ProgressEvent",
    "bench_network",
    "bench_networks",
    "parse_batches",
    "run_bench",
]

if TYPE_CHECKING:
    from cnncost.bench.network import bench_network, bench_networks
    from cnncost.bench.runner import LayerHint, run_bench

_LAZY = {
    "run_bench": "cnncost.bench.runner",
    "LayerHint": "cnncost.bench.runner",
    "bench_network": "cnncost.bench.network",
    "bench_networks": "cnncost.bench.network",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        from cnncost.errors import require_torch

        require_torch("cnncost bench")
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cnncost.bench' has no attribute {name!r}")
