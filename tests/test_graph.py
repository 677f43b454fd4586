"""Graphs that are not a chain: tensors kept by ``save: NAME`` and read back by ``join`` (U-Net's crop-and-
concatenate, FPN's merge), the ``crop`` op, and the bundled U-Net checked against the paper's Fig. 1."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cnncost import api, ir
from cnncost.errors import CnnCostError, ShapeError, SpecError
from cnncost.ops import get_op


def _spec(tmp_path: Path, text: str, name: str = "g.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


SKIP = """\
    name: skip
    input: [16, 16, 3]
    layers:
      - conv: {out: 8, kernel: 3}         # 14×14×8
        save: a
      - maxpool: {kernel: 2, stride: 2}   # 7×7×8
      - conv: {out: 8, kernel: 3}         # 5×5×8
      - conv_transpose: {out: 4, kernel: 2, stride: 2}   # 10×10×4
      - join: {with: a, crop: true}       # crop 14 → 10, then [a (8), x (4)]: 10×10×12
      - conv: {out: 2, kernel: 1}
"""


# ------------------------------------------------------------------------------------------------ the IR


def test_save_marker_and_join_in_execution_order(tmp_path: Path) -> None:
    net = api.resolve(str(_spec(tmp_path, SKIP)))
    kinds = [type(n).__name__ for n in net.root.children]
    assert kinds == ["Layer", "Save", "Layer", "Layer", "Layer", "Join", "Layer"]
    save = net.root.children[1]
    assert isinstance(save, ir.Save)
    assert (save.name, save.source, save.shape) == ("a", "conv1", (14, 14, 8))
    join = net.root.children[5]
    assert isinstance(join, ir.Join)
    assert (join.mode, join.saved, join.sources) == ("concat", ("a",), ("conv1",))
    assert join.reads[0].in_shape == (14, 14, 8) and join.reads[0].out_shape == (10, 10, 8)
    assert join.out_shape == (10, 10, 12)  # 8 saved channels first, then the 4 of the up-convolution
    # every walker sees the crop, between the up-convolution and the conv after the join
    ops = [layer.op for layer in net.layers()]
    assert ops == ["conv", "maxpool", "conv", "conv_transpose", "crop", "conv"]
    assert ir.children_of(join) == join.reads
    assert [type(n).__name__ for n in ir.iter_nodes(net.root)].count("Save") == 1


def test_join_rows_and_costs(tmp_path: Path) -> None:
    report = api.analyze(str(_spec(tmp_path, SKIP)))
    rows = {r.path: r for r in report.records}
    assert rows["join1"].kind == "join" and dict(rows["join1"].args) == {"with": ["a"], "mode": "concat"}
    assert rows["join1.a"].input_shape == (14, 14, 8) and rows["join1.a"].output_shape == (10, 10, 8)
    assert rows["join1.a.crop"].op == "crop" and (rows["join1.a.crop"].params, rows["join1.a.crop"].macs) == (0, 0)
    assert rows["join1.concat"].output_shape == (10, 10, 12)
    # conv3 reads all 12 channels: 1·1·12 × 2 × 10·10 = 2,400 MACs, 12·2 + 2 = 26 params
    assert (rows["conv3"].macs, rows["conv3"].params) == (2400, 26)


def test_join_add_with_a_lateral_conv(tmp_path: Path) -> None:
    path = _spec(
        tmp_path,
        """\
        name: fpn
        input: [32, 32, 3]
        layers:
          - conv: {out: 16, kernel: 3, padding: 1}
            save: c2
          - conv: {out: 32, kernel: 3, stride: 2, padding: 1}   # 16×16×32
          - conv: {out: 8, kernel: 1}                           # the top's lateral: 16×16×8
          - upsample: {scale: 2}                                # 32×32×8
          - name: merge
            join: {with: c2, mode: add, layers: [{name: lateral, conv: {out: 8, kernel: 1}}]}
        """,
    )
    report = api.analyze(str(path))
    rows = {r.path: r for r in report.records}
    # the lateral 1×1 conv on c2 (32×32×16 → 8): 16·8 + 8 = 136 params, 16 × 8 × 32·32 = 131,072 MACs
    assert (rows["merge.c2.lateral"].params, rows["merge.c2.lateral"].macs) == (136, 131072)
    assert rows["merge.add"].op == "add" and rows["merge.add"].other["residual"] == 32 * 32 * 8
    assert report.output_shape == (32, 32, 8)


@pytest.mark.parametrize(
    ("change", "message", "hint"),
    [
        ("with: b, crop: true", "no layer saves a tensor of that name", "saved so far: a"),
        ("with: aa, crop: true", "no layer saves", "'a'"),
        ("with: a", "the saved 'a' is 14×14×8 and the current tensor 10×10×4", "crop it: add 'crop: true'"),
        ("with: a, mode: add, crop: true", "cannot add tensors of different shape", "project it to 4 channels"),
        ("with: [a, a]", "names a saved tensor twice", "name each tensor once"),
        ("with: a, mode: mean, crop: true", "'mode' must be concat or add", None),
    ],
)
def test_join_errors_are_located_and_say_how_to_fix(tmp_path: Path, change: str, message: str, hint: str) -> None:
    path = _spec(tmp_path, SKIP.replace("with: a, crop: true", change))
    with pytest.raises(CnnCostError) as info:
        api.analyze(str(path))
    text = info.value.one_line()
    assert message in text and "g.yaml:9:" in text, text
    if hint:
        assert hint in text, text


def test_a_saved_name_read_too_early_or_saved_twice(tmp_path: Path) -> None:
    early = SKIP.replace("join: {with: a, crop: true}", "join: {with: late, crop: true}").replace(
        "- conv: {out: 2, kernel: 1}", "- conv: {out: 2, kernel: 1}\n        save: late"
    )
    with pytest.raises(SpecError, match=r"before any layer has saved it \(it is saved later, at line 10\)"):
        api.analyze(str(_spec(tmp_path, early)))
    pool = "- maxpool: {kernel: 2, stride: 2}"
    twice = SKIP.replace(f"{pool}   # 7×7×8", f"{pool}\n        save: a")
    with pytest.raises(SpecError, match=r"'a' is saved twice: first by 'conv1' \(line 4\), again by 'maxpool1'"):
        api.analyze(str(_spec(tmp_path, twice)))
    repeated = """\
        name: r
        input: [8, 8, 3]
        layers:
          - repeat:
              times: 2
              layers:
                - conv: {out: 4, kernel: 1}
                  save: x
        """
    with pytest.raises(SpecError, match=r"saved twice: first by 'repeat1.0.conv1'.*again by 'repeat1.1.conv1'"):
        api.analyze(str(_spec(tmp_path, repeated)))


def test_save_needs_a_plain_name(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"'save' needs a plain name for the tensor, not 3"):
        api.analyze(str(_spec(tmp_path, SKIP.replace("save: a", "save: 3"))))


def test_a_block_passes_the_saved_name_as_an_argument(tmp_path: Path) -> None:
    path = _spec(
        tmp_path,
        """\
        name: b
        input: [16, 16, 3]
        blocks:
          up:
            args: {skip: null}
            layers:
              - {name: upconv, conv_transpose: {out: 4, kernel: 2, stride: 2}}
              - {name: cat, join: {with: skip, crop: true}}
        layers:
          - {name: down, conv: {out: 8, kernel: 3}, save: enc}
          - {name: pool, maxpool: {kernel: 2, stride: 2}}
          - {name: up1, up: {skip: enc}}
        """,
    )
    report = api.analyze(str(path))
    assert report.find("up1.cat.enc.crop") is not None and report.output_shape == (14, 14, 12)


# ------------------------------------------------------------------------------------------------ crop


def test_crop_shape_and_cost() -> None:
    crop = get_op("crop")
    # 64×64×512 cut to its centre 56×56: a slice, nothing computed
    assert crop.shape({"size": (56, 56)}, (64, 64, 512)) == (56, 56, 512)
    cost = crop.cost({"size": (56, 56)}, (64, 64, 512), (56, 56, 512))
    assert (cost.params, cost.macs, dict(cost.other)) == (0, 0, {})
    with pytest.raises(ShapeError, match="crop to 60×60 asks for more than its 52×52 input"):
        crop.shape({"size": (60, 60)}, (52, 52, 8))


def test_crop_module_takes_the_centre() -> None:
    torch = pytest.importorskip("torch")
    from cnncost.ops.torch_modules import CenterCrop

    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    # rows 1–2, columns 1–2 of [[0..3], [4..7], [8..11], [12..15]]
    assert CenterCrop((2, 2))(x).tolist() == [[[[5.0, 6.0], [9.0, 10.0]]]]
    # an odd border: 5 → 2 cuts 1 at the top, 2 at the bottom (offset (5 − 2) // 2 = 1)
    y = torch.arange(25.0).reshape(1, 1, 5, 5)
    assert CenterCrop((2, 2))(y).tolist() == [[[[6.0, 7.0], [11.0, 12.0]]]]


# ------------------------------------------------------------------------------------------------ the built module


@pytest.mark.torch
def test_built_join_computes_crop_and_concatenate(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = api.resolve(str(_spec(tmp_path, SKIP)))
    module = api.build(net)
    module.eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        out = module(x)
        # the same forward written out by hand from the module's own layers
        a = module.conv1(x)
        up = module.conv_transpose1(module.conv2(module.maxpool1(a)))
        expected = module.conv3(torch.cat([a[:, :, 2:12, 2:12], up], dim=1))
    assert torch.equal(out, expected)
    with pytest.raises(CnnCostError, match="runs only inside the whole network's forward"):
        module.join1(up)


@pytest.mark.torch
def test_join_agrees_with_the_built_module(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    for text in (SKIP, SKIP.replace("with: a, crop: true", "with: a, crop: true, layers: [conv: {out: 4, kernel: 1}]")):
        net = api.resolve(str(_spec(tmp_path, text)))
        result = api.verify(net)
        assert result.ok, result.failures[:3]


# ------------------------------------------------------------------------------------------------ U-Net


#: Fig. 1 of Ronneberger et al. 2015, box by box: the height (= width) after each step, and its channels.
UNET_FIG1 = [
    ("down1.conv2", 568, 64),
    ("pool1", 284, 64),
    ("down2.conv2", 280, 128),
    ("pool2", 140, 128),
    ("down3.conv2", 136, 256),
    ("pool3", 68, 256),
    ("down4.conv2", 64, 512),
    ("pool4", 32, 512),
    ("bottom.conv2", 28, 1024),
    ("up1.upconv", 56, 512),
    ("up1.cat", 56, 1024),
    ("up1.conv2", 52, 512),
    ("up2.upconv", 104, 256),
    ("up2.conv2", 100, 256),
    ("up3.upconv", 200, 128),
    ("up3.conv2", 196, 128),
    ("up4.upconv", 392, 64),
    ("up4.conv2", 388, 64),
    ("final", 388, 2),
]


def test_unet_shapes_are_the_papers_figure() -> None:
    report = api.analyze("unet")
    assert report.input_shape == (572, 572, 1) and report.output_shape == (388, 388, 2)
    for path, size, channels in UNET_FIG1:
        row = report.find(path)
        assert row is not None, path
        assert row.output_shape == (size, size, channels), path
    # the crops of the four skips: 64 → 56, 136 → 104, 280 → 200, 568 → 392
    crops = [(r.input_shape[0], r.output_shape[0]) for r in report.layers() if r.op == "crop"]
    assert crops == [(64, 56), (136, 104), (280, 200), (568, 392)]


def test_unet_params_and_macs_by_hand() -> None:
    report = api.analyze("unet")
    # valid 3×3 convs (C_in, C_out, output side): 9·C_in·C_out + C_out params, 9·C_in·C_out·n² MACs
    convs = [
        (1, 64, 570), (64, 64, 568), (64, 128, 282), (128, 128, 280), (128, 256, 138), (256, 256, 136),
        (256, 512, 66), (512, 512, 64), (512, 1024, 30), (1024, 1024, 28),
        (1024, 512, 54), (512, 512, 52), (512, 256, 102), (256, 256, 100), (256, 128, 198), (128, 128, 196),
        (128, 64, 390), (64, 64, 388),
    ]  # fmt: skip
    # 2×2 stride-2 up-convs (C_in, C_out, input side): 4·C_in·C_out + C_out params, 4·C_out·C_in·n² MACs
    ups = [(1024, 512, 28), (512, 256, 52), (256, 128, 100), (128, 64, 196)]
    params = sum(9 * i * o + o for i, o, _ in convs) + sum(4 * i * o + o for i, o, _ in ups) + 64 * 2 + 2
    macs = sum(9 * i * o * n * n for i, o, n in convs) + sum(4 * i * o * n * n for i, o, n in ups) + 64 * 2 * 388**2
    assert report.totals.params == params == 31_030_658
    assert report.totals.macs == macs == 150_428_424_448


def test_unet_check_passes() -> None:
    report = api.check("unet")
    assert report.ok and report.count("pass") == len(report.results) == 7
