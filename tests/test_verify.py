"""Meta-device verification: FlopCounterMode and the builder against the analytic engine, row by row.

The networks are the hand-built IR trees of ``test_build`` (no spec files), analyzed by the engine; the
hand-computed figures are LeNet-5's with its original C3 connection table.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_build import ALL, Chain, lenet5_table, network, small_resnet  # noqa: E402
from torch import nn  # noqa: E402

from cnncost.analysis.engine import analyze_network  # noqa: E402
from cnncost.analysis.records import Record, Report, Totals  # noqa: E402
from cnncost.errors import CheckFailed, ShapeError  # noqa: E402
from cnncost.torch.build import build_module  # noqa: E402
from cnncost.torch.verify import VerifyResult, count_with_torch, fvcore_flops, nchw, verify  # noqa: E402

pytestmark = pytest.mark.torch


def _with(report: Report, path: str, **changes: int) -> Report:
    """The report with one record changed (totals recomputed from the layer rows)."""
    records = tuple(dataclasses.replace(r, **changes) if r.path == path else r for r in report.records)
    return dataclasses.replace(report, records=records, totals=Totals.of(r for r in records if r.is_layer))


# ----------------------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("batch", [1, 3])
def test_hand_built_networks_verify(name: str, batch: int) -> None:
    net = ALL[name]()
    report = analyze_network(net, batch=batch)
    result = verify(net, report)
    assert result.ok, result.failures
    assert result.check() is result
    assert [r.path for r in result.rows] == [r.path for r in report.layers()]
    assert [r.path for r in result.groups] == [r.path for r in report.groups()]
    assert (result.measured_params, result.measured_flops) == (report.totals.params, 2 * report.totals.macs)
    for row in result.rows:
        rec = report.find(row.path)
        assert (row.measured_flops, row.measured_shape or rec.output_shape) == (2 * rec.macs, rec.output_shape)


def test_lenet5_table_figures_by_hand() -> None:
    # MACs: C1 5·5·1 × 6 × 28·28 = 117,600; C3 5·5·60 links × 10·10 = 150,000; C5 400 × 120 = 48,000;
    # F6 120 × 84 = 10,080; output 84 × 10 = 840. Total 326,520 MACs, so FlopCounterMode counts 653,040.
    net = lenet5_table()
    result = verify(net, analyze_network(net, batch=4))
    assert result.ok
    assert result.measured_params == 60_806
    assert result.measured_flops == 4 * 653_040
    c3 = next(r for r in result.rows if r.path == "c3")
    assert (c3.measured_params, c3.measured_flops, c3.measured_shape) == (1_516, 4 * 300_000, (10, 10, 16))


def test_group_rows_are_checked_where_a_module_stands() -> None:
    net = small_resnet()
    result = verify(net, analyze_network(net))
    groups = {r.path: r for r in result.groups}
    assert all(r.kind != "layer" for r in result.groups) and all(r.kind == "layer" for r in result.rows)
    assert {"layer1", "layer1.0", "layer1.1", "layer1.2"} <= set(groups)
    block = groups["layer1.1"]
    # conv1 3·3·16·32, bn1 64, conv2 3·3·32·32, bn2 64, shortcut 1·1·16·32 + 64
    assert block.measured_params == block.expected_params == 4_608 + 64 + 9_216 + 64 + 512 + 64
    assert block.measured_shape == (16, 16, 32)
    merges = [r for r in result.rows if r.op == "add"]
    assert len(merges) == 3 and all(r.ok and r.measured_flops == 0 for r in merges)


# ----------------------------------------------------------------------------------------- it can fail


def test_a_wrong_parameter_count_is_caught() -> None:
    net = lenet5_table()
    report = _with(analyze_network(net), "c3", params=2_416)  # as if C3 were fully connected
    result = verify(net, report)
    assert not result.ok
    assert [r.path for r in result.failures] == ["c3"]
    assert not result.totals_ok
    with pytest.raises(CheckFailed, match=r"^c3: PyTorch disagrees with the analysis: params 1516 \(torch\)"):
        result.check()


def test_wrong_macs_are_caught() -> None:
    net = small_resnet()
    report = analyze_network(net)
    wrong = _with(report, "layer1.1.shortcut.conv", macs=report.find("layer1.1.shortcut.conv").macs + 1)
    result = verify(net, wrong)
    assert [r.path for r in result.failures] == ["layer1.1.shortcut.conv"]
    row = result.failures[0]
    assert row.measured_flops == 2 * (1 * 1 * 16 * 32 * 16 * 16)
    assert row.expected_flops == row.measured_flops + 2


def test_a_wrong_shape_is_caught() -> None:
    net = small_resnet()
    result = verify(net, _with(analyze_network(net), "pool", output_shape=(2, 2, 48)))
    assert [(r.path, r.measured_shape) for r in result.failures] == [("pool", (1, 1, 48))]


def test_a_record_without_module_is_caught() -> None:
    net = lenet5_table()
    report = analyze_network(net)
    ghost = Record("ghost", "ghost", "layer", "relu", 0, (10,), (10,), 0, 0, MappingProxyType({}))
    result = verify(net, dataclasses.replace(report, records=(*report.records, ghost)))
    assert [(r.path, r.note) for r in result.failures] == [("ghost", "no module named 'ghost' in the built network")]
    with pytest.raises(CheckFailed, match="no module named 'ghost'"):
        result.check()


def test_a_wrong_group_subtotal_is_caught() -> None:
    net = small_resnet()
    report = analyze_network(net)
    result = verify(net, _with(report, "layer1.1", params=report.find("layer1.1").params - 1))
    assert [(r.path, r.kind) for r in result.failures] == [("layer1.1", "residual")]
    assert result.totals_ok and not result.ok


def test_a_merge_claiming_params_is_caught() -> None:
    net = small_resnet()
    result = verify(net, _with(analyze_network(net), "layer1.0.add", params=1))
    assert [r.path for r in result.failures] == ["layer1.0.add"]


def test_totals_alone_can_fail() -> None:
    net = lenet5_table()
    report = analyze_network(net)
    result = verify(net, dataclasses.replace(report, totals=Totals(report.totals.params, 1, report.totals.other)))
    assert not result.failures and not result.totals_ok and not result.ok
    with pytest.raises(CheckFailed, match="on the totals of lenet5-table"):
        result.check()


# ----------------------------------------------------------------------------------------- count_with_torch


def test_count_with_torch_by_hand_and_state_restored() -> None:
    module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    module[1].eval()  # a mixed train/eval state must come back as it was
    flags = [m.training for m in module.modules()]
    grad, device = torch.is_grad_enabled(), torch.get_default_device()
    params, flops = count_with_torch(module, (2, 3, 8, 8))
    # conv: 3·3·3·8 + 8 = 224 params, 3·3·3 × 8 × 6·6 = 7,776 MACs per image; linear: 288·10 + 10, 2,880 MACs.
    assert params == 224 + 2_890
    assert flops == {"0": 2 * 2 * 7_776, "3": 2 * 2 * 2_880, "": 2 * 2 * (7_776 + 2_880)}
    assert [m.training for m in module.modules()] == flags
    assert (torch.is_grad_enabled(), torch.get_default_device()) == (grad, device)
    assert not torch.nn.modules.module._global_forward_hooks
    assert not torch.nn.modules.module._global_forward_pre_hooks


def test_count_with_torch_on_a_meta_module_and_a_batchnorm_vector() -> None:
    module = nn.Sequential(nn.Linear(5, 4, device="meta"), nn.BatchNorm1d(4, device="meta"))
    params, flops = count_with_torch(module, (1, 5))  # batch 1 through BatchNorm1d: needs eval mode
    assert (params, flops) == (24 + 8, {"0": 40, "": 40})
    assert module.training


def test_count_with_torch_wrong_input_is_one_line() -> None:
    with pytest.raises(ShapeError, match=r"^the module fails on an input of shape \(1, 4, 8, 8\): ") as exc:
        count_with_torch(nn.Conv2d(3, 8, 3), (1, 4, 8, 8))
    assert "\n" not in str(exc.value)


def test_nchw() -> None:
    assert nchw((224, 200, 3), 8) == (8, 3, 224, 200)
    assert nchw((4096,), 2) == (2, 4096)


# ----------------------------------------------------------------------------------------- fvcore


@pytest.mark.parametrize("name", ["small-resnet", "lenet5-table", "inception-se", "every-op"])
def test_fvcore_counts_the_same_macs(name: str) -> None:
    pytest.importorskip("fvcore")
    net = ALL[name]()
    report = analyze_network(net, batch=2)
    module = build_module(net, device="meta")
    counts = fvcore_flops(module, nchw(net.input_shape, 2))
    assert counts[""] == report.totals.macs
    for rec in report.layers():
        assert counts.get(rec.path, 0) == rec.macs, rec.path
    assert all(p.is_meta for p in module.parameters())  # the caller's module is untouched


def test_fvcore_without_macs_only_counts_more() -> None:
    pytest.importorskip("fvcore")
    net = small_resnet()
    module = build_module(net)
    counts = fvcore_flops(module, (1, 3, 32, 32), macs_only=False)
    assert counts[""] > analyze_network(net).totals.macs  # fvcore adds batchnorm and pooling
    assert counts["layer1.0.bn1"] > 0


# ----------------------------------------------------------------------------------------- random networks

_conv = st.fixed_dictionaries(
    {
        "out": st.integers(1, 12),
        "kernel": st.integers(1, 5) | st.lists(st.integers(1, 4), min_size=2, max_size=2),
        "stride": st.integers(1, 3),
        "padding": st.integers(0, 2) | st.just("same") | st.just("valid"),
        "dilation": st.integers(1, 2),
        "groups": st.sampled_from([1, 2, "depthwise"]),
        "bias": st.booleans(),
    }
)
_pool = st.fixed_dictionaries({"kernel": st.integers(1, 3), "stride": st.integers(1, 3), "ceil_mode": st.booleans()})
_step = st.one_of(
    st.tuples(st.just("conv"), _conv),
    st.tuples(st.sampled_from(["maxpool", "avgpool"]), _pool),
    st.tuples(st.sampled_from(["bn", "relu", "hardswish", "lrn"]), st.just({})),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    size=st.integers(6, 40),
    channels=st.sampled_from([1, 2, 4, 6]),
    steps=st.lists(_step, min_size=1, max_size=6),
    head=st.booleans(),
    batch=st.integers(1, 3),
)
def test_random_networks_agree(
    size: int, channels: int, steps: list[tuple[str, dict[str, object]]], head: bool, batch: int
) -> None:
    def build(c: Chain) -> Chain:
        for i, (op, args) in enumerate(steps):
            c.op(f"l{i}", op, **args)
        if head:
            c.op("gap", "global_avgpool").op("flatten", "flatten").op("fc", "linear", out=3)
        return c

    try:
        net = network("random", (size, size, channels), build)
    except ShapeError:
        assume(False)
        return
    result = verify(net, analyze_network(net, batch=batch))
    assert isinstance(result, VerifyResult)
    assert result.ok, result.failures


def test_fvcore_is_a_second_oracle_layer_by_layer() -> None:
    import dataclasses

    pytest.importorskip("fvcore")
    from cnncost import api
    from cnncost.torch.verify import verify as verify_network

    network = api.resolve("lenet5")
    report = api.analyze(network, batch=2)
    result = verify_network(network, report, fvcore=True)
    assert result.ok and result.fvcore_macs == report.totals.macs // 2 == 416_520
    # A report that claims 1 MAC too many on c2 is caught by fvcore too, and named.
    rows = tuple(dataclasses.replace(r, macs=r.macs + 2) if r.path == "c2" else r for r in report.records)
    tampered = dataclasses.replace(report, records=rows)
    bad = verify_network(network, tampered, fvcore=True)
    assert not bad.ok
    assert bad.fvcore_failures and bad.fvcore_failures[0].startswith("c2: 480,000 MACs (fvcore) vs 480,002")
