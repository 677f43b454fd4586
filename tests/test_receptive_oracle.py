"""The receptive fields the engine computes, against an empirical oracle: the nonzero extent of
∂ out[centre] / ∂ input, measured by PyTorch's autograd.

Two roads to a network PyTorch can differentiate:

- the **built module** (``cnncost.torch.build``) of a thin or small network, with every conv and linear weight a
  positive constant (1 / fan-in) and no bias, in eval mode, on an input of ones: every value is positive, so no
  gradient cancels, and a pixel's gradient is nonzero exactly when it reaches the unit. Max pooling sends its
  gradient to one element of each window, so it is swapped for average pooling of the same window (the receptive
  field is the window either way: "pooling like a conv of its kernel");
- for the wide networks (ResNet-50, Inception v3, GoogLeNet) a **one-channel probe** of the same IR: every conv a
  1-channel all-ones conv of the same kernel, stride, padding and dilation, every pool an average pool of the same
  window, every join a sum (concat, residual) or a product (gate) — PyTorch's own index arithmetic decides which
  pixels reach the unit.

The unit is the centre of the output, on an input large enough that its receptive field lies inside the image.
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from cnncost import api, ir  # noqa: E402
from cnncost.analysis.receptive import network_fields  # noqa: E402

# ------------------------------------------------------------------------------------------------ oracles


def extent(grad: Any) -> tuple[int, int]:
    """Rows and columns between the first and the last nonzero gradient (inclusive)."""
    rows = torch.nonzero(grad.abs().sum(dim=(0, 1, 3)) > 0).flatten()
    cols = torch.nonzero(grad.abs().sum(dim=(0, 1, 2)) > 0).flatten()
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_unit(out: Any) -> Any:
    h, w = out.shape[-2], out.shape[-1]
    return out[..., h // 2, w // 2].sum()


class _Stop(Exception):
    pass


def built_extent(network: ir.Network, path: str) -> tuple[int, int]:
    from cnncost.torch.build import build_module

    model = build_module(network).double().eval()
    for name, module in list(model.named_modules()):
        if isinstance(module, torch.nn.MaxPool2d):  # the same window, its gradient spread over all of it
            pool = torch.nn.AvgPool2d(module.kernel_size, module.stride, module.padding, module.ceil_mode)
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child, pool)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                module.weight.fill_(1.0 / module.weight[0].numel())
                if module.bias is not None:
                    module.bias.zero_()
    seen: dict[str, Any] = {}

    def hook(module: Any, inputs: Any, output: Any) -> None:
        seen["out"] = output
        raise _Stop

    model.get_submodule(path).register_forward_hook(hook)
    h, w, c = network.input_shape
    x = torch.ones(1, c, h, w, dtype=torch.float64, requires_grad=True)
    with pytest.raises(_Stop):
        model(x)
    (grad,) = torch.autograd.grad(centre_unit(seen["out"]), x)
    return extent(grad)


def _probe_layer(layer: ir.Layer, x: Any) -> Any:
    a, op = layer.args, layer.op
    if op == "conv":
        k = torch.ones(1, 1, *a["kernel"], dtype=x.dtype) / (a["kernel"][0] * a["kernel"][1])
        return F.conv2d(x, k, stride=a["stride"], padding=a["padding"], dilation=a["dilation"])
    if op in ("maxpool", "avgpool"):
        return F.avg_pool2d(x, a["kernel"], a["stride"], a["padding"], ceil_mode=a["ceil_mode"])
    if op in ("global_avgpool", "global_maxpool"):
        return x.mean(dim=(2, 3), keepdim=True)
    if op == "adaptive_avgpool":
        return F.adaptive_avg_pool2d(x, a["size"])
    if op == "linear":
        return x.mean(dim=(2, 3), keepdim=True)
    if op == "conv_transpose":
        k = torch.ones(1, 1, *a["kernel"], dtype=x.dtype)
        return F.conv_transpose2d(
            x, k, stride=a["stride"], padding=a["padding"], output_padding=a["output_padding"], dilation=a["dilation"]
        )
    if op == "upsample":
        mode = "bilinear" if a["bilinear"] else "nearest"
        corners = bool(a["align_corners"]) if a["bilinear"] else None
        return F.interpolate(x, size=layer.out_shape[:2], mode=mode, align_corners=corners)
    if op == "zero_pad":
        s = int(a["stride"])
        return x[:, :, ::s, ::s]
    if op == "crop":
        (h, w), (n_h, n_w) = a["size"], x.shape[-2:]
        top, left = (int(n_h) - h) // 2, (int(n_w) - w) // 2
        return x[:, :, top : top + h, left : left + w]
    return x  # one value per value: positive stays positive, the gradient passes (flatten keeps the map here)


def probe(node: ir.Node, x: Any, outs: dict[str, Any]) -> Any:
    """The one-channel spatial skeleton of ``node`` applied to ``x``; every node's output by path (and each tensor
    kept by ``save``, under ``save:NAME``)."""
    if isinstance(node, ir.Save):
        outs[f"save:{node.name}"] = x
        return x
    if isinstance(node, ir.Join):  # joined on channels or added: in the one-channel skeleton, a sum
        reads = [probe(read, outs[f"save:{name}"], outs) for name, read in zip(node.saved, node.reads, strict=True)]
        y = x + sum(reads)
        outs[node.path] = y
        return y
    if isinstance(node, ir.Aux):  # a side head: its own outputs; the input passes on
        outs[node.path] = probe(node.head, x, outs)
        return x
    if isinstance(node, ir.Layer):
        y = _probe_layer(node, x)
        if len(node.out_shape) == 3:
            assert tuple(y.shape[-2:]) == node.out_shape[:2], node.path
    elif isinstance(node, ir.Sequence):
        y = x
        for child in node.children:
            y = probe(child, y, outs)
    elif isinstance(node, ir.Concat):
        y = sum(probe(branch, x, outs) for branch in node.branches)
    elif isinstance(node, ir.Residual):
        y = probe(node.body, x, outs) + (x if node.shortcut is None else probe(node.shortcut, x, outs))
        if node.activation is not None:
            y = probe(node.activation, y, outs)
    else:
        y = x * probe(node.gate, x, outs)
    outs[node.path] = y
    return y


def probe_extent(network: ir.Network, path: str, around: int = 0) -> tuple[int, int]:
    """The largest extent over the units within ``around`` of the centre (just the centre by default)."""
    h, w, _ = network.input_shape
    x = torch.ones(1, 1, h, w, dtype=torch.float64, requires_grad=True)
    outs: dict[str, Any] = {}
    probe(network.root, x, outs)
    out = outs[path]
    rows, cols = out.shape[-2] // 2, out.shape[-1] // 2
    best = (0, 0)
    for a in range(rows - around, rows + around + 1):
        for b in range(cols - around, cols + around + 1):
            (grad,) = torch.autograd.grad(out[..., a, b].sum(), x, retain_graph=True)
            found = extent(grad)
            best = (max(best[0], found[0]), max(best[1], found[1]))
    return best


# ------------------------------------------------------------------------------------------------ the tests


def analytic(network: ir.Network, path: str) -> tuple[int, int]:
    size = network_fields(network)[path].size
    assert size is not None
    return size


BUILT = [
    # (network, variables, size, the rows to measure)
    ("lenet5", {}, None, ["c1", "p1", "c2", "p2"]),
    ("vgg16", {"widths": [1, 1, 1, 1, 1]}, 224, ["features.4", "features.21", "features.30"]),
    ("alexnet", {}, None, ["conv1", "pool1"]),  # and pool3 below (the full-width AlexNet takes seconds)
]


@pytest.mark.parametrize("name, variables, size, paths", BUILT, ids=[b[0] for b in BUILT])
def test_built_networks_reach_exactly_their_receptive_field(
    name: str, variables: dict[str, Any], size: int | None, paths: list[str]
) -> None:
    network = api.resolve(name, size=size, variables=variables)
    for path in paths:
        assert built_extent(network, path) == analytic(network, path), path


def test_the_known_figures_are_what_autograd_measures() -> None:
    vgg = api.resolve("vgg16", variables={"widths": [1, 1, 1, 1, 1]})
    assert built_extent(vgg, "features.28") == (196, 196)
    assert built_extent(vgg, "features.30") == (212, 212)
    assert built_extent(api.resolve("alexnet"), "pool3") == (195, 195)
    assert built_extent(api.resolve("lenet5"), "p2") == (16, 16)


PROBED = [
    # ResNet-50's RF is 427: at 480 the centre unit's field lies inside the image
    ("resnet50", 480, ["maxpool", "layer1", "layer2.0.downsample", "layer2", "layer3", "layer4"]),
    ("resnet18", 480, ["layer1", "layer2", "layer3", "layer4"]),
    ("resnet50-v1", 544, ["layer2.0", "layer4"]),
    ("googlenet", 800, ["pool2", "inception3a", "inception4a", "inception5b"]),
    ("inception-v3", 1500, ["Mixed_5b", "Mixed_6a", "Mixed_6e", "Mixed_7c"]),
    ("mobilenet-v1", 480, ["sep6", "sep13"]),
]


@pytest.mark.parametrize("name, size, paths", PROBED, ids=[p[0] for p in PROBED])
def test_branches_and_residuals_reach_their_largest_path(name: str, size: int, paths: list[str]) -> None:
    network = api.resolve(name, size=size)
    for path in paths:
        assert probe_extent(network, path) == analytic(network, path), path


def test_a_gate_makes_the_whole_input_reach_the_unit() -> None:
    network = api.resolve("mobilenet-v3-large", size=96)
    fields = network_fields(network)
    gated = next(path for path, rf in fields.items() if rf.whole and "." in path)
    h, w, _ = network.input_shape
    x = torch.ones(1, 1, h, w, dtype=torch.float64, requires_grad=True)
    outs: dict[str, Any] = {}
    probe(network.root, x, outs)
    (grad,) = torch.autograd.grad(centre_unit(outs[gated]), x)
    assert bool((grad != 0).all())  # every pixel reaches the unit: "global"


UPSAMPLING = """
name: up
input: [64, 64, 1]
layers:
  - {name: c1, conv: {out: 1, kernel: 3, stride: 2, padding: 1}}
  - {name: c2, conv: {out: 1, kernel: 3, stride: 2, padding: 1}}
  - {name: t1, conv_transpose: {out: 1, kernel: KT, stride: 2, padding: PT}}
  - {name: c3, conv: {out: 1, kernel: 3, padding: 1}}
  - {name: u1, upsample: {scale: 2, bilinear: BI}}
  - {name: c4, conv: {out: 1, kernel: 3, padding: 1}}
