"""The fast, pydantic-free coercion of command-line values (``cnncost.cliparams``) agrees with Typer's own for
every parameter of every command, on valid and invalid values alike, and the fast commands never import
pydantic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._coercion import build_runtime_param

from cnncost import cli
from cnncost.cliparams import UNDECIDED, FastParam, fast_value, install

ROOT = Path(__file__).resolve().parents[1]

SAMPLES: tuple[Any, ...] = (
    None, "", "0", "1", "3", "64", "-1", "+2", " 4", "4 ", "1.5", "1e3", "0x10", "１２", "007", "2.", ".5", "abc",
    "table", "JSON", "json", "Markdown", "csv", 0, 1, 5, 2.5, True, False, (), ("a",), ("a", "b"), ["x=1"],
    "9" * 16,
)


def _params() -> list[tuple[str, Any]]:
    command = typer.main.get_command(cli.app)
    found: list[tuple[str, Any]] = []

    def walk(cmd: Any, path: str) -> None:
        for param in cmd.params:
            found.append((f"{path} {param.name}", param))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(command, "cnncost")
    return found


def _typer(param: Any, value: Any, ctx: Any) -> tuple[str, Any]:
    try:
        return ("ok", build_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=ctx))
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}")


def _fast(param: Any, value: Any, ctx: Any) -> tuple[str, Any]:
    descriptor = param.type_descriptor
    runtime = FastParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
    try:
        return ("ok", runtime.coerce(value, param=param, ctx=ctx))
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize(("where", "param"), _params(), ids=[w for w, _ in _params()])
def test_fast_coercion_agrees_with_typer(where: str, param: Any) -> None:
    ctx = typer.Context(typer.main.get_command(cli.app))
    multi = param.multiple or param.nargs == -1
    for value in SAMPLES:
        if multi != isinstance(value, (tuple, list)) and value is not None:
            continue
        expected, got = _typer(param, value, ctx), _fast(param, value, ctx)
        assert got == expected, (where, value)
        assert type(got[1]) is type(expected[1]), (where, value)


def test_undecided_values_go_to_typer() -> None:
    info = typer.models.OptionInfo(min=1)
    assert fast_value(int, info, "0") is UNDECIDED  # out of range: Typer words the error
    assert fast_value(int, info, "x") is UNDECIDED
    assert fast_value(int, info, "12") == 12
    assert fast_value(float, typer.models.OptionInfo(min=0.0), "1.5") == 1.5


def test_install_covers_every_parameter() -> None:
    command = typer.main.get_command(cli.app)
    count = install(command)
    assert count == len(_params())


@pytest.mark.parametrize(
    "args", [["--help"], ["list"], ["table", "resnet50", "-b", "4", "-s", "160", "-f", "json"], ["table", "--help"],
             ["compare", "lenet5", "conv5x5", "--depth", "1"], ["check", "lenet5"], ["ops"]]
)
def test_fast_commands_do_not_import_pydantic(args: list[str]) -> None:
    code = "import sys\nfrom cnncost.cli import main\ncode = main(sys.argv[1:])\n"
    code += "assert 'pydantic' not in sys.modules, 'pydantic was imported'\nsys.exit(code)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
