"""``cnncost check``: documented figures recomputed, over the whole library and on users' files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from cnncost import api, cli
from cnncost.analysis.check import EXPLAINED, FAIL, PASS
from cnncost.errors import SpecError

DATA = Path(__file__).parent / "data"


def run(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "160", "NO_COLOR": "1", "CNNCOST_DEBUG": None}) as (out, err, _):
        code = cli.main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        return code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")


def test_every_bundled_network_documents_figures_and_they_all_check() -> None:
    report = api.check()
    assert report.unchecked == ()
    networks = {r.figure.network for r in report.results}
    assert networks == {e.name for e in api.library_entries()}
    failed = [f"{r.figure.network}: {r.figure.label} ({r.note})" for r in report.results if r.status == FAIL]
    assert not failed
    assert report.ok


def test_the_course_slips_are_explained_not_bent() -> None:
    results = {(r.figure.network, r.figure.label): r for r in api.check("conv5x5-bottleneck", "alexnet").results}
    slip = results[("conv5x5-bottleneck", "MACs of conv5x5")]
    assert slip.status == EXPLAINED and slip.computed == 10_035_200 and slip.figure.value == 10_048_000
    typo = results[("alexnet", "output shape of conv2")]
    assert typo.status == EXPLAINED and typo.computed == (27, 27, 256)
    assert results[("conv5x5-bottleneck", "MACs of reduce")].status == PASS


def test_a_wrong_documented_figure_fails_with_a_readable_row(tmp_path: Path) -> None:
    junit = tmp_path / "check.xml"
    code, out, err = run("check", str(DATA / "wrong_figure.yaml"), "--junit", str(junit))
    assert code == 1 and err == ""
    row = next(line for line in out.splitlines() if "FAIL" in line)
    assert row.split()[:5] == ["wrong-figure", "MACs", "10,000", "7,776", "-22.24%"]
    assert "2 passed, 0 explained, 1 failed" in out
    tree = ET.parse(junit).getroot()
    assert tree.tag == "testsuites" and tree.get("tests") == "3" and tree.get("failures") == "1"
    (failure,) = tree.iter("failure")
    assert "computed 7,776" in (failure.text or "")


def test_json_and_exit_zero_when_everything_passes() -> None:
    code, out, _ = run("check", "lenet5-1998", "conv3x3-separable", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["failed"] == 0
    c3 = next(r for r in data["results"] if r["label"] == "params of c3")
    assert (c3["documented"], c3["computed"], c3["status"]) == (1516, 1516, "pass")


def test_a_family_file_checks_every_network_it_defines() -> None:
    root = Path(__file__).resolve().parents[1]
    report = api.check(str(root / "architectures" / "vgg.yaml"))
    assert {r.figure.network for r in report.results} == {"vgg11", "vgg13", "vgg16", "vgg19"}


def test_no_figures_is_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    spec = tmp_path / "bare.yaml"
    spec.write_text("name: bare\ninput: [4, 4, 1]\nlayers:\n  - {conv: {out: 1, kernel: 1}}\n", encoding="utf-8")
    code, out, err = run("check", str(spec))
    assert code == 1 and out == ""
    assert err.startswith("error: no documented figures to check in bare")


def test_junit_into_a_missing_folder_is_usage(tmp_path: Path) -> None:
    code, out, err = run("check", "lenet5", "--junit", str(tmp_path / "missing" / "x.xml"))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{figure: params, value: 1, source: s, tolerence: 0.1}", "did you mean 'tolerance'"),
        ("{figure: parms, value: 1, source: s}", "did you mean 'params'"),
        ("{figure: params, value: 1}", "needs 'source'"),
        ("{figure: params, value: lots, source: s}", "expected a number"),
        ("{figure: output_shape, value: [2, 2], source: s}", "[H, W, C] or [N]"),
        ("{figure: params, value: 1, source: s, tolerance: 2}", "tolerance 2"),
        ("{network: nope, figure: params, value: 1, source: s}", "no network 'nope'"),
    ],
)
def test_bad_documented_entries_are_located(tmp_path: Path, entry: str, message: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"name: s\ninput: [4, 4, 1]\ndocumented:\n  - {entry}\nlayers:\n  - {{conv: {{out: 1, kernel: 1}}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as info:
        api.check(str(spec))
    assert message in str(info.value)
    assert info.value.file == str(spec) and info.value.line == 4


def test_a_missing_layer_fails_with_a_suggestion(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: s\ninput: [4, 4, 1]\ndocumented:\n  - {figure: params, layer: cnov, value: 2, source: s}\n"
        "layers:\n  - {name: conv, conv: {out: 1, kernel: 1}}\n",
        encoding="utf-8",
    )
    (result,) = api.check(str(spec)).results
    assert result.status == FAIL and "no row 'cnov'" in result.note and "'conv'" in result.note


# ------------------------------------------------------------- printed values, 'rounded', stale notes, depth


def _spec(tmp_path: Path, documented: str, layers: str = "  - {name: conv, conv: {out: 8, kernel: 3}}\n") -> Path:
    """A 3×3 conv on 8×8×3 → 6×6×8: params 3·3·3·8 + 8 = 224, MACs 3·3·3 × 8 × 6·6 = 7,776."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"name: s\ninput: [8, 8, 3]\ndocumented:\n{documented}layers:\n{layers}", encoding="utf-8"
    )
    return spec


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("7.8K", PASS),  # 7,776 rounds to 7.8 K (7,750 … 7,850)
        ("7.7K", FAIL),  # 7,776 does not round to 7.7 K
        ("'7,776'", PASS),  # thousands separators; a whole number printed exactly: exact
        ("7.78K", PASS),  # 7,775 … 7,785
        ("7.77K", FAIL),  # 7,765 … 7,775: 7,776 is just outside
        ("0.008M", PASS),  # 7,500 … 8,500
    ],
)
def test_rounded_accepts_exactly_what_rounds_to_the_printed_digits(tmp_path: Path, value: str, status: str) -> None:
    spec = _spec(tmp_path, f"  - {{figure: macs, value: {value}, tolerance: rounded, source: s}}\n")
    (result,) = api.check(str(spec)).results
    assert result.computed == 7776 and result.status == status
    assert result.figure.rounded


