"""Text that is safe to put on a terminal, and text an output stream can encode.

Two rules for every character that leaves cnncost:

* **Nothing from the input can control the terminal.** A spec's name, description, layer names or variable
  values may carry ANSI escapes (``ESC [ …``), bidi overrides (U+202A–U+202E, U+2066–U+2069) or other control
  characters; every text output shows them as visible escapes (``\\x1b``, ``\\u202e``) through one function,
  ``cnncost.errors.printable``. JSON keeps the data exact but writes such characters as ``\\uXXXX`` escapes.
* **No output fails on its encoding.** Where stdout or stderr cannot encode a character (``PYTHONIOENCODING=ascii``,
  a latin-1 terminal) it is written in an ASCII form (``×`` → ``x``, ``—`` → ``-``, ``…`` → ``...``, ``→`` →
  ``->``), or else as a visible escape (``\\u221a``): the ``cnncost-ascii`` codec error handler.

Nothing here imports more than the standard library: the CLI uses it at start-up.
"""

from __future__ import annotations

import codecs

from cnncost.errors import printable

__all__ = ["ASCII_FORMS", "ERROR_HANDLER", "for_encoding", "install", "json_safe", "printable", "terminal_safe"]

#: ASCII stand-ins for the symbols cnncost prints.
ASCII_FORMS: dict[str, str] = {
    "×": "x",
    "—": "-",
    "–": "-",
    "−": "-",
    "…": "...",
    "→": "->",
    "←": "<-",
    "·": "*",
    "─": "-",
    "━": "-",
    "╸": "-",
    "│": "|",
    "•": "*",
    "µ": "u",
    "≈": "~",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "⋆": "*",
    "\u00a0": " ",
}

#: The name of the codec error handler that writes ASCII forms.
ERROR_HANDLER = "cnncost-ascii"


def _handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(ASCII_FORMS.get(c) or c.encode("ascii", "backslashreplace").decode() for c in bad), exc.end


codecs.register_error(ERROR_HANDLER, _handler)


def for_encoding(text: str, encoding: str) -> str:
    """``text`` with each character ``encoding`` cannot represent in its ASCII form (or escaped)."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.encode(encoding, ERROR_HANDLER).decode(encoding)
    except LookupError:
        return text


def install(stream: object) -> None:
    """Make ``stream`` (``sys.stdout``/``sys.stderr``) write ASCII forms instead of failing when its encoding
    cannot represent a character. Streams that encode everything (UTF-8) are left alone."""
    encoding = str(getattr(stream, "encoding", None) or "utf-8")
    try:
        if codecs.lookup(encoding).name in ("utf-8", "utf-16", "utf-32", "utf-8-sig"):
            return
        stream.reconfigure(errors=ERROR_HANDLER)  # type: ignore[attr-defined]
    except (AttributeError, LookupError, ValueError, OSError):
        pass


def terminal_safe(text: str) -> str:
    """A whole text output (many lines) with every control character but the newline shown as an escape."""
    return printable(text, keep_newlines=True)


def json_safe(text: str) -> str:
    """JSON text with every non-printable character (bidi overrides, C1 controls, line separators, …) written as
    a ``\\uXXXX`` escape. Outside its strings JSON text holds only printable characters, spaces and newlines, so
    this changes no value, only how it is spelled."""
    if text.isprintable():
        return text
    out = []
    for c in text:
        if c == "\n" or printable(c) == c:
            out.append(c)
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            n = ord(c) - 0x10000
            out.append(f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}")
    return "".join(out)
