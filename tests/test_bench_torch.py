"""cnncost.bench with PyTorch, on the CPU: real smoke runs (a tiny module, lenet5), the GPU road through a
backend that calls itself CUDA while keeping tensors on the CPU (synchronize mocked and recorded), global flags
restored, out-of-memory halving, Ctrl-C, and the missing-CUDA error."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from cnncost.bench.backend import Backend, WallLayerClock, select_backend  # noqa: E402
from cnncost.bench.config import BenchConfig  # noqa: E402
from cnncost.bench.runner import LayerHint, count_flops, run_bench  # noqa: E402
from cnncost.bench.timer import Timer  # noqa: E402
from cnncost.errors import CnnCostError, DeviceError  # noqa: E402

pytestmark = pytest.mark.torch

#: As quick as the methodology allows: no warm-up time (still two warm-up calls), three repeats of one call.
QUICK: dict[str, Any] = {"warmup_s": 0.0, "min_time_s": 0.0, "repeats": 3}

# Conv 3→8, 3×3 "same" on 8×8: 8·8·8·3·3·3 = 13,824 MACs; linear 8 → 4: 32 MACs. 13,856 per image.
TINY_MACS = 8 * 8 * 8 * 3 * 3 * 3 + 8 * 4


class Tiny(nn.Module):
    """Conv → ReLU → global average pool → linear; records what each forward saw."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)
        self.seen: list[dict[str, Any]] = []
        self.fail: Callable[[torch.Tensor], None] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(
            {
                "batch": x.shape[0],
                "dtype": x.dtype,
                "channels_last": x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last),
                "training": self.training,
                "inference_mode": torch.is_inference_mode_enabled(),
                "threads": torch.get_num_threads(),
                "matmul": _precision_flag("matmul"),
                "conv": _precision_flag("conv"),
                "benchmark": torch.backends.cudnn.benchmark,
            }
        )
        if self.fail is not None:
            self.fail(x)
        return self.fc(torch.flatten(self.pool(self.relu(self.conv(x))), 1))


def _precision_flag(which: str) -> object:
    try:
        if which == "matmul":
            return torch.backends.cuda.matmul.fp32_precision
        return torch.backends.cudnn.conv.fp32_precision
    except AttributeError:  # torch before the fp32_precision API
        return torch.backends.cuda.matmul.allow_tf32 if which == "matmul" else torch.backends.cudnn.allow_tf32


def factory_of(module: nn.Module) -> Callable[[torch.device], nn.Module]:
    return lambda device: module.to(device)


def fake_cuda(log: list[str], name: str = "NVIDIA H100 80GB HBM3", **changes: Any) -> Backend:
    """A backend that takes the GPU road (flags, peaks, graph capture, synchronize) with CPU tensors."""

    def capture(fn: Callable[[], object]) -> Callable[[], object]:
        log.append("capture")
        fn()
        return fn

    options: dict[str, Any] = {
        "kind": "cuda",
        "device": torch.device("cpu"),
        "name": name,
        "synchronize": lambda: log.append("sync"),
        "supports_tf32": True,
        "supports_bf16": True,
        "compile_available": False,
        "capture_graph": capture,
        "layer_clock": lambda: WallLayerClock(time.perf_counter),
    }
    options.update(changes)
    return Backend(**options)


# ------------------------------------------------------------------------------------------ CPU smoke


