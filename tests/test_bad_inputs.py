"""Bad input never crashes cnncost: the corpus in tests/bad_inputs/ through the Python API and the command line.

Every case must raise one error of the documented family (``cnncost.errors``) whose message is one line naming
the file, the line and column (when the problem sits in the YAML), the layer path and the fix; the command line
must turn it into exactly one stderr line, an empty stdout and exit code 1 (2 for usage). Absurd sizes are refused
in well under two seconds of CPU time. Cases that cannot be stored as files are made here.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cnncost import api, errors
from cnncost.errors import CnnCostError

CORPUS = Path(__file__).parent / "bad_inputs"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
FILE_CASES = [c for c in CASES if "file" in c]
API_CASES = [c for c in CASES if "spec" in c]
#: problems with the file as a whole, before any YAML position exists
WHOLE_FILE = {"binary.yaml", "blank.yaml", "empty.yaml", "only_comment.yaml"}
#: A bound on the work, not the wall clock: CPU seconds of this process (``time.process_time``), which other jobs
#: on a loaded machine do not add to. Refusals take about 1 s here.
SECONDS = 5.0


def _case_id(case: dict[str, Any]) -> str:
    if "file" in case:
        return str(case["file"])
    return f"{case['spec']}-{'-'.join(f'{k}' for k in case.get('call', {}))}"


def _error_class(name: str) -> type[CnnCostError]:
    cls = getattr(errors, name)
    assert isinstance(cls, type) and issubclass(cls, CnnCostError), name
    return cls


def _analyze(spec: str, **call: Any) -> CnnCostError:
    """Run the API on a bad spec; return its error (failing on success, on a non-cnncost exception, or on slowness)."""
    start = time.process_time()
    try:
        api.analyze(spec, **call)
    except CnnCostError as exc:
        elapsed = time.process_time() - start
        assert elapsed < SECONDS, f"refusing {spec} took {elapsed:.2f} s"
        return exc
    pytest.fail(f"{spec} was accepted")


def _assert_one_line(exc: CnnCostError) -> str:
    text = str(exc)
    assert text == exc.one_line()
    assert text.strip() and text.isprintable(), repr(text)  # no line breaks, no control characters
    assert "Traceback" not in text
    return text


# ------------------------------------------------------------------------------------------ the corpus itself


def test_every_corpus_file_has_a_case() -> None:
    listed = {str(c["file"]).split(":")[0] for c in FILE_CASES}
    present = {p.name for p in CORPUS.iterdir() if p.name != "cases.yaml"}
    assert present == listed, f"files without a case: {present - listed}; cases without a file: {listed - present}"
    assert len(CASES) >= 100


@pytest.mark.parametrize("case", FILE_CASES, ids=_case_id)
def test_corpus_file(case: dict[str, Any]) -> None:
    spec = str(CORPUS / case["file"])
    file = spec.split(".yaml:")[0] + ".yaml" if ".yaml:" in spec else spec
    exc = _analyze(spec)
    text = _assert_one_line(exc)
    assert isinstance(exc, _error_class(case["error"])), f"{type(exc).__name__}: {text}"
    for fragment in case["expect"]:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert exc.file == file and text.startswith(file), text
    if "line" in case:
        assert (exc.line, exc.column) == (case["line"], case.get("column")), text
        where = f"{file}:{case['line']}" + (f":{case['column']}" if "column" in case else "")
        assert text.startswith(where + ": "), text
    else:
        assert case["file"] in WHOLE_FILE, "a problem found in the YAML must name its line"
        assert exc.line is None
    if "path" in case:
        assert exc.path == case["path"] and f": {case['path']}: " in text, text


@pytest.mark.parametrize("case", API_CASES, ids=_case_id)
def test_api_arguments(case: dict[str, Any]) -> None:
    exc = _analyze(case["spec"], **case.get("call", {}))
    text = _assert_one_line(exc)
    assert isinstance(exc, _error_class(case["error"])), f"{type(exc).__name__}: {text}"
    for fragment in case["expect"]:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    if "path" in case:
        assert exc.path == case["path"], text


# ------------------------------------------------------------------------------ cases that cannot be files


def _missing(tmp: Path) -> Path:
    return tmp / "no_such_spec.yaml"


def _directory(tmp: Path) -> Path:
    target = tmp / "specs.yaml"
    target.mkdir()
    return target


def _huge(tmp: Path) -> Path:
    target = tmp / "huge.yaml"
    target.write_text("name: t\ninput: [32, 32, 3]\nlayers:\n" + "  - relu\n" * 40_000)
    return target


def _fifo(tmp: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    target = tmp / "pipe.yaml"
    os.mkfifo(target)
    return target


def _deep_flow(tmp: Path) -> Path:
    target = tmp / "deep.yaml"
    target.write_text("name: t\ninput: [3]\nlayers: " + "[" * 50_000 + "]" * 50_000 + "\n")
    return target


MADE: dict[str, tuple[Callable[[Path], Path], type[CnnCostError], str]] = {
    "missing": (_missing, errors.SpecError, "no such file"),
    "directory": (_directory, errors.SpecError, "is a directory"),
    "huge": (_huge, errors.LimitError, "the limit for a spec"),
    "fifo": (_fifo, errors.SpecError, "not a regular file"),
    "deep-flow": (_deep_flow, errors.LimitError, "nests more than 64 levels deep"),
}


@pytest.mark.parametrize("kind", sorted(MADE))
def test_made_file(kind: str, tmp_path: Path) -> None:
    make, cls, fragment = MADE[kind]
    path = make(tmp_path)
    exc = _analyze(str(path))
    text = _assert_one_line(exc)
    assert isinstance(exc, cls) and fragment in text and text.startswith(str(path)), text


def test_deep_nesting_does_not_crash_the_process(tmp_path: Path) -> None:
    """50,000 nested brackets once crashed the process (libyaml's composer recursing through the C stack); run it
    in a child so a regression shows as a failure, not as a dead test run."""
    path = _deep_flow(tmp_path)
    code = "import sys; from cnncost import api\ntry:\n api.analyze(sys.argv[1])\nexcept Exception as e: print(e)"
    child = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert "nests more than 64 levels deep" in child.stdout


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("name: t\ninput: [3]\nlayers: [relu]\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file (root)")
        exc = _analyze(str(path))
        assert "permission denied" in _assert_one_line(exc)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_permission_denied_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same refusal where chmod cannot stop the reader (root): the system's refusal is simulated."""
    path = tmp_path / "secret.yaml"
    path.write_text("name: t\ninput: [3]\nlayers: [relu]\n")

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    text = _assert_one_line(_analyze(str(path)))
    assert text.startswith(str(path)) and "permission denied" in text, text


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("bad\x00name.yaml", "no such file"),
        ("x" * 5000 + ".yaml", "cannot read the file"),
        ("", "no network named ''"),
    ],
    ids=["nul-byte", "name-too-long", "empty-name"],
)
def test_impossible_names(spec: str, fragment: str) -> None:
    text = _assert_one_line(_analyze(spec))
    assert fragment in text, text


