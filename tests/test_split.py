"""The ``split`` combinator (``torch.split`` on channels, one branch per slice, outputs concatenated): shapes,
parameters and MACs by hand, and the module built from the same spec agreeing with the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncost import api, ir
from cnncost.errors import ShapeError

HALVES = """
name: halves
input: [8, 8, 32]
layers:
  - name: unit
    split:
      branches:
        keep: []
        main:
          - {name: conv, conv: {out: 16, kernel: 1}}
          - {name: relu, relu: {}}
  - {name: shuffle, channel_shuffle: {groups: 2}}
"""

UNEQUAL = """
name: unequal
input: [8, 8, 32]
layers:
  - name: unit
    split:
      sizes: [8, 24]
      branches:
        a: [{name: pool, maxpool: {kernel: 3, stride: 1, padding: 1}}]
        b: [{name: conv, conv: {out: 16, kernel: 1}}]
"""


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_equal_halves_by_hand(tmp_path: Path) -> None:
    net = api.resolve(_spec(tmp_path, HALVES))
    unit = net.root.children[0]
    assert isinstance(unit, ir.Concat)
    assert unit.split == (16, 16)
    assert [b.in_shape for b in unit.branches] == [(8, 8, 16), (8, 8, 16)]
    assert [b.out_shape for b in unit.branches] == [(8, 8, 16), (8, 8, 16)]
    report = api.analyze(net)
    conv = report.find("unit.main.conv")
    assert conv.input_shape == (8, 8, 16)
    assert conv.params == 16 * 16 + 16
    assert conv.macs == 8 * 8 * 16 * 16
    assert report.output_shape == (8, 8, 32)
    assert report.totals.params == 272
    assert report.totals.macs == 16384


def test_unequal_sizes_by_hand(tmp_path: Path) -> None:
    net = api.resolve(_spec(tmp_path, UNEQUAL))
    unit = net.root.children[0]
    assert isinstance(unit, ir.Concat)
    assert unit.split == (8, 24)
    report = api.analyze(net)
    assert report.find("unit.a.pool").output_shape == (8, 8, 8)
    assert report.find("unit.b.conv").input_shape == (8, 8, 24)
    assert report.totals.params == 24 * 16 + 16
    assert report.totals.macs == 8 * 8 * 24 * 16
    assert report.output_shape == (8, 8, 8 + 16)


def test_a_flat_input_cannot_be_split(tmp_path: Path) -> None:
    text = "name: t\ninput: [32]\nlayers:\n  - {name: unit, split: {branches: {a: [], b: [relu]}}}\n"
    with pytest.raises(ShapeError, match="flat vector"):
        api.analyze(_spec(tmp_path, text))


@pytest.mark.parametrize("text", [HALVES, UNEQUAL])
def test_the_built_module_agrees_with_the_engine(tmp_path: Path, text: str) -> None:
    torch = pytest.importorskip("torch")
    from cnncost.torch.build import MERGE_OPS, build_module
    from cnncost.torch.verify import count_with_torch, nchw

    net = api.resolve(_spec(tmp_path, text))
    report = api.analyze(net)
    module = build_module(net, device="meta")
    params, flops = count_with_torch(module, nchw(report.input_shape, 1))
    assert params == report.totals.params
    assert flops[""] == 2 * report.totals.macs
    for rec in report.layers():
        if rec.op in MERGE_OPS:
            continue
        assert sum(p.numel() for p in module.get_submodule(rec.path).parameters()) == rec.params, rec.path
        assert flops.get(rec.path, 0) == 2 * rec.macs, rec.path
    # on real numbers: the identity branch passes its slice through unchanged, in place
    module = build_module(net, device="cpu")
    x = torch.randn(2, 32, 8, 8)
    y = module(x)
    assert tuple(y.shape[1:]) == (report.output_shape[2], 8, 8)
    if text is HALVES:
        shuffled = y.reshape(2, 16, 2, 8, 8).transpose(1, 2).reshape(2, 32, 8, 8)  # undo the shuffle
        assert torch.equal(shuffled[:, :16], x[:, :16])
