"""What both roads of the command line share, without Typer: reading ``--size`` and ``--set``, printing a
command's output, the one stderr line, Ctrl-C.

``cnncost.cli`` (the Typer app) and ``cnncost.entry`` (the console script's fast road for the hot commands) both
print through ``show``/``emit`` and word their errors through ``error``, so the two roads cannot drift apart in
what they print. Nothing here imports Typer, click or rich: the fast road must start without them.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any

from cnncost.errors import CnnCostError, UsageError

_SIZE = re.compile(r"^\s*(\d+)\s*(?:[x×X,]\s*(\d+))?\s*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``--size 224`` → (224, 224); ``--size 224x160`` → (224, 160) (height × width)."""
    if text is None:
        return None
    match = _SIZE.match(text)
    if not match:
        raise UsageError(
            f"--size {text!r} is not a size", hint="give H or HxW in pixels, e.g. --size 224 or --size 224x160"
        )
    h = int(match.group(1))
    w = int(match.group(2)) if match.group(2) is not None else h
    if h < 1 or w < 1:
        raise UsageError(f"--size {text}: a size must be at least 1×1", hint="e.g. --size 224")
    return (h, w)


def parse_value(text: str, name: str = "value") -> Any:
    """A ``--set`` value, read exactly as the same value written in the spec would be (``cnncost.spec.values``):
    ``false`` is false, ``[2, 2, 2, 2]`` a list, ``'text'`` text, ``nan`` a word; the spec validates the rest."""
    from cnncost.spec.values import read_value

    return read_value(text, name=name)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``--set KEY=VALUE`` (repeatable) → {KEY: value}; a key given twice keeps its last value."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.match(key) or not value:
            raise UsageError(
                f"--set {item!r} is not KEY=VALUE", hint="e.g. --set width=0.5 (one variable per --set)"
            )
        out[key] = parse_value(value, key)
    return out


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def output_width() -> int:
    """Table width: ``COLUMNS`` when set, else the terminal's, else 120 (pipes and files)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 40:
        return int(columns)
    if stdout_is_terminal():
        import shutil  # only on a terminal: shutil brings its archive modules (start-up)

        return max(40, shutil.get_terminal_size((120, 24)).columns)
    return 120


def output_color() -> bool:
    """Colour only on a terminal, and never under ``NO_COLOR`` or ``TERM=dumb``."""
    return stdout_is_terminal() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class ReaderGone(Exception):
    """stdout's reader went away (a broken pipe)."""


def emit(text: str) -> None:
    """Print a command's complete output at once. A closed stdout or a failed write (a full disk) is one error
    line; a reader that went away (``| head``) raises ``ReaderGone``, which ``main`` ends quietly (exit 141)."""
    stream = sys.stdout
    if stream is None:  # started with stdout closed (`cnncost table vgg16 >&-`)
        raise CnnCostError("cannot write the output: stdout is closed", hint="redirect it to a file or a pipe")
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise ReaderGone from None  # not an OSError, so click does not turn it into its own exit
    except OSError as exc:
        silence_stdout()
        raise CnnCostError(
            f"cannot write the output to stdout: {exc.strerror or exc}",
            hint="check the file or device stdout goes to (a full disk?)",
        ) from None


def render_options() -> dict[str, Any]:
    return {"width": output_width(), "color": output_color()}


def show(render: Callable[[dict[str, Any]], str], fmt: str) -> None:
    """Print a command's complete output (``shown``)."""
    emit(shown(render, fmt))


def shown(render: Callable[[dict[str, Any]], str], fmt: str) -> str:
    """A command's output (``render(options)``), safe for a terminal: control characters and bidi overrides from
    the input as visible escapes (``\\x1b``, ``\\u202e``), in JSON as ``\\uXXXX`` escapes
    (``cnncost.render.text``). Colour is kept only when the plain text needs no escape, so the only escape
    sequences on the terminal are the renderers' own styles."""
    from cnncost.render.text import json_safe, terminal_safe

    options = render_options()
    if fmt == "json":
        return json_safe(render(options))
    if not options["color"]:
        return terminal_safe(render(options))
    plain = render({**options, "color": False})
    return terminal_safe(plain) if terminal_safe(plain) != plain else render(options)


def error(message: str) -> None:
    """The one stderr line (control characters escaped); nothing when stderr itself is gone."""
    stderr_line(f"error: {message}")


def note(message: str) -> None:
    """A remark on stderr beside a command's output (stdout stays exactly the output)."""
    stderr_line(f"note: {message}")


def stderr_line(text: str) -> None:
    from cnncost.errors import printable

    try:
        sys.stderr.write(f"{printable(text)}\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


class Interrupts:
    """Ctrl-C, idempotently: the first SIGINT raises ``KeyboardInterrupt`` (the command stops, cleans up and
    reports in one line); any further SIGINT is ignored, so a second Ctrl-C during that cleanup, the error
    report or the interpreter's shutdown can never print a traceback. SIGTERM and SIGKILL still end a stuck run.
    """

    def __init__(self) -> None:
        self.received = False
        self.previous: Any = None
        self.installed = False

    def __enter__(self) -> Interrupts:
        import signal

        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
            self.installed = True
        except (ValueError, OSError):  # not the main thread, or no signals here: leave Python's default
            pass
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.received:
            return
        self.received = True
        raise KeyboardInterrupt

    def close(self, *, own_process: bool) -> None:
        """Put the previous handler back — unless this run was interrupted and owns the process (the script),
        where later SIGINTs stay ignored until the interpreter has exited."""
        import signal

        if not self.installed:
            return
        if self.received and own_process:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGINT, self.previous)


def silence_stdout() -> None:
    # The reader went away (`cnncost table resnet50 | head`): stop Python complaining when it flushes stdout.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
