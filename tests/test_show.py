"""``cnncost show NAME`` prints a bundled spec to copy and adapt: exactly its file, which analyzes the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncost import api, cli
from cnncost.errors import NotFoundError, UsageError
from cnncost.spec import library

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli.app, list(args), env={"NO_COLOR": "1", "COLUMNS": "120"})
    return result.exit_code, result.stdout, result.stderr


def test_show_prints_the_bundled_file_exactly() -> None:
    code, out, err = _run("show", "lenet5")
    assert code == 0, err
    (entry,) = [e for e in library.entries() if e.name == "lenet5"]
    assert out == entry.file.read_text(encoding="utf-8")
    assert err == ""


def test_a_shown_spec_analyzes_as_the_bundled_network(tmp_path: Path) -> None:
    text, variant = api.spec_source("resnet50")
    assert variant == "resnet50"
    copy = tmp_path / "mine.yaml"
    copy.write_text(text, encoding="utf-8")
    assert api.analyze(f"{copy}:resnet50").totals == api.analyze("resnet50").totals


def test_a_family_member_says_how_to_name_it() -> None:
    code, out, err = _run("show", "resnet50")
    assert code == 0
    assert out.startswith("name: resnet\n")
    assert "FILE.yaml:resnet50" in err


def test_show_refuses_paths_and_unknown_names() -> None:
    with pytest.raises(UsageError):
        api.spec_source("./lenet5.yaml")
    with pytest.raises(NotFoundError, match="resnet50"):
        api.spec_source("resnt50")
    code, out, _ = _run("show", "resnt50")
    assert (code, out) == (1, "")


def test_ops_lists_the_combinators_with_their_arguments() -> None:
    import json

    from cnncost.spec.schema import COMBINATORS

    code, out, _ = _run("ops", "--format", "json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)["ops"]}
    for name, fields in COMBINATORS.items():
        assert rows[name]["category"] == "combinator"
        assert [a["name"] for a in rows[name]["arguments"]] == list(fields)
    assert rows["repeat"]["summary"].startswith("copies of its layers")
    assert rows["conv"]["category"] == "conv"  # the ops are still there
