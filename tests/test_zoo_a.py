"""The torchvision zoo, first half: ResNeXt, Wide ResNet, DenseNet, SqueezeNet, VGG with batchnorm, torchvision's
AlexNet and GoogLeNet, Inception-v3 — each exactly torchvision's network.

Without torchvision: the engine's params and MACs equal torchvision's published figures (written here, as
``weights.meta`` gives them: ``num_params``, and ``_ops`` in GMACs to three decimals) and the exact MACs that
FlopCounterMode counts on torchvision's model (recorded below). With torchvision (run in a venv that has it): the
model is built with ``weights=None`` on the meta device — nothing downloaded, nothing allocated — and compared
parameter tensor by parameter tensor, in order, and by FlopCounterMode; the recorded figures are checked against
its weights' metadata too.

Specs are named by their file in this checkout (``architectures/resnet.yaml:resnext50-32x4d``), so the test
checks these files even where an installed cnncost's bundled folder is another checkout's.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from cnncost import api
from cnncost.spec import library

ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"


#: The auxiliary classifier of Inception-v3: conv 768·128 + bn 2·128, conv 5·5·128·768 + bn 2·768, fc 768·1000 + 1000.
INCEPTION_AUX = 98_304 + 256 + 2_457_600 + 1_536 + 768_000 + 1_000


class Zoo(NamedTuple):
    file: str  # the spec file in architectures/
    builder: str  # torchvision.models.<builder>
    num_params: int  # its weights' meta["num_params"]
    ops: float  # its weights' meta["_ops"]: GFLOPS meaning GMACs, three decimals, at the weights' crop size
    macs: int  # FlopCounterMode's FLOPs / 2 on torchvision's model, one image at the crop size

    @property
    def params(self) -> int:
        """sum(p.numel()) of the inference model: num_params but for Inception-v3's aux classifier (see its file)."""
        return self.num_params - (INCEPTION_AUX if self.builder == "inception_v3" else 0)

    @property
    def size(self) -> int:
        return 299 if self.builder == "inception_v3" else 224


ZOO: dict[str, Zoo] = {
    "resnext50-32x4d": Zoo("resnet", "resnext50_32x4d", 25_028_904, 4.23, 4_230_479_872),
    "resnext101-32x8d": Zoo("resnet", "resnext101_32x8d", 88_791_336, 16.414, 16_414_015_488),
    "resnext101-64x4d": Zoo("resnet", "resnext101_64x4d", 83_455_272, 15.46, 15_460_270_080),
    "wide-resnet50-2": Zoo("resnet", "wide_resnet50_2", 68_883_240, 11.398, 11_398_021_120),
    "wide-resnet101-2": Zoo("resnet", "wide_resnet101_2", 126_886_696, 22.753, 22_753_050_624),
    "densenet121": Zoo("densenet", "densenet121", 7_978_856, 2.834, 2_834_161_664),
    "densenet161": Zoo("densenet", "densenet161", 28_681_000, 7.728, 7_727_907_072),
    "densenet169": Zoo("densenet", "densenet169", 14_149_480, 3.36, 3_359_843_328),
    "densenet201": Zoo("densenet", "densenet201", 20_013_928, 4.291, 4_291_365_888),
    "squeezenet1-0": Zoo("squeezenet", "squeezenet1_0", 1_248_424, 0.819, 818_924_576),
    "squeezenet1-1": Zoo("squeezenet", "squeezenet1_1", 1_235_496, 0.349, 349_151_936),
    "vgg11-bn": Zoo("vgg", "vgg11_bn", 132_868_840, 7.609, 7_609_090_048),
    "vgg13-bn": Zoo("vgg", "vgg13_bn", 133_053_736, 11.308, 11_308_466_176),
    "vgg16-bn": Zoo("vgg", "vgg16_bn", 138_365_992, 15.47, 15_470_264_320),
    "vgg19-bn": Zoo("vgg", "vgg19_bn", 143_678_248, 19.632, 19_632_062_464),
    "alexnet-torchvision": Zoo("alexnet-torchvision", "alexnet", 61_100_840, 0.714, 714_188_480),
    "googlenet-torchvision": Zoo("googlenet-torchvision", "googlenet", 6_624_904, 1.498, 1_498_376_192),
    "inception-v3": Zoo("inception-v3", "inception_v3", 27_161_264, 5.713, 5_713_216_096),
}


