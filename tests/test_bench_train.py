"""``cnncost bench --train``: a timed step is a real training step (frozen layers stay frozen, trainable ones
move), timed with inference's methodology, and its TFLOP/s come from the exact step MACs."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from cnncost import api  # noqa: E402
from cnncost.analysis.engine import analyze_network  # noqa: E402
from cnncost.analysis.training import TrainOptions, analyze_training  # noqa: E402
from cnncost.bench.config import BenchConfig  # noqa: E402
from cnncost.bench.timer import Timer  # noqa: E402
from cnncost.bench.train import make_step, run_train_bench  # noqa: E402
from cnncost.torch.train import apply_trainable, set_bn_mode  # noqa: E402

pytestmark = pytest.mark.torch

QUICK = {"warmup_s": 0.0, "min_time_s": 0.0, "repeats": 3}


def test_a_step_trains_only_the_trainable_layers() -> None:
    network = api.resolve("lenet5")
    report = analyze_network(network)
    last = [r for r in report.layers() if r.params][-1].path
    training = analyze_training(network, report, TrainOptions(trainable=(last,)))
    module = api.build(network)
    apply_trainable(module, report, training)
    set_bn_mode(module, "train")
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    h, w, c = network.input_shape
    step = make_step(module, torch.randn(4, c, h, w), precision="fp32", device_type="cpu", classes=10)
    step()
    step()  # momentum: the second step moves the weights again
    for name, param in module.named_parameters():
        moved = not torch.equal(before[name], param.detach())
        assert moved == name.startswith(last + "."), name
        assert param.requires_grad == name.startswith(last + ".")


def test_train_bench_reports_the_exact_step_macs() -> None:
    network = api.resolve("lenet5")
    report = analyze_network(network)
    training = analyze_training(network, report, TrainOptions(train_from=report.layers()[3].path))
    ticks = itertools.count()
    timer = Timer(clock=lambda: 0.01 * next(ticks))  # every clock read advances 10 ms
    run = run_train_bench(
        network,
        BenchConfig(device="cpu", batches=(2,), **QUICK),
        TrainOptions(train_from=report.layers()[3].path),
        timer=timer,
    )
    (result,) = run.results
    assert result.mode == "train" and result.name == "lenet5 (train)"
    assert result.macs_per_image == training.step_macs == training.forward_macs + training.backward_macs
    assert training.backward_macs < 2 * training.forward_macs  # a frozen prefix: not 3 × forward
    # TFLOP/s = 2 FLOPs per MAC × step MACs × batch / the median step
    expected = 2 * training.step_macs * 2 / (result.median_ms / 1e3) / 1e12
    assert result.tflops == pytest.approx(expected)
    assert result.images_per_s == pytest.approx(2 / (result.median_ms / 1e3))
    assert any("training step: forward, loss, backward" in note for note in result.notes)


def test_cli_bench_train_and_its_options() -> None:
    import json

    from test_widths import cli_run

    text = cli_run(
        "bench", "lenet5", "--train", "--device", "cpu", "--warmup", "0", "--min-time", "0", "--repeats", "3",
        "--trainable", "f*", "--format", "json", width=120,
    )
    (row,) = json.loads(text)
    assert row["mode"] == "train" and row["name"] == "lenet5 (train)"
    training = api.analyze_training("lenet5", trainable=("f*",)).training
    assert training is not None and row["macs_per_image"] == training.step_macs


def test_training_options_without_train_are_refused() -> None:
    import sys

    from typer.testing import CliRunner

    from cnncost import cli

    with CliRunner().isolation(env={"COLUMNS": "120", "NO_COLOR": "1", "CNNCOST_DEBUG": None}) as (_, err, _):
        code = cli.main(["bench", "lenet5", "--freeze", "c*"])
        sys.stdout.flush()
        said = err.getvalue().decode("utf-8")
    assert code == 2 and "choose what a training step trains" in said and "--train" in said


def test_the_gpu_script_says_so_without_a_gpu() -> None:
    import subprocess
    import sys
    from pathlib import Path

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the script would measure")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("gpu.py: no GPU available") and "nothing measured" in done.stderr
    assert not done.stdout
