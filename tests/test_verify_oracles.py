"""``--verify`` says what each oracle counts, and runs fvcore only when asked (``--fvcore`` / ``fvcore=True``)."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

pytest.importorskip("torch")



from clirun import cli_runner

from cnncost import api

verify_module = importlib.import_module("cnncost.torch.verify")  # the module (the package re-exports the function)

pytestmark = pytest.mark.torch


@pytest.fixture
def fvcore_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Every fvcore run ``verify`` makes, by input shape (fvcore still runs)."""
    calls: list[tuple[int, ...]] = []
    real = verify_module.fvcore_counts

    def spy(module: Any, shape: tuple[int, ...]) -> Any:
        calls.append(shape)
        return real(module, shape)

    monkeypatch.setattr(verify_module, "fvcore_counts", spy)
    return calls


run = cli_runner(width=400)


def invoke(*args: str) -> str:
    code, stdout, stderr = run(*args)
    assert code == 0, stderr
    return stdout


def test_fvcore_not_run_unless_asked(fvcore_calls: list[tuple[int, ...]]) -> None:
    result = api.verify("lenet5")
    assert fvcore_calls == [] and result.fvcore_macs is None and result.fvcore_total is None
    assert [o.tool for o in result.oracles] == ["FlopCounterMode"]
    said = " ".join(invoke("table", "lenet5", "--verify").split())
    assert fvcore_calls == [] and "fvcore" not in said
    assert "FLOPs by FlopCounterMode (= 2 × conv and linear MACs, whole batch)" in said


def test_fvcore_run_with_the_option_and_labelled(fvcore_calls: list[tuple[int, ...]]) -> None:
    pytest.importorskip("fvcore")
    result = api.verify("resnet50", fvcore=True)
    assert fvcore_calls == [(1, 3, 224, 224)]
    # Both of fvcore's numbers are true: its conv + linear MACs (compared layer by layer) and its own total.
    assert result.ok and result.fvcore_macs == 4_089_184_256 and result.fvcore_total == 4_111_512_576
    assert [(o.tool, o.value, o.unit) for o in result.oracles] == [
        ("FlopCounterMode", 8_178_368_512, "FLOPs"),
        ("fvcore", 4_089_184_256, "MACs"),
        ("fvcore", 4_111_512_576, "flops"),
    ]
    said = " ".join(invoke("table", "resnet50", "--verify", "--fvcore").split())
    assert len(fvcore_calls) == 2
    assert "8,178,368,512 FLOPs by FlopCounterMode (= 2 × conv and linear MACs, whole batch)" in said
    assert "fvcore (conv and linear MACs only, as compared layer by layer, per image): 4,089,184,256 MACs" in said
    assert "fvcore (its own total, FlopCountAnalysis.total(), which also counts batchnorm" in said
    assert "4,111,512,576 flops" in said
    markdown = " ".join(invoke("table", "resnet50", "--verify", "--fvcore", "--format", "markdown").split())
    assert "as compared layer by layer, per image): 4,089,184,256 MACs" in markdown
    data = json.loads(invoke("table", "resnet50", "--verify", "--fvcore", "--format", "json"))["verify"]
    assert data["flops"] == 8_178_368_512 and data["fvcore_macs_per_image"] == 4_089_184_256  # the keys kept
    assert data["fvcore_total_per_image"] == 4_111_512_576
    assert [o["tool"] for o in data["oracles"]] == ["FlopCounterMode", "fvcore", "fvcore"]
    assert "counts batchnorm" in data["oracles"][2]["counts"] and "layer by layer" in data["oracles"][1]["counts"]


def test_fvcore_option_needs_verify() -> None:
    code, stdout, stderr = run("table", "lenet5", "--fvcore")
    assert code == 2 and not stdout and "--fvcore" in stderr and "--verify" in stderr
