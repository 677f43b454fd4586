"""The command line through Typer's CliRunner isolation (fixed width, no colour), with golden outputs.

Every command runs through ``cnncost.cli.main`` — the same function the ``cnncost`` script calls — so the error
mapping (one stderr line, exit code 1 for input, 2 for usage) is what is tested. ``pytest --update-golden``
rewrites ``tests/golden/``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cnncost import __version__, api, cli

ROOT = Path(__file__).resolve().parents[1]
WIDTH = "120"


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """Run the CLI in-process at a fixed width, stdout and stderr kept apart."""
    runner = CliRunner()
    environment = {"COLUMNS": WIDTH, "NO_COLOR": "1", "CNNCOST_DEBUG": None, **(env or {})}
    with runner.isolation(env=environment) as (out, err, _):
        code = cli.main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8")
        stderr = err.getvalue().decode("utf-8")
    return Outcome(code, stdout, stderr)


def ok(*args: str) -> Outcome:
    result = run(*args)
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    return result


def bundled() -> list[str]:
    return [entry.name for entry in api.library_entries()]


# ------------------------------------------------------------------------------------------- golden outputs

GOLDEN_CASES = {
    "table_lenet5.txt": ["table", "lenet5"],
    "table_vgg16.txt": ["table", "vgg16"],
    "table_resnet50_depth1.txt": ["table", "resnet50", "--depth", "1"],
    "table_resnet50_depth0_batch8_size160.txt": ["table", "resnet50", "-d", "0", "-b", "8", "-s", "160"],
    "table_inception-bottleneck.md": ["table", "inception-bottleneck", "--format", "markdown"],
    "table_lenet5.csv": ["table", "lenet5", "--format", "csv"],
    "table_alexnet.json": ["table", "alexnet", "--format", "json"],
    "compare_conv5x5.txt": ["compare", "conv5x5", "conv5x5-bottleneck"],
    "compare_inception.txt": ["compare", "inception-naive", "inception-bottleneck"],
    "compare_inception.md": ["compare", "inception-naive", "inception-bottleneck", "--format", "markdown"],
    "list_conv5x5.txt": ["list", "conv5x5"],
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_output(name: str, golden: Callable[[str, str], None]) -> None:
    golden(name, ok(*GOLDEN_CASES[name]).stdout)


# --------------------------------------------------------------------------------------------- table


def test_lenet5_json_matches_the_course_table() -> None:
    data = ok("table", "lenet5", "--format", "json").json()
    assert data["schema_version"] == 1 and data["shape_order"] == "HWC"
    assert data["input"] == [32, 32, 1] and data["output"] == [10] and data["batch"] == 1
    convs = [row for row in data["layers"] if row["op"] in ("conv", "linear", "avgpool")]
    assert [row["output_shape"] for row in convs] == [[28, 28, 6], [14, 14, 6], [10, 10, 16], [5, 5, 16], [120],
                                                      [84], [10]]
    c1, _, c2, _, fc1, fc2, out = convs
    assert (c1["params"], c1["macs"]) == (5 * 5 * 1 * 6 + 6, 5 * 5 * 1 * 6 * 28 * 28)  # 156, 117,600
    assert (c2["params"], c2["macs"]) == (5 * 5 * 6 * 16 + 16, 5 * 5 * 6 * 16 * 10 * 10)  # 2,416, 240,000
    assert (fc1["params"], fc1["macs"]) == (400 * 120 + 120, 400 * 120)
    assert (fc2["params"], out["params"]) == (120 * 84 + 84, 84 * 10 + 10)
    assert data["totals"]["flops"] == 2 * data["totals"]["macs"]


@pytest.mark.parametrize("network", bundled())
def test_every_bundled_network_rows_sum_to_the_totals(network: str) -> None:
    for depth in (None, 0, 1, 2):
        args = ["table", network, "--format", "json"] + ([] if depth is None else ["--depth", str(depth)])
        data = ok(*args).json()
        totals = data["totals"]
        for key in ("params", "macs", "flops", "other_ops"):
            assert sum(row[key] for row in data["layers"]) == totals[key], (network, depth, key)
        for category, n in totals["other"].items():
            assert sum(row["other"].get(category, 0) for row in data["layers"]) == n
        assert totals["flops"] == 2 * totals["macs"]
        assert totals["other_ops"] == sum(totals["other"].values())


def test_vgg16_and_resnet50_headline_figures() -> None:
    vgg = ok("table", "vgg16", "--format", "json").json()["totals"]
    assert (vgg["params"], vgg["macs"]) == (138_357_544, 15_470_264_320)
    resnet = ok("table", "resnet50", "--format", "json").json()["totals"]
    assert (resnet["params"], resnet["macs"]) == (25_557_032, 4_089_184_256)


def test_batch_scales_macs_and_other_ops_but_not_params() -> None:
    one = ok("table", "resnet50", "--format", "json").json()
    eight = ok("table", "resnet50", "--batch", "8", "--format", "json").json()
    assert eight["batch"] == 8
    assert eight["totals"]["params"] == one["totals"]["params"]
    assert eight["totals"]["macs"] == 8 * one["totals"]["macs"]
    assert eight["totals"]["other"] == {k: 8 * v for k, v in one["totals"]["other"].items()}
    assert eight["input"] == one["input"] == [224, 224, 3]


def test_size_and_set_reach_the_spec() -> None:
    square = ok("table", "resnet50", "--size", "160", "--format", "json").json()
    assert square["input"] == [160, 160, 3]
    oblong = ok("table", "resnet50", "--size", "224x160", "--format", "json").json()
    assert oblong["input"] == [224, 160, 3]
    assert oblong["layers"][0]["output_shape"] == [112, 80, 64]
    ten = ok("table", "vgg16", "--set", "classes=10", "--format", "json").json()
    assert ten["output"] == [10] and ten["layers"][-1]["params"] == 4096 * 10 + 10


def test_csv_rows_sum_to_the_json_totals() -> None:
    totals = ok("table", "resnet50", "--format", "json").json()["totals"]
    rows = list(csv.DictReader(io.StringIO(ok("table", "resnet50", "--format", "csv").stdout)))
    assert sum(int(r["params"]) for r in rows) == totals["params"]
    assert sum(int(r["macs"]) for r in rows) == totals["macs"]


def test_table_text_totals_row_equals_the_json_totals() -> None:
    text = ok("table", "vgg16").stdout
    total = next(line.split() for line in text.splitlines() if line.startswith("total"))
    assert total[-3:] == ["138,357,544", "15,470,264,320", "100.0%"]
    assert "FLOPs" in text and "30,940,528,640" in text


# ------------------------------------------------------------------------------------------- compare


def _row(data: dict[str, Any], path: str) -> list[dict[str, Any] | None]:
    found: list[dict[str, Any] | None] = next(r["cells"] for r in data["rows"] if r["path"] == path)
    return found


def test_compare_conv5x5_pair() -> None:
    data = ok("compare", "conv5x5", "conv5x5-bottleneck", "--format", "json").json()
    direct, bottleneck = data["networks"]
    assert direct["totals"]["macs"] == 5 * 5 * 192 * 32 * 28 * 28 == 120_422_400
    assert bottleneck["totals"]["macs"] == 2_408_448 + 10_035_200 == 12_443_648
    assert data["ratios"][0]["macs"] == pytest.approx(12_443_648 / 120_422_400)
    whole = _row(data, "")
    assert [c["terms"] for c in whole if c] == [[120_422_400], [2_408_448, 10_035_200]]
    text = ok("compare", "conv5x5", "conv5x5-bottleneck").stdout
    assert "2,408,448 + 10,035,200 = 12,443,648" in text and "120,422,400" in text


def test_compare_inception_pair_shows_the_5x5_branch() -> None:
    data = ok("compare", "inception-naive", "inception-bottleneck", "--format", "json").json()
    naive, bottleneck = data["networks"]
    assert naive["output"] == bottleneck["output"] == [28, 28, 256]
    branch = next(r for r in data["rows"] if r["kind"] == "group" and r["cells"][0]["terms"] == [120_422_400])
    before, after = branch["cells"]
    assert before["macs"] == 5 * 5 * 192 * 32 * 28 * 28 == 120_422_400
    assert after["terms"] == [1 * 1 * 192 * 16 * 28 * 28, 5 * 5 * 16 * 32 * 28 * 28] == [2_408_448, 10_035_200]
    assert after["macs"] == 12_443_648
    text = ok("compare", "inception-naive", "inception-bottleneck").stdout
    line = next(x for x in text.splitlines() if x.strip().startswith(branch["path"] + " "))
    assert "120,422,400" in line and "2,408,448 + 10,035,200 = 12,443,648" in line and "0.10×" in line


def test_compare_three_networks_and_csv() -> None:
    data = ok("compare", "vgg16", "resnet50", "alexnet", "--format", "json").json()
    assert [r["name"] for r in data["ratios"]] == ["resnet50", "alexnet"]
    assert data["ratios"][0]["macs"] == pytest.approx(4_089_184_256 / 15_470_264_320)
    rows = list(csv.reader(io.StringIO(ok("compare", "vgg16", "resnet50", "--format", "csv").stdout)))
    assert rows[1][:6] == ["total", "-1", "138357544", "15470264320", "25557032", "4089184256"]


# ---------------------------------------------------------------------------------------- list and ops


def test_list_shows_each_network_once_in_natural_order() -> None:
    data = ok("list", "--format", "json").json()
    names = [n["name"] for n in data["networks"]]
    assert names == bundled()
    assert names.index("resnet18") < names.index("resnet101")
    vgg = next(n for n in data["networks"] if n["name"] == "vgg16")
    assert (vgg["params"], vgg["macs"], vgg["input"]) == (138_357_544, 15_470_264_320, [224, 224, 3])
    text = ok("list", "resnet").stdout
    assert "resnet50" in text and "vgg16" not in text and "4.09 G" in text


def test_ops_lists_the_registry_with_arguments() -> None:
    data = ok("ops", "--format", "json").json()
    conv = next(op for op in data["ops"] if op["name"] == "conv")
    args = {a["name"]: a for a in conv["arguments"]}
    assert args["kernel"]["required"] and args["stride"]["default"] == 1 and args["bias"]["default"] is True
    text = ok("ops").stdout
    assert "kernel (required)" in text and "maxpool" in text and "add" not in text.split()


def test_version_and_help() -> None:
    assert ok("--version").stdout == f"cnncost {__version__}\n"
    text = ok("--help").stdout
    for command in ("list", "table", "compare", "ops"):
        assert command in text
    table_help = ok("table", "--help").stdout
    for option in ("--size", "--batch", "--set", "--depth", "--format", "--verify"):
        assert option in table_help


# ------------------------------------------------------------------------------------------------ errors


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    files = {
        "broken.yaml": "name: broken\ninput: [4, 4, 3\nlayers:\n  - relu\n",
        "schema.yaml": "name: schema\ninput: [8, 8, 3]\nlayers:\n  - {name: c1, conv: {out: 8, kernal: 3}}\n",
        "residual.yaml": textwrap.dedent(
            """\
            name: residual
            input: [28, 28, 256]
            layers:
              - name: block
                residual:
                  shortcut: identity
                  layers:
                    - {name: conv, conv: {out: 128, kernel: 3, padding: 1}}
            """
        ),
        "kernel.yaml": "name: kernel\ninput: [4, 4, 3]\nlayers:\n  - {name: big, conv: {out: 8, kernel: 5}}\n",
        "good.yaml": "name: good\ninput: [8, 8, 3]\nlayers:\n  - {name: c1, conv: {out: 4, kernel: 3}}\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


INPUT_ERRORS = {
    # case: (arguments, fragments the single line must hold)
    "missing file": (["table", "{dir}/nope.yaml"], ["nope.yaml"]),
    "unknown name": (["table", "vgg61"], ["vgg61", "did you mean", "vgg16"]),
    "broken yaml": (["table", "{dir}/broken.yaml"], ["broken.yaml:3", "YAML"]),
    "schema": (["table", "{dir}/schema.yaml"], ["schema.yaml:4", "kernal", "kernel"]),
    "residual shapes": (["table", "{dir}/residual.yaml"], ["residual.yaml", "block", "28×28×128", "28×28×256",
                                                           "projection"]),
    "kernel too large": (["table", "{dir}/kernel.yaml"], ["kernel.yaml:4", "big", "5×5", "4×4"]),
    "size too small": (["table", "lenet5", "--size", "2"], ["lenet5.yaml", "c1", "5×5"]),
    "unknown name in compare": (["compare", "lenet5", "lenot5"], ["lenot5", "lenet5"]),
    "list pattern": (["list", "zzz"], ["zzz"]),
    "directory": (["table", "{dir}"], ["directory"]),
}

USAGE_ERRORS = {
    "size zero": (["table", "lenet5", "--size", "0"], ["--size"]),
    "size text": (["table", "lenet5", "--size", "big"], ["--size", "HxW"]),
    "batch negative": (["table", "lenet5", "--batch", "-1"], ["--batch"]),
    "set without =": (["table", "lenet5", "--set", "classes"], ["--set", "KEY=VALUE"]),
    "set unknown variable": (["table", "lenet5", "--set", "clases=3"], ["clases", "classes"]),
    "format": (["table", "lenet5", "--format", "xml"], ["--format", "xml"]),
    "unknown option": (["table", "lenet5", "--sise", "3"], ["--sise"]),
    "unknown command": (["tabel", "lenet5"], ["tabel", "table"]),
    "missing argument": (["table"], ["NAME_OR_PATH"]),
    "compare one": (["compare", "lenet5"], ["two"]),
    "depth negative": (["table", "lenet5", "--depth", "-1"], ["--depth"]),
}


def _one_line_error(result: Outcome) -> str:
    assert result.stdout == "", "no partial output on stdout"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("case", sorted(INPUT_ERRORS))
def test_input_errors_are_one_line_and_exit_1(case: str, specs: Path) -> None:
    args, fragments = INPUT_ERRORS[case]
    result = run(*(a.format(dir=specs) for a in args))
    line = _one_line_error(result)
    assert result.code == 1, line
    for fragment in fragments:
        assert fragment in line, (fragment, line)


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_errors_are_one_line_and_exit_2(case: str) -> None:
    args, fragments = USAGE_ERRORS[case]
    result = run(*args)
    line = _one_line_error(result)
    assert result.code == 2, line
    for fragment in fragments:
        assert fragment in line, (fragment, line)


def test_a_spec_file_works_by_path(specs: Path) -> None:
    data = ok("table", str(specs / "good.yaml"), "--format", "json").json()
    assert data["layers"][0]["output_shape"] == [6, 6, 4]
    assert data["totals"]["params"] == 3 * 3 * 3 * 4 + 4


def test_debug_shows_the_traceback() -> None:
    for result in (run("--debug", "table", "vgg61"), run("table", "vgg61", env={"CNNCOST_DEBUG": "1"})):
        assert result.code == 1
        assert "Traceback" in result.stderr and "NotFoundError" in result.stderr
        assert result.stderr.splitlines()[-1].startswith("error: no network named 'vgg61'")


def test_ctrl_c_and_bugs_become_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "analyze", interrupted)
    result = run("table", "lenet5")
    assert result.code == 130 and _one_line_error(result) == "error: interrupted"

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something inside broke\nsecond line")

    monkeypatch.setattr(api, "analyze", broken)
    result = run("table", "lenet5")
    line = _one_line_error(result)
    assert result.code == 1 and "internal error: RuntimeError: something inside broke" in line and "--debug" in line


def test_no_partial_stdout_when_a_later_network_fails() -> None:
    result = run("compare", "lenet5", "vgg16", "vgg61")
    assert result.code == 1 and result.stdout == ""


# ------------------------------------------------------------------------------ processes, torch-free start

SNIPPET = """
import sys
from cnncost.cli import main
code = main(sys.argv[1:])
assert "torch" not in sys.modules, "torch was imported"
sys.exit(code)
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["list"], ["table", "resnet50"], ["compare", "inception-naive", "inception-bottleneck"], ["ops"]],
)
def test_commands_do_not_import_torch(args: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": WIDTH}
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_python_dash_m_runs_the_cli() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": WIDTH}
    done = subprocess.run(
        [sys.executable, "-m", "cnncost", "table", "lenet5", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["name"] == "lenet5"
    done = subprocess.run(
        [sys.executable, "-m", "cnncost", "table", "vgg61"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 1 and done.stdout == "" and done.stderr.startswith("error: ")


# ------------------------------------------------------------------------------------------- --verify


@pytest.mark.torch
def test_verify_confirms_every_row() -> None:
    pytest.importorskip("torch")
    result = ok("table", "inception-bottleneck", "--verify")
    said = " ".join(result.stdout.split())
    assert "verified: PyTorch on the meta device agrees on the params, FLOPs (= 2 × MACs) and output shape" in said
    assert "all 14 layers and 5 blocks — 163,696 params, 256,098,304 FLOPs by FlopCounterMode" in said
    data = ok("table", "resnet50", "--verify", "--format", "json").json()
    assert data["verify"]["ok"] is True
    assert data["verify"]["flops"] == 2 * data["totals"]["macs"]
    assert data["verify"]["params"] == data["totals"]["params"]


@pytest.mark.torch
def test_verify_disagreement_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    import dataclasses

    real = api.verify("lenet5")
    first = real.rows[0]
    assert first.path == "c1" and first.measured_flops == 2 * 117_600
    bad = dataclasses.replace(first, measured_flops=first.measured_flops + 1, ok=False)
    wrong = dataclasses.replace(real, rows=(bad, *real.rows[1:]))
    monkeypatch.setattr(api, "verify", lambda *args, **kwargs: wrong)
    result = run("table", "lenet5", "--verify")
    line = _one_line_error(result)
    assert result.code == 1 and "c1" in line and "235201" in line


# -------------------------------------------------------------------------------------------- parse helpers


@pytest.mark.parametrize(
    ("text", "size"),
    [("224", (224, 224)), ("224x160", (224, 160)), ("224×160", (224, 160)), (" 32 X 48 ", (32, 48)), (None, None)],
)
def test_parse_size(text: str | None, size: tuple[int, int] | None) -> None:
    assert cli.parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "0x5", "224x", "x224", "-3", "2.5", "big", "224x160x3"])
def test_parse_size_refuses(text: str) -> None:
    from cnncost.errors import UsageError

    with pytest.raises(UsageError):
        cli.parse_size(text)


def test_parse_sets() -> None:
    assert cli.parse_sets(["width=0.5", "classes=10", "block=basic", "eps=1e-3", "x=nan", "classes=100"]) == {
        "width": 0.5,
        "classes": 100,
        "block": "basic",
        "eps": "1e-3",  # as in a spec (YAML 1.1 floats need a point): text the resolver evaluates to 0.001
        "x": "nan",
    }
    assert cli.parse_sets(None) == {}
    from cnncost.errors import UsageError

    for bad in ("width", "=3", "width=", "1x=2", "a b=3"):
        with pytest.raises(UsageError):
            cli.parse_sets([bad])
