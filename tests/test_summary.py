"""``summarize_network`` (what ``cnncost list`` shows, without the per-layer table) is exactly the summary of the
full analysis, for every bundled network and for specs whose last row is a merge or a residual's activation."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncost import api
from cnncost.analysis.engine import analyze_network
from cnncost.analysis.summary import summarize_network
from cnncost.spec import library


@pytest.mark.parametrize("name", library.names())
def test_bundled(name: str) -> None:
    network = api.resolve(name)
    expected = analyze_network(network).summary()
    got = summarize_network(network)
    assert got == expected
    assert list(got.totals.other) == list(expected.totals.other)  # the same order of categories too


ENDS = {
    "residual": "  - residual: {layers: [{conv: {out: 4, kernel: 3, padding: 1}}], activation: relu}\n",
    "concat": "  - concat: {branches: {a: [{conv: {out: 2, kernel: 1}}], b: [{conv: {out: 3, kernel: 1}}]}}\n",
    "empty": "  - repeat: {times: 0, layers: [relu]}\n",
}


@pytest.mark.parametrize("end", sorted(ENDS))
def test_last_row(end: str, tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("name: net\ninput: [8, 8, 4]\nlayers:\n  - relu\n" + ENDS[end], encoding="utf-8")
    network = api.resolve(str(path))
    assert summarize_network(network) == analyze_network(network).summary()