def spec(name: str) -> str:
    """This checkout's file for ``name``: ``FILE.yaml:VARIANT`` in a family file, else the file."""
    zoo = ZOO[name]
    path = ARCHITECTURES / f"{zoo.file}.yaml"
    return str(path) if zoo.file == name else f"{path}:{name}"


def _tv_model(name: str):  # type: ignore[no-untyped-def]
    """torchvision's model for ``name``, random and on the meta device: weights=None, so nothing is fetched."""
    torch = pytest.importorskip("torch")
    models = pytest.importorskip("torchvision.models")
    kwargs = {"aux_logits": False, "init_weights": False} if name in ("googlenet-torchvision", "inception-v3") else {}
    with torch.device("meta"):
        model = getattr(models, ZOO[name].builder)(weights=None, **kwargs)
    return model.eval()


def _flops(model, size: int) -> int:  # type: ignore[no-untyped-def]
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros((1, 3, size, size), device="meta"))
    return int(counter.get_total_flops())


def test_the_table_is_consistent() -> None:
    for name, zoo in ZOO.items():
        assert round(zoo.macs / 1e9, 3) == zoo.ops, name  # _ops is the exact count to three decimals
        assert zoo.params == zoo.num_params - (INCEPTION_AUX if name == "inception-v3" else 0), name


@pytest.mark.parametrize("name", ZOO)
def test_engine_equals_torchvision(name: str) -> None:
    zoo = ZOO[name]
    report = api.analyze(spec(name))
    assert report.input_shape == (zoo.size, zoo.size, 3)
    assert report.output_shape == (1000,)
    assert (report.totals.params, report.totals.macs) == (zoo.params, zoo.macs)
    assert round(report.totals.macs / 1e9, 3) == zoo.ops


@pytest.mark.parametrize("name", ZOO)
def test_the_spec_checks(name: str) -> None:
    report = api.check(spec(name))
    assert report.results and all(r.ok for r in report.results), [r.figure.label for r in report.results if not r.ok]
    whole = [r.figure for r in report.results if r.figure.layer is None]
    # torchvision's figures, as documented: num_params exactly, _ops to the three decimals it prints
    assert any(f.figure == "params" and f.value == ZOO[name].num_params for f in whole)
    assert any(f.figure == "macs" and f.rounded and round(f.value / 1e9, 3) == ZOO[name].ops for f in whole)


def test_inception_v3_counts_the_aux_classifier_in_the_training_view() -> None:
    (entry,) = [r for r in api.check(spec("inception-v3")).results if r.figure.value == 27_161_264]
    assert entry.status == "pass" and entry.figure.aux and entry.figure.deviation is None
    assert entry.computed == 27_161_264  # 23,834,568 + AuxLogits' 3,326,696


def test_the_library_names_them() -> None:
    if library.bundled_dir().resolve() != ARCHITECTURES.resolve():
        pytest.skip(f"the installed cnncost's bundled specs are another checkout's ({library.bundled_dir()})")
    names = {entry.name for entry in api.library_entries()}
    assert set(ZOO) <= names
    assert "alexnet" in names and api.analyze("alexnet").input_shape == (227, 227, 3)  # the course's, kept


@pytest.mark.torch
@pytest.mark.parametrize("name", ZOO)
def test_same_parameters_as_torchvision_tensor_by_tensor(name: str) -> None:
    model = _tv_model(name)
    mine = [tuple(p.shape) for p in api.build(spec(name), device="meta").parameters()]
    reference = [tuple(p.shape) for p in model.parameters()]
    assert mine == reference
    assert sum(p.numel() for p in model.parameters()) == ZOO[name].params
    assert _flops(model, ZOO[name].size) == 2 * ZOO[name].macs


@pytest.mark.torch
@pytest.mark.parametrize("name", ZOO)
def test_the_recorded_figures_are_torchvisions(name: str) -> None:
    models = pytest.importorskip("torchvision.models")
    weights = models.get_model_weights(ZOO[name].builder).DEFAULT  # metadata only: no download
    assert weights.meta["num_params"] == ZOO[name].num_params
    assert weights.meta["_ops"] == ZOO[name].ops
    assert weights.transforms().crop_size == [ZOO[name].size]


@pytest.mark.torch
def test_inception_v3_with_its_aux_classifier_has_torchvisions_num_params() -> None:
    torch = pytest.importorskip("torch")
    models = pytest.importorskip("torchvision.models")
    with torch.device("meta"):
        model = models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    assert sum(p.numel() for p in model.parameters()) == 27_161_264
    assert sum(p.numel() for p in model.AuxLogits.parameters()) == INCEPTION_AUX
