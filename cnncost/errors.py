"""One exception family for everything cnncost refuses.

Every error carries the same facts the CLI prints on its single stderr line: the file, the line and column in
that file (when the problem comes from YAML), the layer path, what is wrong and how to fix it. The CLI maps the
family to an exit code in one place (``cli.main``); the Python API simply raises it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CnnCostError(Exception):
    """Base of every error cnncost raises on purpose.

    ``exit_code`` is 1 for bad input (a spec, a file, a network) and 2 for bad command-line usage.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.hint = hint
        super().__init__(self.one_line())

    def located(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> CnnCostError:
        """Fill in location facts that are still missing (inner code knows less than outer code)."""
        if self.file is None:
            self.file = file
        if self.line is None:
            self.line = line
            self.column = column
        if self.path is None:
            self.path = path
        self.args = (self.one_line(),)
        return self

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        at = f"{self.path}: " if self.path else ""
        text = f"{where}{at}{self.message}"
        if self.hint:
            text += f" — {self.hint}"
        return " ".join(text.split("\n"))

    def __str__(self) -> str:
        return self.one_line()


class SpecError(CnnCostError):
    """The spec file cannot be read, parsed or validated."""


class ShapeError(CnnCostError):
    """Layers do not fit together: a kernel larger than its input, mismatched residual shapes, …"""


class NotFoundError(CnnCostError):
    """A network name or file that does not exist."""


class LimitError(CnnCostError):
    """A request that would be meaninglessly large: too many layers, absurd sizes."""


class UsageError(CnnCostError):
    """Bad command-line usage (exit code 2)."""

    exit_code = 2


class MissingDependencyError(CnnCostError):
    """An optional dependency (PyTorch, fvcore, …) is needed for this command."""


class DeviceError(CnnCostError):
    """The requested device is not usable (exit code 2: the request itself cannot be met)."""

    exit_code = 2


class CheckFailed(CnnCostError):
    """A documented figure does not match the computed one."""


def shown(value: object, limit: int = 60) -> str:
    """A value as a message quotes it: its repr on one line, cut to ``limit`` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kind_of(value: object) -> str:
    """What a YAML value is, in words: 'a list', 'a mapping', 'text', 'nothing (null)', …"""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def suggest(word: str, choices: Iterable[str], *, what: str = "") -> str | None:
    """A "did you mean …?" hint naming the closest choices, or None."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.5)
    if not close:
        lowered = [c for c in options if word.lower() in c.lower()]
        close = lowered[:3]
    if not close:
        return None
    quoted = ", ".join(f"'{c}'" for c in close)
    return f"did you mean {quoted}?" if not what else f"did you mean {what} {quoted}?"


def require_torch(feature: str) -> None:
    """Raise a one-line error when PyTorch is not importable."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            f"{feature} needs PyTorch, which is not installed",
            hint="install it with: pip install 'cnncost[torch]'",
        ) from None
