"""Names that follow PyTorch's: whole-number names, numbered lists, flat items, inline and flat concats, repeat
``names`` patterns and a residual's named, numbered, first shortcut — the paths they give, the errors they make,
and the module built from them (its names are the paths, its forward what the spec says, its analysis the spec's
own rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cnncost import api, ir
from cnncost.errors import SpecError
from cnncost.spec.paths import is_layer_name, layer_name, number_of


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def paths(tmp_path: Path, text: str) -> list[str]:
    """The layer paths of a spec, in order (merge rows included, as the analysis lists them)."""
    return [r.path for r in api.analyze(_spec(tmp_path, text)).layers()]


def refused(tmp_path: Path, text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        api.analyze(_spec(tmp_path, text))
    return info.value


# ----------------------------------------------------------------------------------------- names


def test_what_a_name_may_be() -> None:
    assert [layer_name(v) for v in ("conv1", 0, "0", 12, "features")] == ["conv1", "0", "0", "12", "features"]
    assert [layer_name(v) for v in (-1, 1.5, True, "a.b", "a b", "", "block1-0", None)] == [None] * 8
    assert layer_name("block1-0", hyphens=True) == "block1-0"
    assert not is_layer_name("-a", hyphens=True) and not is_layer_name("a--b", hyphens=True)
    assert [number_of(n) for n in ("0", "17", "conv1", "٣")] == [0, 17, None, None]


def test_whole_number_names(tmp_path: Path) -> None:
    text = """
name: t
input: [8, 8, 3]
layers:
  - {name: 0, conv: {out: 4, kernel: 3, padding: 1}}
  - {name: "1", relu: {}}
"""
    assert paths(tmp_path, text) == ["0", "1"]


@pytest.mark.parametrize("bad", ["-1", "1.5", "a.b", "true"])
def test_a_name_that_is_no_path_step_is_refused(tmp_path: Path, bad: str) -> None:
    text = f"""
name: t
input: [8, 8, 3]
layers:
  - {{name: {bad}, relu: {{}}}}
"""
    assert "is not a plain identifier" in refused(tmp_path, text).message


# ----------------------------------------------------------------------------------------- numbered lists

NUMBERED = """
name: t
input: [8, 8, 3]
variables: {bn: false}
blocks:
  cbr:
    args: {out: null}
    numbered: true
    layers:
      - conv: {out: out, kernel: 3, padding: 1}
      - {when: bn, bn: {}}
      - relu
layers:
  - name: features
    sequence:
      numbered: true
      layers:
        - cbr: {out: 4}
        - maxpool: {kernel: 2, stride: 2}
        - {name: 5, conv: {out: 8, kernel: 1}}
        - relu
"""


def test_a_numbered_list_names_its_layers_0_1_2(tmp_path: Path) -> None:
    # a layer switched off by 'when' takes no number (bn, here); an explicit number moves the count on
    assert paths(tmp_path, NUMBERED) == [
        "features.0.0",
        "features.0.1",
        "features.1",
        "features.5",
        "features.6",
    ]
    with_bn = NUMBERED.replace("bn: false", "bn: true")
    assert paths(tmp_path, with_bn)[:3] == ["features.0.0", "features.0.1", "features.0.2"]


def test_a_numbered_list_refuses_a_named_layer(tmp_path: Path) -> None:
    text = NUMBERED.replace("{name: 5, conv", "{name: head, conv")
    error = refused(tmp_path, text)
    assert "numbered" in error.message and "'head'" in error.message
    twice = NUMBERED.replace("{name: 5, conv", "{name: 1, conv")
    assert "named '1'" in refused(tmp_path, twice).message


# ----------------------------------------------------------------------------------------- flat items

VGG_LIKE = """
name: t
input: [16, 16, 3]
blocks:
  cbr:
    args: {out: null}
    layers:
      - conv: {out: out, kernel: 3, padding: 1}
      - relu
  stage:
    args: {n: null, out: null}
    layers:
      - {flat: true, repeat: {times: n, layers: [{flat: true, cbr: {out: out}}]}}
      - maxpool: {kernel: 2, stride: 2}
