"""The console script's short road (``cnncost.entry``) prints exactly what the Typer app (``cnncost.cli``) prints.

Every command line of the corpus runs both ways in-process, at 80 and 200 columns, with and without ``NO_COLOR``:
the short road's stdout, stderr and exit code must equal Typer's byte for byte. The command lines the short road
claims to serve must be served by it (not handed on), the rest — errors, options it does not know, help — must be
handed to Typer; its option spellings must be the Typer command's own; and it must run without importing Typer,
click or rich.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cnncost import cli, entry

ROOT = Path(__file__).resolve().parents[1]

#: Command lines the short road answers itself.
SERVED: list[list[str]] = [
    ["table", "lenet5"],
    ["table", "vgg16"],
    ["table", "resnet50"],
    ["table", "resnet50", "--format", "json"],
    ["table", "resnet50", "-f", "csv"],
    ["table", "resnet50", "--format=markdown"],
    ["table", "alexnet", "-f", "table"],
    ["table", "resnet50", "--size", "160"],
    ["table", "resnet50", "-s", "224x160"],
    ["table", "resnet50", "--batch", "8"],
    ["table", "resnet50", "-b", "64", "-s", "96"],
    ["table", "mobilenet-v1", "--set", "width=0.5"],
    ["table", "mobilenet-v1", "--set", "width=0.5", "--set=resolution=160", "-f", "json"],
    ["table", "resnet50", "--depth", "0"],
    ["table", "resnet50", "-d", "1", "-b", "2"],
    ["table", "vgg16", "--wide"],
    ["table", "--batch", "4", "lenet5", "--depth", "1", "--wide", "-f", "markdown"],
    ["table", "googlenet", "-d", "2"],
    ["table", str(ROOT / "architectures" / "lenet5.yaml"), "-b", "3"],
    ["table", f"{ROOT / 'architectures' / 'resnet-cifar.yaml'}:resnet20", "-d", "1"],
    ["list"],
    ["list", "resnet"],
    ["list", "resnet*"],
    ["list", "-f", "json"],
    ["list", "--format", "csv", "vgg"],
    ["list", "--wide"],
    ["list", "-f", "markdown", "mobile"],
    ["--version"],
    ["-V"],
]

#: Command lines the short road hands to Typer: errors, and what it does not read.
HANDED_ON: list[list[str]] = [
    [],
    ["--help"],
    ["-h"],
    ["table", "--help"],
    ["list", "--help"],
    ["table"],
    ["table", "vgg99"],
    ["table", "lenet5", "vgg16"],
    ["table", "lenet5", "--set", "classes=ten"],
    ["table", "lenet5", "--set", "nonsense"],
    ["table", "lenet5", "--set", "colours=3"],
    ["table", "lenet5", "--size", "0"],
    ["table", "lenet5", "--size", "abc"],
    ["table", "lenet5", "--size", "-3"],
    ["table", "lenet5", "--size", "160", "--size", "224"],
    ["table", "lenet5", "-b", "0"],
    ["table", "lenet5", "-b", "1.5"],
    ["table", "lenet5", "-b8"],
    ["table", "lenet5", "--batch"],
    ["table", "lenet5", "--batch", "99999999999"],
    ["table", "lenet5", "-f", "JSON"],
    ["table", "lenet5", "-f", "xml"],
    ["table", "lenet5", "--depth", "-1"],
    ["table", "lenet5", "--wide=yes"],
    ["table", "lenet5", "--bogus"],
    ["table", "lenet5", "--"],
    ["table", "lenet5", "--module", "torchvision:resnet18"],
    ["table", "./no-such-file.yaml"],
    ["table", "lenet5", "--debug"],
    ["--debug", "table", "lenet5"],
    ["list", "nothing-matches-this"],
    ["list", "a", "b"],
    ["list", "--depth", "1"],
    ["ops"],
    ["show", "lenet5"],
    ["--version", "--version"],
]

ENVIRONMENTS = [
    {"COLUMNS": "80", "NO_COLOR": "1"},
    {"COLUMNS": "200", "NO_COLOR": "1"},
    {"COLUMNS": "80", "NO_COLOR": None},
    {"COLUMNS": "200", "NO_COLOR": None},
]


def run(call: Callable[[], int | None], env: dict[str, str | None]) -> tuple[int | None, str, str]:
    runner = CliRunner()
    with runner.isolation(env={"CNNCOST_DEBUG": None, **env}) as (out, err, _):
        code = call()
        sys.stdout.flush()
        sys.stderr.flush()
        return code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda e: f"{e['COLUMNS']}cols{'-nocolor' if e['NO_COLOR'] else ''}")
@pytest.mark.parametrize("args", SERVED, ids=" ".join)
def test_served_like_typer(args: list[str], env: dict[str, str | None]) -> None:
    plan = entry.plan_of(args)
    assert plan is not None, "the short road should read this command line"
    short = run(lambda: entry.serve(plan), env)
    assert short[0] is not None, f"the short road handed it on: {short}"
    typer_road = run(lambda: cli.main(list(args)), env)
    assert short == typer_road
    assert short[0] == 0 and short[1] and short[2] == ""


@pytest.mark.parametrize("args", HANDED_ON, ids=lambda a: " ".join(a) or "(nothing)")
def test_handed_on_to_typer(args: list[str]) -> None:
    env: dict[str, str | None] = {"COLUMNS": "80", "NO_COLOR": "1"}
    plan = entry.plan_of(args)
    if plan is not None:  # read, but failing: the short road prints nothing and hands it on
        assert run(lambda: entry.serve(plan), env) == (None, "", "")
    assert run(lambda: entry.main(list(args)), env) == run(lambda: cli.main(list(args)), env)


def test_debug_goes_to_typer() -> None:
    plan = entry.plan_of(["table", "lenet5"])
    assert plan is not None
    assert run(lambda: entry.serve(plan), {"CNNCOST_DEBUG": "1"})[0] is None


def test_option_spellings_are_typers() -> None:
    """Each spelling the short road reads belongs to the Typer option of the same name, with the same arity,
    repeatability and lower bound; and the formats are Typer's choices."""
    group = typer.main.get_command(cli.app)
    for command, known in (("table", entry.TABLE_OPTIONS), ("list", entry.LIST_OPTIONS)):
        params = {opt: p for p in group.commands[command].params for opt in p.opts}  # type: ignore[attr-defined]
        for spelling, key in known.items():
            param = params[spelling]
            assert param.name == key, (command, spelling)
            assert bool(getattr(param, "is_flag", False)) == (key in entry.FLAGS), spelling
            assert bool(getattr(param, "multiple", False)) == (key in entry.REPEATABLE), spelling
            descriptor = param.type_descriptor  # type: ignore[attr-defined]
            if key == "fmt":
                assert {c.value for c in descriptor.annotation} == entry.FORMATS
                assert not descriptor.parameter_info.case_sensitive  # so -f JSON is Typer's to read
            if key in ("batch", "depth"):
                assert descriptor.annotation is int or key == "depth"
                assert descriptor.parameter_info.min == {"batch": 1, "depth": 0}[key]
        positional = [p for p in group.commands[command].params if not p.opts[0].startswith("-")]  # type: ignore[attr-defined]
        assert len(positional) == 1


