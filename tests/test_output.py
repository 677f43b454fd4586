"""Output that cannot be written never becomes a traceback: stdout closed, a full disk (/dev/full), a reader
that went away (broken pipe), and an encoding that cannot represent '×' or '—' (ASCII forms instead).

Each runs the real ``python -m cnncost`` in a subprocess, since these are properties of the process's streams.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnncost.render.text import ASCII_FORMS, for_encoding


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", **extra}
    env.pop("CNNCOST_DEBUG", None)
    return env


def _cnncost(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    options: dict[str, object] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "timeout": 60, "env": _env()}
    options.update(kwargs)
    return subprocess.run([sys.executable, "-m", "cnncost", *args], **options)  # type: ignore[call-overload,no-any-return]


def _one_error_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace")
    assert "Traceback" not in text and "Exception ignored" not in text, text
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    return lines[0]


def test_stdout_closed_is_one_line_and_exit_1() -> None:
    result = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m cnncost table vgg16 >&-'], stderr=subprocess.PIPE, timeout=60,
        env=_env(),
    )
    line = _one_error_line(result.stderr)
    assert result.returncode == 1 and "stdout" in line


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_is_one_line_and_exit_1() -> None:
    with open("/dev/full", "wb") as full:
        result = _cnncost("table", "vgg16", stdout=full)
    line = _one_error_line(result.stderr)
    assert result.returncode == 1 and "stdout" in line


def test_broken_pipe_is_quiet_and_exits_141() -> None:
    """The reader is gone before the first byte (``| head`` that already exited): no message, exit 141 — what a
    shell reports for a program ended by SIGPIPE (128 + 13)."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = _cnncost("table", "resnet50", stdout=write)
    finally:
        os.close(write)
    assert result.stderr.decode(errors="replace") == ""
    assert result.returncode == 141


def test_broken_pipe_through_head() -> None:
    result = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m cnncost table resnet152 | head -1; exit ${{PIPESTATUS[0]}}'],
        capture_output=True, timeout=60, env=_env(),
    )
    assert result.stderr == b""
    assert result.returncode in (0, 141)
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_an_encoding_without_the_symbols_gets_ascii_forms(encoding: str) -> None:
    result = _cnncost("table", "vgg16", env=_env(PYTHONIOENCODING=encoding))
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    text = result.stdout.decode(encoding)
    assert "—" not in text and "vgg16 - VGG-16" in text
    if encoding == "ascii":
        assert "224x224x64" in text and "×" not in text
    else:
        assert "224×224×64" in text  # latin-1 has '×': kept


@pytest.mark.parametrize("args", [["table", "nosuchnet"], ["--help"], ["table", "lenet5", "--format", "markdown"],
                                  ["compare", "lenet5", "conv5x5"], ["explain", "lenet5"], ["check", "lenet5"]])
def test_ascii_streams_never_raise(args: list[str]) -> None:
    result = _cnncost(*args, env=_env(PYTHONIOENCODING="ascii"))
    out = result.stdout.decode("ascii")  # raises if anything non-ASCII got through
    err = result.stderr.decode("ascii")
    assert "Traceback" not in err and "internal error" not in err
    assert result.returncode in (0, 1), err
    assert out or err


def test_ascii_error_line_uses_ascii_forms() -> None:
    result = _cnncost("table", "nosuchnet", env=_env(PYTHONIOENCODING="ascii"))
    line = _one_error_line(result.stderr)
    assert " - " in line and "\\u2014" not in line and result.returncode == 1


def test_for_encoding() -> None:
    assert for_encoding("a × b — c … d → e", "ascii") == "a x b - c ... d -> e"
    assert for_encoding("224×224 — ok", "latin-1") == "224×224 - ok"
    assert for_encoding("√2", "ascii") == "\\u221a2"  # no ASCII form: escaped, visibly
    assert for_encoding("fine — really", "utf-8") == "fine — really"
    assert all(form.isascii() for form in ASCII_FORMS.values())