layers:
  - name: features
    sequence:
      numbered: true
      layers:
        - {flat: true, stage: {n: 2, out: 4}}
        - {flat: true, stage: {n: 1, out: 8}}
  - flatten
"""


def test_flat_items_add_no_level(tmp_path: Path) -> None:
    # torchvision's VGG: every conv, ReLU and pool of every stage in one numbered list
    assert paths(tmp_path, VGG_LIKE) == [f"features.{i}" for i in range(8)] + ["flatten1"]
    report = api.analyze(_spec(tmp_path, VGG_LIKE))
    assert [r.op for r in report.layers()][:5] == ["conv", "relu", "conv", "relu", "maxpool"]
    assert report.find("features.5").params == 3 * 3 * 4 * 8 + 8


def test_a_flat_repeat_of_whole_blocks_numbers_the_copies_in_the_list(tmp_path: Path) -> None:
    # torchvision's MobileNetV2: the stages add no level, each block is features.N
    text = """
name: t
input: [8, 8, 4]
blocks:
  unit:
    args: {}
    layers:
      - residual: {layers: [{name: conv, conv: {out: 4, kernel: 1}}, {name: bn, bn: {}}]}
layers:
  - name: features
    sequence:
      numbered: true
      layers:
        - conv: {out: 4, kernel: 1}
        - {flat: true, repeat: {times: 2, layers: [unit: {}]}}
        - {flat: true, repeat: {times: 1, layers: [unit: {}]}}
"""
    assert [p for p in paths(tmp_path, text) if not p.endswith(".add")] == [
        "features.0",
        "features.1.conv",
        "features.1.bn",
        "features.2.conv",
        "features.2.bn",
        "features.3.conv",
        "features.3.bn",
    ]


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("{flat: true, relu: {}}", "'flat' applies to a block, sequence, repeat or concat"),
        ("{flat: true, residual: {layers: [relu]}}", "not to 'residual'"),
        ("{flat: true, name: a, sequence: [relu]}", "a flat item has no name of its own"),
        ("{flat: yes please, sequence: [relu]}", "'flat' must be true or false"),
        ("{flat: true, sequence: {numbered: true, layers: [relu]}}", "cannot be numbered itself"),
    ],
)
def test_flat_mistakes_are_one_line_errors(tmp_path: Path, item: str, words: str) -> None:
    text = f"""
name: t
input: [8, 8, 3]
layers:
  - {item}
"""
    error = refused(tmp_path, text)
    assert words in error.message
    assert error.line == 5


def test_flat_names_stay_unique(tmp_path: Path) -> None:
    text = """
name: t
input: [8, 8, 3]
layers:
  - {name: conv, conv: {out: 4, kernel: 1}}
  - flat: true
    sequence: [{name: conv, conv: {out: 4, kernel: 1}}]
"""
    assert "two layers in the same list are named 'conv'" in refused(tmp_path, text).message


# ----------------------------------------------------------------------------------------- repeat names


def test_copies_named_by_a_pattern(tmp_path: Path) -> None:
    text = """
name: t
input: [8, 8, 4]
variables: {stage: 2}
layers:
  - name: dense
    repeat: {times: 3, names: "denselayer{index + 1}", layers: [conv: {out: 4, kernel: 1}]}
  - name: block2
    repeat: {times: 2, names: "block{stage}-{index}", layers: [relu]}
"""
    assert paths(tmp_path, text) == [
        "dense.denselayer1",
        "dense.denselayer2",
        "dense.denselayer3",
        "block2.block2-0",
        "block2.block2-1",
    ]


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("'layer{index'", "do not pair up"),
        ("'layer}{index}'", "do not pair up"),
        ("same", "two copies in the same list are named 'same'"),
        ("'a.{index}'", "which is not a name"),
        ("'x{index / 2}'", "not a whole number or a word"),
        ("'x{widht}'", "'widht' is not a variable — did you mean 'width'"),
    ],
)
def test_bad_copy_names_are_one_line_errors(tmp_path: Path, pattern: str, words: str) -> None:
    text = f"""
