"""The ``cnncost`` console script: a short road for the commands people run most, the Typer app for the rest.

Importing Typer (with its click) and building every command of the app costs about 60 ms on an idle machine,
before a command has done anything — half of ``cnncost table resnet50``. This module reads the few command lines
that carry most of the traffic by hand:

- ``table NAME_OR_PATH`` with ``--size/-s``, ``--batch/-b``, ``--set``, ``--depth/-d``, ``--format/-f`` and
  ``--wide``;
- ``list [PATTERN]`` with ``--format/-f`` and ``--wide``;
- ``--version`` / ``-V`` alone;

and answers them by the very calls the Typer commands make (``cnncost.api``, ``cnncost.render``, and
``cnncost.console`` for printing), without importing Typer, click or rich. Anything else goes to the Typer app
(``cnncost.cli.main``) untouched: any other command or option (``--help``, ``--verify``, ``--module``, an option
another engineer adds tomorrow), a second value for an option that takes one, an option's value that starts
with ``-``, a combined or attached short option (``-b8``), ``--``, a value that is not plainly valid (``-b 0``,
``-f JSON``), ``--debug`` or ``CNNCOST_DEBUG``, a stream that is not UTF-8, and every error: the short road
prints nothing until the whole output is made, and when anything fails before that it hands the command line
to Typer, which runs it again and words the error in its own way. So the two roads cannot differ in what they
print; ``tests/test_entry.py`` holds them to the same stdout, stderr and exit code over a corpus of command lines.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: The spellings of each option the short road reads, per command, and what they set.
TABLE_OPTIONS: Mapping[str, str] = {
    "--size": "size",
    "-s": "size",
    "--batch": "batch",
    "-b": "batch",
    "--set": "sets",
    "--depth": "depth",
    "-d": "depth",
    "--format": "fmt",
    "-f": "fmt",
    "--wide": "wide",
}
LIST_OPTIONS: Mapping[str, str] = {"--format": "fmt", "-f": "fmt", "--wide": "wide"}
#: Options without a value, and options that may be given more than once.
FLAGS = frozenset({"wide"})
REPEATABLE = frozenset({"sets"})
#: The output formats, as Typer's choice gives them to the command (other spellings: Typer decides).
FORMATS = frozenset({"table", "json", "csv", "markdown"})
_WHOLE = re.compile(r"[0-9]{1,15}\Z")
#: The least value of each whole-number option (Typer's ``min``).
_LEAST = {"batch": 1, "depth": 0}


class Plan:
    """A command line the short road understands: the command, its positional arguments and its option values.
    (A plain class: a dataclass costs a little start-up for each one defined.)"""

    __slots__ = ("command", "positional", "values")

    def __init__(self, command: str, positional: tuple[str, ...] = (), values: Mapping[str, Any] | None = None):
        self.command = command
        self.positional = positional
        self.values: Mapping[str, Any] = values or {}

    def __repr__(self) -> str:
        return f"Plan({self.command!r}, {self.positional!r}, {dict(self.values)!r})"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: ``sys.argv[1:]``) and return the exit code: the short road when it
    understands the command line, else ``cnncost.cli.main``."""
    args = sys.argv[1:] if argv is None else list(argv)
    plan = plan_of(args)
    if plan is not None:
        code = serve(plan, own_process=argv is None)
        if code is not None:
            return code
    from cnncost.cli import main as typer_main

    return typer_main(argv)


def plan_of(args: Sequence[str]) -> Plan | None:
    """What the command line asks, when the short road fully understands it; else None."""
    if list(args) in (["--version"], ["-V"]):
        return Plan("version")
    if not args:
        return None
    command, rest = args[0], args[1:]
    if command == "table":
        parsed = _options(rest, TABLE_OPTIONS)
        if parsed is None or len(parsed[0]) != 1:
            return None
    elif command == "list":
        parsed = _options(rest, LIST_OPTIONS)
        if parsed is None or len(parsed[0]) > 1:
            return None
    else:
        return None
    positional, values = parsed
    return Plan(command, tuple(positional), values)


