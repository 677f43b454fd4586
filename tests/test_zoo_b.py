"""The second half of the torchvision zoo — MobileNetV3, MNASNet, RegNet, EfficientNet B0–B7 and V2, ConvNeXt —
exact: the engine's parameters equal ``sum(p.numel())`` of torchvision's model (``weights=None``) and its MACs
round to the GFLOPS torchvision publishes (``Weights.DEFAULT.meta["_ops"]``, GMACs at the weights' crop size).

Where torchvision is importable its model is built (never with weights) and compared parameter tensor by
tensor, in order, and its MACs counted by FlopCounterMode (on the meta device) at the crop size must equal the
engine's exactly. Without torchvision those tests skip; the figures below still pin the engine.
"""

from __future__ import annotations

import pytest
from figures import rounds_to  # tests/figures.py, beside this file

from cnncost import api

#: ours: (torchvision builder, its num_params, its "_ops" in GMACs as printed, the weights' crop size)
ZOO: dict[str, tuple[str, int, str, int]] = {
    "regnet-x-400mf": ("regnet_x_400mf", 5_495_976, "0.414", 224),
    "regnet-x-800mf": ("regnet_x_800mf", 7_259_656, "0.8", 224),
    "regnet-x-1-6gf": ("regnet_x_1_6gf", 9_190_136, "1.603", 224),
    "regnet-x-3-2gf": ("regnet_x_3_2gf", 15_296_552, "3.177", 224),
    "regnet-x-8gf": ("regnet_x_8gf", 39_572_648, "7.995", 224),
    "regnet-x-16gf": ("regnet_x_16gf", 54_278_536, "15.941", 224),
    "regnet-x-32gf": ("regnet_x_32gf", 107_811_560, "31.736", 224),
    "regnet-y-400mf": ("regnet_y_400mf", 4_344_144, "0.402", 224),
    "regnet-y-800mf": ("regnet_y_800mf", 6_432_512, "0.834", 224),
    "regnet-y-1-6gf": ("regnet_y_1_6gf", 11_202_430, "1.612", 224),
    "regnet-y-3-2gf": ("regnet_y_3_2gf", 19_436_338, "3.176", 224),
    "regnet-y-8gf": ("regnet_y_8gf", 39_381_472, "8.473", 224),
    "regnet-y-16gf": ("regnet_y_16gf", 83_590_140, "15.912", 224),
    "regnet-y-32gf": ("regnet_y_32gf", 145_046_770, "32.28", 224),
    "regnet-y-128gf": ("regnet_y_128gf", 644_812_894, "374.57", 384),  # SWAG_E2E_V1 weights, 384×384
    "efficientnet-b0": ("efficientnet_b0", 5_288_548, "0.386", 224),
    "efficientnet-b1": ("efficientnet_b1", 7_794_184, "0.687", 240),
    "efficientnet-b2": ("efficientnet_b2", 9_109_994, "1.088", 288),
    "efficientnet-b3": ("efficientnet_b3", 12_233_232, "1.827", 300),
    "efficientnet-b4": ("efficientnet_b4", 19_341_616, "4.394", 380),
    "efficientnet-b5": ("efficientnet_b5", 30_389_784, "10.266", 456),
    "efficientnet-b6": ("efficientnet_b6", 43_040_704, "19.068", 528),
    "efficientnet-b7": ("efficientnet_b7", 66_347_960, "37.746", 600),
    "efficientnet-v2-s": ("efficientnet_v2_s", 21_458_488, "8.366", 384),
    "efficientnet-v2-m": ("efficientnet_v2_m", 54_139_356, "24.582", 480),
    "efficientnet-v2-l": ("efficientnet_v2_l", 118_515_272, "56.08", 480),
    "mnasnet0-5": ("mnasnet0_5", 2_218_512, "0.104", 224),
    "mnasnet0-75": ("mnasnet0_75", 3_170_208, "0.215", 224),
    "mnasnet1-0": ("mnasnet1_0", 4_383_312, "0.314", 224),
    "mnasnet1-3": ("mnasnet1_3", 6_282_256, "0.526", 224),
    "mobilenet-v3-large": ("mobilenet_v3_large", 5_483_032, "0.217", 224),
    "mobilenet-v3-small": ("mobilenet_v3_small", 2_542_856, "0.057", 224),
    "convnext-tiny": ("convnext_tiny", 28_589_128, "4.456", 224),
    "convnext-small": ("convnext_small", 50_223_688, "8.684", 224),
    "convnext-base": ("convnext_base", 88_591_464, "15.355", 224),
    "convnext-large": ("convnext_large", 197_767_336, "34.361", 224),
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_params_and_macs_equal_torchvision_figures(name: str) -> None:
    _, params, gmacs, size = ZOO[name]
    report = api.analyze(name)
    assert report.input_shape == (size, size, 3)
    assert report.totals.params == params
    assert rounds_to(report.totals.macs, gmacs), (report.totals.macs, gmacs)
    assert report.output_shape == (1000,)


def test_regnet_widths_and_depths_are_computed_from_the_regnet_parameters() -> None:
    # torchvision's BlockParams.from_init_params for RegNetX-8GF: depths [2, 5, 15, 1], widths
    # [80, 240, 720, 1920], group widths [80, 120, 120, 120] (the first stage is narrower than 120)
    net = api.resolve("regnet-x-8gf")
    assert net.variables["depths"] == [2, 5, 15, 1]
    assert net.variables["widths"] == [80, 240, 720, 1920]
    assert net.variables["g"] == [80, 120, 120, 120]


def _moved(key: str) -> str | None:
    """The block whose body a parameter must follow, for the one parameter torchvision registers before the body
    and a spec cannot: a ConvNeXt block's ``layer_scale`` (a parameter of the block module itself, which
    ``parameters()`` yields before its submodules'; in a spec it is a layer after the body). (A RegNet block's
    projection shortcut, ``proj``, comes first in the spec too: ``shortcut_first``.)"""
    if key.endswith(".layer_scale"):
        return key.removesuffix(".layer_scale")
    return None


def _torchvision_order(named: list[tuple[str, tuple[int, ...]]]) -> list[tuple[int, ...]]:
    """Parameter shapes in torchvision's order, with only the parameters of ``_moved`` put after the rest of their
    block."""
    out: list[tuple[int, ...]] = []
    held: list[tuple[int, ...]] = []
    block: str | None = None
    for key, shape in named:
        if block is not None and not key.startswith(block + "."):
            out, held, block = out + held, [], None
        target = _moved(key)
        if target is not None:
            block = target
            held.append(shape)
        else:
            out.append(shape)
    return out + held


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(ZOO))
def test_same_parameter_tensors_as_torchvision(name: str) -> None:
    pytest.importorskip("torch")
    models = pytest.importorskip("torchvision.models")
    from cnncost.torch.verify import count_with_torch

    builder, params, _, size = ZOO[name]
    theirs = models.get_model(builder, weights=None)
    assert sum(p.numel() for p in theirs.parameters()) == params
    mine = [tuple(p.shape) for p in api.build(name, device="meta").parameters()]
    reference = _torchvision_order([(k, tuple(p.shape)) for k, p in theirs.named_parameters()])
    assert mine == reference
    # and the MACs exactly, not only as rounded: FlopCounterMode on torchvision's model counts 2 × MACs
    _, flops = count_with_torch(theirs.to("meta"), (1, 3, size, size))
    assert flops[""] == 2 * api.analyze(name).totals.macs
