"""``cnncost table … --memory / --train / --optimizer / --dtype / --device-memory``: the memory view, the one
"will it fit" line, JSON and CSV, bad sizes as one line; the byte formatter and the size parser."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import pytest
from clirun import cli_runner

from cnncost import api
from cnncost.analysis.memory import largest_batch, memory, parse_bytes
from cnncost.errors import UsageError
from cnncost.render import numbers as num


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def run(*args: str, width: int = 120) -> Outcome:
    return Outcome(*cli_runner(width)(*args))


# ------------------------------------------------------------------------------------------- formatting


def test_bytes_in_binary_units() -> None:
    assert num.size(832) == "832 B"
    assert num.size(1536) == "1.50 KiB"  # 1536 / 1024
    assert num.size(25_690_112) == "24.50 MiB"  # 24.5 × 1,048,576
    assert num.size(1_000 * 2**20) == "0.98 GiB"  # 1,000 MiB: three digits at most before the point
    assert num.size(24 * 2**30) == "24.00 GiB"
    assert num.size(1_048_575) == "1.00 MiB"  # 1023.999 KiB rounds up: the next unit


def test_sizes_parsed() -> None:
    assert parse_bytes("24GiB") == 24 * 2**30
    assert parse_bytes("80 GB") == 80 * 10**9
    assert parse_bytes("1.5TiB") == 3 * 2**39
    assert parse_bytes("512mib") == 512 * 2**20
    assert parse_bytes("H100") is None  # a device name: looked up elsewhere
    for bad in ("24XB", "-5GiB", "24", "0GiB"):
        with pytest.raises(UsageError):
            parse_bytes(bad)


def test_largest_batch_fits_and_the_next_does_not() -> None:
    net = api.resolve("resnet18")
    budget = 4 * 2**30
    best = largest_batch(net, budget, train=True, optimizer="adam", dtype="fp32")
    assert best is not None
    assert memory(net, batch=best, optimizer="adam").training_peak <= budget
    assert memory(net, batch=best + 1, optimizer="adam").training_peak > budget
    assert largest_batch(net, 1000, train=True, optimizer="adam", dtype="fp32") is None


# ------------------------------------------------------------------------------------------- the CLI


def test_will_it_fit_is_one_line_beneath_the_table() -> None:
    args = ("table", "vgg16", "--batch", "64", "--train", "--optimizer", "adam", "--dtype", "bf16")
    result = run(*args, "--device-memory", "24GiB", width=200)
    assert result.code == 0, result.stderr
    plain = run(*args[:5], width=200).stdout  # the train view the user gets without the memory options
    assert result.stdout.startswith(plain)
    extra = result.stdout[len(plain) :].strip().splitlines()
    assert len(extra) == 1
    need = api.memory("vgg16", batch=64, optimizer="adam", dtype="bf16").training_peak
    assert extra[0].startswith(f"fits in 24.00 GiB: a training step at batch 64 (bf16 autocast, fp32 weights, adam) "
                               f"needs {num.size(need)} ({num.share(need / 24 / 2**30)})")


def test_does_not_fit_names_the_largest_batch() -> None:
    result = run("table", "resnet18", "--batch", "4096", "--train", "--device-memory", "A100 40GB", width=200)
    assert result.code == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    best = largest_batch(api.resolve("resnet18"), 40 * 2**30, train=True, optimizer="adam", dtype="fp32")
    assert line.startswith("does NOT fit in the NVIDIA A100 40GB (40.00 GiB)")
    assert line.endswith(f"short — batch {best} fits (tensors only)")


@pytest.mark.parametrize("width", [80, 200])
def test_memory_view_fits_the_width(width: int) -> None:
    result = run("table", "resnet50", "--memory", "--train", "--batch", "32", "--device-memory", "H100", width=width)
    assert result.code == 0, result.stderr
    assert all(len(line) <= width for line in result.stdout.splitlines())
    figures = api.memory("resnet50", batch=32)
    for figure in (figures.weights, figures.saved, figures.training_peak, figures.gradients):
        assert num.integer(figure) in result.stdout
    assert "layer3.5.conv3" in result.stdout and "fits in the NVIDIA H100 SXM (80.00 GiB)" in result.stdout


def test_json_carries_the_figures() -> None:
    result = run("table", "mobilenet-v2", "--memory", "--train", "--optimizer", "sgd", "--batch", "8", "-f", "json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    figures = api.memory("mobilenet-v2", batch=8, optimizer="sgd")
    mem = data["memory"]
    assert mem["unit"] == "bytes" and mem["optimizer"] == "sgd" and mem["train"] is True
    assert mem["training_peak"] == figures.training_peak and mem["optimizer_state"] == 0
    assert mem["inference_peak"] == figures.inference_peak
    assert sum(r["activation"] for r in mem["layers"]) == mem["activations"]
    assert data["layers"] and data["totals"]["params"] == figures.weights // 4


def test_csv_columns_sum_to_the_totals() -> None:
    result = run("table", "resnet18", "--memory", "--train", "-f", "csv")
    assert result.code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    figures = api.memory("resnet18")
    assert sum(int(r["activation_bytes"]) for r in rows) == figures.activations
    assert sum(int(r["saved_bytes"]) for r in rows) == figures.saved - figures.saved_input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--device-memory", "24XB"), "--device-memory '24XB': no unit 'XB'"),
        (("--device-memory", "-5GiB"), "--device-memory '-5GiB' is not a size"),
        (("--device-memory", "Z100"), "--device-memory 'Z100' is neither a size nor a known device"),
        (("--optimizer", "adam"), "--optimizer sets a training step's memory"),
        (("--memory", "--train", "--optimizer", "lbfgs"), "--optimizer 'lbfgs' is not one of"),
        (("--memory", "--dtype", "fp8"), "--dtype 'fp8' is not one of fp32, bf16, fp16"),
        (("--memory", "--depth", "1"), "--memory lists every layer"),
    ],
)
def test_bad_memory_options_are_one_line(args: tuple[str, ...], message: str) -> None:
    result = run("table", "vgg16", *args)
    assert result.code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
