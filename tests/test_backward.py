"""The backward facet: every op's backward formula against a value computed by hand, and the training analysis
(trainable / frozen selection, where input gradients are needed) on small hand-checkable networks and on the
figures CONVENTIONS.md states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cnncost import api
from cnncost.analysis.engine import analyze_network
from cnncost.analysis.training import TrainOptions, analyze_training, trainable_layers
from cnncost.errors import UsageError
from cnncost.ops import get_op
from cnncost.ops.backward import Needs

BOTH = Needs(input=True, weights=True)
INPUT = Needs(input=True, weights=False)
WEIGHTS = Needs(input=False, weights=True)
NONE = Needs(input=False, weights=False)


def back(op: str, inp: tuple[int, ...], needs: Needs, **args: Any) -> tuple[int, int, dict[str, int]]:
    definition = get_op(op)
    full = {name: f.default for name, f in definition.fields.items() if not f.required}
    full.update(args)
    for name, f in definition.fields.items():  # the spec reader's normal form: an int for a pair → (n, n)
        if f.kind in ("pair", "padding") and isinstance(full.get(name), int):
            full[name] = (full[name], full[name])
    prepared = definition.prepare(full, inp) if definition.prepare else full
    out = definition.shape(prepared, inp)
    cost = definition.backward(prepared, inp, out, needs)
    return cost.grad_input_macs, cost.grad_weight_macs, dict(cost.other)


# ------------------------------------------------------------------------------------------- the products


def test_conv_backward_is_two_forward_sized_products() -> None:
    # the course's 5×5 same conv 28×28×192 → 28×28×32: forward 5·5·192 × 32 × 28·28 = 120,422,400 MACs;
    # bias gradient: 32 biases summed over 28·28 positions = 25,088 additions
    f = 120_422_400
    assert back("conv", (28, 28, 192), BOTH, out=32, kernel=5, padding=2) == (f, f, {"bias": 25_088})
    assert back("conv", (28, 28, 192), INPUT, out=32, kernel=5, padding=2) == (f, 0, {})
    assert back("conv", (28, 28, 192), WEIGHTS, out=32, kernel=5, padding=2) == (0, f, {"bias": 25_088})
    assert back("conv", (28, 28, 192), NONE, out=32, kernel=5, padding=2) == (0, 0, {})


def test_depthwise_conv_backward() -> None:
    # depthwise 3×3 on 112×112×32, stride 1: 3·3·1 × 32 × 112·112 = 3,612,672 MACs each way; no bias
    f = 3_612_672
    assert back("conv", (112, 112, 32), BOTH, kernel=3, padding=1, groups="depthwise", bias=False) == (f, f, {})


def test_strided_conv_backward() -> None:
    # ResNet's stem: 7×7, 3 → 64, stride 2 on 224: out 112×112; 7·7·3 × 64 × 112·112 = 118,013,952 each way
    got = back("conv", (224, 224, 3), WEIGHTS, out=64, kernel=7, stride=2, padding=3, bias=False)
    assert got == (0, 118_013_952, {})


def test_linear_backward() -> None:
    # 1280 → 3: 3,840 MACs each way; bias gradient 3 additions per image
    assert back("linear", (1280,), BOTH, out=3) == (3840, 3840, {"bias": 3})
    assert back("linear", (1280,), WEIGHTS, out=3) == (0, 3840, {"bias": 3})
    assert back("linear", (1280,), INPUT, out=3, bias=False) == (3840, 0, {})


def test_pointwise_linear_and_conv_transpose_backward() -> None:
    # 7×7 positions, 96 → 384: 49 × 96 × 384 = 1,806,336 each way; bias 49·384 = 18,816
    assert back("pointwise_linear", (7, 7, 96), BOTH, out=384) == (1_806_336, 1_806_336, {"bias": 18_816})
    # transposed 2×2 stride 2, 8×8×16 → 16×16×4: every input value times 4·2·2 weights: 8·8·16 × 16 = 16,384;
    # bias 4 channels × 16·16 = 1,024
    got = back("conv_transpose", (8, 8, 16), BOTH, out=4, kernel=2, stride=2)
    assert got == (16_384, 16_384, {"bias": 1_024})


# ------------------------------------------------------------------------------------------- other ops


def test_batchnorm_backward_by_mode() -> None:
    n = 56 * 56 * 64  # 200,704 values
    assert back("bn", (56, 56, 64), BOTH)[2] == {"batchnorm": 9 * n}  # train: 9 per value, γ β included
    assert back("bn", (56, 56, 64), INPUT)[2] == {"batchnorm": 9 * n}
    assert back("bn", (56, 56, 64), WEIGHTS)[2] == {"batchnorm": 5 * n}  # Σg, Σg·x̂ with x̂ again
    eval_both = Needs(input=True, weights=True, bn_train=False)
    assert back("bn", (56, 56, 64), eval_both)[2] == {"batchnorm": 6 * n}  # g·γ/σ (1) + 5
    assert back("bn", (56, 56, 64), Needs(input=True, weights=False, bn_train=False))[2] == {"batchnorm": n}
    assert back("bn", (56, 56, 64), NONE)[2] == {}


def test_normalizations_and_scales() -> None:
    n = 7 * 7 * 96  # 4,704
    assert back("layernorm", (7, 7, 96), BOTH)[2] == {"normalization": 9 * n}  # its own statistics always
    assert back("layernorm", (7, 7, 96), WEIGHTS)[2] == {"normalization": 5 * n}
    assert back("layer_scale", (7, 7, 96), BOTH)[2] == {"elementwise": 3 * n}  # g·γ (1) + Σg·x (2)
    assert back("layer_scale", (7, 7, 96), WEIGHTS)[2] == {"elementwise": 2 * n}
    # AlexNet's LRN, 55×55×96, size 5: 55·55·96 × 5 = 1,452,000
    assert back("lrn", (55, 55, 96), INPUT, size=5)[2] == {"normalization": 1_452_000}


@pytest.mark.parametrize("op", ["relu", "relu6", "sigmoid", "tanh", "silu", "hardswish", "gelu", "softmax"])
def test_activation_backward_is_one_per_value(op: str) -> None:
    assert back(op, (14, 14, 8), INPUT) == (0, 0, {"activation": 14 * 14 * 8})  # 1,568
    assert back(op, (14, 14, 8), NONE) == (0, 0, {})


def test_pooling_backward() -> None:
    # max 3×3 stride 2 pad 1, 112×112×64 → 56×56×64: one addition per output value, 200,704
    assert back("maxpool", (112, 112, 64), INPUT, kernel=3, stride=2, padding=1)[2] == {"pooling": 200_704}
    # avg 2×2 stride 2 on 8×8×4 → 4×4×4 = 64 outputs, each spread over 4 values: 256
    assert back("avgpool", (8, 8, 4), INPUT, kernel=2, stride=2)[2] == {"pooling": 256}
    # global average over 7×7×512: every one of 25,088 inputs gets its share; global max: one per channel
    assert back("global_avgpool", (7, 7, 512), INPUT)[2] == {"pooling": 25_088}
    assert back("global_maxpool", (7, 7, 512), INPUT)[2] == {"pooling": 512}
    # adaptive 7 → 3 windows of 3 along each axis: 9·9 values read per channel, × 2 channels = 162
    assert back("adaptive_avgpool", (7, 7, 2), INPUT, size=3)[2] == {"pooling": 162}


def test_reshapes_regularization_and_resampling() -> None:
    assert back("flatten", (7, 7, 512), INPUT) == (0, 0, {})
    assert back("identity", (7, 7, 512), INPUT) == (0, 0, {})
    assert back("channel_shuffle", (7, 7, 8), INPUT, groups=2) == (0, 0, {})
    assert back("crop", (14, 14, 8), INPUT, size=10) == (0, 0, {})  # written into a zero tensor: a copy
    assert back("dropout", (4096,), INPUT) == (0, 0, {"elementwise": 4096})  # active in a training step
    assert back("stochastic_depth", (7, 7, 8), INPUT, p=0.1) == (0, 0, {"elementwise": 392})
    # nearest ×2 on 4×4×3 → 8×8×3 = 192 outputs, each added into its source; bilinear: 4 each, 768
    assert back("upsample", (4, 4, 3), INPUT, scale=2)[2] == {"interpolation": 192}
    assert back("upsample", (4, 4, 3), INPUT, scale=2, bilinear=True)[2] == {"interpolation": 768}


def test_merges_count_where_gradients_meet() -> None:
    add, concat, multiply = get_op("add"), get_op("concat"), get_op("multiply")
    # a residual's input 56×56×64 = 200,704 values: body and shortcut gradients added there
    assert dict(add.backward({}, (56, 56, 64), (56, 56, 64), INPUT).other) == {"residual": 200_704}
    assert add.backward({}, (56, 56, 64), (56, 56, 64), NONE).other_total == 0
    # 4 inception branches on a 28×28×192 input (150,528): 3 additions per value, 451,584; a split: none
    assert dict(concat.backward({"forks": 4}, (28, 28, 192), (28, 28, 256), INPUT).other) == {
        "elementwise": 451_584
    }
    assert concat.backward({"forks": 1}, (28, 28, 192), (28, 28, 192), INPUT).other_total == 0
    # SE gate 1×1×8 on 4×4×8 (128 values): into x g·gate + the fork's sum (2·128); into the gate g·x (128)
    # summed over 4·4 positions to 8 values (128 − 8 = 120 additions)
    got = multiply.backward({"gate": (1, 1, 8)}, (4, 4, 8), (4, 4, 8), BOTH)
    assert dict(got.other) == {"elementwise": 256 + 128 + 120}


# ------------------------------------------------------------------------------------------- the analysis


def training(name: str, options: TrainOptions | None = None, **variables: Any) -> Any:
    net = api.resolve(name, variables=variables or None)
    report = analyze_network(net)
    return report, analyze_training(net, report, options)


def test_resnet18_fully_trainable_matches_the_convention() -> None:
    # CONVENTIONS.md: 2 × 1,814,073,344 − 118,013,952 (conv1's input gradient) = 3,510,132,736
    report, t = training("resnet18")
    assert report.totals.macs == 1_814_073_344
    assert t.total.grad_weight_macs == 1_814_073_344
    assert t.total.grad_input_macs == 1_814_073_344 - 118_013_952
    assert t.backward_macs == 3_510_132_736
    assert t.trainable_params == report.totals.params and t.frozen_params == 0
    first = report.layers()[0]
    assert not t.row(first.path).input_grad  # the first layer never computes its input gradient
    assert t.first_input_grad == report.layers()[1].path


def test_mobilenet_v2_with_only_its_classifier_trainable() -> None:
    # CONVENTIONS.md: only the 1280 → 3 classifier trainable: 3,840 backward MACs; 1280·3 + 3 = 3,843 params
    report = api.analyze("mobilenet-v2", variables={"classes": 3})
    classifier = [r for r in report.layers() if r.params][-1].path
    _, t = training("mobilenet-v2", TrainOptions(trainable=(classifier,)), classes=3)
    assert t.trainable_params == 3_843
    assert t.frozen_params == 2_227_715 - 3_843
    assert t.backward_macs == 3_840 and t.total.grad_input_macs == 0
    assert t.first_input_grad is None
    assert t.step_macs == report.totals.macs + 3_840


def test_train_batch_scales_backward() -> None:
    net = api.resolve("resnet18")
    one, four = analyze_network(net), analyze_network(net, batch=4)
    assert analyze_training(net, four).backward_macs == 4 * analyze_training(net, one).backward_macs


def test_nothing_below_the_lowest_trainable_layer_computes_an_input_gradient() -> None:
    report, t = training("resnet18", TrainOptions(train_from="layer4"))
    order = [r.path for r in report.layers()]
    start = next(i for i, p in enumerate(order) if p.startswith("layer4."))
    layer4 = report.find("layer4")
    for r in report.layers()[: start + 1]:  # the first trainable layer itself needs no input gradient either
        assert not t.row(r.path).input_grad, r.path
    for r in report.layers()[start + 1 :]:
        # the block's input is read by its first conv and its shortcut's conv: neither needs its gradient
        reads_block_input = r.op == "conv" and r.input_shape == layer4.input_shape
        if r.op != "add":
            assert t.row(r.path).input_grad is not reads_block_input, r.path
    # the frozen prefix: no backward at all
    assert all(t.row(p).backward_macs == 0 for p in order[:start])
    # from layer4 on every conv/linear computes its weight gradient; MACs: every layer4 product twice except
    # the first conv's input gradient (and its shortcut's, which shares the input)
    stem = [r for r in report.layers() if r.path.startswith("layer4.0.") and r.op == "conv"]
    first_products = sum(r.macs for r in stem if r.input_shape == layer4.input_shape)
    fc = report.layers()[-1]
    assert t.backward_macs == 2 * (layer4.macs + fc.macs) - first_products


def test_selection_precedence() -> None:
    report = api.analyze("resnet18")
    with_params = [r.path for r in report.layers() if r.params]
    everything = trainable_layers(report, TrainOptions())
    assert all(everything.values()) and set(everything) == set(with_params)
    only = trainable_layers(report, TrainOptions(trainable=("layer4.*",)))
    assert {p for p, v in only.items() if v} == {p for p in with_params if p.startswith("layer4.")}
    # --freeze is applied last: it wins over --trainable and --train-from
    both = trainable_layers(report, TrainOptions(train_from="layer3", freeze=("layer4.0",), trainable=("conv1",)))
    trains = {p for p, v in both.items() if v}
    assert "conv1" in trains
    assert not any(p.startswith("layer4.0.") for p in trains)
    assert any(p.startswith("layer4.1.") for p in trains) and any(p.startswith("layer3.") for p in trains)
    assert not any(p.startswith("layer2.") for p in trains)
    frozen = trainable_layers(report, TrainOptions(freeze=("*",)))
    assert not any(frozen.values())


def test_a_pattern_that_matches_nothing_is_an_error() -> None:
    report = api.analyze("resnet18")
    with pytest.raises(UsageError, match="--trainable 'layr4' matches no row of resnet18") as exc:
        trainable_layers(report, TrainOptions(trainable=("layr4",)))
    assert "layer4" in (exc.value.hint or "")
    with pytest.raises(UsageError, match=r"--freeze 'nothing\.\*' matches no row"):
        trainable_layers(report, TrainOptions(freeze=("nothing.*",)))
    with pytest.raises(UsageError, match="--train-from 'layer9' is no row of resnet18"):
        trainable_layers(report, TrainOptions(train_from="layer9"))
    with pytest.raises(UsageError, match="--bn 'test'"):
        TrainOptions(bn="test")


def test_group_rows_sum_their_layers() -> None:
    report, t = training("resnet18", TrainOptions(train_from="layer3.1"))
    for r, row in zip(report.records, t.rows, strict=True):
        assert row.path == r.path
        assert row.trainable_params + row.frozen_params == r.params
    layer3 = t.row("layer3")
    members = [t.row(r.path) for r in report.layers() if r.path.startswith("layer3.")]
    assert layer3.backward_macs == sum(m.backward_macs for m in members)
    assert layer3.trainable_params == sum(m.trainable_params for m in members) > 0
    assert layer3.frozen_params > 0


JOINS = """\
name: joins
input: [8, 8, 2]
layers:
  - conv: {out: 4, kernel: 3, padding: 1}   # 8×8×4, 3·3·2·4 · 64 = 4,608 MACs
    save: a
  - conv: {out: 4, kernel: 1}               # 8×8×4, 1,024 MACs
    save: b
  - aux:
      layers:
        - global_avgpool
        - flatten
        - linear: {out: 3}                  # 12 MACs
  - conv: {out: 4, kernel: 1}               # 1,024 MACs
  - join: {with: b, mode: add}              # 8×8×4
  - join: {with: a}                         # concat: 8×8×8
  - conv: {out: 2, kernel: 1}               # 8×8×2, 1,024 MACs