# ------------------------------------------------------------------------------------------ the command line


def _cli_args(case: dict[str, Any]) -> list[str]:
    if "file" in case:
        return ["table", str(CORPUS / case["file"])]
    args = ["table", case["spec"]]
    call = case.get("call", {})
    if "size" in call:
        args += ["--size", str(call["size"])]
    if "batch" in call:
        args += ["--batch", str(call["batch"])]
    for key, value in call.get("variables", {}).items():
        rendered = "[" + ",".join(map(str, value)) + "]" if isinstance(value, list) else str(value)
        args += ["--set", f"{key}={rendered}"]
    return args


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[list[str]], tuple[int, str, str]]]:
    cli = pytest.importorskip("cnncost.cli")

    def run(args: list[str]) -> tuple[int, str, str]:
        code = cli.main(args)
        out, err = capsys.readouterr()
        return code, out, err

    yield run


def _assert_refused(code: int, out: str, err: str, expected_code: int) -> str:
    assert out == "", f"partial output on stdout: {out[:300]!r}"
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), f"stderr is not one line: {err!r}"
    assert "internal error" not in err and "Traceback" not in err, err
    assert code == expected_code, f"exit {code}, expected {expected_code}: {err}"
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_cli_refuses_corpus(case: dict[str, Any], run_cli: Callable[[list[str]], tuple[int, str, str]]) -> None:
    call = case.get("call", {})
    if call.get("batch", 1) < 1:
        pytest.skip("the CLI refuses --batch below 1 itself (test_cli_usage)")
    code, out, err = run_cli(_cli_args(case))
    expected = _error_class(case["error"]).exit_code
    line = _assert_refused(code, out, err, expected)
    if "file" in case:  # the API's argument checks are worded for the API; the CLI words its own (below)
        for fragment in case["expect"]:
            assert fragment in line, f"{fragment!r} not in {line!r}"


