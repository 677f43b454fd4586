"""Operators the counter does not know are listed by name with call counts — in the table and in JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncost import cli

pytest.importorskip("torch")

MODEL = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return torch.cumsum(torch.cumsum(self.conv(x), 1), 2)
"""


def run(*args: str) -> tuple[int, str]:
    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "120", "NO_COLOR": "1"}) as (out, _, __):
        code = cli.main(list(args))
        sys.stdout.flush()
        return code, out.getvalue().decode("utf-8")


def test_unknown_operators_are_listed_not_zeroed(tmp_path: Path) -> None:
    path = tmp_path / "net.py"
    path.write_text(MODEL, encoding="utf-8")
    code, text = run("table", "--module", f"{path}:Net", "--input-shape", "3,32,32")
    assert code == 0
    assert "not costed (operators cnncost has no formula for): aten.cumsum ×2" in text
    code, text = run("table", "--module", f"{path}:Net", "--input-shape", "3,32,32", "--format", "json")
    data = json.loads(text)
    assert data["unknown_ops"] == {"aten.cumsum": 2}
    # the conv is still counted: 3·3·3 × 8 × 30·30
    assert data["totals"]["macs"] == 27 * 8 * 900
