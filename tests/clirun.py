"""The command line run in-process, as the CLI tests run it: ``run = cli_runner(width=120)``, then ``code, out,
err = run("table", "vgg16")`` — exit code, stdout and stderr at a fixed terminal width, without colour, and
without ``CNNCOST_DEBUG`` from the environment."""

from __future__ import annotations

import sys
from collections.abc import Callable

from typer.testing import CliRunner


def cli_runner(width: int = 120) -> Callable[..., tuple[int, str, str]]:
    def run(*args: str) -> tuple[int, str, str]:
        from cnncost import cli  # here: some test modules must not import the CLI (and Typer) to be collected

        runner = CliRunner()
        with runner.isolation(env={"COLUMNS": str(width), "NO_COLOR": "1", "CNNCOST_DEBUG": None}) as (out, err, _):
            code = cli.main(list(args))
            sys.stdout.flush()
            sys.stderr.flush()
            return code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")

    return run