@pytest.mark.parametrize("command", ["explain", "compare"])
@pytest.mark.parametrize("case", FILE_CASES, ids=_case_id)
def test_cli_other_commands_refuse_corpus(
    case: dict[str, Any], command: str, run_cli: Callable[[list[str]], tuple[int, str, str]]
) -> None:
    """Every command that reads a spec refuses the corpus the same way (compare: beside a good network)."""
    import typer

    from cnncost import cli

    if command not in typer.main.get_command(cli.app).commands:  # type: ignore[attr-defined]
        pytest.skip(f"no '{command}' command")
    bad = str(CORPUS / case["file"])
    args = [command, bad] if command == "explain" else [command, "lenet5", bad]
    code, out, err = run_cli(args)
    line = _assert_refused(code, out, err, _error_class(case["error"]).exit_code)
    assert case["expect"][0] in line, line


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["table", "lenet5", "--bogus"], "--bogus"),
        (["tabel", "lenet5"], "tabel"),
        (["table", "lenett5"], "did you mean 'lenet5'"),
        (["table", "lenet5", "--size", "0"], "--size"),
        (["table", "lenet5", "--size", "-3"], "--size"),
        (["table", "lenet5", "--size", "big"], "--size"),
        (["table", "lenet5", "--size", "10000000"], "--size"),
        (["table", "lenet5", "--batch", "-1"], "--batch"),
        (["table", "lenet5", "--batch", "0"], "--batch"),
        (["table", "lenet5", "--batch", "many"], "--batch"),
        (["table", "lenet5", "--set", "clases=5"], "did you mean 'classes'"),
        (["table", "lenet5", "--set", "classes"], "KEY=VALUE"),
        (["table", "lenet5", "--set", "=5"], "KEY=VALUE"),
        (["table", "lenet5", "--format", "yaml"], "yaml"),
        (["table", "lenet5", "--depth", "-1"], "--depth"),
        (["compare", "lenet5"], "at least two"),
        (["table"], "NAME_OR_PATH"),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_cli_usage(args: list[str], fragment: str, run_cli: Callable[[list[str]], tuple[int, str, str]]) -> None:
    code, out, err = run_cli(args)
    expected = 1 if args[:2] == ["table", "lenett5"] else 2  # an unknown network is bad input, not bad usage
    line = _assert_refused(code, out, err, expected)
    assert fragment in line, line


@pytest.mark.parametrize("value", ["1e999", "(", "2 **", "10**100"])
def test_cli_unreadable_set_value_is_usage(value: str, run_cli: Callable[[list[str]], tuple[int, str, str]]) -> None:
    code, out, err = run_cli(["table", "lenet5", "--set", f"classes={value}"])
    line = _assert_refused(code, out, err, 2)
    assert "--set classes=" in line, line


def test_cli_set_value_of_the_wrong_kind_names_the_layer(
    run_cli: Callable[[list[str]], tuple[int, str, str]],
) -> None:
    code, out, err = run_cli(["table", "lenet5", "--set", "classes=ten"])
    line = _assert_refused(code, out, err, 1)
    assert "layers[11].linear.out: expected a whole number, got 'ten'" in line, line


