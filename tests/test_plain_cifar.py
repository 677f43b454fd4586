"""The CIFAR plain nets (He et al. 2015, §4.2 and Figure 6) beside the CIFAR ResNets, from one family definition:
the same layers, no shortcuts; and the ``bn`` switch that leaves out every batchnorm."""

from __future__ import annotations

import pytest

from cnncost import api
from cnncost.analysis.check import weight_depth

DEPTHS = {"20": 3, "32": 5, "44": 7, "56": 9, "110": 18}


def test_the_library_has_the_plain_cifar_nets() -> None:
    names = {entry.name for entry in api.library_entries()}
    assert {f"plain{d}" for d in DEPTHS} <= names


@pytest.mark.parametrize(("depth", "n"), DEPTHS.items())
def test_plain_and_residual_have_the_same_params_and_macs(depth: str, n: int) -> None:
    plain, residual = api.analyze(f"plain{depth}").totals, api.analyze(f"resnet{depth}").totals
    # §4.2: option A shortcuts have no parameters and no multiply-adds, so the plain net costs exactly the same:
    # params = 97,216·n − 21,926 (the spec's comment): n = 3 → 291,648 − 21,926 = 269,722
    assert plain.params == residual.params == 97_216 * n - 21_926
    assert plain.macs == residual.macs
    assert weight_depth(api.resolve(f"plain{depth}").root) == 6 * n + 2 == int(depth)


def test_plain_nets_have_no_residual_addition() -> None:
    plain = api.analyze("plain20")
    assert not [r for r in plain.layers() if r.op == "add"]
    # ResNet-20: 3 stacks × 3 blocks = 9 additions
    assert len([r for r in api.analyze("resnet20").layers() if r.op == "add"]) == 9


def test_without_batchnorm_every_conv_has_a_bias() -> None:
    with_bn = api.analyze("plain20").totals.params
    without = api.analyze("plain20", variables={"bn": False})
    assert not [r for r in without.layers() if r.op == "bn"]
    # 19 convs with 16 (conv1) + 6·16 (stack 1) + 6·32 + 6·64 = 16 + 96 + 192 + 384 = 688 output channels: the
    # batchnorms' 2 · 688 = 1,376 scales and shifts go, 688 conv biases come: 269,722 − 1,376 + 688 = 269,034
    assert without.totals.params == with_bn - 688 == 269_034


def test_width_and_channels_scale_the_family() -> None:
    narrow = api.analyze("resnet20", variables={"width": 0.25, "channels": 1}, size=8)
    # filters 4/8/16 on 8×8×1: conv1 3·3·1·4 = 36 + bn 8; stack 1: 3 × (2·3·3·4·4 + 2·8) = 3 × 304 = 912;
    # stack 2: (3·3·4·8 + 3·3·8·8 + 2·16) + 2 × (2·576 + 32) = 896 + 2,368 = 3,264;
    # stack 3: (3·3·8·16 + 3·3·16·16 + 2·32) + 2 × (2·2,304 + 64) = 3,520 + 9,344 = 12,864; fc 16·10 + 10 = 170
    assert narrow.totals.params == 36 + 8 + 912 + 3_264 + 12_864 + 170 == 17_254
    assert narrow.input_shape == (8, 8, 1)
    assert narrow.output_shape == (10,)
