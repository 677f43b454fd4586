"""``errors.printable`` takes long outputs line by line (start-up: ResNet-1202's table is 4,000 lines) and gives
exactly what escaping character by character gives."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from cnncost.errors import printable


def _by_character(text: str, keep_newlines: bool) -> str:
    out = []
    for c in text:
        if c.isprintable() or unicodedata.category(c) == "Zs":
            out.append(c)
        elif c == "\n":
            out.append("\n" if keep_newlines else " ")
        elif c == "\t":
            out.append("\\t")
        else:
            n = ord(c)
            out.append(f"\\x{n:02x}" if n < 256 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}")
    return "".join(out)


@given(st.text(alphabet=st.sampled_from("ab ×\n\t\r\x1b\u202e\u00a0\u2028\U0001f600")), st.booleans())
def test_line_by_line_equals_character_by_character(text: str, keep_newlines: bool) -> None:
    assert printable(text, keep_newlines=keep_newlines) == _by_character(text, keep_newlines)
