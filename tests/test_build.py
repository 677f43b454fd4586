"""The PyTorch builder: IR trees built by hand, shapes from the op registry, modules checked against them.

Every network here is assembled node by node (no spec files), so these tests pin the builder down on its own:
module names equal IR paths, every op maps to the right torch module, parameters are exactly the analysis's,
and the containers compute what the IR says (``body + shortcut``, ``x · gate(x)``, channel concatenation).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from cnncost.errors import CnnCostError, DeviceError, ShapeError, SpecError  # noqa: E402
from cnncost.ir import Concat, Layer, Network, Node, Residual, Scale, Sequence, Shape, join_path  # noqa: E402
from cnncost.ops import REQUIRED, get_op, op_names  # noqa: E402
from cnncost.ops.torch_modules import ConnectionConv, ZeroPadShortcut  # noqa: E402
from cnncost.torch.build import (  # noqa: E402
    MERGE_OPS,
    build_module,
    builder_ops,
    register_builder,
)

pytestmark = pytest.mark.torch

# ----------------------------------------------------------------------------------------- IR by hand


def _norm(kind: str, value: Any) -> Any:
    if kind in ("pair", "padding") and isinstance(value, int):
        return (value, value)
    if kind in ("pair", "padding") and isinstance(value, list):
        return tuple(value)
    return value


def make_layer(parent: str, name: str, op: str, shape: Shape, **given: Any) -> Layer:
    """A Layer as the resolver makes it: defaults filled, pairs normalized, prepared, output shape inferred."""
    opdef = get_op(op)
    args: dict[str, Any] = {}
    for key, field in opdef.fields.items():
        value = given.pop(key, field.default)
        assert value is not REQUIRED, f"{op} needs {key}"
        args[key] = _norm(field.kind, value)
    args.update(given)  # internal ops (zero_pad) have no declared fields
    if opdef.prepare is not None:
        args = dict(opdef.prepare(args, shape))
    out = opdef.shape(args, shape)
    return Layer(name, join_path(parent, name), op, MappingProxyType(args), shape, out)


class Chain:
    """Nodes one after another under ``path``, threading the shape."""

    def __init__(self, path: str, shape: Shape) -> None:
        self.path = path
        self.in_shape = shape
        self.shape = shape
        self.nodes: list[Node] = []

    def op(self, name: str, op: str, **args: Any) -> Chain:
        return self.add(make_layer(self.path, name, op, self.shape, **args))

    def add(self, node: Node) -> Chain:
        self.nodes.append(node)
        self.shape = node.out_shape
        return self

    def sub(self, name: str) -> Chain:
        """A chain for a child node called ``name``, starting at the current shape."""
        return Chain(join_path(self.path, name), self.shape)

    def seq(self, name: str, kind: str = "block") -> Sequence:
        return Sequence(name, self.path, kind, name, tuple(self.nodes), self.in_shape, self.shape)


Build = Callable[[Chain], Chain]


def residual(
    outer: Chain,
    name: str,
    body: Build,
    shortcut: Build | None = None,
    kind: str = "identity",
    post: str | None = None,
) -> Residual:
    path = join_path(outer.path, name)
    b = body(Chain(path, outer.shape))
    sc = None
    if shortcut is not None:
        s = shortcut(Chain(join_path(path, "shortcut"), outer.shape))
        assert s.shape == b.shape
        sc = s.seq("shortcut", "shortcut")
    act = make_layer(path, post, post, b.shape) if post else None
    return Residual(name, path, b.seq(name, "residual-body"), sc, kind, outer.shape, b.shape, activation=act)


def concat(outer: Chain, name: str, branches: dict[str, Build]) -> Concat:
    path = join_path(outer.path, name)
    seqs = tuple(
        build(Chain(join_path(path, bname), outer.shape)).seq(bname, "branch") for bname, build in branches.items()
    )
    h, w, _ = seqs[0].out_shape
    out = (h, w, sum(s.out_shape[2] for s in seqs))
    return Concat(name, path, seqs, outer.shape, out)


def scale(outer: Chain, name: str, gate: Build) -> Scale:
    path = join_path(outer.path, name)
    g = gate(Chain(path, outer.shape))
    return Scale(name, path, g.seq(name, "scale"), outer.shape, outer.shape)


def network(name: str, shape: Shape, build: Build) -> Network:
    chain = build(Chain("", shape))
    return Network(name, f"{name} (built by hand)", chain.seq("", "network"), shape)


#: LeNet-5's C3 connection table (LeCun et al. 1998, Table I): input maps seen by each of the 16 filters.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


def lenet5_table() -> Network:
    """LeNet-5 with the original partial connection table in C3."""
    return network(
        "lenet5-table",
        (32, 32, 1),
        lambda c: (
            c.op("c1", "conv", out=6, kernel=5)
            .op("tanh1", "tanh")
            .op("s2", "avgpool", kernel=2)
            .op("c3", "conv", out=16, kernel=5, connections=[list(r) for r in C3_TABLE])
            .op("tanh2", "tanh")
            .op("s4", "avgpool", kernel=2)
            .op("flatten", "flatten")
            .op("c5", "linear", out=120)
            .op("tanh3", "tanh")
            .op("f6", "linear", out=84)
            .op("tanh4", "tanh")
            .op("output", "linear", out=10)
            .op("softmax", "softmax")
        ),
    )


def basic(c: Chain, out: int, stride: int) -> Chain:
    return (
        c.op("conv1", "conv", out=out, kernel=3, stride=stride, padding=1, bias=False)
        .op("bn1", "bn")
        .op("relu1", "relu")
        .op("conv2", "conv", out=out, kernel=3, padding=1, bias=False)
        .op("bn2", "bn")
    )


def small_resnet() -> Network:
    """Stem, an identity block, a projection block and a zero-padding block, each with a post-add ReLU."""

    def build(c: Chain) -> Chain:
        c.op("conv1", "conv", out=16, kernel=3, padding=1, bias=False).op("bn1", "bn").op("relu", "relu")
        stage = c.sub("layer1")
        stage.add(residual(stage, "0", lambda b: basic(b, 16, 1), post="relu"))
        stage.add(
            residual(
                stage,
                "1",
                lambda b: basic(b, 32, 2),
                lambda s: s.op("conv", "conv", out=32, kernel=1, stride=2, bias=False).op("bn", "bn"),
                "projection",
                post="relu",
            )
        )
        stage.add(
            residual(
                stage, "2", lambda b: basic(b, 48, 2), lambda s: s.op("pad", "zero_pad", stride=2, out=48), "zero-pad"
            )
        )
        c.add(stage.seq("layer1", "repeat"))
        return c.op("pool", "global_avgpool").op("flatten", "flatten").op("fc", "linear", out=10)

    return network("small-resnet", (32, 32, 3), build)


def inception() -> Network:
    """The course's inception module with 1×1 bottlenecks, plus a squeeze-and-excitation gate after it."""

    def build(c: Chain) -> Chain:
        c.add(
            concat(
                c,
                "inception",
                {
                    "b1": lambda b: b.op("conv", "conv", out=64, kernel=1).op("relu", "relu"),
                    "b3": lambda b: b.op("reduce", "conv", out=96, kernel=1).op(
                        "conv", "conv", out=128, kernel=3, padding="same"
                    ),
                    "b5": lambda b: b.op("reduce", "conv", out=16, kernel=1).op(
                        "conv", "conv", out=32, kernel=5, padding=2
                    ),
                    "pool": lambda b: b.op("pool", "maxpool", kernel=3, stride=1, padding=1).op(
                        "proj", "conv", out=32, kernel=1
                    ),
                },
            )
        )
        c.add(
            scale(
                c,
                "se",
                lambda g: (
                    g.op("squeeze", "global_avgpool")
                    .op("conv1", "conv", out=16, kernel=1)
                    .op("relu", "relu")
                    .op("conv2", "conv", out=256, kernel=1)
                    .op("gate", "sigmoid")
                ),
            )
        )
        return c

    return network("inception-se", (28, 28, 192), build)


