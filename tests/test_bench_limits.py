"""``cnncost bench`` bounds its work: a finite warm-up and measuring time, a bounded number of repeats and
threads, and a batch whose estimated memory fits the device — each refused with one line before any work.
Arguments of the wrong Python type raise TypeError."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from cnncost.bench.config import MAX_MIN_TIME_S, MAX_REPEATS, MAX_WARMUP_S, BenchConfig, max_threads
from cnncost.errors import CnnCostError, UsageError


@pytest.mark.parametrize(
    "kwargs",
    [
        {"warmup_s": math.inf},
        {"warmup_s": math.nan},
        {"warmup_s": MAX_WARMUP_S * 2},
        {"min_time_s": math.inf},
        {"min_time_s": math.nan},
        {"min_time_s": MAX_MIN_TIME_S * 2},
        {"repeats": 1_000_000_000},
        {"repeats": MAX_REPEATS + 1},
        {"threads": 100_000},
        {"threads": max_threads() + 1},
        {"peak_tflops": math.inf},
        {"bandwidth_gbs": math.nan},
    ],
)
def test_config_bounds_the_work(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError) as info:
        BenchConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_config_at_the_bounds_is_accepted() -> None:
    BenchConfig(warmup_s=MAX_WARMUP_S, min_time_s=MAX_MIN_TIME_S, repeats=MAX_REPEATS, threads=max_threads())


def test_max_threads_follows_the_machine() -> None:
    assert max_threads() == 4 * (os.cpu_count() or 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"device": 0},
        {"batches": 8},
        {"batches": ("8",)},
        {"precision": 16},
        {"threads": "4"},
        {"threads": 2.5},
        {"warmup_s": "1"},
        {"min_time_s": None},
        {"repeats": 10.0},
        {"repeats": True},
        {"per_layer": "yes"},
        {"channels_last": 1},
        {"peak_tflops": "100"},
    ],
)
def test_config_wrong_types_are_type_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        BenchConfig(**kwargs)  # type: ignore[arg-type]


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    env.pop("CNNCOST_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "cnncost", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.parametrize(
    "option",
    [
        ["--warmup", "inf"],
        ["--warmup", "nan"],
        ["--min-time", "inf"],
        ["--repeats", "1000000000"],
        ["--threads", "100000"],
        ["--batch", "100000000"],
    ],
)
def test_cli_refuses_unbounded_work_in_one_line(option: list[str]) -> None:
    pytest.importorskip("torch")
    start = time.monotonic()
    result = _cli("bench", "lenet5", "--device", "cpu", *option)
    assert time.monotonic() - start < 30
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr


def test_batch_over_memory_names_the_size() -> None:
    pytest.importorskip("torch")
    result = _cli("bench", "lenet5", "--device", "cpu", "--batch", "100000000")
    assert result.returncode == 2
    assert "100000000" in result.stderr.replace(",", "") and "GB" in result.stderr


def test_batch_memory_estimate_against_a_small_device() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    from cnncost.bench.backend import Backend
    from cnncost.bench.runner import run_bench

    built: list[int] = []

    def factory(device: Any) -> nn.Module:
        built.append(1)
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 8 * 8, 4))

    small = Backend(kind="cpu", device=torch.device("cpu"), name="tiny", memory_bytes=10_000_000)
    cfg = BenchConfig(device="cpu", batches=(1, 100_000), warmup_s=0.0, min_time_s=0.0, repeats=3)
    # 8×8×3 input and an 8×8×8 activation per image: fp32 at batch 100,000 is hundreds of MB.
    with pytest.raises(UsageError) as info:
        run_bench(factory, 1000, cfg, input_shape=(8, 8, 3), backend=small, activation_elements=8 * 8 * 8)
    assert "100,000" in str(info.value) or "100000" in str(info.value)
    assert built == []  # refused before building or allocating anything
    ok = run_bench(
        factory, 1000, BenchConfig(device="cpu", batches=(2,), warmup_s=0.0, min_time_s=0.0, repeats=3),
        input_shape=(8, 8, 3), backend=small, activation_elements=8 * 8 * 8,
    )
    assert [r.batch for r in ok.results] == [2]


def test_api_bench_wrong_config_type_and_infinite_warmup() -> None:
    pytest.importorskip("torch")
    from cnncost import api

    with pytest.raises(TypeError):
        api.bench("lenet5", config="fast")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        api.bench("lenet5", progress="yes")  # type: ignore[arg-type]
    with pytest.raises(CnnCostError):
        api.bench("lenet5", config=BenchConfig(device="cpu", warmup_s=math.inf))