def test_smoke_run_on_a_tiny_module() -> None:
    tiny = Tiny()
    threads_before = torch.get_num_threads()
    run = run_bench(
        factory_of(tiny), TINY_MACS, BenchConfig(device="cpu", batches=(1, 3), **QUICK), input_shape=(8, 8, 3),
        name="tiny",
    )
    assert not run.interrupted
    assert [r.batch for r in run.results] == [1, 3]
    for r in run.results:
        assert r.name == "tiny" and r.device == "cpu" and r.precision == "fp32" and r.layout == "contiguous"
        assert r.compile == "off" and not r.cuda_graphs
        assert r.torch_version == torch.__version__ and r.threads == threads_before
        assert r.input_shape == (8, 8, 3) and r.macs_per_image == TINY_MACS
        assert 0 < r.min_ms <= r.median_ms and r.iqr_ms >= 0 and r.first_call_ms > 0
        assert r.repeats == 3 and r.warmup_calls >= 2
        seconds = r.median_ms / 1e3
        assert r.images_per_s == pytest.approx(r.batch / seconds)
        assert r.gmacs_per_s == pytest.approx(TINY_MACS * r.batch / seconds / 1e9)
        assert r.tflops == pytest.approx(2 * TINY_MACS * r.batch / seconds / 1e12)
        assert r.peak_tflops is None and r.peak_fraction is None and not r.above_peak  # CPU: unknown peak
    seen = tiny.seen
    assert all(not s["training"] and s["inference_mode"] for s in seen)
    assert all(s["dtype"] == torch.float32 and not s["channels_last"] for s in seen)
    # first call + ≥ 2 warm-up calls + 3 repeats, per batch size
    assert sum(1 for s in seen if s["batch"] == 1) >= 6 and sum(1 for s in seen if s["batch"] == 3) >= 6


def test_precision_layout_and_threads_are_applied_and_restored() -> None:
    tiny = Tiny()
    before = torch.get_num_threads()
    run = run_bench(
        factory_of(tiny),
        TINY_MACS,
        BenchConfig(device="cpu", batches=(2,), precision="bf16", channels_last=True, threads=1, **QUICK),
        input_shape=(8, 8, 3),
    )
    (r,) = run.results
    assert (r.precision, r.layout, r.threads) == ("bf16", "channels_last", 1)
    assert all(s["dtype"] == torch.bfloat16 and s["channels_last"] and s["threads"] == 1 for s in tiny.seen)
    assert tiny.conv.weight.dtype == torch.bfloat16
    assert torch.get_num_threads() == before


def test_tf32_on_the_cpu_runs_fp32_and_says_so() -> None:
    run = run_bench(
        factory_of(Tiny()), TINY_MACS, BenchConfig(device="cpu", batches=(1,), precision="tf32", **QUICK),
        input_shape=(8, 8, 3),
    )
    (r,) = run.results
    assert r.precision == "fp32"
    assert any("tf32 has no effect" in n for n in r.notes)


def test_macs_counted_by_flop_counter_when_not_given() -> None:
    run = run_bench(
        factory_of(Tiny()), None, BenchConfig(device="cpu", batches=(2,), **QUICK), input_shape=(8, 8, 3)
    )
    assert run.results[0].macs_per_image == TINY_MACS
    flops = count_flops(Tiny(), torch.randn(2, 3, 8, 8))
    assert flops[""] == 2 * 2 * TINY_MACS and flops["conv"] == 2 * 2 * 13_824 and flops["fc"] == 2 * 2 * 32


def test_per_layer_on_a_generic_module() -> None:
    run = run_bench(
        factory_of(Tiny()), TINY_MACS, BenchConfig(device="cpu", batches=(2,), per_layer=True, **QUICK),
        input_shape=(8, 8, 3),
    )
    (r,) = run.results
    assert r.layers is not None
    by_path = {layer.path: layer for layer in r.layers}
    assert list(by_path) == ["conv", "relu", "pool", "fc"]  # execution order, leaf modules
    conv = by_path["conv"]
    assert conv.op == "Conv2d" and conv.output_shape == (8, 8, 8)
    assert conv.flops == 2 * 2 * 13_824
    # bytes moved, fp32: input 2·3·8·8, output 2·8·8·8, weights 8·3·3·3 + 8 bias → ×4 bytes
    assert conv.bytes_moved == 4 * (2 * 3 * 8 * 8 + 2 * 8 * 8 * 8 + 8 * 3 * 3 * 3 + 8)
    assert conv.intensity == pytest.approx(conv.flops / conv.bytes_moved)
    assert by_path["fc"].flops == 2 * 2 * 32 and by_path["relu"].flops == 0
    assert sum(layer.share for layer in r.layers) == pytest.approx(1.0)
    assert all(layer.time_ms > 0 for layer in r.layers)
    assert r.launch_floor_us is not None and r.launch_floor_us > 0
    assert r.layer_coverage is not None and 0 < r.layer_coverage <= 1.5


