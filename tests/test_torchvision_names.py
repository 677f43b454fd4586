"""Every bundled network that torchvision also ships is built with torchvision's module names: its state_dict has
the same tensors as torchvision's model — names, shapes and order — so weights load by name and ``cnncost compare
SPEC --module torchvision:NAME`` lines the two up row by row.

Both models are built on the meta device (no weights allocated, nothing downloaded: ``weights=None``). Skipped
where torchvision is not installed; run it in an environment that has it (torch 2.14.1 + torchvision 0.29.1 here).
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
models = pytest.importorskip("torchvision.models")

from cnncost import api  # noqa: E402
from cnncost.spec import library  # noqa: E402

pytestmark = pytest.mark.torch

REGNETS = ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")

#: bundled network → torchvision's builder
TWINS: dict[str, str] = {
    **{f"resnet{d}": f"resnet{d}" for d in (18, 34, 50, 101, 152)},
    "resnext50-32x4d": "resnext50_32x4d",
    "resnext101-32x8d": "resnext101_32x8d",
    "resnext101-64x4d": "resnext101_64x4d",
    "wide-resnet50-2": "wide_resnet50_2",
    "wide-resnet101-2": "wide_resnet101_2",
    **{f"vgg{d}": f"vgg{d}" for d in (11, 13, 16, 19)},
    **{f"vgg{d}-bn": f"vgg{d}_bn" for d in (11, 13, 16, 19)},
    "alexnet-torchvision": "alexnet",
    **{f"densenet{d}": f"densenet{d}" for d in (121, 161, 169, 201)},
    "squeezenet1-0": "squeezenet1_0",
    "squeezenet1-1": "squeezenet1_1",
    "mobilenet-v2": "mobilenet_v2",
    "mobilenet-v3-large": "mobilenet_v3_large",
    "mobilenet-v3-small": "mobilenet_v3_small",
    **{f"mnasnet{a}": f"mnasnet{a.replace('-', '_')}" for a in ("0-5", "0-75", "1-0", "1-3")},
    **{f"shufflenet-v2-x{a}": f"shufflenet_v2_x{a.replace('-', '_')}" for a in ("0-5", "1-0", "1-5", "2-0")},
    **{f"regnet-x-{s.replace('_', '-')}": f"regnet_x_{s}" for s in REGNETS},
    **{f"regnet-y-{s.replace('_', '-')}": f"regnet_y_{s}" for s in (*REGNETS, "128gf")},
    **{f"efficientnet-b{i}": f"efficientnet_b{i}" for i in range(8)},
    **{f"efficientnet-v2-{s}": f"efficientnet_v2_{s}" for s in "sml"},
    **{f"convnext-{s}": f"convnext_{s}" for s in ("tiny", "small", "base", "large")},
    "googlenet-torchvision": "googlenet",
    "inception-v3": "inception_v3",
}

#: Twins whose torchvision model has training-only auxiliary classifiers (``aux_logits=True``, the default with
#: ``weights=None``): ours is built with its aux heads too, so both state_dicts hold them.
WITH_AUX = frozenset({"googlenet-torchvision", "inception-v3"})

#: Where a spec's names cannot follow torchvision's. ConvNeXt's layer scale is a parameter of torchvision's block
#: itself (``features.1.0.layer_scale``, registered before the block's layers); a spec's layer scale is a layer
#: of its own, after the block's second linear (``features.1.0.layer_scale.gamma``). Every other tensor matches.
LAYER_SCALE = ("layer_scale", "layer_scale.gamma")

#: GoogLeNet's aux heads: torchvision registers ``aux1`` and ``aux2`` after ``inception5b`` (its __init__ builds
#: them last), a spec's aux head stands where it branches off (after ``inception4a`` and ``inception4d``), so
#: their tensors come earlier in our state_dict. Same names, same shapes, same order among themselves.
GOOGLENET_AUX = ("aux1.", "aux2.")

#: Inception-v3's InceptionE splits are a level of their own in the spec (flat, the module would hold three
#: concat merges under one path): Mixed_7b.branch3x3_2.branch3x3_2a is torchvision's Mixed_7b.branch3x3_2a.
INCEPTION_SPLITS = {".branch3x3_2.branch3x3_2": ".branch3x3_2", ".branch3x3dbl_3.branch3x3dbl_3": ".branch3x3dbl_3"}


def tensors(module: Any) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(t.shape)) for name, t in module.state_dict().items()]


def torchvision_model(builder: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """torchvision's model on the meta device. RegNet computes its widths with torch ops while building, which
    the meta device cannot read back: those run on the CPU (a few numbers, no weights)."""
    from torchvision.models import regnet

    plain = regnet.BlockParams.from_init_params.__func__  # type: ignore[attr-defined]

    def on_cpu(cls: Any, *args: Any, **kwargs: Any) -> Any:
        with torch.device("cpu"):
            return plain(cls, *args, **kwargs)

    monkeypatch.setattr(regnet.BlockParams, "from_init_params", classmethod(on_cpu))
    # GoogLeNet's and Inception-v3's init_weights=None warns of a coming change; no weights are drawn here anyway
    quiet = {"init_weights": False} if builder in ("googlenet", "inception_v3") else {}
    with torch.device("meta"):
        return models.get_model(builder, weights=None, **quiet)


def test_every_torchvision_twin_is_bundled() -> None:
    assert set(TWINS) <= {entry.name for entry in library.entries()}
    assert set(TWINS.values()) <= set(models.list_models(module=models))


@pytest.mark.parametrize("name", sorted(TWINS))
def test_the_built_module_has_torchvisions_tensors(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tensors(api.build(name, device="meta", aux=name in WITH_AUX))
    theirs = tensors(torchvision_model(TWINS[name], monkeypatch))
    if name == "googlenet-torchvision":
        # the one known difference, held exactly: the aux heads' tensors, in another place of the order
        heads = [(n, s) for n, s in mine if n.startswith(GOOGLENET_AUX)]
        assert heads and heads == [(n, s) for n, s in theirs if n.startswith(GOOGLENET_AUX)]
        mine = [(n, s) for n, s in mine if not n.startswith(GOOGLENET_AUX)]
        theirs = [(n, s) for n, s in theirs if not n.startswith(GOOGLENET_AUX)]
    if name == "inception-v3":
        # the one known difference, held exactly: the splits' level, dropped; names, shapes and order then match
        split = [n for n, _ in mine if any(level in n for level in INCEPTION_SPLITS)]
        assert len(split) == 2 * 2 * 2 * 6  # Mixed_7b and 7c, two splits, two BasicConv2d, six tensors each
        for level, dropped in INCEPTION_SPLITS.items():
            mine = [(n.replace(level, dropped), s) for n, s in mine]
    if name.startswith("convnext-"):
        # the one known difference, held exactly: one layer scale per block on each side, same shapes, same blocks
        ours, tv = "." + LAYER_SCALE[1], "." + LAYER_SCALE[0]
        scales = [(n.removesuffix(ours), s) for n, s in mine if n.endswith(ours)]
        assert scales and scales == [(n.removesuffix(tv), s) for n, s in theirs if n.endswith(tv)]
        mine = [(n, s) for n, s in mine if not n.endswith(ours)]
        theirs = [(n, s) for n, s in theirs if not n.endswith(tv)]
    first = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), None)
    assert first is None, f"tensor {first}: {mine[first]} (cnncost) vs {theirs[first]} (torchvision)"
    assert len(mine) == len(theirs)


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "mobilenet-v2", "densenet121"])
def test_compare_with_torchvision_lines_up_row_by_row(name: str) -> None:
    # What 'cnncost compare resnet50 --module torchvision:resnet50' shows: every layer with weights or MACs has a
    # row of the same path on both sides, with the same parameters and MACs.
    comparison = api.compare(name, modules=[f"torchvision:{TWINS[name]}"], depth=99)
    counted = [
        row
        for row in comparison.rows
        if row.is_layer and any(cell is not None and (cell.params or cell.macs) for cell in row.cells)
    ]
    assert len(counted) >= 16
    for row in counted:
        spec, module = row.cells
        side = "cnncost" if module is None else "torchvision"
        assert spec is not None and module is not None, f"{row.path}: only in {side}"
        assert (spec.params, spec.macs) == (module.params, module.macs), row.path
    # and nothing is left over: the totals are the sums of those rows on both sides
    for i, report in enumerate(comparison.reports):
        cells = [row.cells[i] for row in counted]
        assert sum(c.params for c in cells if c is not None) == report.totals.params
        assert sum(c.macs for c in cells if c is not None) == report.totals.macs
