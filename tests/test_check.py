"""``cnncost check``: documented figures recomputed, over the whole library and on users' files."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from clirun import cli_runner

from cnncost import api
from cnncost.analysis.check import EXPLAINED, FAIL, PASS
from cnncost.errors import SpecError

DATA = Path(__file__).parent / "data"


run = cli_runner(width=160)


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
    plain = {"vgg11", "vgg13", "vgg16", "vgg19"}
    assert {r.figure.network for r in report.results} == plain | {f"{name}-bn" for name in plain}


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


# ------------------------------------------------------------------------ checks that could never fail


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{figure: params, value: 1e309, tolerance: 0.1, source: s}", "not a finite number"),
        ("{figure: params, value: 1e309, source: s}", "not a finite number"),
        ("{figure: macs, value: 1e400M, source: s}", "not a finite number"),
        ("{figure: macs, value: 1e400M, tolerance: rounded, source: s}", "not a finite number"),
        ("{figure: macs, value: .inf, tolerance: 0.1, source: s}", "expected a number"),
        ("{figure: macs, value: '10**400', tolerance: 0.1, source: s}", ""),
        ("{figure: macs, value: 0, tolerance: rounded, source: s}", "zero"),
        ("{figure: macs, value: 0.0M, tolerance: rounded, source: s}", "zero"),
        ("{figure: params, value: '1234567890.123456789', source: s}", "more than 17 significant digits"),
        ("{figure: params, value: 123456789012345678, source: s}", "more than 17 significant digits"),
        ("{figure: params, value: '1.23456789012345678M', source: s}", "more than 17 significant digits"),
        ("{figure: params, value: '2,000,000,000,000,000,000', source: s}", "beyond 10^18"),
        ("{figure: params, value: 2e18, tolerance: 0.5, source: s}", "beyond 10^18"),
        ("{figure: params, value: 1.5e19, tolerance: 0.5, source: s}", "beyond 10^18"),
        ("{figure: flops, value: 5000000T, tolerance: 0.5, source: s}", "beyond 10^18"),
        ("{figure: params, value: -224, source: s}", "negative"),
        ("{figure: params, value: 224, tolerance: .nan, source: s}", "tolerance"),
        ("{figure: params, value: 224, tolerance: .inf, source: s}", "tolerance"),
        ("{figure: params, value: 224, tolerance: -.inf, source: s}", "tolerance"),
        ("{figure: params, value: 224, tolerance: -0.1, source: s}", "tolerance"),
        ("{figure: params, value: 224, tolerance: 1e309, source: s}", "tolerance"),
    ],
)
def test_values_no_source_prints_are_errors_in_the_spec(tmp_path: Path, entry: str, message: str) -> None:
    """Infinity passes under any tolerance, zero 'rounded' and absurd digits cannot be what a source printed:
    each is a located SpecError, never a check that cannot fail."""
    spec = _spec(tmp_path, f"  - {entry}\n")
    with pytest.raises(SpecError) as info:
        api.check(str(spec))
    assert message in str(info.value)
    assert info.value.file == str(spec) and info.value.line == 4 and info.value.column is not None
    code, out, err = run("check", str(spec))
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "internal error" not in err


@pytest.mark.parametrize(
    "value", ["138357544", "15.47e9", "15.47G", "'3.8 * 10**9'", "0.12345678901234567", "1e18", "'999,999,999'"]
)
def test_values_sources_do_print_are_accepted(tmp_path: Path, value: str) -> None:
    spec = _spec(tmp_path, f"  - {{figure: params, value: {value}, tolerance: 0.5, source: s}}\n")
    (result,) = api.check(str(spec)).results
    assert result.status == FAIL and result.computed == 224


CORPUS = Path(__file__).parent / "bad_inputs"


@pytest.mark.parametrize("name", ["top_list.yaml", "top_null.yaml", "top_scalar.yaml"])
def test_check_refuses_a_top_level_that_is_not_a_mapping(name: str) -> None:
    path = str(CORPUS / name)
    with pytest.raises(SpecError) as info:
        api.check(path)
    assert "the top level of a spec must be a mapping" in str(info.value)
    assert (info.value.file, info.value.line, info.value.column) == (path, 1, 1)
    code, out, err = run("check", path)
    assert code == 1 and out == ""
    assert err.startswith(f"error: {path}:1:1: the top level of a spec must be a mapping")
    assert len(err.splitlines()) == 1


def test_check_refuses_every_corpus_file_in_one_line() -> None:
    """``check`` reads specs too: no corpus file may make it crash, print to stdout or pass."""
    for path in sorted(CORPUS.glob("*.yaml")):
        code, out, err = run("check", str(path))
        assert code in (1, 2) and out == "", (path.name, out[:200])
        assert len(err.splitlines()) == 1 and "internal error" not in err, (path.name, err)


# ------------------------------------------------------------------------------------ bounded work


def _many_settings(tmp_path: Path, sizes: int, layers: int, per_size: int = 1) -> Path:
    spec = tmp_path / "many.yaml"
    figures = "".join(
        f"  - {{figure: output_shape, value: [{8 + i}, {8 + i}, 1], size: {8 + i}, source: s}}\n"
        for i in range(sizes)
        for _ in range(per_size)
    )
    spec.write_text(
        f"name: many\ninput: [8, 8, 1]\ndocumented:\n{figures}"
        f"layers:\n  - repeat: {{times: {layers}, layers: [relu]}}\n",
        encoding="utf-8",
    )
    return spec


def test_each_setting_is_analyzed_once_and_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import weakref

    from cnncost.analysis import check as check_module

    made: list[weakref.ref[object]] = []
    alive_at_call: list[int] = []
    real = check_module.analyze_network

    def counting(network: object, **kwargs: object) -> object:
        gc.collect()
        alive_at_call.append(sum(1 for ref in made if ref() is not None))
        report = real(network, **kwargs)  # type: ignore[arg-type]
        made.append(weakref.ref(report))
        return report

    monkeypatch.setattr(check_module, "analyze_network", counting)
    report = api.check(str(_many_settings(tmp_path, sizes=4, layers=10, per_size=5)))
    assert len(report.results) == 20 and report.ok
    assert alive_at_call == [0, 0, 0, 0]  # one analysis per distinct size, none kept while the next is made
    assert [r.figure.size for r in report.results] == [(8 + i, 8 + i) for i in range(4) for _ in range(5)]


def test_too_many_settings_of_a_large_network_are_refused_naming_the_numbers(tmp_path: Path) -> None:
    from cnncost.analysis.check import MAX_CHECK_LAYERS
    from cnncost.errors import LimitError

    spec = _many_settings(tmp_path, sizes=40, layers=3_000)
    with pytest.raises(LimitError) as info:
        api.check(str(spec))
    text = str(info.value)
    assert "40 settings" in text and "3,001 layers" in text and f"more than {MAX_CHECK_LAYERS:,}" in text
    assert info.value.file == str(spec) and info.value.line == 4
    code, out, err = run("check", str(spec))
    assert code == 1 and out == "" and len(err.splitlines()) == 1


def test_figures_of_one_setting_do_not_each_scan_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checking F figures of an L-layer network costs about F + L, not F × L: no figure walks every row."""
    from cnncost.analysis.records import Report

    scans: list[str] = []
    for name in ("layers", "find", "collapsed", "groups"):
        real = getattr(Report, name)

        def counted(self: Report, *args: object, _real: object = real, _name: str = name) -> object:
            scans.append(_name)
            return _real(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(Report, name, counted)
    spec = tmp_path / "wide.yaml"
    figures = "".join(
        f"  - {{figure: {kind}, {layer}value: {value}, source: s}}\n"
        for _ in range(50)
        for kind, layer, value in (
            ("output_shape", "", "[8, 8, 1]"),
            ("output_shape", "layer: repeat1.3, ", "[8, 8, 1]"),
            ("params", "layer: repeat1.7, ", "0"),
            ("depth", "layer: repeat1, ", "0"),
            ("depth", "", "0"),
            ("macs", "layer: nosuch, ", "0"),
        )
    )
    spec.write_text(
        f"name: wide\ninput: [8, 8, 1]\ndocumented:\n{figures}layers:\n  - repeat: {{times: 10, layers: [relu]}}\n",
        encoding="utf-8",
    )
    report = api.check(str(spec))
    assert len(report.results) == 300 and report.count(FAIL) == 50
    assert len(scans) <= 2, scans  # the network's output shape, once
