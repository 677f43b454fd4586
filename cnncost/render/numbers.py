"""The one number formatter of the program: every count, share, ratio and shape becomes text here.

Counts are exact integers with thousands separators (``15,470,264,320``) or short SI figures (``15.47 G``);
shapes are written in the course's notation, ``H×W×C`` for feature maps and the length for flat vectors.

Measured figures (``cnncost bench``) keep three significant figures or more: durations in milliseconds
(``duration``: ``0.0452``, ``1.234``, ``15.33``, ``1,234.6``), rates per second (``rate``: ``65.5``, ``21.33 k``),
TFLOP/s (``sig3``: ``0.00507``, ``52.3``, ``650``) and shares of a whole given as a fraction (``share``:
``0.1764`` → ``17.6%``).

Deviations (``cnncost check``) are signed percentages (``signed_percent``): ``+0.26%``, ``-22.24%``. Exactly
zero is ``0``. A deviation too small for the digits shown never reads as zero or loses its sign: it is the
smallest shown value with its sign, ``+<0.01%`` or ``-<0.01%``. Not a finite number (a documented 0 against a
non-zero count) is ``∞`` (``-∞``). Every figure keeps its digits whole: a table drops a column rather than cut one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fractions import Fraction

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


def duration(ms: float) -> str:
    """Milliseconds with three significant figures or more: ``0.0452``, ``1.234``, ``15.33``, ``1,234.6``."""
    if ms >= 100:
        return f"{ms:,.1f}"
    if ms >= 10:
        return f"{ms:.2f}"
    if ms >= 1:
        return f"{ms:.3f}"
    return f"{ms:.4f}"


def rate(per_second: float) -> str:
    """A per-second rate: below 1000 with one decimal (``65.5``), above in SI form (``21.33 k``)."""
    return si(per_second) if per_second >= 1000 else f"{per_second:.1f}"


def sig3(value: float | None) -> str:
    """A measured figure (TFLOP/s) with three significant figures: ``0.00507``, ``3.27``, ``52.3``, ``650``,
    ``1,234``."""
    if value is None:
        return NONE
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.3g}"


def decimal(value: float | None, *, digits: int = 1) -> str:
    """A plain measured figure with fixed decimals and thousands separators: ``1,234.5``."""
    return NONE if value is None else f"{value:,.{digits}f}"


def share(fraction: float | None, *, digits: int = 1, above: bool = False) -> str:
    """A fraction as a share: ``0.1764`` → ``17.6%``. ``above`` marks a share that should not exceed 100% (of the
    device's peak): whole percents ending in ``!`` (``202%!``), capped at ``>9999%!`` to keep its width."""
    if fraction is None:
        return NONE
    if above:
        return f"{100 * fraction:.0f}%!" if fraction < 100 else ">9999%!"
    return f"{100 * fraction:.{digits}f}%"


def signed_percent(fraction: float | None, *, digits: int = 2) -> str:
    """A relative deviation as a signed percentage: ``0.002587`` → ``+0.26%``, ``-0.2224`` → ``-22.24%``;
    ``0`` for exactly zero; a non-zero deviation that would round to zero is ``+<0.01%`` / ``-<0.01%`` (with
    ``digits`` decimals); a deviation that is not finite is ``∞`` / ``-∞``; ``None`` is ``—``."""
    if fraction is None:
        return NONE
    if fraction == 0:
        return "0"
    sign = "-" if fraction < 0 else "+"
    if math.isinf(fraction) or math.isnan(fraction):
        return "-∞" if fraction < 0 else "∞"
    value = 100 * abs(fraction)
    smallest = 10.0**-digits
    if round(value, digits) < smallest:
        return f"{sign}<{smallest:.{digits}f}%"
    return f"{sign}{value:,.{digits}f}%"


#: Binary prefixes for bytes (KiB = 2¹⁰ bytes, MiB = 2²⁰, …).
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(nbytes: int) -> str:
    """Bytes in binary units with two decimals and at most three digits before the point: ``1536`` →
    ``1.50 KiB``, ``25,690,112`` → ``24.50 MiB``, 1,000 MiB and over → ``0.98 GiB``; below 1,000 bytes exact
    (``832 B``)."""
    sign = "-" if nbytes < 0 else ""
    value = float(abs(nbytes))
    if value < 1000:
        return f"{sign}{int(value)} B"
    unit = 0
    while round(value, 2) >= 1000 and unit < len(_BINARY) - 1:  # 1,000 KiB and more: the next unit
        value /= 1024
        unit += 1
    return f"{sign}{value:.2f} {_BINARY[unit]}"


def size_unit(nbytes: float) -> str:
    """The binary unit ``size`` writes ``nbytes`` in (``B``, ``KiB``, ``MiB`` …): an axis's ticks share it."""
    value, unit = float(abs(nbytes)), 0
    if value < 1000:
        return _BINARY[0]
    while round(value, 2) >= 1000 and unit < len(_BINARY) - 1:
        value /= 1024
        unit += 1
    return _BINARY[unit]


def size_tick(nbytes: float, unit: str) -> str:
    """An axis tick in bytes, in ``unit`` (one of ``size``'s binary units) with no trailing zeros: ``(3 << 20,
    "MiB")`` → ``3 MiB``, ``(1.5 * 2**30, "GiB")`` → ``1.5 GiB``, ``0`` → ``0`` (plots)."""
    if nbytes == 0:
        return "0"
    value = nbytes / 1024 ** _BINARY.index(unit)
    return f"{value:,.6g} {unit}" if abs(value) < 1e6 else f"{value:,.0f} {unit}"


def receptive_size(size: Sequence[int], *, exact: bool = True) -> str:
    """A receptive field in input pixels: ``196``, or ``7×11`` where height and width differ; ``≤19`` where it is
    the most an uneven grid (after upsampling) can span."""
    text = str(size[0]) if size[0] == size[1] else f"{size[0]}×{size[1]}"
    return text if exact else f"≤{text}"


def jump(jumps: Sequence[int | Fraction]) -> str:
    """A jump (input pixels between neighbouring units): ``16``, ``1/2`` after upsampling, ``4×2`` per axis."""

    def one(j: int | Fraction) -> str:
        return str(j.numerator) if j.denominator == 1 else f"{j.numerator}/{j.denominator}"

    return one(jumps[0]) if jumps[0] == jumps[1] else f"{one(jumps[0])}×{one(jumps[1])}"


def tick(value: float) -> str:
    """An axis tick in short SI form with no trailing zeros: ``2500000`` → ``2.5 M``, ``1e8`` → ``100 M``,
    ``15470264320`` → ``15.47 G``, ``64`` → ``64``, ``0.5`` → ``0.5`` (plots)."""
    if value == 0:
        return "0"
    if abs(value) < 1000:
        return f"{value:g}"
    text = si(value)
    number, _, prefix = text.partition(" ")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return f"{number} {prefix}".rstrip()


def scientific(value: float | None, *, digits: int = 3) -> str:
    """A measured figure that may span many orders of magnitude (a gradient norm, a ratio of them), with
    ``digits`` significant figures in scientific form: ``0.0001234`` → ``1.23e-04``, ``1142.3`` → ``1.14e+03``;
    ``0`` stays ``0``; not a finite number is ``∞`` / ``-∞`` / ``nan``; ``None`` is ``—``."""
    if value is None:
        return NONE
    if value == 0:
        return "0"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "-∞" if value < 0 else "∞"
    return f"{value:.{digits - 1}e}"
