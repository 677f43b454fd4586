"""``api.compare`` takes specs and PyTorch models alike (``nn.Module`` objects, target strings); ``cnncost
compare`` with ``--module`` goes through it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import cli_runner

from cnncost import api

MODEL_FILE = """
import torch.nn as nn

def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                         nn.Linear(84, 10), nn.Softmax(dim=1))

def wide():
    return nn.Sequential(nn.Conv2d(1, 12, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(12, 16, 5), nn.Tanh(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                         nn.Linear(84, 10), nn.Softmax(dim=1))
"""

LENET_MACS = 416_520  # LeNet-5: 357,600 conv + 58,920 linear


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "nets.py"
    path.write_text(MODEL_FILE)
    return path


run = cli_runner(width=120)


@pytest.mark.torch
def test_api_spec_against_a_module_object_and_a_target(model_file: Path) -> None:
    pytest.importorskip("torch")
    from torch import nn

    module = api.build("lenet5", device="meta")
    target = f"{model_file}:lenet"
    comparison = api.compare("lenet5", module, modules=[target], input_shape=(1, 32, 32), batch=2)
    totals = [r.totals for r in comparison.reports]
    assert [t.macs for t in totals] == [2 * LENET_MACS] * 3  # the same network, three roads
    assert totals[0] == totals[1]  # the built module analyzes to the spec's own rows
    assert comparison.reports[2].name == target
    assert isinstance(module, nn.Module)


@pytest.mark.torch
def test_api_two_modules(model_file: Path) -> None:
    pytest.importorskip("torch")
    comparison = api.compare(modules=[f"{model_file}:lenet", f"{model_file}:wide"], input_shape=(1, 32, 32))
    first, second = comparison.reports
    assert first.totals.macs == LENET_MACS
    # The first conv doubles (6 → 12 maps: +117,600) and the second reads twice the maps (+240,000).
    assert second.totals.macs == LENET_MACS + 117_600 + 240_000


@pytest.mark.torch
def test_api_module_default_shape_follows_size() -> None:
    pytest.importorskip("torch")
    from torch import nn

    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    comparison = api.compare("lenet5", modules=[conv], size=32)
    assert comparison.reports[1].totals.macs == 32 * 32 * 8 * 27
    with pytest.raises(TypeError):
        api.compare("lenet5", modules="torchvision:resnet18")  # a string is not a list of modules


@pytest.mark.torch
def test_cli_spec_against_a_module_file_and_two_modules(model_file: Path) -> None:
    pytest.importorskip("torch")
    target = f"{model_file}:lenet"
    code, out, err = run("compare", "lenet5", "--module", target, "--input-shape", "1,32,32", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [n["name"] for n in data["networks"]] == ["lenet5", target]
    assert [n["totals"]["macs"] for n in data["networks"]] == [LENET_MACS, LENET_MACS]
    code, out, err = run(
        "compare", "--module", target, "--module", f"{model_file}:wide", "--input-shape", "1,32,32", "--format", "json"
    )
    assert code == 0, err
    macs = [n["totals"]["macs"] for n in json.loads(out)["networks"]]
    assert macs == [LENET_MACS, LENET_MACS + 357_600]
    code, out, err = run("compare", "--module", target, "--input-shape", "1,32,32")
    assert code == 2 and "at least two" in err


def test_specs_alone_import_no_torch() -> None:
    code = (
        "import sys\n"
        "from cnncost import api\n"
        "c = api.compare('lenet5', 'conv5x5')\n"
        "assert len(c.reports) == 2 and 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


