"""Variable values given outside a spec file — ``--set``, the API, a documented figure's ``variables`` — are read
exactly as the same value written in the spec would be, with the same limits (``cnncost.spec.values``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cnncost import api, cli
from cnncost.errors import CnnCostError, UsageError
from cnncost.spec import yamlsafe
from cnncost.spec.values import read_value


def _cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = cli.main(["table", *args, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(
    "text",
    ["false", "true", "False", "off", "7", "-3", "0.25", "1_000", "[2, 2, 2, 2]", "[1, [2, 3]]", "'quoted'",
     '"1e-3"', "1e-3", "nan", "inf", ".5", "basic", "zero-pad", "width * 2", "~", "[]"],
)
def test_a_set_value_reads_as_the_same_value_in_a_spec(text: str) -> None:
    """The reference is the spec reader itself: the value written after 'x: ' in a spec file."""
    in_a_spec = yamlsafe.parse(f"x: {text}\n", file=None)["x"]
    got = read_value(text, name="x")
    assert json.dumps(got) == json.dumps(in_a_spec)  # same value and kind: false is not 0, 1.0 is not 1


def test_nan_and_inf_are_words_not_numbers() -> None:
    assert read_value("nan", name="x") == "nan"
    assert read_value("inf", name="x") == "inf"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[1, 2", "--set x="),
        ("{a: 1", "--set x="),
        ("2024-01-01", "--set x="),
        ("!!python/name:os.system", "cannot read this value"),
        ("*alias", "--set x="),
        ("1" * 5000, "absurdly large"),
        ("0x" + "f" * 10_000, "absurdly large"),
        ("[" * 100 + "]" * 100, "nests more than"),
        ("# only a comment", "holds no value"),
    ],
    ids=["open-list", "open-map", "date", "python-tag", "alias", "digits", "hex", "deep", "comment"],
)
def test_unreadable_set_values_are_one_line_usage_errors(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        read_value(text, name="x")
    message = str(info.value)
    assert fragment in message and "\n" not in message and message.startswith("--set x="), message


def test_parse_sets_reads_yaml_values() -> None:
    assert cli.parse_sets(["v1=false", "depths=[2, 2, 2, 2]", "block=basic", "width=0.5", "x=nan", "n=3"]) == {
        "v1": False,
        "depths": [2, 2, 2, 2],
        "block": "basic",
        "width": 0.5,
        "x": "nan",
        "n": 3,
    }


def test_set_false_is_false(capsys: pytest.CaptureFixture[str]) -> None:
    """``--set v1=false`` once computed ResNet-50 v1's placement while printing v1=false."""
    default = api.analyze("resnet50").totals.macs
    paper = api.analyze("resnet50-v1").totals.macs
    assert default != paper  # the stride placement changes the cost (4,089,184,256 vs 3,857,973,248 MACs)
    assert _cli_json(capsys, "resnet50", "--set", "v1=false")["totals"]["macs"] == default
    assert _cli_json(capsys, "resnet50", "--set", "v1=true")["totals"]["macs"] == paper
    assert _cli_json(capsys, "resnet50-v1", "--set", "v1=false")["totals"]["macs"] == default


def test_set_false_switches_a_when_off(capsys: pytest.CaptureFixture[str]) -> None:
    with_lrn = _cli_json(capsys, "alexnet-2gpu")
    without = _cli_json(capsys, "alexnet-2gpu", "--set", "lrn=false")
    paths = {r["name"] for r in with_lrn["layers"]} - {r["name"] for r in without["layers"]}
    assert paths == {"norm1", "norm2"}


def test_set_list_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli_json(capsys, "resnet50", "--set", "depths=[2, 2, 2, 2]", "--set", "block=basic", "--set",
                     "expansion=1")["totals"] == _cli_json(capsys, "resnet18")["totals"]


def test_text_is_not_a_condition() -> None:
    """The API passes Python values: the text 'false' is a word, and a word is not silently true."""
    with pytest.raises(CnnCostError) as info:
        api.analyze("resnet50", variables={"v1": "false"})
    assert "'false'" in str(info.value) and "true or false" in str(info.value)
    assert api.analyze("resnet50", variables={"v1": False}).totals.macs == api.analyze("resnet50").totals.macs


def test_a_documented_figure_reads_its_variables_like_the_spec(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(
        "name: t\ninput: [8, 8, 3]\nvariables: {wide: false}\n"
        "layers:\n  - conv: {out: '16 if wide else 8', kernel: 1}\n"
        "documented:\n  - {figure: params, value: 32, source: 'by hand', variables: {wide: false}}\n"
        "  - {figure: params, value: 64, source: 'by hand', variables: {wide: true}}\n"
    )
    report = api.check(str(spec))
    assert [r.ok for r in report.results] == [True, True]
