"""Every bundled network, both roads: the analytic engine and the PyTorch module built from the same spec agree
exactly — parameter count in total and per layer, and FlopCounterMode (meta device, nothing allocated) counting
2 × MACs for every layer — at the spec's own input size and at another one.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from cnncost import api  # noqa: E402
from cnncost.spec import library  # noqa: E402
from cnncost.torch.build import MERGE_OPS, build_module  # noqa: E402
from cnncost.torch.verify import count_with_torch, nchw, verify  # noqa: E402

pytestmark = pytest.mark.torch

NETWORKS = [entry.name for entry in library.entries()]


def test_every_spec_file_is_in_the_library() -> None:
    files = {entry.file.resolve() for entry in library.entries()}
    assert files == {path.resolve() for path in library.bundled_dir().glob("*.yaml")}
    assert {"lenet5", "alexnet", "vgg16", "resnet50", "conv5x5", "conv5x5-bottleneck"} <= set(NETWORKS)
    assert {"inception-naive", "inception-bottleneck"} <= set(NETWORKS)


def _agree(name: str, *, size: tuple[int, int] | None = None, batch: int = 1) -> None:
    net = api.resolve(name, size=size)
    report = api.analyze(net, batch=batch)
    module = build_module(net, device="meta")
    params, flops = count_with_torch(module, nchw(report.input_shape, batch))

    assert params == report.totals.params
    assert flops[""] == 2 * report.totals.macs
    for rec in report.layers():
        if rec.op in MERGE_OPS:
            assert (rec.params, rec.macs) == (0, 0), rec.path
            continue
        layer_module = module.get_submodule(rec.path)
        assert sum(p.numel() for p in layer_module.parameters()) == rec.params, rec.path
        assert flops.get(rec.path, 0) == 2 * rec.macs, rec.path

    result = verify(net, report)
    assert result.ok, result.failures[:3]


@pytest.mark.parametrize("name", NETWORKS)
def test_builder_and_engine_agree_at_the_default_size(name: str) -> None:
    _agree(name)


@pytest.mark.parametrize("name", NETWORKS)
def test_builder_and_engine_agree_at_another_size_and_batch(name: str) -> None:
    h, w = api.resolve(name).input_shape[:2]
    _agree(name, size=(h + 32, w + 16), batch=3)
