"""cnncost.bench without torch: statistics, unit conversions, the timing loop against a fake clock and a mocked
synchronize, the peak table, the roofline, the configuration and the output formats."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace

import pytest

from cnncost.bench.config import (
    CPU_DEFAULTS,
    CUDA_DEFAULTS,
    BenchConfig,
    config_from_options,
    parse_batches,
)
from cnncost.bench.peaks import DEVICE_PEAKS, lookup
from cnncost.bench.results import BenchResult, LayerTiming
from cnncost.bench.roofline import Roofline, classify, intensity
from cnncost.bench.stats import peak_fraction, quantile, summarize, throughput
from cnncost.bench.timer import MIN_WARMUP_CALLS, Timer, calls_per_repeat, measure
from cnncost.errors import UsageError

# ---------------------------------------------------------------------------------------------- fakes


class FakeClock:
    """A clock that only moves when a fake forward pass says so; every event lands in one shared log."""

    def __init__(self, log: list[str]) -> None:
        self.now = 0.0
        self.log = log

    def __call__(self) -> float:
        self.log.append("clock")
        return self.now


class FakeForward:
    """A "forward pass" that advances the fake clock by the next scripted duration (the last one repeats)."""

    def __init__(self, clock: FakeClock, durations: list[float]) -> None:
        self.clock = clock
        self.durations = list(durations)
        self.calls = 0

    def __call__(self) -> None:
        d = self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1
        self.clock.now += d
        self.clock.log.append("call")


def fake(durations: list[float]) -> tuple[Timer, FakeForward, list[str]]:
    log: list[str] = []
    clock = FakeClock(log)
    return Timer(clock=clock, synchronize=lambda: log.append("sync")), FakeForward(clock, durations), log


# ------------------------------------------------------------------------------------------- statistics


def test_quantile_interpolates_between_closest_ranks() -> None:
    # [1, 2, 3, 4]: q1 at rank 0.75 → 1.75; median at rank 1.5 → 2.5; q3 at rank 2.25 → 3.25.
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.25) == pytest.approx(1.75)
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.5) == pytest.approx(2.5)
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.75) == pytest.approx(3.25)
    assert quantile([7.0], 0.25) == 7.0
    with pytest.raises(ValueError):
        quantile([], 0.5)


def test_summary_median_iqr_min_and_noisy_flag() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])  # ranks: q1 = x[1] = 2, median = x[2] = 3, q3 = x[3] = 4
    assert (s.median, s.q1, s.q3, s.iqr, s.minimum, s.maximum) == (3.0, 2.0, 4.0, 2.0, 1.0, 100.0)
    assert s.noisy  # 2 / 3 > 10 %
    quiet = summarize([10.0, 10.2, 10.4, 10.6, 10.8])  # IQR 0.4 over median 10.4: 3.8 %
    assert quiet.iqr == pytest.approx(0.4)
    assert not quiet.noisy
    edge = summarize([9.5, 9.5, 10.0, 10.5, 10.5])  # IQR exactly 1.0 = 10 % of 10: not above the threshold
    assert edge.spread == pytest.approx(0.1)
    assert not edge.noisy


def test_throughput_units_by_hand() -> None:
    # ResNet-50: 4,089,184,256 MACs per image; batch 8 in 20 ms.
    t = throughput(batch=8, seconds=0.020, macs_per_image=4_089_184_256)
    assert t.images_per_s == pytest.approx(400.0)
    assert t.gmacs_per_s == pytest.approx(4_089_184_256 * 8 / 0.020 / 1e9)  # 1,635.67 GMAC/s
    assert t.gmacs_per_s == pytest.approx(1635.6737024)
    assert t.tflops == pytest.approx(3.2713474048)  # FLOPs = 2 × MACs
    with pytest.raises(ValueError):
        throughput(batch=1, seconds=0.0, macs_per_image=1)


def test_peak_fraction() -> None:
    assert peak_fraction(494.5, 989.0) == pytest.approx(0.5)
    assert peak_fraction(1.0, None) is None
    assert peak_fraction(2000.0, 989.0) == pytest.approx(2000 / 989)  # > 1: the caller flags it as an error


# --------------------------------------------------------------------------------------------- the timer


def test_time_calls_synchronizes_before_and_after_the_window() -> None:
    timer, fn, log = fake([0.5])
    assert timer.time_calls(fn, 3) == pytest.approx(1.5)
    # The device is drained before the start is read, and again before the end is read: an unsynchronized
    # GPU would otherwise be timed by how fast Python queues kernels.
    assert log == ["sync", "clock", "call", "call", "call", "sync", "clock"]


def test_every_clock_reading_after_work_is_preceded_by_a_sync() -> None:
    timer, fn, log = fake([0.25, 0.125, 0.125])
    measure(fn, timer, warmup_s=0.5, min_time_s=1.0, repeats=4)
    last_clock = -1
    for i, event in enumerate(log):
        if event != "clock":
            continue
        window = log[last_clock + 1 : i]
        if "call" in window:
            assert window[-1] == "sync", f"clock read at event {i} without a synchronize after the last call"
        last_clock = i


def test_warmup_by_time_then_repeats_sized_from_the_warm_state() -> None:
    # First warm-up call 0.25 s (cold), then 0.125 s per call. warmup_s = 0.5: 0.25 + 0.125 + 0.125 = 0.5 →
    # three calls. The repeats are sized from the fastest call of the warm-up's second half (0.125 s):
    # min_time 1.0 s over 4 repeats = 0.25 s per repeat = 2 calls.
    timer, fn, _ = fake([0.25, 0.125])
    m = measure(fn, timer, warmup_s=0.5, min_time_s=1.0, repeats=4)
    assert m.warmup_calls == 3
    assert m.warmup_s == pytest.approx(0.5)
    assert m.calls_per_repeat == 2
    assert m.samples_s == pytest.approx((0.125,) * 4)
    assert fn.calls == 3 + 4 * 2


def test_warmup_makes_at_least_the_minimum_calls() -> None:
    timer, fn, _ = fake([0.5])
    m = measure(fn, timer, warmup_s=0.0, min_time_s=0.0, repeats=3)
    assert m.warmup_calls == MIN_WARMUP_CALLS
    assert m.calls_per_repeat == 1
    assert len(m.samples_s) == 3


def test_samples_are_seconds_per_call_of_each_repeat() -> None:
    # Warm-up: 2 calls of 1 s (warmup_s 0) → estimate 1 s, min_time 3 s / 3 repeats → 1 call per repeat.
    timer, fn, _ = fake([1.0, 1.0, 2.0, 1.0, 4.0])
    m = measure(fn, timer, warmup_s=0.0, min_time_s=3.0, repeats=3)
    assert m.samples_s == pytest.approx((2.0, 1.0, 4.0))
    s = summarize(m.samples_s)
    assert (s.median, s.minimum) == (2.0, 1.0)
    assert s.iqr == pytest.approx(3.0 - 1.5)


def test_calls_per_repeat() -> None:
    assert calls_per_repeat(0.125, min_time_s=1.0, repeats=4) == 2
    assert calls_per_repeat(0.1, min_time_s=2.0, repeats=10) == 2  # 0.2 / 0.1 is 2.0000000000000004 in floats
    assert calls_per_repeat(0.3, min_time_s=2.0, repeats=10) == 1
    assert calls_per_repeat(1e-5, min_time_s=2.0, repeats=10) == 20_000
    assert calls_per_repeat(0.0, min_time_s=2.0, repeats=10) == 1


def test_progress_steps_reach_one() -> None:
    timer, fn, _ = fake([0.125])
    seen: list[tuple[str, float]] = []
    measure(fn, timer, warmup_s=0.25, min_time_s=0.5, repeats=4, on_step=lambda p, f: seen.append((p, f)))
    assert seen[0] == ("warm-up", 0.0)
    assert ("warm-up", 1.0) in seen
    assert seen[-1] == ("measure", 1.0)


# ------------------------------------------------------------------------------------------ peaks table


@pytest.mark.parametrize(
    ("device_name", "row", "bf16", "bandwidth"),
    [
        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM", 989.0, 3350.0),
        ("NVIDIA H100 PCIe", "NVIDIA H100 PCIe", 756.0, 2000.0),
        ("NVIDIA H100 NVL", "NVIDIA H100 NVL", 835.5, 3900.0),
        ("NVIDIA H200", "NVIDIA H200 SXM", 989.0, 4800.0),
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB SXM", 312.0, 2039.0),
        ("NVIDIA A100 80GB PCIe", "NVIDIA A100 80GB PCIe", 312.0, 1935.0),
        ("NVIDIA A100-PCIE-40GB", "NVIDIA A100 40GB", 312.0, 1555.0),
        ("NVIDIA L40S", "NVIDIA L40S", 362.05, 864.0),
        ("NVIDIA L4", "NVIDIA L4", 121.0, 300.0),
        ("NVIDIA A10", "NVIDIA A10", 125.0, 600.0),
        ("Tesla T4", "NVIDIA T4", None, 320.0),
        ("Tesla V100-SXM2-16GB", "NVIDIA V100 SXM2", None, 900.0),
        ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090", 165.2, 1008.0),
    ],
)
def test_peak_lookup(device_name: str, row: str, bf16: float | None, bandwidth: float) -> None:
    found = lookup(device_name)
    assert found is not None
    assert found.name == row
    assert found.tflops("bf16") == bf16
    assert found.bandwidth_gbs == bandwidth


def test_h100_sxm_dense_peaks_from_the_issue() -> None:
    h100 = lookup("NVIDIA H100 80GB HBM3")
    assert h100 is not None
    assert (h100.tflops("fp32"), h100.tflops("tf32"), h100.tflops("bf16"), h100.tflops("fp16")) == (
        67.0,
        495.0,
        989.0,
        989.0,
    )


@pytest.mark.parametrize("name", ["AMD EPYC 9654", "NVIDIA GH200 480GB", "NVIDIA L40", "NVIDIA A10G", "cpu"])
def test_unknown_devices_have_no_peak(name: str) -> None:
    assert lookup(name) is None


def test_peak_table_is_dense_and_consistent() -> None:
    for row in DEVICE_PEAKS:
        assert row.fp32 > 0 and row.bandwidth_gbs > 0
        for low in (row.tf32, row.bf16, row.fp16):
            assert low is None or low >= row.fp32  # tensor-core paths are never slower than fp32


# -------------------------------------------------------------------------------------------- roofline

H100ISH = Roofline(peak_flops=100e12, bandwidth=1e12, launch_floor_s=5e-6)  # ridge 100 FLOP/B


def test_roofline_compute_bound() -> None:
    # 1 GFLOP over 1 MB: 1000 FLOP/B ≥ 100 → compute; roofline time max(1e-5, 1e-6) = 10 µs; measured 20 µs.
    assert intensity(10**9, 10**6) == pytest.approx(1000.0)
    bound, frac = classify(20e-6, 10**9, 10**6, H100ISH)
    assert bound == "compute"
    assert frac == pytest.approx(0.5)


def test_roofline_memory_bound() -> None:
    # 1 MFLOP over 100 MB: 0.01 FLOP/B < 100 → memory; roofline time 100 µs; measured 400 µs.
    bound, frac = classify(400e-6, 10**6, 10**8, H100ISH)
    assert bound == "memory"
    assert frac == pytest.approx(0.25)


def test_roofline_launch_bound() -> None:
    assert classify(8e-6, 10**9, 10**6, H100ISH)[0] == "launch"  # within 2 × the 5 µs floor
    # 50 µs measured, but the work could be done in 0.1 µs: the time is launch overhead, not arithmetic.
    assert classify(50e-6, 10**6, 10**5, H100ISH)[0] == "launch"


def test_roofline_unknown_device() -> None:
    roof = Roofline(peak_flops=None, bandwidth=None, launch_floor_s=2e-6)
    assert classify(1e-3, 10**9, 10**6, roof) == (None, None)
    assert classify(3e-6, 10**9, 10**6, roof)[0] == "launch"
    assert intensity(5, 0) is None


# ------------------------------------------------------------------------------------------------ config


def test_device_defaults() -> None:
    cpu = BenchConfig().for_device("cpu")
    assert (cpu.batches, cpu.precision, cpu.channels_last, cpu.compile, cpu.cuda_graphs) == (
        CPU_DEFAULTS["batches"],
        "fp32",
        False,
        "off",
        False,
    )
    gpu = BenchConfig().for_device("cuda")
    assert (gpu.batches, gpu.precision, gpu.channels_last, gpu.compile, gpu.cuda_graphs) == (
        CUDA_DEFAULTS["batches"],
        "bf16",
        True,
        "default",
        True,
    )
    assert BenchConfig().for_device("cuda", compile_available=False).compile == "off"
    explicit = BenchConfig(precision="fp32", compile="off", batches=(4,)).for_device("cuda")
    assert (explicit.precision, explicit.compile, explicit.batches) == ("fp32", "off", (4,))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"device": "gpu"},
        {"batches": ()},
        {"batches": (0,)},
        {"precision": "fp64"},
        {"compile": "fast"},
        {"threads": 0},
        {"warmup_s": -1.0},
        {"repeats": 2},
        {"peak_tflops": 0.0},
    ],
)
def test_config_refuses_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError) as info:
        BenchConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_parse_batches() -> None:
    assert parse_batches("1,8, 64") == (1, 8, 64)
    for bad in ("", "0", "1,,2", "a", "-1"):
        with pytest.raises(UsageError):
            parse_batches(bad)


def test_config_from_options_compile_flags() -> None:
    assert config_from_options().compile is None  # device default
    assert config_from_options(compile=False).compile == "off"
    assert config_from_options(compile=True).compile == "default"
    assert config_from_options(compile=True, compile_mode="max-autotune").compile == "max-autotune"
    assert config_from_options(compile_mode="reduce-overhead").compile == "reduce-overhead"
    c = config_from_options(device="CUDA:1", batch="1,256", precision="BF16", peak=100.0)
    assert (c.device, c.batches, c.precision, c.peak_tflops) == ("cuda:1", (1, 256), "bf16", 100.0)


# ------------------------------------------------------------------------------------------------ output


def sample_result(**changes: object) -> BenchResult:
    base = BenchResult(
        name="resnet50",
        device="cuda:0",
        device_name="NVIDIA H100 80GB HBM3",
        batch=256,
        requested_batch=256,
        precision="bf16",
        layout="channels_last",
        compile="default",
        cuda_graphs=True,
        threads=16,
        torch_version="2.13.0",
        input_shape=(224, 224, 3),
        macs_per_image=4_089_184_256,
        first_call_ms=41_000.0,
        median_ms=12.0,
        iqr_ms=0.1,
        min_ms=11.9,
        repeats=10,
        calls_per_repeat=17,
        warmup_calls=80,
        images_per_s=256 / 0.012,
        gmacs_per_s=4_089_184_256 * 256 / 0.012 / 1e9,
        tflops=2 * 4_089_184_256 * 256 / 0.012 / 1e12,
        peak_tflops=989.0,
        peak_source="NVIDIA H100 SXM (NVIDIA H100 Tensor Core GPU datasheet)",
        peak_fraction=2 * 4_089_184_256 * 256 / 0.012 / 1e12 / 989.0,
        noisy=False,
        above_peak=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


REQUIRED_JSON = {
    "name": str,
    "device": str,
    "batch": int,
    "precision": str,
    "median_ms": float,
    "iqr_ms": float,
    "min_ms": float,
    "images_per_s": float,
    "tflops": float,
}


def check_json_schema(items: object) -> None:
    """The JSON contract of issue 4: a list of objects with at least these keys and types."""
    assert isinstance(items, list)
    for item in items:
        assert isinstance(item, dict)
        for key, kind in REQUIRED_JSON.items():
            assert isinstance(item[key], kind), key
        assert "peak_fraction" in item
        assert item["peak_fraction"] is None or isinstance(item["peak_fraction"], float)
        assert item["shape_order"] == "HWC"
        assert isinstance(item["input"], list)
        assert isinstance(item["notes"], list)
        assert isinstance(item["noisy"], bool)


def test_json_schema_and_values() -> None:
    from cnncost.render.bench import bench_json

    cpu = sample_result(device="cpu", device_name="AMD EPYC", peak_tflops=None, peak_fraction=None, batch=8)
    items = json.loads(bench_json([sample_result(), cpu]))
    check_json_schema(items)
    # 2 × 4,089,184,256 × 256 / 0.012 s = 174.47 TFLOP/s, of 989: 17.64 %
    assert items[0]["tflops"] == pytest.approx(174.471, abs=1e-3)
    assert items[0]["peak_fraction"] == pytest.approx(0.17641, abs=1e-5)
    assert items[0]["images_per_s"] == pytest.approx(21_333.33, abs=0.01)
    assert items[1]["peak_fraction"] is None
    assert items[0]["input"] == [224, 224, 3]
    assert "layers" not in items[0]


def test_json_with_layers() -> None:
    from cnncost.render.bench import bench_json

    layer = LayerTiming("conv1", "conv", (112, 112, 64), 0.5, 1.0, 10**9, 10**6, 2.0, 1000.0, "compute", 0.5)
    items = json.loads(bench_json([sample_result(layers=(layer,))]))
    (row,) = items[0]["layers"]
    assert row["path"] == "conv1" and row["bound"] == "compute" and row["output_shape"] == [112, 112, 64]


def test_csv_one_row_per_result() -> None:
    from cnncost.render.bench import RESULT_FIELDS, bench_csv

    rows = list(csv.DictReader(io.StringIO(bench_csv([sample_result(), sample_result(batch=1, notes=("a", "b"))]))))
    assert len(rows) == 2
    assert set(RESULT_FIELDS) <= set(rows[0])
    assert rows[1]["batch"] == "1" and rows[1]["notes"] == "a; b"
    assert rows[0]["cuda_graphs"] == "true"
    assert float(rows[0]["median_ms"]) == 12.0


def test_table_states_the_conditions_and_flags() -> None:
    from cnncost.render.bench import bench_table

    noisy = sample_result(batch=1, iqr_ms=3.0, noisy=True)
    wrong = sample_result(batch=512, tflops=2000.0, peak_fraction=2000 / 989, above_peak=True)
    text = bench_table([sample_result(), noisy, wrong], width=160)
    assert "NVIDIA H100 80GB HBM3" in text and "torch 2.13.0" in text
    assert "precision bf16" in text and "layout channels_last" in text and "compile default" in text
    assert "CUDA graphs on" in text and "threads 16" in text
    assert "17.6%" in text  # % of peak of the good row (174.5 of 989 TFLOP/s)
    assert "noisy" in text
    assert "ERROR: above peak" in text and "202%!" in text
    assert "989 TFLOP/s dense bf16" in text


def test_table_for_unknown_peak_says_how_to_give_one() -> None:
    from cnncost.render.bench import bench_table

    text = bench_table([sample_result(peak_tflops=None, peak_fraction=None, peak_source=None)], width=140)
    assert "--peak" in text


def test_time_formatting() -> None:
    from cnncost.render.bench import fraction, ms, rate, tflops

    assert [ms(0.04522), ms(1.2345), ms(15.333), ms(1234.56)] == ["0.0452", "1.234", "15.33", "1,234.6"]
    assert rate(21_333.3) == "21.33 k" and rate(65.49) == "65.5"
    assert [tflops(0.005067), tflops(3.27), tflops(52.31), tflops(650.4), tflops(None)] == [
        "0.00507",
        "3.27",
        "52.3",
        "650",
        "—",
    ]
    assert [fraction(0.1764), fraction(None), fraction(2.022, above=True), fraction(5e6, above=True)] == [
        "17.6%",
        "—",
        "202%!",
        ">9999%!",
    ]
    assert math.isclose(sample_result().spread, 0.1 / 12)


@pytest.mark.torch
def test_cli_bench_json_for_lenet5(capsys: pytest.CaptureFixture[str]) -> None:
    """A real run through the CLI (needs torch): the JSON contract of issue 4, stdout clean."""
    pytest.importorskip("torch")
    from cnncost.cli import main

    code = main(
        ["bench", "lenet5", "conv5x5", "--device", "cpu", "--batch", "1,2", "--warmup", "0", "--min-time", "0",
         "--repeats", "3", "--format", "json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    items = json.loads(out)
    check_json_schema(items)
    assert [(i["name"], i["batch"]) for i in items] == [("lenet5", 1), ("lenet5", 2), ("conv5x5", 1), ("conv5x5", 2)]
    assert all(i["device"] == "cpu" and i["precision"] == "fp32" and i["peak_fraction"] is None for i in items)
    assert err == ""  # no progress bar when stderr is not a terminal
