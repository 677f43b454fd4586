"""The one number formatter of the program: every count, share, ratio and shape becomes text here.

Counts are exact integers with thousands separators (``15,470,264,320``) or short SI figures (``15.47 G``);
shapes are written in the course's notation, ``H×W×C`` for feature maps and the length for flat vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

#: SI prefixes for counts (k = 10³, M = 10⁶, G = 10⁹, …).
_PREFIXES = ("", "k", "M", "G", "T", "P", "E")

#: What a missing value looks like in every table.
NONE = "—"


def integer(n: int) -> str:
    """An exact count with thousands separators: ``15470264320`` → ``15,470,264,320``."""
    return f"{n:,}"


def si(n: float, *, digits: int = 2) -> str:
    """A count in short SI form: ``15470264320`` → ``15.47 G``; counts below 1000 stay exact (``832``)."""
    sign = "-" if n < 0 else ""
    value = abs(n)
    if value < 1000:
        return f"{sign}{value:g}" if isinstance(n, float) else f"{sign}{int(value)}"
    exponent = 0
    while value >= 1000 and exponent < len(_PREFIXES) - 1:
        value /= 1000
        exponent += 1
    # 999,999 rounds to "1000.00 k": carry into the next prefix instead.
    if round(value, digits) >= 1000 and exponent < len(_PREFIXES) - 1:
        value /= 1000
        exponent += 1
    return f"{sign}{value:.{digits}f} {_PREFIXES[exponent]}"


def count(n: int) -> str:
    """An exact count followed by its SI form when that helps: ``15,470,264,320 (15.47 G)``."""
    return integer(n) if abs(n) < 1000 else f"{integer(n)} ({si(n)})"


def percent(part: int, whole: int, *, digits: int = 1) -> str:
    """``part`` as a share of ``whole``: ``23.9%``; a non-zero share too small to show is ``<0.1%``."""
    if whole == 0:
        return NONE
    share = 100 * part / whole
    smallest = 10.0**-digits
    if 0 < share < smallest:
        return f"<{smallest:.{digits}f}%"
    return f"{share:.{digits}f}%"


def ratio(value: int, reference: int, *, digits: int = 2) -> str:
    """``value`` relative to ``reference``: ``0.10×``. Without a reference (zero) there is no ratio."""
    if reference == 0:
        return NONE
    r = value / reference
    if r != 0 and abs(r) < 10.0**-digits:
        return f"{r:.{digits}g}×"
    return f"{r:,.{digits}f}×"


def ratio_value(value: int, reference: int) -> float | None:
    """The ratio as a number, for machine output (``None`` when the reference is zero)."""
    return None if reference == 0 else value / reference


def shape(dims: Sequence[int], *, sep: str = "×") -> str:
    """A shape in the course's notation: ``(28, 28, 6)`` → ``28×28×6``; a vector ``(120,)`` → ``120``."""
    return sep.join(str(d) for d in dims)


def terms(parts: Sequence[int], total: int) -> str:
    """A sum written out: ``2,408,448 + 10,035,200 = 12,443,648`` (just the total for a single term)."""
    if len(parts) <= 1:
        return integer(total)
    return " + ".join(integer(p) for p in parts) + " = " + integer(total)


def plain(value: object) -> str:
    """A spec variable's value as text (``224``, ``0.75``, ``relu``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(plain(v) for v in value) + "]"
    return str(value)
