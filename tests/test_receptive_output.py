"""``cnncost table --rf``: the receptive field columns at 80 and 200 columns, in JSON, CSV and Markdown."""

from __future__ import annotations

import csv
import io
import json

import pytest
from test_widths import check_fits, cli_run

RF_COMMANDS = [
    ("table", "vgg16", "--rf"),
    ("table", "resnet50", "--rf", "--depth", "1"),
    ("table", "googlenet", "--rf"),
    ("table", "lenet5", "--rf", "--batch", "8"),
]


@pytest.mark.parametrize("args", RF_COMMANDS, ids=[" ".join(c) for c in RF_COMMANDS])
def test_rf_columns_fit_80_columns_without_cutting_a_figure(args: tuple[str, ...]) -> None:
    small, large = check_fits(args)
    for text in (small, large):
        header = next(line for line in text.splitlines() if line.startswith("layer "))
        assert " RF " in header and " jump " in header
        assert "the largest path wins" in " ".join(text.split())
    assert "left out to fit" not in large


def test_the_rf_cells_are_the_engines_figures() -> None:
    text = cli_run("table", "vgg16", "--rf", width=80)
    wanted = ("features.", "classifier.")
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith(wanted)}
    # layer, output, RF, jump, params, MACs at 80 columns (op and % MACs left out)
    assert rows["features.28"][2:4] == ["196", "16"]
    assert rows["features.30"][2:4] == ["212", "32"]
    assert rows["classifier.0"][2:4] == ["global", "—"]


def test_without_rf_the_table_is_unchanged() -> None:
    assert " RF " not in cli_run("table", "vgg16", width=200)
    assert '"rf"' not in cli_run("table", "lenet5", "--format", "json", width=80)


def test_rf_in_json_csv_and_markdown() -> None:
    data = json.loads(cli_run("table", "alexnet", "--rf", "--format", "json", width=80))
    rows = {r["name"]: r for r in data["layers"]}
    expected = {"size": [195, 195], "jump": [32, 32], "exact": True, "whole_input": False, "note": None}
    assert rows["pool3"]["rf"] == expected
    assert rows["fc1"]["rf"]["whole_input"] and rows["fc1"]["rf"]["size"] is None
    assert rows["flatten1"]["rf"]["size"] == [195, 195] and rows["flatten1"]["rf"]["jump"] is None
    assert "largest path wins" in data["receptive_field_note"]
    table = list(csv.DictReader(io.StringIO(cli_run("table", "alexnet", "--rf", "--format", "csv", width=80))))
    pool = next(r for r in table if r["name"] == "pool3")
    assert [pool[k] for k in ("rf_h", "rf_w", "jump_h", "jump_w", "rf_exact")] == ["195", "195", "32", "32", "true"]
    fc = next(r for r in table if r["name"] == "fc1")
    assert fc["rf_h"] == "" and fc["jump_h"] == ""
    markdown = cli_run("table", "lenet5", "--rf", "--format", "markdown", width=80)
    assert "| layer | op | output | RF | jump | params |" in markdown
    assert "| `p2` | avgpool | 5×5×16 | 16 | 4 |" in markdown


MODULE = """
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 7, stride=2, padding=3), torch.nn.ReLU())
        self.pool = torch.nn.MaxPool2d(3, 2, 1)
        self.conv = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.head = torch.nn.Conv2d(8, 8, 1)

    def forward(self, x):
        x = self.pool(self.stem(x))
        return self.head(self.conv(x).flip(-1) + x)
"""


def test_module_rf_fits_and_leaves_the_unknown_blank(tmp_path: pytest.TempPathFactory) -> None:
    pytest.importorskip("torch")
    path = tmp_path / "net.py"  # type: ignore[operator]
    path.write_text(MODULE, encoding="utf-8")
    args = ("table", "--module", f"{path}:Net", "--input-shape", "3,64,64", "--rf")
    _, large = check_fits(args)
    starts = ("stem.0", "pool", "conv ", "add", "head")
    rows = {line.split()[0]: line.split() for line in large.splitlines() if line.startswith(starts)}
    assert rows["stem.0"][2:5] == ["32×32×8", "7", "2"]  # conv 7/2: r 7, j 2
    assert rows["pool"][2:5] == ["16×16×8", "11", "4"]  # 7 + 2·2 = 11, j 4
    # conv 11 + 2·4 = 19; a flip (a call cnncost does not follow) makes the sum unknown: blank, not a guess
    assert rows["conv"][2:5] == ["16×16×8", "19", "4"]
    assert rows["add"][2:4] == ["16×16×8", "0"] and rows["head"][2:4] == ["16×16×8", "72"]
    assert "left blank" in " ".join(large.split())
