"""ShuffleNet V2 (0.5×, 1.0×, 1.5×, 2.0×), the first networks built with ``split``: exact to torchvision — the
engine's parameters equal ``sum(p.numel())`` of torchvision's model (``weights=None``), its MACs round to the
GFLOPS torchvision publishes (``Weights.meta["_ops"]``, GMACs at 224×224).

Where torchvision is importable its model is built (never with weights) and compared parameter tensor by tensor,
in order, and its MACs counted by FlopCounterMode (on the meta device) must equal the engine's exactly. Without
torchvision those tests skip; the figures below still pin the engine.
"""

from __future__ import annotations

import pytest
from figures import rounds_to  # tests/figures.py, beside this file

from cnncost import api, ir

#: ours: (torchvision builder, its num_params, its "_ops" in GMACs as printed, the engine's exact MACs)
ZOO: dict[str, tuple[str, int, str, int]] = {
    "shufflenet-v2-x0-5": ("shufflenet_v2_x0_5", 1_366_792, "0.04", 40_476_448),
    "shufflenet-v2-x1-0": ("shufflenet_v2_x1_0", 2_278_604, "0.145", 144_907_992),
    "shufflenet-v2-x1-5": ("shufflenet_v2_x1_5", 3_503_624, "0.296", 295_759_392),
    "shufflenet-v2-x2-0": ("shufflenet_v2_x2_0", 7_393_996, "0.583", 583_253_464),
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_params_and_macs_equal_torchvision_figures(name: str) -> None:
    _, params, gmacs, macs = ZOO[name]
    report = api.analyze(name)
    assert report.input_shape == (224, 224, 3)
    assert report.totals.params == params
    assert report.totals.macs == macs
    assert rounds_to(report.totals.macs, gmacs), (report.totals.macs, gmacs)
    assert report.output_shape == (1000,)


def test_stride_one_units_split_and_stride_two_units_concat() -> None:
    net = api.resolve("shufflenet-v2-x1-0")
    report = api.analyze(net)
    assert report.find("stage2").output_shape == (28, 28, 116)
    assert report.find("stage3").output_shape == (14, 14, 232)
    assert report.find("stage4").output_shape == (7, 7, 464)
    assert report.find("conv5").output_shape == (7, 7, 1024)
    first = report.find("stage2.0")  # a stride-2 unit: its (flat) concat takes the whole input
    assert first.input_shape == (56, 56, 24) and first.output_shape == (28, 28, 116)
    assert report.find("stage2.0.concat").output_shape == (28, 28, 116)
    assert report.find("stage2.1.branch2.0").input_shape == (28, 28, 58)  # torchvision's name for branch2's 1×1 conv
    assert report.find("stage2.1.shuffle").op == "channel_shuffle"

    def nodes(node: ir.Node) -> list[ir.Node]:
        return [node, *(n for child in ir.children_of(node) for n in nodes(child))]

    splits = [n for n in nodes(net.root) if isinstance(n, ir.Concat) and n.split is not None]
    concats = [n for n in nodes(net.root) if isinstance(n, ir.Concat) and n.split is None]
    assert len(splits) == 3 + 7 + 3 and len(concats) == 3
    assert all(n.split == (n.in_shape[2] // 2,) * 2 and not n.branches[0].children for n in splits)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(ZOO))
def test_same_parameter_tensors_as_torchvision(name: str) -> None:
    pytest.importorskip("torch")
    models = pytest.importorskip("torchvision.models")
    from cnncost.torch.verify import count_with_torch

    builder, params, _, _ = ZOO[name]
    theirs = models.get_model(builder, weights=None)
    assert sum(p.numel() for p in theirs.parameters()) == params
    mine = [tuple(p.shape) for p in api.build(name, device="meta").parameters()]
    assert mine == [tuple(p.shape) for p in theirs.parameters()]
    # and the MACs exactly, not only as rounded: FlopCounterMode on torchvision's model counts 2 × MACs
    _, flops = count_with_torch(theirs.to("meta"), (1, 3, 224, 224))
    assert flops[""] == 2 * api.analyze(name).totals.macs