def test_rounded_tolerance_is_half_a_unit_of_the_last_printed_digit(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        "  - {figure: params, value: 0.27M, tolerance: rounded, source: s}\n"  # ±5,000 of 270,000
        "  - {figure: params, value: 1.5e+9, tolerance: rounded, source: s}\n"  # ±0.05e9 of 1.5e9
        "  - {figure: params, value: 224, tolerance: rounded, source: s}\n",  # a whole number: ±0.5
    )
    tolerances = [r.figure.tolerance for r in api.check(str(spec)).results]
    assert tolerances == pytest.approx([5_000 / 270_000, 0.05 / 1.5, 0.5 / 224])


def test_si_values_read_as_the_source_prints_them(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        "  - {figure: params, value: 0.224K, source: s}\n  - {figure: macs, value: '7,776', source: s}\n",
    )
    results = api.check(str(spec)).results
    assert [r.figure.value for r in results] == [224, 7776]
    assert all(r.status == PASS for r in results)


def test_a_deviation_note_on_a_figure_that_agrees_is_stale_and_fails(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "  - {figure: params, value: 224, source: s, deviation: 'the source says 225'}\n")
    (result,) = api.check(str(spec)).results
    assert result.status == FAIL and "stale" in result.note and not api.check(str(spec)).ok


def test_depth_counts_weight_layers_on_the_longest_path() -> None:
    by_network = {r.figure.network: r for r in api.check().results if r.figure.figure == "depth"}
    # 6n + 2 for the CIFAR ResNets (zero-padding shortcuts have no weights); the projection shortcuts of the
    # ImageNet ResNets are a shorter path beside the body; GoogLeNet: 1 + 2 + 9·2 + 1 = 22 through its modules.
    expected = {"resnet20": 20, "resnet110": 110, "resnet1202": 1202, "resnet50": 50, "plain34": 34}
    expected |= {"vgg16": 16, "googlenet": 22, "mobilenet-v1": 28, "alexnet-2gpu": 8}
    assert {n: by_network[n].computed for n in expected} == expected


def test_depth_of_one_block(tmp_path: Path) -> None:
    layers = (
        "  - {name: stem, conv: {out: 4, kernel: 1}}\n"
        "  - name: block\n"
        "    residual: {shortcut: projection, layers: [{conv: {out: 8, kernel: 3, padding: 1}},"
        " {conv: {out: 8, kernel: 3, padding: 1}}]}\n"
    )
    spec = _spec(
        tmp_path,
        "  - {figure: depth, layer: block, value: 2, source: s}\n  - {figure: depth, value: 3, source: s}\n",
        layers,
    )
    assert [(r.computed, r.status) for r in api.check(str(spec)).results] == [(2, PASS), (3, PASS)]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{figure: macs, value: '3.8 * 10**9', tolerance: rounded, source: s}", "as the source prints it"),
        ("{figure: depth, value: 2.5, source: s}", "whole number of layers"),
        ("{figure: depth, value: 2, tolerance: rounded, source: s}", "compared exactly"),
        ("{figure: output_shape, value: [6, 6, 8], tolerance: 0.1, source: s}", "compared exactly"),
        ("{figure: macs, value: 12Q, source: s}", "expected a number"),
    ],
)
def test_bad_rounding_and_depth_entries_are_located(tmp_path: Path, entry: str, message: str) -> None:
    spec = _spec(tmp_path, f"  - {entry}\n")
    with pytest.raises(SpecError) as info:
        api.check(str(spec))
    assert message in str(info.value)
    assert info.value.file == str(spec) and info.value.line == 4


def test_junit_of_the_whole_library_is_well_formed(tmp_path: Path) -> None:
    junit = tmp_path / "library.xml"
    code, _, err = run("check", "--junit", str(junit))
    assert code == 0 and err == ""
    root = ET.parse(junit).getroot()
    report = api.check()
    cases = list(root.iter("testcase"))
    assert root.get("tests") == str(len(report.results)) == str(len(cases)) and root.get("failures") == "0"
    assert {s.get("name") for s in root.iter("testsuite")} == {e.name for e in api.library_entries()}
    explained = [c for c in cases if "explained:" in "".join(c.itertext())]
    assert len(explained) == report.count(EXPLAINED) > 0
