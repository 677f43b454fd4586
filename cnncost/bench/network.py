"""Benchmark networks from their specs: resolve, analyze (for the MACs), build with random weights, time.

Nothing is downloaded: the module is built from the spec by ``cnncost.torch.build`` with fresh random weights,
which time exactly like trained ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnncost import ir
from cnncost.analysis.engine import analyze_network
from cnncost.analysis.records import Report
from cnncost.bench.config import BenchConfig
from cnncost.bench.results import BenchResult, BenchRun
from cnncost.bench.runner import LayerHint, ProgressCallback, run_bench
from cnncost.spec.load import load_network

Spec = str | Path | ir.Network


def _size(size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    return (size, size) if isinstance(size, int) else size


def layer_hints(report: Report) -> dict[str, LayerHint]:
    """Module path → op and FLOPs per image (2 × MACs), for every layer of a batch-1 report."""
    per_image = max(report.batch, 1)
    return {r.path: LayerHint(r.op, 2 * r.macs // per_image) for r in report.layers()}


def bench_network(
    spec: Spec,
    config: BenchConfig,
    *,
    size: int | tuple[int, int] | None = None,
    variables: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> BenchRun:
    """Time one network (a bundled name, a spec file or a resolved ``Network``) at every batch of ``config``."""
    network = load_network(spec, size=_size(size), variables=variables)
    return _bench_resolved(network, config, progress)


def _bench_resolved(network: ir.Network, config: BenchConfig, progress: ProgressCallback | None) -> BenchRun:
    from cnncost.torch.build import build_module

    report = analyze_network(network)

    def factory(device: torch.device) -> nn.Module:
        return build_module(network, device=device)

    return run_bench(
        factory,
        report.totals.macs // max(report.batch, 1),
        config,
        input_shape=tuple(network.input_shape),
        name=network.name,
        layer_hints=layer_hints(report),
        progress=progress,
        activation_elements=max((math.prod(r.output_shape) for r in report.layers()), default=None),
        param_count=report.totals.params,
    )


def bench_networks(
    specs: Sequence[Spec],
    config: BenchConfig,
    *,
    size: int | tuple[int, int] | None = None,
    variables: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> BenchRun:
    """Time several networks in turn: one run whose results make one comparison table.

    Every spec is resolved first, so a typo in the third name fails before minutes of timing. Ctrl-C returns
    the results that finished, with ``interrupted`` set.
    """
    networks = [load_network(spec, size=_size(size), variables=variables) for spec in specs]
    results: list[BenchResult] = []
    for network in networks:
        try:
            run = _bench_resolved(network, config, progress)
        except KeyboardInterrupt:
            return BenchRun(tuple(results), interrupted=True)
        results.extend(run.results)
        if run.interrupted:
            return BenchRun(tuple(results), interrupted=True)
    return BenchRun(tuple(results))
