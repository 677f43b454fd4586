"""One exception family for everything cnncost refuses.

Every error carries the same facts the CLI prints on its single stderr line: the file, the line and column in
that file (when the problem comes from YAML), the layer path, what is wrong and how to fix it. The CLI maps the
family to an exit code in one place (``cli.main``); the Python API simply raises it.

The family (``CnnCostError`` is also ``cnncost.CnnCostError``)::

    CnnCostError                 base class; exit code 1
    ├── SpecError                a spec cannot be read, parsed or validated: a missing, unreadable, empty,
    │                            binary or non-UTF-8 file, broken YAML, duplicate keys, unknown keys, ops or
    │                            blocks, wrong argument types, undefined variables, expressions that fail
    │                            (``cnncost.spec.expr.ExprError`` is a SpecError)
    ├── ShapeError               layers do not fit: a kernel larger than its padded input, channels not divisible
    │                            by groups, a residual of mismatched shapes, concat branches of different H×W, …
    ├── NotFoundError            no bundled network of that name (the closest names are suggested)
    ├── LimitError               a meaninglessly large request, refused before any work: a file over the size
    │                            limit, YAML nested too deep or expanding through aliases, too many layers, an
    │                            absurd repeat, size, channel count or batch (``cnncost.limits``)
    ├── UsageError               exit code 2: a bad command-line or argument *value* (``--size 0``, ``--set`` of
    │                            an unknown variable or an unreadable value, an output path in a missing folder)
    ├── MissingDependencyError   an optional dependency (PyTorch, fvcore) is not installed
    ├── DeviceError              exit code 2: the requested device cannot be used
    └── CheckFailed              a documented figure, or PyTorch's count, disagrees with the analysis

Every instance has ``message``, ``file``, ``line``, ``column``, ``path``, ``hint`` (each None when unknown) and
``exit_code``; ``str(exc)`` is ``exc.one_line()``: ``FILE:LINE:COLUMN: PATH: message — hint``, never more than one
line.

The promise of ``cnncost.api`` (``analyze``, ``resolve``, ``compare``, ``verify``, ``build``, …): whatever *input*
it is given — files, specs, network names, sizes, batches, variable values — it answers with a result or raises
a member of this family. Any other exception escaping for bad input is a bug (``tests/test_bad_inputs.py`` and
``tests/test_fuzz.py`` look for them). Arguments of the wrong Python *type* (``size="224"``, ``variables=[…]``)
raise ``TypeError``, as everywhere in Python; ``KeyboardInterrupt`` passes through.
"""

from __future__ import annotations

import unicodedata
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
        return printable(text)

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


def printable(text: str, *, keep_newlines: bool = False) -> str:
    r"""``text`` safe for a terminal: every character that is not printable — control characters (ESC of an ANSI
    escape, a stray '\r' in a YAML key), bidi overrides and other format characters (U+202E, U+2066), Unicode
    line separators — is shown as a visible escape (``\x1b``, ``\u202e``, ``\t``). A newline becomes a space
    (one line), or stays with ``keep_newlines``. The one escaping function of every text output
    (``cnncost.render.text``)."""
    if text.isprintable():
        return text
    if "\n" in text:  # line by line, so the many printable lines of a long output take the fast road above
        return ("\n" if keep_newlines else " ").join(printable(line) for line in text.split("\n"))
    out = []
    for c in text:
        if c.isprintable() or unicodedata.category(c) == "Zs":  # spaces (a no-break space) show as spaces
            out.append(c)
        elif c == "\n":
            out.append("\n" if keep_newlines else " ")
        elif c == "\t":
            out.append("\\t")
        else:
            n = ord(c)
            out.append(f"\\x{n:02x}" if n < 256 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}")
    return "".join(out)



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
    import difflib  # only when a name is wrong (start-up)

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
            hint="install it with: pip install torch (from a cnncost checkout: pip install '.[torch]')",
        ) from None