name: t
input: [8, 8, 4]
variables: {{width: 2}}
layers:
  - name: r
    repeat: {{times: 2, names: {pattern}, layers: [relu]}}
"""
    assert words in refused(tmp_path, text).one_line()


# ----------------------------------------------------------------------------------------- concats

FIRE = """
name: t
input: [8, 8, 16]
layers:
  - name: fire
    sequence:
      - {name: squeeze, conv: {out: 4, kernel: 1}}
      - flat: true
        concat:
          inline: true
          branches:
            a: [{name: expand1x1, conv: {out: 8, kernel: 1}}, {name: expand1x1_activation, relu: {}}]
            b: [{name: expand3x3, conv: {out: 8, kernel: 3, padding: 1}}]
"""


def test_a_flat_inline_concat_puts_its_layers_beside_the_others(tmp_path: Path) -> None:
    # SqueezeNet's fire: squeeze, expand1x1, expand3x3 side by side; the concat has no row of its own
    report = api.analyze(_spec(tmp_path, FIRE))
    assert [(r.path, r.kind) for r in report.records] == [
        ("fire", "sequence"),
        ("fire.squeeze", "layer"),
        ("fire.expand1x1", "layer"),
        ("fire.expand1x1_activation", "layer"),
        ("fire.expand3x3", "layer"),
        ("fire.concat", "layer"),
    ]
    assert report.output_shape == (8, 8, 16)
    assert report.find("fire.expand3x3").input_shape == (8, 8, 4)
    # 16·4 + 4, 4·8 + 8, 9·4·8 + 8
    assert report.totals.params == 68 + 40 + 296


def test_inline_branches_share_one_list_of_names(tmp_path: Path) -> None:
    text = FIRE.replace("name: expand3x3,", "name: expand1x1,")
    assert "named 'expand1x1'" in refused(tmp_path, text).message


def test_an_inline_concat_with_an_identity_branch(tmp_path: Path) -> None:
    # DenseNet's dense layer: the input, then k new channels, the layers directly under the concat
    text = """
name: t
input: [8, 8, 16]
layers:
  - name: block
    repeat:
      times: 2
      names: "denselayer{index + 1}"
      layers:
        - concat: {inline: true, branches: {input: [], new: [{name: conv1, conv: {out: 4, kernel: 3, padding: 1}}]}}
"""
    report = api.analyze(_spec(tmp_path, text))
    assert [r.path for r in report.layers()] == [
        "block.denselayer1.conv1",
        "block.denselayer1.concat",
        "block.denselayer2.conv1",
        "block.denselayer2.concat",
    ]
    assert report.find("block.denselayer2.conv1").input_shape == (8, 8, 20)
    assert report.output_shape == (8, 8, 24)


def test_a_flat_numbered_concat_names_its_branches_in_the_list(tmp_path: Path) -> None:
    # ShuffleNet V2's unit: unit.branch1.0, unit.branch2.0 (torchvision), no level for the concat
    text = """
name: t
input: [8, 8, 8]
layers:
  - name: unit
    sequence:
      - flat: true
        concat:
          numbered: true
          branches:
            branch1: [conv: {out: 4, kernel: 1}, relu]
            branch2: [conv: {out: 4, kernel: 3, padding: 1}]
      - {name: shuffle, channel_shuffle: {groups: 2}}
"""
    expected = ["unit.branch1.0", "unit.branch1.1", "unit.branch2.0", "unit.concat", "unit.shuffle"]
    assert paths(tmp_path, text) == expected


# ----------------------------------------------------------------------------------------- residual shortcuts

REGNET_LIKE = """
name: t
input: [8, 8, 4]
layers:
  - name: block
    residual:
      shortcut: projection
      shortcut_bn: true
      shortcut_name: proj
      shortcut_numbered: true
      shortcut_first: true
      activation: relu
      layers:
        - {name: f, sequence: [{name: a, conv: {out: 8, kernel: 3, stride: 2, padding: 1}}]}
