"""Nothing from a spec controls the terminal: ANSI escapes (ESC [ …, OSC), bidi overrides (U+202E, U+2066…2069)
and C0/C1 control characters in a spec's name, description, source, variable values or documented sources are
shown as visible escapes in every text output, and written as \\uXXXX escapes in JSON (values unchanged)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncost import cli
from cnncost.errors import printable
from cnncost.render.text import json_safe, terminal_safe

#: What must never reach a terminal raw.
RAW = ("\x1b", "\u202e", "\u2066", "\u2069", "\x07", "\x9b")

NAME = "evil\x1b[31mRED\u202eabc"
DESCRIPTION = "desc \x1b]0;pwned\x07 and \u2066iso\u2069 and \x9b C1"
SPEC = r"""
name: "evil\e[31mRED\u202Eabc"
description: "desc \e]0;pwned\a and \u2066iso\u2069 and \x9b C1"
source: "src \e[2J"
input: [8, 8, 3]
variables:
  width: 4
  note: "v\e[7m\u202E"
layers:
  - {name: c1, conv: {out: width, kernel: 3, padding: same}}
  - relu
  - flatten
  - {name: fc, linear: {out: 2}}
documented:
  - {figure: params, value: 1, source: "bad \e[31m figure \u202E"}
"""


@pytest.fixture()
def evil(tmp_path: Path) -> str:
    path = tmp_path / "evil.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return str(path)


def run(*args: str, color: bool = False) -> tuple[int, str, str]:
    env = {"COLUMNS": "120", "CNNCOST_DEBUG": None, "NO_COLOR": None if color else "1"}
    with CliRunner().isolation(env=env) as (out, err, _):
        if color:  # as on a terminal
            sys.stdout.isatty = lambda: True  # type: ignore[method-assign]
        code = cli.main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        return code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")


def assert_clean(text: str) -> None:
    for c in RAW:
        assert c not in text, f"{c!r} reached the output raw:\n{text}"


TEXT_COMMANDS = [
    ["table"],
    ["table", "--format", "markdown"],
    ["table", "--format", "csv"],
    ["explain"],
    ["explain", "--format", "markdown"],
    ["explain", "--format", "csv"],
    ["compare", "lenet5"],
    ["compare", "lenet5", "--format", "markdown"],
    ["compare", "lenet5", "--format", "csv"],
    ["check"],
]


@pytest.mark.parametrize("command", TEXT_COMMANDS, ids=lambda c: "-".join(c))
@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_text_outputs_escape_control_characters(command: list[str], color: bool, evil: str) -> None:
    code, out, err = run(command[0], evil, *command[1:], color=color)
    assert code in (0, 1), err  # check fails its wrong figure: exit 1
    assert_clean(out)
    assert_clean(err)
    if "csv" not in command:  # CSV rows name the layers only
        assert "\\x1b" in out and "\\u202e" in out  # shown, visibly


@pytest.mark.parametrize("command", [["table"], ["explain"], ["compare", "lenet5"], ["check"]],
                         ids=lambda c: "-".join(c))
def test_json_escapes_bidi_and_controls_but_keeps_the_values(command: list[str], evil: str) -> None:
    code, out, err = run(command[0], evil, *command[1:], "--format", "json")
    assert code in (0, 1), err
    assert_clean(out)
    assert NAME in set(strings(json.loads(out)))  # the value itself is exact


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_error_lines_escape_what_the_user_typed() -> None:
    code, out, err = run("table", "lenet5", "--set", "classes=\x1b[31m\u202e")
    assert code in (1, 2) and out == ""
    assert_clean(err)
    code, out, err = run("\x1b]0;title\x07")  # not a command: click's message quotes it
    assert code == 2
    assert_clean(err)
    code, out, err = run("list", "\x1b[2J\u202e")
    assert code == 1
    assert_clean(err)


def test_bench_text_escapes_the_name(evil: str) -> None:
    pytest.importorskip("torch")
    for fmt in ("table", "markdown", "csv", "json"):
        code, out, err = run("bench", evil, "--device", "cpu", "--warmup", "0", "--min-time", "0", "--repeats", "3",
                             "--format", fmt)
        assert code == 0, err
        assert_clean(out)
        assert_clean(err)


def test_progress_bar_escapes_the_name() -> None:
    from cnncost.bench.results import ProgressEvent
    from cnncost.render.bench import ProgressBar

    with ProgressBar(enabled=True) as bar:
        bar(ProgressEvent(NAME, 1, "warm-up", 0.5))
        descriptions = [task.description for task in bar._progress.tasks]
    assert descriptions and all(not any(c in d for c in RAW) for d in descriptions)


def test_the_one_function() -> None:
    assert printable("a\x1b[31mb\u202ec\x9bd\te\nf") == "a\\x1b[31mb\\u202ec\\x9bd\\te f"
    assert terminal_safe("a\x1b\nb\u2066") == "a\\x1b\nb\\u2066"
    assert printable("\U000e0001") == "\\U000e0001"
    assert printable("a\u00a0b") == "a\u00a0b"  # a no-break space (Markdown indentation) is a space
    text = json.dumps({"k": DESCRIPTION + "\u202e\U000e0001"}, ensure_ascii=False)
    safe = json_safe(text)
    assert safe.isascii() or all(c.isprintable() or c == "\n" for c in safe)
    assert json.loads(safe) == json.loads(text)