# ----------------------------------------------------------------------------------------- the GPU road


def test_gpu_road_flags_synchronize_graphs_and_peak() -> None:
    log: list[str] = []
    tiny = Tiny()
    benchmark_before = torch.backends.cudnn.benchmark
    flags_before = (_precision_flag("matmul"), _precision_flag("conv"))
    run = run_bench(
        factory_of(tiny),
        TINY_MACS,
        BenchConfig(device="cuda", batches=(2,), precision="fp32", channels_last=False, **QUICK),
        input_shape=(8, 8, 3),
        backend=fake_cuda(log),
    )
    (r,) = run.results
    # fp32 means fp32: TF32 off for matmuls and cuDNN convolutions while timing, cuDNN autotuning on …
    ieee = "ieee" if isinstance(flags_before[0], str) else False
    assert all(s["matmul"] == ieee and s["conv"] == ieee and s["benchmark"] for s in tiny.seen)
    # … and nothing left changed afterwards.
    assert (_precision_flag("matmul"), _precision_flag("conv")) == flags_before
    assert torch.backends.cudnn.benchmark == benchmark_before
    # GPU defaults that were not overridden: CUDA graphs on; compile off here because Triton is "missing".
    assert r.cuda_graphs and log.count("capture") == 1
    assert r.compile == "off" and any("Triton" in n for n in r.notes)
    assert (r.device, r.device_name) == ("cuda:0", "NVIDIA H100 80GB HBM3")
    assert r.peak_tflops == 67.0 and r.peak_source is not None and "H100 SXM" in r.peak_source
    assert r.peak_fraction == pytest.approx(r.tflops / 67.0)
    # first call (1 window) + ≥ 2 warm-up windows + 3 repeats: each window synchronizes twice.
    assert log.count("sync") >= 2 * (1 + 2 + 3)


def test_gpu_road_never_reads_the_clock_without_synchronizing() -> None:
    log: list[str] = []
    tiny = Tiny()
    tiny.register_forward_hook(lambda *_: log.append("forward"))

    def clock() -> float:
        log.append("clock")
        return time.perf_counter()

    run_bench(
        factory_of(tiny),
        TINY_MACS,
        BenchConfig(device="cuda", batches=(1, 2), cuda_graphs=False, **QUICK),
        input_shape=(8, 8, 3),
        backend=fake_cuda(log),
        timer=Timer(clock=clock, synchronize=lambda: log.append("sync")),
    )
    last_clock = -1
    windows = 0
    for i, event in enumerate(log):
        if event != "clock":
            continue
        window = log[last_clock + 1 : i]
        if "forward" in window:
            windows += 1
            assert window[-1] == "sync", "the clock was read while the device could still be running"
            assert window[0] == "sync" or log[last_clock - 1] == "sync"
        last_clock = i
    assert windows >= 2 * (1 + 2 + 3)


def test_gpu_defaults_bf16_channels_last_and_tf32_request() -> None:
    log: list[str] = []
    tiny = Tiny()
    (r,) = run_bench(
        factory_of(tiny), TINY_MACS, BenchConfig(device="cuda", batches=(2,), **QUICK), input_shape=(8, 8, 3),
        backend=fake_cuda(log),
    ).results
    assert (r.precision, r.layout, r.cuda_graphs) == ("bf16", "channels_last", True)
    assert r.peak_tflops == 989.0
    assert all(s["dtype"] == torch.bfloat16 and s["channels_last"] for s in tiny.seen)

    tf32 = Tiny()
    (t,) = run_bench(
        factory_of(tf32), TINY_MACS, BenchConfig(device="cuda", batches=(2,), precision="tf32", **QUICK),
        input_shape=(8, 8, 3), backend=fake_cuda([]),
    ).results
    assert t.precision == "tf32" and t.peak_tflops == 495.0
    expected = "tf32" if isinstance(_precision_flag("matmul"), str) else True
    assert all(s["matmul"] == expected and s["conv"] == expected for s in tf32.seen)

    old = Tiny()
    (o,) = run_bench(
        factory_of(old), TINY_MACS, BenchConfig(device="cuda", batches=(1,), precision="tf32", **QUICK),
        input_shape=(8, 8, 3), backend=fake_cuda([], name="Tesla T4", supports_tf32=False, supports_bf16=False),
    ).results
    assert o.precision == "fp32" and o.peak_tflops == 8.1 and any("tf32 has no effect" in n for n in o.notes)