"""


def test_a_named_numbered_shortcut_first(tmp_path: Path) -> None:
    # RegNet's block: proj.0 (conv), proj.1 (bn), then f — in the rows and in the built module
    assert paths(tmp_path, REGNET_LIKE) == ["block.proj.0", "block.proj.1", "block.f.a", "block.add", "block.relu"]
    plain = REGNET_LIKE.replace("shortcut_first: true", "shortcut_first: false")
    assert paths(tmp_path, plain) == ["block.f.a", "block.proj.0", "block.proj.1", "block.add", "block.relu"]
    resnet = REGNET_LIKE.replace("shortcut_name: proj", "shortcut_name: downsample").replace(
        "shortcut_numbered: true", "shortcut_numbered: false"
    )
    assert paths(tmp_path, resnet)[:2] == ["block.downsample.conv", "block.downsample.bn"]


def test_a_shortcut_name_must_be_a_name(tmp_path: Path) -> None:
    text = REGNET_LIKE.replace("shortcut_name: proj", "shortcut_name: a.b")
    assert "'shortcut_name' must be a name" in refused(tmp_path, text).message
    taken = REGNET_LIKE.replace("shortcut_name: proj", "shortcut_name: f")
    assert "named 'f'" in refused(tmp_path, taken).message


# ----------------------------------------------------------------------------------------- the built module


def _torch() -> Any:
    return pytest.importorskip("torch")


@pytest.mark.torch
def test_built_modules_are_named_by_the_paths(tmp_path: Path) -> None:
    torch = _torch()
    from cnncost.torch.module import analyze_module

    for text in (NUMBERED, VGG_LIKE, FIRE, REGNET_LIKE):
        net = api.resolve(_spec(tmp_path, text))
        module = api.build(net, device="meta")
        names = [n for n, m in module.named_modules() if not list(m.children())]
        assert names == [layer.path for layer in net.layers() if layer.op not in ("add", "concat", "multiply")]
        report = api.analyze(net, batch=2)
        h, w, c = report.input_shape
        got = analyze_module(module, (c, h, w), batch=2)
        assert [(r.path, r.params, r.macs) for r in got.layers()] == [
            (r.path, r.params, r.macs) for r in report.layers()
        ]
    # the state_dict lists the shortcut's tensors first, as torchvision's RegNet does
    module = api.build(api.resolve(_spec(tmp_path, REGNET_LIKE)), device="meta")
    assert list(module.state_dict())[:2] == ["block.proj.0.weight", "block.proj.1.weight"]
    assert torch is not None


@pytest.mark.torch
def test_a_flat_concat_joins_its_containers_children(tmp_path: Path) -> None:
    torch = _torch()
    torch.manual_seed(0)
    module = api.build(api.resolve(_spec(tmp_path, FIRE))).eval()
    fire = module.get_submodule("fire")
    x = torch.randn(2, 16, 8, 8)
    s = fire.squeeze(x)
    expected = torch.cat([torch.relu(fire.expand1x1(s)), fire.expand3x3(s)], dim=1)
    with torch.no_grad():
        assert torch.equal(module(x), expected)


@pytest.mark.torch
def test_a_shortcut_first_residual_adds_the_same(tmp_path: Path) -> None:
    torch = _torch()
    torch.manual_seed(0)
    module = api.build(api.resolve(_spec(tmp_path, REGNET_LIKE))).eval()
    block = module.get_submodule("block")
    assert [n for n, _ in block.named_children()][:2] == ["proj", "f"]
    x = torch.randn(1, 4, 8, 8)
    proj = block.get_submodule("proj")
    with torch.no_grad():
        expected = torch.relu(proj(x) + block.get_submodule("f")(x))
        assert torch.allclose(module(x), expected)


def test_the_ir_keeps_the_shortcut_order(tmp_path: Path) -> None:
    net = api.resolve(_spec(tmp_path, REGNET_LIKE))
    block = net.root.children[0]
    assert isinstance(block, ir.Residual) and block.shortcut_first
    assert [c.name for c in ir.children_of(block)][:2] == ["proj", "block"]
