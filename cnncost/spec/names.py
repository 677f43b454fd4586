"""Names as Python's parser reads them.

An expression's names are folded by the parser to Unicode's NFKC form (PEP 3131): ``ﬁlters`` (with the ligature
U+FB01) *is* ``filters`` there. Every name a spec declares — variables, blocks, arguments, any mapping key — and
every bare word is folded the same way, once, where it is read, so that two spellings can never be two
variables on one side and one on the other; two keys that fold to one name are refused as duplicates.
"""

from __future__ import annotations

import unicodedata


def normal(name: str) -> str:
    """``name`` in NFKC form (ASCII names, nearly all of them, are returned as they are)."""
    return name if name.isascii() else unicodedata.normalize("NFKC", name)