"""


def test_saved_tensors_joins_and_aux_heads_in_the_backward_walk(tmp_path: Path) -> None:
    """By hand: every tensor past conv1 needs a gradient. Each join's saved tensor forks (the main path and the join
    read it), so its two gradients are added there: b (256 values) in 'residual' for the add join, a (256) in
    'elementwise' for the concat join. conv1 computes no input gradient (the image needs none); every other conv
    does. An aux head trains only in the training view; its input gradient is added to the main path's where it
    branches off (256 values, counted on its first layer)."""
    path = tmp_path / "joins.yaml"
    path.write_text(JOINS, encoding="utf-8")
    report = api.analyze_training(str(path))
    assert report.training is not None
    rows = {row.path: row for row in report.training.rows}
    assert (rows["conv1"].grad_input_macs, rows["conv1"].grad_weight_macs) == (0, 4_608)
    assert (rows["conv2"].grad_input_macs, rows["conv2"].grad_weight_macs) == (1_024, 1_024)
    assert dict(rows["join1.add"].other) == {"residual": 256}
    assert dict(rows["join2.concat"].other) == {"elementwise": 256}
    assert "aux1.fc" not in rows and "aux1.linear1" not in rows
    total = report.training.total
    assert total.grad_weight_macs == 4_608 + 1_024 + 1_024 + 1_024
    assert total.grad_input_macs == 1_024 + 1_024 + 1_024
    with_aux = api.analyze_training(str(path), aux=True)
    assert with_aux.training is not None
    aux_rows = {row.path: row for row in with_aux.training.rows}
    assert (aux_rows["aux1.linear1"].grad_input_macs, aux_rows["aux1.linear1"].grad_weight_macs) == (12, 12)
    assert aux_rows["aux1.global_avgpool1"].other["residual"] == 256  # the fork where the head branches off
    assert with_aux.training.total.grad_weight_macs == total.grad_weight_macs + 12