def test_cli_process_exit_codes(tmp_path: Path) -> None:
    """The installed entry point, as a real process: exit 1 for input, 2 for usage, one stderr line each."""
    bad = CORPUS / "residual_projection.yaml"
    for args, expected in (([str(bad)], 1), (["lenet5", "--size", "0"], 2)):
        child = subprocess.run(
            [sys.executable, "-m", "cnncost", "table", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )
        assert child.returncode == expected, child.stderr
        assert child.stdout == ""
        assert len(child.stderr.splitlines()) == 1, child.stderr


# ------------------------------------------------------------------------------- files are written atomically


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_replaces_and_keeps_permissions(tmp_path: Path) -> None:
    from cnncost.atomic import atomic_write, write_bytes, write_text

    target = tmp_path / "results.json"
    assert write_text(target, "old\n") == target
    target.chmod(0o640)
    with atomic_write(target) as handle:
        handle.write("new ")
        handle.write("content\n")
    assert target.read_text() == "new content\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    write_bytes(tmp_path / "plot.png", b"\x89PNG\r\n")
    assert (tmp_path / "plot.png").read_bytes() == b"\x89PNG\r\n"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("interrupt", [RuntimeError, KeyboardInterrupt])
def test_atomic_write_failure_keeps_the_old_file(tmp_path: Path, interrupt: type[BaseException]) -> None:
    from cnncost.atomic import atomic_write, write_text

    target = tmp_path / "golden.txt"
    write_text(target, "the old, complete file\n")
    with pytest.raises(interrupt), atomic_write(target) as handle:
        handle.write("half of the new fi")
        raise interrupt()
    assert target.read_text() == "the old, complete file\n"
    assert _leftovers(tmp_path) == []


def test_atomic_write_failing_rename_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncost.atomic import write_text

    target = tmp_path / "junit.xml"
    write_text(target, "old")

    def no_space(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(CnnCostError) as info:
        write_text(target, "new")
    assert str(info.value) == f"cannot write {target}: no space left on device"
    assert info.value.exit_code == 1
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("missing/out.json", "does not exist"), ("", "it is a directory"), ("file.txt/out.json", "is not a directory")],
    ids=["missing-directory", "a-directory", "under-a-file"],
)
def test_atomic_write_bad_target_is_usage(tmp_path: Path, name: str, fragment: str) -> None:
    from cnncost.atomic import check_writable, write_text

    (tmp_path / "file.txt").write_text("x")
    target = tmp_path / name if name else tmp_path
    with pytest.raises(errors.UsageError) as info:
        check_writable(target)
    assert fragment in str(info.value) and info.value.exit_code == 2
    with pytest.raises(errors.UsageError):
        write_text(target, "data")
    assert not (tmp_path / "missing").exists()


def test_atomic_write_survives_ctrl_c(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT) while a process is half-way through writing leaves the old file as it was."""
    import signal

    target = tmp_path / "bench.json"
    target.write_text("old results\n")
    code = (
        "import sys, time\n"
        "from cnncost.atomic import atomic_write\n"
        "with atomic_write(sys.argv[1]) as handle:\n"
        "    handle.write('partial')\n"
        "    handle.flush()\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    assert len(_leftovers(tmp_path)) == 1  # the new content is in a temporary file beside the target
    child.send_signal(signal.SIGINT)
    child.wait(timeout=30)
    assert child.returncode != 0
    assert target.read_text() == "old results\n"
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------------------- misuse of the Python API's types


@pytest.mark.parametrize(
    "call",
    [
        {"size": "224"},
        {"size": (224,)},
        {"size": True},
        {"size": 22.4},
        {"variables": ["width"]},
        {"variables": {1: 2}},
    ],
    ids=["size-text", "size-one", "size-bool", "size-float", "variables-list", "variables-int-key"],
)
def test_api_wrong_types_raise_type_error(call: dict[str, Any]) -> None:
    """Documented in cnncost.errors: a wrong Python type is a TypeError, like anywhere in Python."""
    with pytest.raises(TypeError):
        api.analyze("lenet5", **call)