def every_op() -> Network:
    """One network that uses every public op at least once (and a few argument variants)."""

    def build(c: Chain) -> Chain:
        return (
            c.op("conv", "conv", out=32, kernel=[3, 5], stride=[1, 2], padding=[1, 2], dilation=1)
            .op("dw", "conv", kernel=3, padding=2, dilation=2, groups="depthwise", bias=False)
            .op("grouped", "conv", out=64, kernel=1, groups=4)
            .op("lrn", "lrn", size=3, alpha=2e-4, beta=0.5, k=1.0)
            .op("bn", "bn", eps=1e-3)
            .op("relu", "relu")
            .op("relu6", "relu6")
            .op("leaky", "leaky_relu", slope=0.2)
            .op("silu", "silu")
            .op("hswish", "hardswish")
            .op("hsig", "hardsigmoid")
            .op("gelu", "gelu")
            .op("tanh", "tanh")
            .op("maxpool", "maxpool", kernel=3, stride=2, ceil_mode=True)
            .op("avgpool", "avgpool", kernel=3, stride=2, padding=1)
            .op("adaptive", "adaptive_avgpool", size=[3, 2])
            .op("gmax", "global_maxpool")
            .op("drop2d", "dropout", p=0.1)
            .op("flatten", "flatten")
            .op("bn1d", "bn")
            .op("fc", "linear", out=20, bias=False)
            .op("sigmoid", "sigmoid")
            .op("drop", "dropout", p=0.3)
            .op("out", "linear", out=5)
            .op("softmax", "softmax")
        )

    return network("every-op", (20, 24, 3), build)