def test_per_layer_roofline_on_a_known_gpu() -> None:
    (r,) = run_bench(
        factory_of(Tiny()), TINY_MACS,
        BenchConfig(device="cuda", batches=(2,), precision="fp32", per_layer=True, **QUICK),
        input_shape=(8, 8, 3), backend=fake_cuda([]),
    ).results
    assert r.layers is not None
    # The device's peak and bandwidth are known (H100 table row): every layer gets a bound.
    assert all(layer.bound in ("compute", "memory", "launch") for layer in r.layers)
    assert all(layer.roofline_fraction is not None for layer in r.layers)
    assert any("eager forwards with hooks" in n for n in r.notes)  # the timed road used CUDA graphs


def test_a_figure_above_the_peak_is_an_error_not_a_success() -> None:
    (r,) = run_bench(
        factory_of(Tiny()), TINY_MACS, BenchConfig(device="cpu", batches=(1,), peak_tflops=1e-9, **QUICK),
        input_shape=(8, 8, 3),
    ).results
    assert r.above_peak and r.peak_fraction is not None and r.peak_fraction > 1
    assert r.peak_source == "--peak"
    assert any("measurement error" in n for n in r.notes)


def test_failed_graph_capture_falls_back_with_a_note() -> None:
    def broken(fn: Callable[[], object]) -> Callable[[], object]:
        raise RuntimeError("operation not permitted when stream is capturing")

    (r,) = run_bench(
        factory_of(Tiny()), TINY_MACS, BenchConfig(device="cuda", batches=(1,), **QUICK), input_shape=(8, 8, 3),
        backend=fake_cuda([], capture_graph=broken),
    ).results
    assert not r.cuda_graphs
    assert any("CUDA graph capture failed" in n for n in r.notes)


def test_failed_compile_falls_back_to_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_compile(module: nn.Module, **_: Any) -> Callable[[torch.Tensor], object]:
        def run(x: torch.Tensor) -> object:
            raise RuntimeError("inductor: no working C++ compiler")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    run = run_bench(
        factory_of(Tiny()), TINY_MACS, BenchConfig(device="cpu", batches=(1, 2), compile="default", **QUICK),
        input_shape=(8, 8, 3),
    )
    assert [r.compile for r in run.results] == ["off", "off"]
    assert all(any("torch.compile failed" in n for n in r.notes) for r in run.results)


# ------------------------------------------------------------------------------- failures and Ctrl-C


def test_out_of_memory_halves_the_batch_and_says_so() -> None:
    tiny = Tiny()

    def oom_above_2(x: torch.Tensor) -> None:
        if x.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    tiny.fail = oom_above_2
    (r,) = run_bench(
        factory_of(tiny), TINY_MACS, BenchConfig(device="cpu", batches=(8,), **QUICK), input_shape=(8, 8, 3)
    ).results
    assert (r.batch, r.requested_batch) == (2, 8)
    assert [n for n in r.notes if "out of memory" in n] == [
        "batch 8 ran out of memory on cpu: halved to 4",
        "batch 4 ran out of memory on cpu: halved to 2",
    ]
    assert r.images_per_s == pytest.approx(2 / (r.median_ms / 1e3))


def test_out_of_memory_at_batch_one_is_a_device_error() -> None:
    tiny = Tiny()

    def always(x: torch.Tensor) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory")

    tiny.fail = always
    with pytest.raises(DeviceError, match="even at batch 1"):
        run_bench(factory_of(tiny), TINY_MACS, BenchConfig(device="cpu", batches=(2,), **QUICK), input_shape=(8, 8, 3))


