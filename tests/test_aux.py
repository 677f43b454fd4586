"""Training-only side heads (``aux:``): GoogLeNet's two auxiliary classifiers and Inception-v3's AuxLogits are
left out of the inference figures, counted in the training view, built only on request and run in training mode
only — with the parameters torchvision's ``aux_logits=True`` models hold."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncost import api, cli, ir
from cnncost.cli import app
from cnncost.errors import SpecError

AUX_SPEC = """\
    name: side
    input: [16, 16, 3]
    layers:
      - conv: {out: 8, kernel: 3}           # 14×14×8: 3·3·3·8 + 8 = 224 params, 216 × 8 × 196 = 42,336 MACs
      - aux:
          layers:
            - global_avgpool                # 1×1×8
            - flatten
            - linear: {out: 5}              # 8·5 + 5 = 45 params, 40 MACs
      - conv: {out: 4, kernel: 1}           # 8·4 + 4 = 36 params, 32 × 196 = 6,272 MACs
"""


def _spec(tmp_path: Path, text: str = AUX_SPEC) -> str:
    path = tmp_path / "side.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_the_inference_view_leaves_the_head_out(tmp_path: Path) -> None:
    report = api.analyze(_spec(tmp_path))
    assert (report.totals.params, report.totals.macs) == (224 + 36, 42336 + 6272)
    assert [r.path for r in report.records] == ["conv1", "conv2"] and report.aux_heads == ()


def test_the_training_view_counts_it(tmp_path: Path) -> None:
    report = api.analyze(_spec(tmp_path), aux=True)
    assert (report.totals.params, report.totals.macs) == (224 + 45 + 36, 42336 + 40 + 6272)
    rows = {r.path: r for r in report.records}
    assert rows["aux1"].kind == "aux" and rows["aux1"].params == 45
    assert rows["aux1.linear1"].output_shape == (5,)
    assert rows["aux1"].input_shape == (14, 14, 8) and rows["aux1"].output_shape == (5,)  # the head's logits
    assert rows["conv2"].input_shape == (14, 14, 8)  # the main path goes on unchanged
    assert report.aux_heads == ("aux1",)
    assert report.output_shape == (14, 14, 4)


def test_the_ir_walkers_see_the_head(tmp_path: Path) -> None:
    net = api.resolve(_spec(tmp_path))
    head = net.root.children[1]
    assert isinstance(head, ir.Aux) and ir.children_of(head) == (head.head,)
    assert [layer.op for layer in net.layers(aux=True)] == ["conv", "global_avgpool", "flatten", "linear", "conv"]
    assert [layer.op for layer in net.layers()] == ["conv", "conv"]  # the inference network, as built
    assert [layer.op for layer in ir.iter_layers(head, aux=True)] == ["global_avgpool", "flatten", "linear"]
    assert net.has_aux()


def test_no_tensor_is_saved_inside_a_head(tmp_path: Path) -> None:
    text = AUX_SPEC.replace("- global_avgpool                # 1×1×8", "- global_avgpool: {}\n              save: g")
    with pytest.raises(SpecError, match="saved inside a training-only aux head"):
        api.analyze(_spec(tmp_path, text))


def test_table_aux_option(tmp_path: Path) -> None:
    runner = CliRunner()
    spec = _spec(tmp_path)
    plain = runner.invoke(app, ["table", spec], env={"COLUMNS": "120"})
    training = runner.invoke(app, ["table", spec, "--aux"], env={"COLUMNS": "120"})
    assert plain.exit_code == 0 and training.exit_code == 0
    assert "aux1" not in plain.output and "aux1.linear1" in training.output
    assert "training view: the training-only aux heads are counted — aux1" in training.output
    with runner.isolation(env={"COLUMNS": "120"}) as (_, err, _):
        code = cli.main(["table", spec, "--aux", "--verify"])
        sys.stderr.flush()
        said = err.getvalue().decode("utf-8")
    assert code == 2 and "remove --aux" in said


@pytest.mark.parametrize(
    ("name", "inference", "training"),
    [
        # torchvision: num_params of the inference model, and sum(p.numel()) with aux_logits=True
        ("inception-v3", 23_834_568, 27_161_264),
        ("googlenet-torchvision", 6_624_904, 13_004_888),
    ],
)
def test_zoo_aux_figures(name: str, inference: int, training: int) -> None:
    assert api.analyze(name).totals.params == inference
    assert api.analyze(name, aux=True).totals.params == training


def test_the_papers_googlenet_aux_heads() -> None:
    # §5: 5×5/3 average pool (4×4×512 after 4a, 4×4×528 after 4d), 1×1 conv to 128 + bias, FC 2048 → 1024 + bias,
    # linear 1024 → 1000 + bias: aux1 512·128 + 128 + 2,098,176 + 1,025,000 = 3,188,840, aux2 528·128 + 128 + …
    # = 3,190,888
    inference = api.analyze("googlenet").totals.params
    training = api.analyze("googlenet", aux=True)
    assert training.totals.params - inference == 3_188_840 + 3_190_888
    assert training.find("aux1.pool").output_shape == (4, 4, 512)
    assert training.find("aux2.pool").output_shape == (4, 4, 528)


# ------------------------------------------------------------------------------------------- the built module


def _flops(module: object, x: object) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        module(x)  # type: ignore[operator]
    return int(counter.get_total_flops())


@pytest.mark.torch
@pytest.mark.parametrize("name", ["inception-v3", "googlenet-torchvision", "googlenet", "side"])
def test_built_heads_run_in_training_only_and_agree(tmp_path: Path, name: str) -> None:
    torch = pytest.importorskip("torch")
    spec = _spec(tmp_path) if name == "side" else name
    net = api.resolve(spec)
    inference, training = api.analyze(net), api.analyze(net, aux=True)
    plain = api.build(net, device="meta")
    module = api.build(net, device="meta", aux=True)
    assert sum(p.numel() for p in plain.parameters()) == inference.totals.params
    assert sum(p.numel() for p in module.parameters()) == training.totals.params
    h, w, c = net.input_shape
    x = torch.zeros(2, c, h, w, device="meta")
    with torch.no_grad():
        module.train()
        assert _flops(module, x) == 2 * 2 * training.totals.macs
        heads = dict(module.aux_outputs)
        module.eval()
        assert _flops(module, x) == 2 * 2 * inference.totals.macs
        assert module.aux_outputs == {}
    assert set(heads) == {r.path for r in training.records if r.kind == "aux"}
    for path, out in heads.items():
        last = [r for r in training.layers() if r.path.startswith(path + ".")][-1]
        assert tuple(out.shape[1:]) == last.output_shape  # a flat vector: (classes,)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "builder"), [("inception-v3", "inception_v3"), ("googlenet-torchvision", "googlenet")]
)
def test_aux_parameters_are_torchvisions_tensor_by_tensor(name: str, builder: str) -> None:
    torchvision = pytest.importorskip("torchvision")
    ours = {
        n: tuple(p.shape)
        for n, p in api.build(name, device="meta", aux=True).named_parameters()
        if n.startswith(("aux", "AuxLogits"))
    }
    model = getattr(torchvision.models, builder)(weights=None, aux_logits=True, init_weights=False)
    theirs = {n: tuple(p.shape) for n, p in model.named_parameters() if n.startswith(("aux", "AuxLogits"))}
    assert ours == theirs and len(ours) >= 8
    assert sum(p.numel() for p in model.parameters()) == api.analyze(name, aux=True).totals.params


def test_documented_figures_of_the_training_view(tmp_path: Path) -> None:
    figures = """\
    documented:
      - {figure: params, value: 260, source: "224 + 36"}
      - {figure: params, value: 305, aux: true, source: "224 + 45 + 36"}
    """
    report = api.check(_spec(tmp_path, AUX_SPEC + figures))
    assert report.ok and [r.computed for r in report.results] == [260, 305]
    assert report.results[1].figure.label == "params with aux heads"
    with pytest.raises(SpecError, match="'aux' must be true or false"):
        api.check(_spec(tmp_path, AUX_SPEC + figures.replace("aux: true", "aux: 1")))
