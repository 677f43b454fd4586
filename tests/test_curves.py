"""Measured figures over many orders of magnitude (``numbers.scientific``) and the PNG line plots
(``cnncost.render.curves``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cnncost.errors import UsageError
from cnncost.render import numbers as num


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0001234, "1.23e-04"),
        (1142.3, "1.14e+03"),
        (1.0, "1.00e+00"),
        (4.219e-22, "4.22e-22"),
        (-0.5, "-5.00e-01"),
        (0.0, "0"),
        (None, "—"),
        (math.inf, "∞"),
        (-math.inf, "-∞"),
        (math.nan, "nan"),
    ],
)
def test_scientific(value: float | None, text: str) -> None:
    assert num.scientific(value) == text


def test_lines_are_written_as_png_atomically(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from cnncost.render.curves import Panel, Series, save_lines

    out = tmp_path / "p.png"
    panel = Panel("t", "x", "y", [Series("a", [1, 2, 3], [1.0, 0.1, 0.0]), Series("b", [1, 2], [2.0, 3.0])], log_y=True)
    save_lines(str(out), [panel, Panel("u", "x", "y", [Series("c", [0.5, 1.5], [0.2, 0.3])])], title="two")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary file left
    with pytest.raises(UsageError, match="does not exist"):
        save_lines(str(tmp_path / "nowhere" / "p.png"), [panel])
