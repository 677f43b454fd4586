"""Resolving a spec does bounded work: what adds no layers (switched-off items, empty copies, empty block calls,
argument bindings) counts against ``limits.MAX_WORK``, scopes are chained rather than copied, and a repeat whose
copies differ by ``index`` is expanded copy by copy. Specs too large for the corpus folder are made here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnncost import api, limits
from cnncost.analysis.records import Record, Report
from cnncost.errors import CnnCostError, LimitError

SECONDS = 5.0  # CPU seconds of this process, as tests/test_bad_inputs.py: answers and refusals take about 1 s


def _names(count: int) -> Iterator[str]:
    """Short distinct identifiers that YAML reads as text (not true/no/null/…) and Python as plain names."""
    import itertools
    import keyword
    import string

    import yaml

    first, rest = string.ascii_letters, string.ascii_letters + string.digits
    made = 0
    for length in itertools.count(1):
        for letters in itertools.product(first, *([rest] * (length - 1))):
            name = "".join(letters)
            if keyword.iskeyword(name) or not isinstance(yaml.safe_load(name), str):
                continue
            yield name
            made += 1
            if made == count:
                return


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    assert len(text.encode()) <= limits.MAX_FILE_BYTES  # hostile, but within the file limit
    return str(path)


def _layers(report: Report) -> list[Record]:
    return [r for r in report.records if r.kind == "layer"]


def _timed_analyze(spec: str) -> Report:
    start = time.process_time()
    report = api.analyze(spec)
    assert time.process_time() - start < SECONDS
    return report


def test_35500_variables_resolve_quickly(tmp_path: Path) -> None:
    """Each layer copied the whole scope (and each variable checked every later one): 28 s and more."""
    names = list(_names(35_500))
    spec = _write(
        tmp_path,
        "name: t\ninput: [8, 8, 3]\nvariables: {"
        + ",".join(f"{n}: 1" for n in names)
        + "}\nlayers:\n  - repeat: {times: 1000, layers: [{conv: {out: "
        + names[-1]
        + " * 4, kernel: 1}}]}\n",
    )
    report = _timed_analyze(spec)
    assert len(_layers(report)) == 1000


def test_20000_argument_defaults_called_49000_times_are_refused(tmp_path: Path) -> None:
    args = ",".join(f"{n}: 0" for n in _names(20_000))
    spec = _write(
        tmp_path,
        f"name: t\ninput: [8, 8, 3]\nblocks:\n  b: {{args: {{{args}}}, layers: [{{when: false, relu: {{}}}}]}}\n"
        "layers:\n  - repeat: {times: 49000, layers: [b]}\n",
    )
    start = time.process_time()
    with pytest.raises(LimitError, match="steps of work"):
        api.analyze(spec)
    assert time.process_time() - start < SECONDS


def test_a_repeat_switched_off_by_index_is_answered(tmp_path: Path) -> None:
    """Copies 1… switched off by ``when: index == 0`` raised IndexError; the repeat is the copies that remain."""
    ours = _write(
        tmp_path,
        "name: t\ninput: [8, 8, 3]\nlayers:\n"
        "  - repeat: {times: 5, layers: [{when: index % 2 == 0, conv: {out: 3, kernel: 3, padding: 1}}]}\n",
    )
    report = api.analyze(ours)
    (tmp_path / "three.yaml").write_text(
        "name: t\ninput: [8, 8, 3]\nlayers:\n  - repeat: {times: 3, layers: [conv: {out: 3, kernel: 3, padding: 1}]}\n"
    )
    three = api.analyze(str(tmp_path / "three.yaml"))
    assert [r.path for r in _layers(report)] == ["repeat1.0", "repeat1.2", "repeat1.4"]
    assert report.totals == three.totals


def test_a_repeat_of_one_switched_off_copy_pair(tmp_path: Path) -> None:
    spec = _write(
        tmp_path,
        "name: t\ninput: [8, 8, 3]\nlayers:\n"
        "  - repeat: {times: 4, layers: [{when: index == 0, conv: {out: 4, kernel: 1}}]}\n  - relu\n",
    )
    report = api.analyze(spec)
    assert [r.path for r in _layers(report)] == ["repeat1.0", "relu1"]


def test_a_large_uniform_repeat_is_still_refused_at_once(tmp_path: Path) -> None:
    """The projection from the second copy stays for repeats whose copies are all alike."""
    spec = _write(tmp_path, "name: t\ninput: [8, 8, 3]\nlayers:\n  - repeat: {times: 100000, layers: [relu, relu]}\n")
    start = time.process_time()
    with pytest.raises(LimitError, match="100,000 copies of 2 layers"):
        api.analyze(spec)
    assert time.process_time() - start < 1.0


def test_a_block_sees_the_spec_variables_as_its_caller_does(tmp_path: Path) -> None:
    """Scopes are chained now: an argument named like a spec variable still stands for it in blocks called from
    that block (as when the scope was copied), and nowhere else."""
    spec = _write(
        tmp_path,
        "name: t\ninput: [8, 8, 3]\nvariables: {width: 2}\n"
        "blocks:\n"
        "  inner: {layers: [conv: {out: width, kernel: 1}]}\n"
        "  outer: {args: {width: null}, layers: [inner, conv: {out: width, kernel: 1}]}\n"
        "layers:\n  - outer: {width: 5}\n  - inner\n",
    )
    report = api.analyze(spec)
    assert [r.output_shape[-1] for r in _layers(report)] == [5, 5, 2]


def test_round_in_a_documented_value_is_refused(tmp_path: Path) -> None:
    spec = _write(
        tmp_path,
        "name: t\ninput: [8, 8, 3]\nlayers: [relu]\n"
        "documented:\n  - {figure: macs, value: 'round(1, -10**8)', source: 'hostile'}\n",
    )
    start = time.process_time()
    with pytest.raises(CnnCostError, match="rounds to -100000000 digits"):
        api.check(spec)
    assert time.process_time() - start < SECONDS


def test_a_documented_variable_setting_is_bounded_like_set(tmp_path: Path) -> None:
    spec = _write(
        tmp_path,
        "name: t\ninput: [8, 8, 3]\nvariables: {n: 1}\nlayers: [{conv: {out: n, kernel: 1}}]\n"
        "documented:\n  - {figure: params, value: 4, source: 'hostile', variables: {n: 'round(1, -10**8)'}}\n",
    )
    start = time.process_time()
    with pytest.raises(CnnCostError, match="rounds to -100000000 digits"):
        api.check(spec)
    assert time.process_time() - start < SECONDS