def with_gavg() -> Network:
    return network("gavg", (7, 7, 8), lambda c: c.op("pool", "global_avgpool").op("flatten", "flatten"))


ALL = {
    "lenet5-table": lenet5_table,
    "small-resnet": small_resnet,
    "inception-se": inception,
    "every-op": every_op,
    "gavg": with_gavg,
}


def nchw(shape: Shape, batch: int = 1) -> tuple[int, ...]:
    return (batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else (batch, *shape)


def hwc(size: torch.Size) -> Shape:
    dims = tuple(size[1:])
    return (dims[1], dims[2], dims[0]) if len(dims) == 3 else dims


def analytic_params(net: Network) -> int:
    return sum(get_op(layer.op).cost(layer.args, layer.in_shape, layer.out_shape).params for layer in net.layers())


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------------------- the registry


def test_every_op_the_analysis_knows_has_a_builder() -> None:
    assert set(op_names()) | {"zero_pad"} == set(builder_ops())
    assert not MERGE_OPS & set(builder_ops())


def test_builder_registry_refuses_a_second_factory() -> None:
    with pytest.raises(ValueError, match="'conv' is registered twice"):
        register_builder("conv")(lambda layer, device: nn.Identity())
    with pytest.raises(ValueError, match="'add' is registered twice"):
        register_builder("add")(lambda layer, device: nn.Identity())


def test_an_op_without_builder_is_a_one_line_error() -> None:
    layer = Layer("x", "x", "convv", MappingProxyType({}), (4, 4, 1), (4, 4, 1))
    net = Network("n", "", Sequence("", "", "network", "", (layer,), (4, 4, 1), (4, 4, 1)), (4, 4, 1))
    with pytest.raises(CnnCostError, match=r"^x: op 'convv' has no PyTorch builder — did you mean 'conv'") as exc:
        build_module(net)
    assert "\n" not in str(exc.value)


# ----------------------------------------------------------------------------------------- names and params


@pytest.mark.parametrize("name", sorted(ALL))
def test_module_names_are_the_ir_paths(name: str) -> None:
    net = ALL[name]()
    module = build_module(net, device="meta")
    names = {n for n, _ in module.named_modules()}
    wanted = {layer.path for layer in net.layers() if layer.op not in MERGE_OPS}
    assert wanted <= names
    # every module with parameters of its own is one of the IR's layers (or inside one, for connection tables)
    owners = {
        n.rsplit(".", 1)[0] if isinstance(module.get_submodule(n.rsplit(".", 1)[0]), ConnectionConv) else n
        for n, m in module.named_modules()
        if list(m.parameters(recurse=False))
    }
    assert owners <= wanted


@pytest.mark.parametrize("name", sorted(ALL))
def test_parameter_count_is_the_analysis(name: str) -> None:
    net = ALL[name]()
    module = build_module(net, device="meta")
    assert n_params(module) == analytic_params(net)
    for layer in net.layers():
        if layer.op in MERGE_OPS:
            continue
        expected = get_op(layer.op).cost(layer.args, layer.in_shape, layer.out_shape).params
        assert n_params(module.get_submodule(layer.path)) == expected, layer.path


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_layer_output_has_the_ir_shape(name: str) -> None:
    net = ALL[name]()
    module = build_module(net, device="meta").eval()
    seen: dict[str, Shape] = {}
    for layer in net.layers():
        if layer.op not in MERGE_OPS:
            sub = module.get_submodule(layer.path)
            sub.register_forward_hook(lambda m, i, o, path=layer.path: seen.__setitem__(path, hwc(o.shape)))
    out = module(torch.zeros(nchw(net.input_shape, batch=2), device="meta"))
    assert hwc(out.shape) == net.root.out_shape
    assert seen == {layer.path: layer.out_shape for layer in net.layers() if layer.op not in MERGE_OPS}


def test_lenet5_with_the_connection_table_by_hand() -> None:
    # C1 6·(5·5·1 + 1) = 156; C3 5·5·60 links + 16 biases = 1,516; C5 400·120 + 120 = 48,120;
    # F6 120·84 + 84 = 10,164; output 84·10 + 10 = 850: 60,806 (61,706 with C3 fully connected: 2,416).
    assert sum(len(r) for r in C3_TABLE) == 60
    module = build_module(lenet5_table())
    assert n_params(module) == 60_806
    c3 = module.get_submodule("c3")
    assert isinstance(c3, ConnectionConv)
    assert n_params(c3) == 1_516
    assert [m.in_channels for m in c3.children()] == [len(r) for r in C3_TABLE]


def test_connection_conv_computes_each_filter_on_its_own_channels() -> None:
    torch.manual_seed(0)
    c3 = build_module(lenet5_table()).get_submodule("c3")
    x = torch.randn(2, 6, 14, 14)
    y = c3(x)
    assert y.shape == (2, 16, 10, 10)
    for i, row in enumerate(C3_TABLE):
        conv = c3.get_submodule(str(i))
        expected = torch.nn.functional.conv2d(x[:, list(row)], conv.weight, conv.bias)
        torch.testing.assert_close(y[:, i : i + 1], expected)


def test_op_arguments_reach_torch() -> None:
    module = build_module(every_op())
    conv = module.get_submodule("conv")
    assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == ((3, 5), (1, 2), (1, 2), (1, 1))
    dw = module.get_submodule("dw")
    assert (dw.groups, dw.in_channels, dw.out_channels, dw.dilation, dw.bias) == (32, 32, 32, (2, 2), None)
    assert module.get_submodule("grouped").groups == 4
    lrn = module.get_submodule("lrn")
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (3, 2e-4, 0.5, 1.0)
    bn = module.get_submodule("bn")
    assert isinstance(bn, nn.BatchNorm2d) and bn.eps == 1e-3 and bn.num_features == 64
    bn1d = module.get_submodule("bn1d")
    assert isinstance(bn1d, nn.BatchNorm1d) and bn1d.num_features == 64  # 3×2×64 → max → 1×1×64 → 64
    assert module.get_submodule("leaky").negative_slope == 0.2
    maxpool = module.get_submodule("maxpool")
    assert (maxpool.kernel_size, maxpool.stride, maxpool.ceil_mode) == ((3, 3), (2, 2), True)
    avgpool = module.get_submodule("avgpool")
    assert (avgpool.padding, avgpool.count_include_pad, avgpool.ceil_mode) == ((1, 1), True, False)
    assert module.get_submodule("adaptive").output_size == (3, 2)
    assert isinstance(module.get_submodule("gmax"), nn.AdaptiveMaxPool2d)
    assert module.get_submodule("drop").p == 0.3
    assert module.get_submodule("softmax").dim == 1
    assert module.get_submodule("fc").bias is None
    kinds = {name: type(module.get_submodule(name)) for name in ("relu6", "silu", "hswish", "hsig", "gelu", "tanh")}
    assert kinds == {
        "relu6": nn.ReLU6,
        "silu": nn.SiLU,
        "hswish": nn.Hardswish,
        "hsig": nn.Hardsigmoid,
        "gelu": nn.GELU,
        "tanh": nn.Tanh,
    }


def test_ceil_mode_pooling_matches_the_ir() -> None:
    # 112 with a 3×3/2 window: floor((112 − 3)/2) + 1 = 55, ceil → 56.
    for ceil, size in ((False, 55), (True, 56)):
        net = network(
            "p", (112, 112, 4), lambda c, ceil=ceil: c.op("pool", "maxpool", kernel=3, stride=2, ceil_mode=ceil)
        )
        assert net.root.out_shape == (size, size, 4)
        out = build_module(net, device="meta")(torch.zeros(1, 4, 112, 112, device="meta"))
        assert out.shape == (1, 4, size, size)


# ----------------------------------------------------------------------------------------- containers


def test_residual_layout_follows_torchvision() -> None:
    module = build_module(small_resnet(), device="meta")
    names = {n for n, _ in module.named_modules()}
    assert {
        "layer1.0.conv1",
        "layer1.0.relu",
        "layer1.1.shortcut",
        "layer1.1.shortcut.conv",
        "layer1.1.shortcut.bn",
        "layer1.2.shortcut.pad",
    } <= names
    assert "layer1.0.shortcut" not in names  # identity: nothing to build
    assert not any(n.endswith("body") for n in names)
    assert n_params(module.get_submodule("layer1.2.shortcut")) == 0
    assert n_params(module.get_submodule("layer1.1.shortcut")) == 16 * 32 + 2 * 32


def test_residual_forward_is_body_plus_shortcut_then_activation() -> None:
    torch.manual_seed(0)
    module = build_module(small_resnet()).eval()
    block0 = module.get_submodule("layer1.0")
    block1 = module.get_submodule("layer1.1")
    x = torch.randn(2, 16, 8, 8)

    def body(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
        for name in ("conv1", "bn1", "relu1", "conv2", "bn2"):
            x = block.get_submodule(name)(x)
        return x

    torch.testing.assert_close(block0(x), torch.relu(body(block0, x) + x))
    shortcut = block1.get_submodule("shortcut")
    torch.testing.assert_close(block1(x), torch.relu(body(block1, x) + shortcut(x)))


def test_zero_padding_shortcut_keeps_every_sth_position_and_pads_channels() -> None:
    pad = ZeroPadShortcut(2, 48)
    x = torch.arange(2 * 32 * 5 * 5, dtype=torch.float32).reshape(2, 32, 5, 5)
    y = pad(x)
    assert y.shape == (2, 48, 3, 3)  # ceil(5 / 2) = 3
    torch.testing.assert_close(y[:, :32], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 32:]) == 0
    assert n_params(pad) == 0


def test_zero_pad_cannot_shrink_channels() -> None:
    layer = Layer("pad", "pad", "zero_pad", MappingProxyType({"stride": 1, "out": 2}), (4, 4, 3), (4, 4, 2))
    net = Network("n", "", Sequence("", "", "network", "", (layer,), (4, 4, 3), (4, 4, 2)), (4, 4, 3))
    with pytest.raises(ShapeError, match="cannot shrink 3 channels to 2"):
        build_module(net)


def test_concat_and_scale() -> None:
    torch.manual_seed(0)
    module = build_module(inception()).eval()
    names = {n for n, _ in module.named_modules()}
    assert {
        "inception.b1.conv",
        "inception.b3.reduce",
        "inception.pool.proj",
        "se.squeeze",
        "se.conv2",
        "se.gate",
    } <= names
    assert "se.se" not in names
    x = torch.randn(1, 192, 28, 28)
    cat = module.get_submodule("inception")
    branches = [cat.get_submodule(b)(x) for b in ("b1", "b3", "b5", "pool")]
    y = cat(x)
    assert y.shape == (1, 256, 28, 28)
    torch.testing.assert_close(y, torch.cat(branches, dim=1))
    se = module.get_submodule("se")
    gate = y
    for name in ("squeeze", "conv1", "relu", "conv2", "gate"):
        gate = se.get_submodule(name)(gate)
    assert gate.shape == (1, 256, 1, 1)
    torch.testing.assert_close(module(x), y * gate)


def test_merge_pseudo_layers_get_no_module() -> None:
    c = Chain("", (8, 8, 4))
    c.op("conv", "conv", out=4, kernel=3, padding=1)
    c.add(make_layer("", "add", "add", c.shape))
    net = Network("m", "", c.seq("", "network"), (8, 8, 4))
    module = build_module(net, device="meta")
    assert [n for n, _ in module.named_modules()] == ["", "conv"]


def test_transparent_sequences_are_inlined() -> None:
    # A block whose path is its copy's path: its layers sit directly under the copy.
    inner = Chain("stage.0", (8, 8, 4)).op("conv", "conv", out=4, kernel=1).op("relu", "relu").seq("0")
    copy = Sequence("0", "stage.0", "copy", "", (inner,), inner.in_shape, inner.out_shape)
    stage = Sequence("stage", "stage", "repeat", "", (copy,), copy.in_shape, copy.out_shape)
    net = Network("t", "", Sequence("", "", "network", "", (stage,), (8, 8, 4), (8, 8, 4)), (8, 8, 4))
    names = [n for n, _ in build_module(net, device="meta").named_modules()]
    assert names == ["", "stage", "stage.0", "stage.0.conv", "stage.0.relu"]


def test_a_sequence_of_one_node_at_its_own_path_is_that_node() -> None:
    res = residual(Chain("", (8, 8, 4)), "blk", lambda b: b.op("conv", "conv", out=4, kernel=1))
    wrapper = Sequence("blk", "blk", "block", "basic", (res,), res.in_shape, res.out_shape)
    net = Network("t", "", Sequence("", "", "network", "", (wrapper,), (8, 8, 4), (8, 8, 4)), (8, 8, 4))
    module = build_module(net, device="meta")
    assert [n for n, _ in module.named_modules()] == ["", "blk", "blk.conv"]
    assert type(module.get_submodule("blk")).__name__ == "ResidualModule"


# ----------------------------------------------------------------------------------------- refusals


def _flat(*layers: Layer) -> Network:
    shape = layers[0].in_shape
    return Network("n", "", Sequence("", "", "network", "", layers, shape, layers[-1].out_shape), shape)


def test_a_layer_name_pytorch_reserves_is_refused() -> None:
    net = _flat(make_layer("", "forward", "relu", (4, 4, 2)))
    with pytest.raises(SpecError, match=r"layer name 'forward' is taken by PyTorch's nn\.Module"):
        build_module(net)


def test_two_layers_with_one_path_are_refused() -> None:
    net = _flat(make_layer("", "a", "relu", (4, 4, 2)), make_layer("", "a", "tanh", (4, 4, 2)))
    with pytest.raises(SpecError, match="two layers share the module path 'a'"):
        build_module(net)


def test_a_path_outside_its_container_is_refused() -> None:
    stray = make_layer("elsewhere", "a", "relu", (4, 4, 2))
    seq = Sequence("blk", "blk", "block", "", (stray, make_layer("blk", "b", "relu", (4, 4, 2))), (4, 4, 2), (4, 4, 2))
    net = Network("n", "", Sequence("", "", "network", "", (seq,), (4, 4, 2), (4, 4, 2)), (4, 4, 2))
    with pytest.raises(CnnCostError, match=r"'elsewhere\.a' is not a direct child of 'blk'"):
        build_module(net)


def test_bad_devices_are_one_line_errors() -> None:
    with pytest.raises(DeviceError, match="'tpu9' is not a PyTorch device"):
        build_module(with_gavg(), device="tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            build_module(with_gavg(), device="cuda")


# ----------------------------------------------------------------------------------------- devices, purity


def test_meta_build_allocates_nothing() -> None:
    module = build_module(small_resnet(), device="meta")
    assert all(p.is_meta for p in module.parameters())
    assert all(b.is_meta for b in module.buffers())
    cpu = build_module(small_resnet(), device="cpu")
    assert all(p.device.type == "cpu" for p in cpu.parameters())


def test_the_ir_is_not_changed_and_the_default_device_stays() -> None:
    net = small_resnet()
    before = repr(net)
    default = torch.get_default_device()
    build_module(net, device="meta")
    build_module(net)
    assert repr(net) == before
    assert torch.get_default_device() == default
    assert torch.zeros(1).device == default


def test_the_package_exports_the_builder() -> None:
    import cnncost.torch as ct

    assert ct.build_module is build_module
    module = ct.build_module(with_gavg())
    assert module(torch.ones(3, 8, 7, 7)).shape == (3, 8 * 1 * 1)


def test_without_torch_the_package_says_how_to_get_it() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from cnncost.errors import MissingDependencyError\n"
        "try:\n    import cnncost.torch\n"
        "except MissingDependencyError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert (
        out
        == "the PyTorch builder needs PyTorch, which is not installed — install it with: pip install torch "
        "(from a cnncost checkout: pip install '.[torch]')\n"
    )
