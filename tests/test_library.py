"""The bundled library: every network documents figures from its sources, and every figure checks.

One test per network, so a failure names the network. The figures themselves are hand-verified in the specs'
comments (the arithmetic sits beside each entry); here they are recomputed through ``cnncost.api.check``.
"""

from __future__ import annotations

import pytest

from cnncost import api
from cnncost.analysis.check import EXPLAINED, PASS

NETWORKS = [entry.name for entry in api.library_entries()]

#: The names issue 3 asks for, exactly.
REQUIRED = {
    "lenet5", "lenet5-1998", "alexnet", "alexnet-2gpu", "vgg11", "vgg13", "vgg16", "vgg19",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet50-v1", "plain18", "plain34",
    "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet1202", "nin-1x1", "conv1x1-bottleneck",
    "googlenet", "mobilenet-v1", "mobilenet-v2", "conv3x3-normal", "conv3x3-separable", "efficientnet-b0",
    "conv5x5", "conv5x5-bottleneck", "inception-naive", "inception-bottleneck",
}  # fmt: skip


def test_the_library_has_every_network_the_issue_names() -> None:
    assert set(NETWORKS) >= REQUIRED


@pytest.mark.parametrize("name", NETWORKS)
def test_network_checks_against_its_sources(name: str) -> None:
    report = api.check(name)
    assert report.unchecked == (), f"{name} documents no figures"
    assert {r.figure.network for r in report.results} == {name}
    bad = [f"{r.figure.label}: {r.figure.value} vs {r.computed} ({r.note})" for r in report.results if not r.ok]
    assert not bad
    for r in report.results:
        assert r.figure.source.strip()
        assert r.status in (PASS, EXPLAINED)
        if r.status == EXPLAINED:
            assert r.figure.deviation and len(r.figure.deviation) > 20  # says why, not just "differs"


#: Networks whose sources print no parameter or operation count: their shapes and depth are documented instead.
NO_PUBLISHED_COST = {"unet": "Ronneberger et al. 2015 print shapes (Fig. 1) and the depth, no params or FLOPs"}


@pytest.mark.parametrize("name", NETWORKS)
def test_network_documents_a_cost_figure(name: str) -> None:
    figures = {r.figure.figure for r in api.check(name).results}
    if name in NO_PUBLISHED_COST:
        assert "output_shape" in figures and "depth" in figures and not figures & {"params", "macs", "flops"}
        return
    assert figures & {"params", "macs", "flops"}


@pytest.mark.parametrize(
    ("name", "params", "macs"),
    [
        # hand-computed in the specs' comments
        ("lenet5-1998", 60_000, 327_256),  # 117,600 + 1,176 + 150,000 + 400 + 48,000 + 10,080
        ("alexnet-2gpu", 60_965_224, 724_406_816),
        ("resnet20", 269_722, 40_551_040),
        ("resnet1202", 19_421_274, 2_829_238_912),
        ("nin-1x1", 33, 1_152),  # 32 + 1; 6·6 × 32
        ("conv1x1-bottleneck", 6_176, 4_816_896),  # 192·32 + 32; 192 × 32 × 28·28
        ("conv3x3-normal", 135, 2_160),  # 3·3·3·5; 3·3·3 × 5 × 4·4
        ("conv3x3-separable", 42, 672),  # 27 + 15; 432 + 240
        ("googlenet", 6_998_552, 1_582_671_872),
        ("mobilenet-v1", 4_231_976, 568_740_352),
        ("mobilenet-v2", 3_504_872, 300_774_272),  # torchvision: num_params, and FlopCounterMode / 2
        ("efficientnet-b0", 5_288_548, 385_814_752),  # torchvision: num_params, and FlopCounterMode / 2
    ],
)
def test_totals_of_the_new_specs(name: str, params: int, macs: int) -> None:
    totals = api.analyze(name).totals
    assert (totals.params, totals.macs) == (params, macs)


def test_lenet5_1998_c3_follows_table_1() -> None:
    (c3,) = [r for r in api.analyze("lenet5-1998").records if r.path == "c3"]
    rows = c3.args["connections"]
    assert [len(r) for r in rows] == [3] * 6 + [4] * 9 + [6]
    # Table I, read by S2 map: map 0 feeds C3 maps 0, 4, 5, 6, 9, 10, 11, 12, 14, 15
    assert [j for j, row in enumerate(rows) if 0 in row] == [0, 4, 5, 6, 9, 10, 11, 12, 14, 15]


@pytest.mark.parametrize(("width", "resolution"), [(1.0, 224), (0.75, 224), (0.5, 224), (0.25, 224), (1.0, 160)])
def test_mobilenet_v1_variables(width: float, resolution: int) -> None:
    report = api.analyze("mobilenet-v1", variables={"width": width, "resolution": resolution})
    assert report.input_shape == (resolution, resolution, 3)
    assert report.output_shape == (1000,)
    (fc,) = [r for r in report.records if r.path == "fc"]
    assert fc.input_shape == (int(1024 * width),)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("mobilenet-v2", "mobilenet_v2"), ("efficientnet-b0", "efficientnet_b0"), ("resnet50", "resnet50"),
     ("vgg16", "vgg16")],
)  # fmt: skip
def test_same_parameters_as_torchvision_tensor_by_tensor(ours: str, theirs: str) -> None:
    pytest.importorskip("torch")
    models = pytest.importorskip("torchvision.models")
    mine = [tuple(p.shape) for p in api.build(ours, device="meta").parameters()]
    reference = [tuple(p.shape) for p in getattr(models, theirs)().parameters()]
    assert mine == reference