"""


@pytest.mark.parametrize("kt, pt, bilinear", [(4, 1, False), (2, 0, False), (3, 1, True), (4, 1, True)])
def test_upsampling_and_transposed_convolution(
    tmp_path: Any, kt: int, pt: int, bilinear: bool
) -> None:
    spec = tmp_path / "up.yaml"
    text = UPSAMPLING.replace("KT", str(kt)).replace("PT", str(pt)).replace("BI", str(bilinear).lower())
    spec.write_text(text, encoding="utf-8")
    network = api.resolve(spec)
    fields = network_fields(network)
    for path in ("t1", "c3", "u1", "c4"):
        assert not fields[path].exact  # an uneven grid: the figure is the most a unit can span
        # the 5×5 units around the centre cover every phase of the uneven grid (period 4 here); the bound is their
        # largest extent, or at most one coarse step (4 pixels: c2's jump) above it
        measured, computed = probe_extent(network, path, around=2), analytic(network, path)
        assert measured[0] <= computed[0] <= measured[0] + 4, (path, measured, computed)
        assert measured == (measured[0], measured[0]) and computed == (computed[0], computed[0])
    if not bilinear and kt != 3:  # where the bound is reached exactly
        assert probe_extent(network, "c4", around=2) == analytic(network, "c4")


# ------------------------------------------------------------------------------------------ --module models


@pytest.mark.parametrize("name", ["alexnet", "resnet50", "googlenet", "densenet121", "mobilenet-v3-large"])
def test_a_built_spec_analyzed_as_a_module_has_the_specs_fields(name: str) -> None:
    # The module analyzer follows tensors (no IR): through residual additions, concatenations and gates it must
    # reach the very figures the spec engine computes, row for row, on the fast path and the slow one.
    from cnncost.torch.build import build_module
    from cnncost.torch.module import analyze_module

    spec = api.analyze(name)
    h, w, c = spec.input_shape
    module = build_module(api.resolve(name), device="meta")
    fields = {r.path: r.receptive for r in spec.records}
    for report in (analyze_module(module, (c, h, w)), analyze_module(module, (c, h, w), fast=False)):
        rows = [r for r in report.records if r.path in fields]
        assert len(rows) == len(report.records)
        assert all(r.receptive == fields[r.path] for r in rows), name
    if name == "alexnet":
        assert fields["pool3"].size == (195, 195)  # type: ignore[union-attr]


class _Skip(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 1, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(1, 1, 3, padding=1)
        self.conv3 = torch.nn.Conv2d(1, 1, 5, padding=2)

    def forward(self, x: Any) -> Any:
        y = torch.relu(self.conv1(x))
        return self.conv3(self.conv2(y) + y)


def test_a_modules_addition_joins_the_paths_of_the_tensors_it_adds() -> None:
    report = api.analyze_module(_Skip(), (1, 16, 16))
    rows = {r.path: r.receptive.size if r.receptive else None for r in report.records}
    # conv1 3, relu 3, conv2 3 + 2 = 5; add joins 5 and 3: 5; conv3 5 + 4 = 9
    assert rows == {"conv1": (3, 3), "relu": (3, 3), "conv2": (5, 5), "add": (5, 5), "conv3": (9, 9)}
    # the oracle: the same network by autograd (positive weights, input of ones)
    model = _Skip().double()
    with torch.no_grad():
        for conv in (model.conv1, model.conv2, model.conv3):
            conv.weight.fill_(0.1)
            conv.bias.zero_()
    x = torch.ones(1, 1, 32, 32, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(centre_unit(model(x)), x)
    assert extent(grad) == (9, 9)


class _Mystery(torch.nn.Module):
    def forward(self, x: Any) -> Any:
        return x.flip(-1)  # a layer no op describes


def test_a_tensor_cnncost_cannot_follow_leaves_its_rows_blank() -> None:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Conv2d(1, 1, 3, padding=1)
            self.odd = _Mystery()
            self.b = torch.nn.Conv2d(1, 1, 3, padding=1)
            self.c = torch.nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x: Any) -> Any:
            side = self.c(x)  # reads the input itself: its own field, 3
            return self.b(self.odd(self.a(x))) + side.permute(0, 1, 3, 2)

    report = api.analyze_module(Net(), (1, 8, 8))
    rows = {r.path: r.receptive for r in report.records}
    assert rows["a"].size == (3, 3) and rows["c"].size == (3, 3)  # type: ignore[union-attr]
    assert rows["odd"] is None and rows["b"] is None and rows["add"] is None
