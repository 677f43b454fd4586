"""The memory model (torch-free): what each op keeps for backward (the ``saved`` facet), and the weights,
activations, inference peak and training-step figures of small networks, against values computed by hand."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from cnncost import api
from cnncost.analysis.memory import DTYPE_BYTES, OPTIMIZER_STATE, _Bytes, lower, memory
from cnncost.errors import UsageError
from cnncost.ops import get_op
from cnncost.ops.saved import INPUT, OUTPUT, Kept, Saved


def saved(op: str, args: dict[str, object], inp: tuple[int, ...]) -> Saved:
    definition = get_op(op)
    pairs = {"kernel", "stride", "padding", "dilation", "output_padding", "scale"}
    pairs |= set() if op == "lrn" else {"size"}  # lrn's size is its channel window
    full = {k: (v, v) if k in pairs and isinstance(v, int) else v for k, v in args.items()}
    if definition.prepare is not None:
        full = dict(definition.prepare(MappingProxyType(full), inp))
    out = definition.shape(full, inp)
    result: Saved = definition.facets["saved"](full, inp, out)
    return result


def new(result: Saved) -> dict[str, tuple[int, str, bool]]:
    return {k.what: (k.elements, k.dtype, k.per_image) for k in result.kept if k.new}


def kept(result: Saved) -> set[str]:
    return {k.what for k in result.kept if not k.new}


# ------------------------------------------------------------------------------------- the saved facet


def test_conv_keeps_its_input_and_weight() -> None:
    s = saved("conv", {"out": 4, "kernel": 3, "stride": 1, "padding": 1, "dilation": 1, "groups": 1, "bias": True,
                       "connections": None}, (8, 8, 3))
    assert kept(s) == {INPUT}
    assert new(s) == {"weight": (4 * 3 * 3 * 3, "weight", False)}  # C_out·C_in·f·f = 108, the bias not read
    assert not s.alias


def test_depthwise_conv_weight() -> None:
    s = saved("conv", {"out": None, "kernel": 3, "stride": 1, "padding": 1, "dilation": 1, "groups": "depthwise",
                       "bias": False, "connections": None}, (8, 8, 32))
    assert new(s)["weight"][0] == 32 * 1 * 3 * 3  # one 3×3 filter per channel: 288


def test_connection_table_conv_keeps_gathered_copies() -> None:
    rows = ((0, 1, 2), (1, 2))
    s = saved("conv", {"out": 2, "kernel": 5, "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True,
                       "connections": rows}, (14, 14, 6))
    # each filter's conv keeps its own gathered input: (3 + 2) channels × 14·14 = 980 per image; 5 int64 indices
    assert new(s) == {"gathered": (980, "activation", True), "rows": (5, "int64", False),
                      "weight": (5 * 5 * 5, "weight", False)}
    assert kept(s) == set()


def test_bn_keeps_input_and_per_channel_statistics() -> None:
    s = saved("bn", {"eps": 1e-5}, (6, 6, 8))
    assert kept(s) == {INPUT}
    assert new(s) == {"mean": (8, "fp32", False), "invstd": (8, "fp32", False)}  # C each, whatever the batch


def test_activations_keep_what_their_derivative_reads() -> None:
    for op in ("relu", "tanh", "sigmoid", "softmax"):
        assert kept(saved(op, {}, (4, 4, 2))) == {OUTPUT}, op
    for op in ("relu6", "silu", "hardswish", "hardsigmoid", "gelu"):
        assert kept(saved(op, {}, (4, 4, 2))) == {INPUT}, op
    assert kept(saved("leaky_relu", {"slope": 0.1}, (4, 4, 2))) == {INPUT}


def test_maxpool_keeps_int64_indices_per_output() -> None:
    s = saved("maxpool", {"kernel": 2, "stride": None, "padding": 0, "ceil_mode": False}, (6, 6, 8))
    assert kept(s) == {INPUT}
    assert new(s) == {"indices": (3 * 3 * 8, "int64", True)}  # 72 indices per image
    assert s.scratch_eval == (Kept("indices", 72, "int64"),)  # made and dropped at inference
    assert new(saved("global_maxpool", {}, (7, 7, 512))) == {"indices": (512, "int64", True)}


def test_average_pools() -> None:
    assert kept(saved("avgpool", {"kernel": 2, "stride": None, "padding": 0, "ceil_mode": False}, (6, 6, 8))) == {
        INPUT
    }
    assert kept(saved("adaptive_avgpool", {"size": (3, 3)}, (6, 6, 8))) == {INPUT}
    assert saved("global_avgpool", {}, (7, 7, 512)).kept == ()  # a mean: its size is enough


def test_dropout_mask_and_eval_identity() -> None:
    s = saved("dropout", {"p": 0.5}, (4096,))
    assert new(s) == {"mask": (4096, "mask", True)}
    assert not s.alias and s.alias_eval


def test_views_and_free_ops() -> None:
    assert saved("flatten", {}, (5, 5, 16)) == Saved((), True, True)
    assert saved("identity", {}, (5, 5, 16)).alias
    assert saved("upsample", {"scale": 2, "size": None, "bilinear": False, "align_corners": False},
                 (4, 4, 2)).kept == ()
    assert saved("channel_shuffle", {"groups": 2}, (4, 4, 8)) == Saved()
    for op in ("add", "concat", "zero_pad"):
        assert get_op(op).facets["saved"]({}, (4, 4, 2), (4, 4, 2)) == Saved()
    assert kept(get_op("multiply").facets["saved"]({}, (4, 4, 2), (4, 4, 2))) == {INPUT, "other"}


def test_stochastic_depth_noise_per_image() -> None:
    s = saved("stochastic_depth", {"p": 0.1}, (7, 7, 96))
    assert new(s) == {"noise": (1, "activation", True)} and s.alias_eval and not s.alias
    assert saved("stochastic_depth", {"p": 0.0}, (7, 7, 96)).alias


def test_layernorm_statistics_per_position() -> None:
    assert new(saved("layernorm", {"eps": 1e-6}, (7, 7, 96))) == {"mean": (49, "fp32", True),
                                                                  "rstd": (49, "fp32", True)}
    assert new(saved("layernorm", {"eps": 1e-6}, (768,)))["mean"] == (1, "fp32", True)


def test_linear_and_pointwise_weights() -> None:
    s = saved("linear", {"out": 10, "bias": True}, (512,))
    assert new(s) == {"weight": (5120, "weight", False)}
    assert [k.if_trained for k in s.kept if k.what == INPUT] == [True]  # addmm keeps mat1 for the weight only
    assert new(saved("pointwise_linear", {"out": 384, "bias": True}, (7, 7, 96)))["weight"][0] == 96 * 384
    assert kept(saved("layer_scale", {}, (7, 7, 96))) == {INPUT}


def test_lrn_keeps_padded_squares_and_two_input_sized_tensors() -> None:
    s = saved("lrn", {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}, (55, 55, 96))
    # padded along channels: (96 + 5 − 1)·55·55 = 302,500; base and denominator 96·55·55 = 290,400 each
    assert new(s) == {"padded squares": (302_500, "activation", True), "base": (290_400, "activation", True),
                      "denominator": (290_400, "activation", True)}
    assert [k.elements for k in s.scratch] == [2 * 290_400]
    assert [k.elements for k in s.scratch_eval] == [302_500 + 290_400]


def test_conv_transpose_weight() -> None:
    s = saved("conv_transpose", {"out": 4, "kernel": 2, "stride": 2, "padding": 0, "output_padding": 0,
                                 "dilation": 1, "groups": 1, "bias": True}, (6, 6, 8))
    assert kept(s) == {INPUT} and new(s)["weight"][0] == 8 * 4 * 2 * 2  # C_in·C_out·f·f = 128


def test_dtype_classes_in_bytes() -> None:
    mask, stats, index = Kept("mask", 10, "mask"), Kept("mean", 8, "fp32", False), Kept("indices", 10, "int64")
    weight = Kept("weight", 100, "weight", False)
    cuda16, cpu32 = _Bytes("bf16", "cuda"), _Bytes("fp32", "cpu")
    assert cuda16.of(mask, 4) == 10 * 1 * 4  # bool on CUDA
    assert cpu32.of(mask, 4) == 10 * 4 * 4  # the noise, fp32, on the CPU
    assert cuda16.of(stats, 4) == cpu32.of(stats, 4) == 8 * 4  # per channel, not per image
    assert cuda16.of(index, 2) == 10 * 8 * 2
    assert cpu32.of(weight, 4) == 0 and cuda16.of(weight, 4) == 200  # fp32: the parameter; autocast: a bf16 copy


# ------------------------------------------------------------------------------------------- the model


def test_lenet5_figures_by_hand() -> None:
    report = memory(api.resolve("lenet5"), batch=2, optimizer="momentum", device="cpu")
    # params 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706; fp32
    assert report.weights == 61_706 * 4 == 246_824
    assert report.gradients == report.optimizer_state == 246_824  # momentum: one buffer
    # the input 32·32·1 × 2 images × 4 bytes = 8,192; c1 out 28·28·6 × 2 × 4 = 37,632 (as tanh1 out)
    assert report.input == 8_192
    rows = {r.path: r for r in report.layers}
    assert rows["c1"].activation == rows["tanh1"].activation == 37_632
    assert rows["flatten1"].activation == 0  # a view
    # inference peak at tanh1: the held input + its input + its output = 8,192 + 2 × 37,632
    assert report.inference_peak == 83_456
    # kept for backward: the input (c1), tanh outputs 37,632 + 12,800 + 960 + 672 + 80, pool outputs (kept by
    # c2 and, through flatten's view, fc1) 9,408 + 3,200: 72,944
    assert report.saved == 8_192 + 37_632 + 12_800 + 960 + 672 + 80 + 9_408 + 3_200 == 72_944
    # optimizer step: weights + gradients + momentum + the held input batch
    assert report.phase_peaks["step"] == 3 * 246_824 + 8_192 == 748_664


def test_optimizer_state_and_dtype_tables() -> None:
    assert OPTIMIZER_STATE == {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
    assert DTYPE_BYTES == {"fp32": 4, "bf16": 2, "fp16": 2}
    net = api.resolve("lenet5")
    sizes = {o: memory(net, optimizer=o).optimizer_state for o in OPTIMIZER_STATE}
    assert sizes == {"sgd": 0, "momentum": 246_824, "adam": 493_648, "adamw": 493_648}


def test_mixed_precision_halves_activations_not_weights() -> None:
    net = api.resolve("lenet5")
    full, half = memory(net, batch=4), memory(net, batch=4, dtype="bf16")
    assert half.weights == full.weights and half.gradients == full.gradients  # fp32 master weights
    assert half.activations * 2 == full.activations
    # autocast's bf16 copies of the conv and linear weights (bias excluded):
    # 150 + 2,400 + 48,000 + 10,080 + 840 = 61,470 values × 2 bytes
    assert half.autocast_copies == 61_470 * 2 and full.autocast_copies == 0
    assert half.weights_by_dtype == {"fp32": 246_824, "bf16": 122_940} and full.weights_by_dtype == {"fp32": 246_824}


def test_adam_step_temporaries_foreach_or_per_tensor() -> None:
    net = api.resolve("lenet5")
    foreach = memory(net, optimizer="adam", foreach=True)
    single = memory(net, optimizer="adam", foreach=False)
    # foreach: sqrt(v) for every tensor at once, one copy of the weights; per tensor: two copies of the largest,
    # fc1's 400 × 120 = 48,000 weights
    assert foreach.phase_peaks["step"] - single.phase_peaks["step"] == 246_824 - 2 * 48_000 * 4


def test_frozen_prefix_keeps_nothing_and_trains_nothing() -> None:
    net = api.resolve("lenet5")
    head = memory(net, batch=2, trainable={"output"})
    assert head.trainable_params == 850 and head.gradients == 3_400
    # only the last linear records: it keeps its input (tanh4's output, 84 × 2 × 4 = 672) and softmax its output
    assert head.saved == 672 + 80
    assert [r.path for r in head.layers if r.trainable] == ["output"]
    every = memory(net, batch=2, trainable=lambda path: True)
    assert every.trainable_params == 61_706
    # fc1 frozen between trained layers: it records (its input needs a gradient) but keeps no input — only the
    # weight, for the input's gradient — so p2's output (through flatten's view: 400 × 2 × 4 = 3,200), kept by
    # no one else, is not kept
    middle = memory(net, batch=2, trainable=lambda path: path != "fc1")
    assert saved_of(middle, "p2") == 0
    assert every.saved - middle.saved == 3_200


def saved_of(report: object, path: str) -> int:
    return next(r.saved for r in report.layers if r.path == path)  # type: ignore[attr-defined]


def test_residual_keeps_its_input_until_the_addition() -> None:
    program = lower(api.resolve("resnet18", size=64), training=False)
    first_add = next(i for i, s in enumerate(program.steps) if s.layer.op == "add")
    block_input = program.steps[first_add].inputs[1]  # the identity shortcut: the block's input
    assert program.last[program.storage[block_input]] >= first_add


def test_bad_choices_are_one_line() -> None:
    net = api.resolve("lenet5")
    with pytest.raises(UsageError, match="no optimizer 'adagrad'"):
        memory(net, optimizer="adagrad")
    with pytest.raises(UsageError, match="no dtype 'fp8'"):
        memory(net, dtype="fp8")


def test_a_trainable_path_that_names_no_layer_is_refused() -> None:
    from cnncost.errors import UsageError

    with pytest.raises(UsageError, match="trainable names no layer of mobilenet-v2: fc"):
        memory(api.resolve("mobilenet-v2"), trainable={"fc"})
