"""Machine-readable output is safe to consume: strict JSON everywhere, CSV that no spreadsheet runs as a formula."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from clirun import cli_runner

run = cli_runner(width=160)


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN, Infinity and -Infinity, which are not JSON (RFC 8259)."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _zero_documented(tmp_path: Path) -> Path:
    """A documented 0 against 224 computed params: a relative deviation that is not a finite number."""
    spec = tmp_path / "zero.yaml"
    spec.write_text(
        "name: zero\ninput: [8, 8, 3]\ndocumented:\n  - {figure: params, value: 0, source: s}\n"
        "  - {figure: params, value: 224, source: s}\n"
        "layers:\n  - {name: conv, conv: {out: 8, kernel: 3}}\n",
        encoding="utf-8",
    )
    return spec


COMMANDS = [
    ["list"],
    ["list", "resnet*"],
    ["ops"],
    ["table", "lenet5"],
    ["table", "googlenet", "--depth", "1"],
    ["compare", "conv5x5", "conv5x5-bottleneck"],
    ["compare", "lenet5", "alexnet", "vgg16"],
    ["explain", "resnet18"],
    ["check", "lenet5-1998", "alexnet"],
    ["check"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a))
def test_every_json_output_is_strict_json(args: list[str]) -> None:
    code, out, err = run(*args, "--format", "json")
    assert code == 0, err
    strict_json(out)


def test_a_deviation_that_is_not_a_finite_number_is_null(tmp_path: Path) -> None:
    code, out, _ = run("check", str(_zero_documented(tmp_path)), "--format", "json")
    assert code == 1
    data = strict_json(out)
    zero, exact = data["results"]
    assert (zero["documented"], zero["computed"], zero["deviation"], zero["status"]) == (0, 224, None, "FAIL")
    assert exact["deviation"] == 0


def test_dumps_never_writes_nan_or_infinity() -> None:
    from cnncost.render.formats import dumps

    text = dumps({"a": float("inf"), "b": [float("nan"), -float("inf"), 1.5], "c": {"d": (2, float("nan"))}})
    assert strict_json(text) == {"a": None, "b": [None, None, 1.5], "c": {"d": [2, None]}}


# -------------------------------------------------------------------------------------------- CSV injection

DANGEROUS = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def _named(tmp_path: Path, i: int, name: str) -> Path:
    spec = tmp_path / f"n{i}.yaml"
    spec.write_text(
        f"name: {json.dumps(name)}\ndescription: {json.dumps(name)}\ninput: [8, 8, 3]\n"
        "layers:\n  - {name: conv, conv: {out: 8, kernel: 3}}\n",
        encoding="utf-8",
    )
    return spec


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _cells(text: str) -> list[str]:
    return [cell for row in _rows(text) for cell in row]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", DANGEROUS, ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_compare_csv_escapes_a_name_a_spreadsheet_would_run(tmp_path: Path, name: str) -> None:
    code, out, err = run("compare", str(_named(tmp_path, 0, name)), "lenet5", "--format", "csv")
    assert code == 0, err
    cells = _cells(out)
    shown = "'" + name.replace("\r", "\\r").replace("\t", "\\t")  # the terminal-safe escape of cnncost.cli.show
    assert f"{shown}:params" in cells and f"{shown}:macs" in cells
    assert all(len(row) == len(_rows(out)[0]) for row in _rows(out))
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells if not _number(cell))


def test_every_csv_output_escapes_formula_cells() -> None:
    from cnncost.render.formats import csv_text

    out = csv_text(["=h", "ok"], [["=1+1", 5], ["-3", "x"], [-3, "@a"], ["\t", "\rb"], ["a=b", "safe"]])
    assert _cells(out) == ["'=h", "ok", "'=1+1", "5", "'-3", "x", "-3", "'@a", "'\t", "'\\rb", "a=b", "safe"]