def _options(args: Sequence[str], known: Mapping[str, str]) -> tuple[list[str], dict[str, Any]] | None:
    """(positional arguments, option values) read the way click reads them, or None for anything less plain."""
    positional: list[str] = []
    values: dict[str, Any] = {}
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if not token.startswith("-"):
            positional.append(token)
            continue
        name, eq, attached = token.partition("=") if token.startswith("--") else (token, "", "")
        key = known.get(name)
        if key is None:  # --help, --, -b8, an option the short road does not know
            return None
        if key in FLAGS:
            if eq or key in values:
                return None
            values[key] = True
            continue
        if eq:
            value = attached
        elif i < len(args):
            value = args[i]
            i += 1
        else:
            return None
        if value.startswith("-"):
            return None
        checked = _value(key, value)
        if checked is None:
            return None
        if key in REPEATABLE:
            values.setdefault(key, []).append(checked)
        elif key in values:
            return None
        else:
            values[key] = checked
    return positional, values


def _value(key: str, value: str) -> Any:
    """An option's value as Typer gives it to the command, when it is plainly valid; else None."""
    if key in _LEAST:
        if not _WHOLE.match(value) or int(value) < _LEAST[key]:
            return None
        return int(value)
    if key == "fmt":
        return value if value in FORMATS else None
    return value


def _plain_streams() -> bool:
    """stdout and stderr are there and UTF-8 (elsewhere ``cnncost.cli`` sets up ASCII forms)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            return False
        encoding = str(getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
        if encoding not in ("utf-8", "utf8"):
            return False
    return True


def serve(plan: Plan, *, own_process: bool = False) -> int | None:
    """Run a planned command and return its exit code; None when the Typer app must run the command line instead
    (anything failed before the output was printed, or the run asks for a traceback)."""
    if os.environ.get("CNNCOST_DEBUG", "") not in ("", "0") or not _plain_streams():
        return None
    from cnncost.console import Interrupts, ReaderGone, emit, error, silence_stdout

    interrupts = Interrupts().__enter__()
    try:
        try:
            text = output(plan)
        except KeyboardInterrupt:
            raise
        except Exception:  # any error: Typer runs the command line again and words it
            return None
        if text is None:
            return None
        try:
            emit(text)
        except ReaderGone:  # the reader went away (`| head`): quiet; the shell's code for SIGPIPE
            silence_stdout()
            return 141
        except Exception as exc:
            from cnncost.errors import CnnCostError

            if not isinstance(exc, CnnCostError):
                raise
            error(exc.one_line())
            return exc.exit_code
        return 0
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    finally:
        interrupts.close(own_process=own_process)


def output(plan: Plan) -> str | None:
    """The complete output of a planned command, made as its Typer command makes it; None to leave it to Typer."""
    if plan.command == "version":
        from cnncost.version import __version__

        return f"cnncost {__version__}\n"
    values = plan.values
    key = None
    if plan.command == "table":  # the same command run before: its text, when the cache can vouch for it
        from cnncost import tablecache
        from cnncost.console import render_options

        key, text = tablecache.cached_text(plan.positional[0], values, render_options())
        if text is not None:
            return text
    from cnncost import api, render
    from cnncost.console import parse_sets, parse_size, shown

    fmt: str = values.get("fmt", "table")
    wide: bool = values.get("wide", False)
    make: Callable[[dict[str, Any]], str]
    if plan.command == "table":
        report = api.analyze(
            plan.positional[0],
            batch=values.get("batch", 1),
            size=parse_size(values.get("size")),
            variables=parse_sets(values.get("sets")),
        )
        depth = values.get("depth")

        def make(o: dict[str, Any]) -> str:
            return render.render("report", report, fmt, wide=wide, depth=depth, verified=None, **o)

    else:
        summaries = api.library_summaries(plan.positional[0] if plan.positional else None)
        if not summaries:  # Typer words the "no network matches" error
            return None

        def make(o: dict[str, Any]) -> str:
            return render.render("library", summaries, fmt, wide=wide, **o)

    text = shown(make, fmt)
    if key is not None:
        from cnncost import tablecache

        tablecache.write(key, text)
    return text