def test_version_matches() -> None:
    env: dict[str, str | None] = {"COLUMNS": "80"}
    assert run(lambda: entry.main(["--version"]), env) == run(lambda: cli.main(["--version"]), env)


SNIPPET = """
import sys
from cnncost.entry import main
code = main(sys.argv[1:])
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'rich', 'pydantic', 'torch'})
assert not heavy, heavy
sys.exit(code)
"""


@pytest.mark.parametrize("args", [["table", "resnet50"], ["list"], ["list", "-f", "json"], ["--version"]])
def test_short_road_imports_no_typer(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "CNNCOST_CACHE_DIR": str(tmp_path)}
    env.pop("CNNCOST_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_script_and_dash_m_use_the_short_road(tmp_path: Path) -> None:
    """``python -m cnncost`` and the installed script enter through ``cnncost.entry``; a failing command line
    still reads as Typer's (one stderr line, exit code 1)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CNNCOST_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "cnncost", "table", "vgg99"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 1 and done.stdout == "" and done.stderr.startswith("error: no network named 'vgg99'")
    scripts = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'cnncost = "cnncost.entry:main"' in scripts


def test_ctrl_c_reads_as_typers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the short road computes: the one 'interrupted' line and exit code 130, as Typer gives."""
    from cnncost import api

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "analyze", interrupted)
    env: dict[str, str | None] = {"COLUMNS": "80", "CNNCOST_NO_CACHE": "1"}  # computed, not a cache hit
    short = run(lambda: entry.main(["table", "lenet5"]), env)
    assert short == run(lambda: cli.main(["table", "lenet5"]), env)
    assert short == (130, "", "error: interrupted\n")
