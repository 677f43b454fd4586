"""Names fold as Python's parser folds them (NFKC, PEP 3131), once, where they are read: ``ﬁlters`` (with the
ligature U+FB01) and ``filters`` are one name everywhere — in expressions, variables, blocks, arguments, bare words
and the API's variables — never one name on one side and two on the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncost import api
from cnncost.errors import SpecError, UsageError
from cnncost.spec.expr import evaluate

LIGATURE = "\ufb01"  # ﬁ


def _channels(tmp_path: Path, text: str, **variables: object) -> list[int]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    report = api.analyze(str(path), variables=variables or None)
    return [r.output_shape[-1] for r in report.records if r.kind == "layer"]


def test_a_variable_spelled_with_a_ligature_is_the_same_variable(tmp_path: Path) -> None:
    spec = (
        f"name: t\ninput: [8, 8, 3]\nvariables: {{{LIGATURE}lters: 64}}\n"
        "layers:\n  - conv: {out: filters, kernel: 1}\n"
    )
    assert _channels(tmp_path, spec) == [64]
    assert _channels(tmp_path, spec, filters=16) == [16]
    assert _channels(tmp_path, spec, **{f"{LIGATURE}lters": 8}) == [8]


def test_blocks_and_arguments_fold_too(tmp_path: Path) -> None:
    spec = (
        "name: t\ninput: [8, 8, 3]\nvariables: {kind: filter_block}\n"
        f"blocks:\n  {LIGATURE}lter_block: {{args: {{{LIGATURE}lters: 4}}, "
        "layers: [conv: {out: filters, kernel: 1}]}\n"
        "layers:\n"
        "  - filter_block: {filters: 5}\n"
        f"  - {LIGATURE}lter_block\n"
        f"  - block: {{use: {LIGATURE}lter_block, {LIGATURE}lters: 6}}\n"
        "  - block: {use: kind}\n"
    )
    assert _channels(tmp_path, spec) == [5, 4, 6, 4]


def test_bare_words_fold() -> None:
    assert evaluate(f"{LIGATURE}lters", {"filters": 3}) == 3
    assert evaluate(f"{LIGATURE}lters", {}) == "filters"
    assert evaluate(f"zero-{LIGATURE}ll", {}) == "zero-fill"


def test_two_spellings_of_one_variable_in_the_api_are_refused(tmp_path: Path) -> None:
    spec = "name: t\ninput: [8, 8, 3]\nvariables: {filters: 4}\nlayers:\n  - conv: {out: filters, kernel: 1}\n"
    with pytest.raises(UsageError, match="same name after Unicode normalization"):
        _channels(tmp_path, spec, **{f"{LIGATURE}lters": 1, "filters": 2})


def test_a_documented_setting_folds_like_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "name: t\ninput: [8, 8, 3]\nvariables: {filters: 4}\nlayers:\n  - conv: {out: filters, kernel: 1}\n"
        f"documented:\n  - {{figure: params, value: 32, source: 'by hand', variables: {{{LIGATURE}lters: 8}}}}\n",
        encoding="utf-8",
    )
    assert [r.ok for r in api.check(str(path)).results] == [True]


@pytest.mark.parametrize("name", ["in_channels", "in_height", "in_width", "index", "stride", "lambda", "True"])
def test_reserved_variable_names_are_refused(name: str, tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: t\ninput: [8, 8, 3]\nvariables: {{'{name}': 4}}\nlayers: [relu]\n")
    with pytest.raises(SpecError, match=f"variable '{name}' is a reserved name") as info:
        api.analyze(str(path))
    assert info.value.line == 3 and "in_channels, in_height, in_width, index, stride" in str(info.value)