def test_a_failing_forward_is_one_line() -> None:
    tiny = Tiny()

    def broken(x: torch.Tensor) -> None:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied\nmore detail")

    tiny.fail = broken
    with pytest.raises(CnnCostError) as info:
        run_bench(factory_of(tiny), TINY_MACS, BenchConfig(device="cpu", batches=(1,), **QUICK), input_shape=(8, 8, 3))
    assert "\n" not in str(info.value) and "forward pass failed" in str(info.value)


def test_ctrl_c_returns_what_finished_and_restores_flags() -> None:
    tiny = Tiny()
    before = torch.get_num_threads()

    def interrupt_at_4(x: torch.Tensor) -> None:
        if x.shape[0] == 4:
            raise KeyboardInterrupt

    tiny.fail = interrupt_at_4
    flags_before = (_precision_flag("matmul"), _precision_flag("conv"), torch.backends.cudnn.benchmark)
    run = run_bench(
        factory_of(tiny), TINY_MACS, BenchConfig(device="cuda", batches=(1, 2, 4, 8), threads=1, **QUICK),
        input_shape=(8, 8, 3), backend=fake_cuda([]),
    )
    assert run.interrupted
    assert [r.batch for r in run.results] == [1, 2]
    assert torch.get_num_threads() == before
    assert (_precision_flag("matmul"), _precision_flag("conv"), torch.backends.cudnn.benchmark) == flags_before


def test_cuda_missing_is_a_one_line_device_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is usable here")
    with pytest.raises(DeviceError) as info:
        select_backend("cuda")
    assert info.value.exit_code == 2
    assert "--device cuda" in str(info.value) and "\n" not in str(info.value)
    assert select_backend("auto").kind == "cpu"


def test_cli_cuda_missing_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is usable here")
    from cnncost.cli import main

    assert main(["bench", "lenet5", "--device", "cuda"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: --device cuda")


# ----------------------------------------------------------------------------------------- lenet5


def test_lenet5_smoke_with_per_layer() -> None:
    from cnncost import api
    from cnncost.bench.network import bench_network, layer_hints

    report = api.analyze("lenet5")
    run = bench_network("lenet5", BenchConfig(device="cpu", batches=(1, 4), per_layer=True, **QUICK))
    assert [r.batch for r in run.results] == [1, 4]
    r = run.results[1]
    assert r.name == "lenet5" and r.input_shape == (32, 32, 1) and r.macs_per_image == report.totals.macs
    assert r.tflops == pytest.approx(2 * report.totals.macs * 4 / (r.median_ms / 1e3) / 1e12)
    assert r.layers is not None
    # Every layer of the analysis that is a module, in order, with the analysis's op and FLOPs × batch.
    assert [layer.path for layer in r.layers] == [rec.path for rec in report.layers()]
    c1 = r.layers[0]
    assert (c1.op, c1.output_shape) == ("conv", (28, 28, 6))
    assert c1.flops == 4 * 2 * 5 * 5 * 1 * 6 * 28 * 28  # 117,600 MACs per image
    hints = layer_hints(report)
    assert hints["c1"] == LayerHint("conv", 2 * 117_600)


def test_cli_bench_table(capsys: pytest.CaptureFixture[str]) -> None:
    from cnncost.cli import main

    code = main(["bench", "lenet5", "--device", "cpu", "--warmup", "0", "--min-time", "0", "--repeats", "3",
                 "--threads", "1"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "precision fp32 · layout contiguous · compile off · CUDA graphs off · threads 1" in out
    assert f"torch {torch.__version__}" in out and "lenet5" in out


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit deprecations raised inside inductor
def test_real_torch_compile_on_the_cpu() -> None:
    """The compile road with the real torch.compile (inductor's C++ backend): first call reported apart, each
    batch size compiled for its own static shape."""
    import shutil

    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("inductor needs a C++ compiler")
    plain = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)
    )
    run = run_bench(
        factory_of(plain), TINY_MACS, BenchConfig(device="cpu", batches=(1, 2), compile="default", **QUICK),
        input_shape=(8, 8, 3),
    )
    assert [r.compile for r in run.results] == ["default", "default"], run.results[0].notes
    assert all(r.first_call_ms > r.median_ms for r in run.results)  # compilation lands in the first call only
