"""The backward pass against PyTorch, exactly: for every bundled network (and the hand-built IR trees of
test_build, which hold every op), fully trainable, trainable from its middle layer on, and with only its last
layer trainable, the backward MACs of every layer equal FlopCounterMode's count of a real backward pass
(``output.sum().backward()`` through the module built on the meta device, ``requires_grad`` set per layer, the
input without a gradient), and so does the total.

Per layer: FlopCounterMode's module tracker misattributes backward work where a tensor forks (shown below), so
``cnncost.torch.train.count_backward`` gives each FLOP the counter counts to the layer whose autograd node ran
it. For grouped convolutions FlopCounterMode (torch 2.13/2.14) counts the weight gradient ``groups ×`` its size;
the expected figure applies that factor, explicitly, and a decomposition into per-group convolutions shows
cnncost's own figure is the product's true size.

Runtime: every network in three configurations on the meta device, about 2 minutes on one core.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from test_build import ALL  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnncost import api  # noqa: E402
from cnncost.analysis.engine import analyze_network  # noqa: E402
from cnncost.analysis.records import Report  # noqa: E402
from cnncost.analysis.training import Training, TrainOptions, analyze_training  # noqa: E402
from cnncost.ir import Network  # noqa: E402
from cnncost.torch.train import count_backward, flop_counter_group_factor  # noqa: E402

pytestmark = pytest.mark.torch

BATCH = 2  # batchnorm in train mode needs more than one value per channel
CONFIGS = ("all", "middle", "last")


def options(report: Report, config: str) -> TrainOptions:
    """Fully trainable; trainable from the middle layer (execution order) on; only the last layer with params."""
    layers = report.layers()
    if config == "middle":
        return TrainOptions(train_from=layers[len(layers) // 2].path)
    with_params = [r for r in layers if r.params]
    if config == "last":
        return TrainOptions(trainable=(with_params[-1].path,)) if with_params else TrainOptions(freeze=("*",))
    return TrainOptions()


def flop_counter_expects(report: Report, training: Training) -> dict[str, int]:
    """Per layer, the FLOPs FlopCounterMode counts for cnncost's backward MACs: 2 per MAC, with a grouped conv's
    weight gradient × groups when the installed FlopCounterMode counts it so (``flop_counter_group_factor``)."""
    factor_applies = flop_counter_group_factor()
    expected: dict[str, int] = {}
    for r, row in zip(report.records, training.rows, strict=True):
        if not r.is_layer:
            continue
        groups = int(r.args.get("groups", 1)) if r.op in ("conv", "conv_transpose") and factor_applies else 1
        flops = 2 * (row.grad_input_macs + groups * row.grad_weight_macs)
        if flops:
            expected[r.path] = flops
    return expected


def check(network: Network, config: str) -> None:
    report = analyze_network(network, batch=BATCH)
    training = analyze_training(network, report, options(report, config))
    counted = count_backward(network, report, training, batch=BATCH)
    expected = flop_counter_expects(report, training)
    measured = {path: flops for path, flops in counted.per_layer.items() if flops}
    assert measured == expected, {p: (expected.get(p), measured.get(p)) for p in {*expected, *measured}}
    assert counted.unattributed == 0
    assert counted.total == sum(expected.values())
    assert counted.forward == 2 * report.totals.macs  # the same forward FlopCounterMode's --verify checks


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", [e.name for e in api.library_entries()])
def test_every_bundled_network_backward_equals_flop_counter(name: str, config: str) -> None:
    check(api.resolve(name), config)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", sorted(ALL))
def test_every_op_backward_equals_flop_counter(name: str, config: str) -> None:
    check(ALL[name](), config)


def test_bn_eval_mode_changes_no_macs() -> None:
    network = api.resolve("resnet18")
    report = analyze_network(network, batch=BATCH)
    training = analyze_training(network, report, TrainOptions(bn="eval"))
    counted = count_backward(network, report, training, batch=BATCH)
    assert counted.total == 2 * training.backward_macs == 2 * BATCH * 3_510_132_736


def test_grouped_conv_weight_gradient_is_the_forward_sized_product() -> None:
    # a depthwise 3×3 conv on 8 channels 5×5, batch 2: forward 3·3·1 × 8 × 5·5 × 2 = 3,600 MACs. Split into 8
    # one-channel convs, FlopCounterMode counts each weight gradient right: 3,600 MACs for all 8, the size cnncost
    # states; on the grouped conv itself it counts the weight gradient 8 × (when this torch has that formula).
    x = torch.zeros(2, 8, 5, 5, device="meta")
    parts = [nn.Conv2d(1, 1, 3, padding=1, bias=False, device="meta") for _ in range(8)]
    with FlopCounterMode(display=False) as counter:
        out = torch.cat([conv(x[:, i : i + 1]) for i, conv in enumerate(parts)], dim=1)
        forward = counter.get_total_flops()
        out.sum().backward()
    assert forward == 2 * 3_600
    assert counter.get_total_flops() - forward == 2 * 3_600  # weight gradients only: the input needs none
    grouped = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False, device="meta")
    with FlopCounterMode(display=False) as counter:
        grouped(x).sum().backward()
    factor = 8 if flop_counter_group_factor() else 1
    assert counter.get_total_flops() - 2 * 3_600 == 2 * 3_600 * factor


def test_the_module_tracker_misattributes_backward_at_a_fork() -> None:
    # Why count_backward attributes by autograd node: FlopCounterMode's own per-module backward counts give a
    # residual's shortcut conv its whole block (its input's gradient completes only after the body's).
    network = api.resolve("resnet18")
    report = analyze_network(network, batch=BATCH)
    shortcut = next(r for r in report.layers() if ".downsample." in r.path and r.op == "conv")  # torchvision's
    block = shortcut.path.split(".downsample.")[0]
    module = api.build("resnet18", device="meta")
    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(BATCH, 3, 224, 224, device="meta")).sum().backward()
    tracked = counter.get_flop_counts()
    key = next(k for k in tracked if k.endswith("." + shortcut.path))
    backward = {str(op): n for op, n in tracked[key].items() if "backward" in str(op)}
    assert sum(backward.values()) == 2 * 2 * report.find(block).macs  # the whole block, not the 1×1 conv
    training = analyze_training(network, report)
    counted = count_backward(network, report, training, batch=BATCH)
    assert counted.per_layer[shortcut.path] == 2 * 2 * shortcut.macs


def test_a_module_report_honours_requires_grad() -> None:
    import json

    from cnncost.render import render

    model = api.build("resnet18")
    assert api.analyze_module(model, (3, 64, 64)).training is None  # everything trains: no trainable column
    for param in model.parameters():
        param.requires_grad_(False)
    for param in model.layer4.parameters():
        param.requires_grad_(True)
    report = api.analyze_module(model, (3, 64, 64))
    assert report.training is not None
    layer4 = sum(p.numel() for p in model.layer4.parameters())
    assert report.training.trainable_params == layer4  # 8,393,728 for ResNet-18's layer4
    assert report.training.frozen_params == report.totals.params - layer4
    rows = {r.path: row for r, row in zip(report.records, report.training.rows, strict=True)}
    assert all(row.trainable_params == 0 for path, row in rows.items() if path.startswith("layer3"))
    data = json.loads(render("report", report, "json"))
    assert data["training"] == {
        "selection": "requires_grad", "trainable_params": layer4, "frozen_params": report.totals.params - layer4
    }
    assert "trainable params" in render("report", report, "table", width=120)
