"""The training options and the ``--train`` view through the CLI: the transfer-learning figures of the issue,
machine output, clear errors, and every figure whole at 80 and 200 columns."""

from __future__ import annotations

import json

import pytest
from test_widths import check_fits, cli_run

from cnncost import api


def classifier(name: str, **variables: object) -> str:
    """The path of a network's last layer with parameters (its classifier), as the analysis names it."""
    report = api.analyze(name, variables=variables or None)
    return [r for r in report.layers() if r.params][-1].path


def test_mobilenet_v2_new_head_trains_3843_params_for_barely_more_than_inference() -> None:
    head = classifier("mobilenet-v2", classes=3)
    text = cli_run("table", "mobilenet-v2", "--set", "classes=3", "--trainable", head, width=120)
    assert "trainable params      3,843" in text
    assert "frozen params     2,223,872" in text  # 2,227,715 − 3,843
    train = cli_run("table", "mobilenet-v2", "--set", "classes=3", "--trainable", head, "--train", width=120)
    train = " ".join(train.split())  # free text wraps
    assert "a training step is 1.00× inference's MACs: backward adds 0.0013% to the forward pass" in train
    # 3,840 / 299,498,112 = 0.00128 %; step = 299,498,112 + 3,840
    assert "299,501,952" in train and "no layer computes an input gradient" in train


def test_resnet18_train_view_per_image_and_per_step() -> None:
    text = " ".join(cli_run("table", "resnet18", "--train", "--batch", "2", width=200).split())
    # forward 1,814,073,344; backward 3,510,132,736 per image; the step 5,324,206,080, × 2 = 10,648,412,160
    for figure in ("1,814,073,344", "3,510,132,736", "5,324,206,080", "10,648,412,160", "2.93×"):
        assert figure in text, figure
    assert "batchnorm in train mode" in text and "dropout active" in text


def test_bn_eval_lowers_the_batchnorm_backward() -> None:
    data = json.loads(cli_run("table", "resnet18", "--bn", "eval", "--format", "json", width=120))
    train = json.loads(cli_run("table", "resnet18", "--train", "--format", "json", width=120))
    assert data["training"]["bn"] == "eval" and train["training"]["bn"] == "train"
    assert data["training"]["backward_macs"] == train["training"]["backward_macs"] == 3_510_132_736
    assert data["training"]["backward_other"]["batchnorm"] < train["training"]["backward_other"]["batchnorm"]


def test_json_and_csv_carry_the_training_fields() -> None:
    data = json.loads(cli_run("table", "resnet18", "--train-from", "layer4", "--format", "json", width=120))
    t = data["training"]
    assert t["trainable_params"] + t["frozen_params"] == data["totals"]["params"]
    assert sum(r["trainable_params"] for r in data["layers"]) == t["trainable_params"]
    assert sum(r["backward_macs"] for r in data["layers"]) == t["backward_macs"]
    assert t["step_macs"] == t["forward_macs"] + t["backward_macs"]
    assert t["selection"] == "--train-from layer4"
    csv = cli_run("table", "resnet18", "--train-from", "layer4", "--format", "csv", width=120).splitlines()
    header = csv[0].split(",")
    assert header[-5:] == ["trainable_params", "frozen_params", "backward_macs", "grad_input_macs", "grad_weight_macs"]
    column = header.index("trainable_params")
    assert sum(int(line.split(",")[column]) for line in csv[1:]) == t["trainable_params"]
    plain = cli_run("table", "resnet18", "--format", "csv", width=120).splitlines()[0]
    assert "trainable_params" not in plain  # no training asked: the CSV is as before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--trainable", "clasifier"), "--trainable 'clasifier' matches no row of resnet18"),
        (("--freeze", "layer9.*"), "--freeze 'layer9.*' matches no row of resnet18"),
        (("--train-from", "layer9"), "--train-from 'layer9' is no row of resnet18"),
        (("--bn", "test"), "--bn 'test' is not a batchnorm mode"),
    ],
)
def test_bad_training_options_are_one_clear_line(args: tuple[str, ...], message: str) -> None:
    import sys

    from typer.testing import CliRunner

    from cnncost import cli

    with CliRunner().isolation(env={"COLUMNS": "120", "NO_COLOR": "1", "CNNCOST_DEBUG": None}) as (out, err, _):
        code = cli.main(["table", "resnet18", *args])
        sys.stdout.flush()
        said, printed = err.getvalue().decode("utf-8"), out.getvalue()
    assert code == 2
    assert message in said and "Traceback" not in said
    assert not printed


@pytest.mark.parametrize(
    "args",
    [
        ("table", "resnet18", "--train", "--batch", "256"),
        ("table", "resnet50", "--train", "--depth", "1", "--train-from", "layer4"),
        ("table", "resnet18", "--freeze", "layer1.*"),
    ],
)
def test_train_views_fit_80_and_200_columns(args: tuple[str, ...]) -> None:
    check_fits(args)


def test_compare_carries_trainable_params_and_the_step() -> None:
    head = classifier("mobilenet-v2", classes=3)
    other = classifier("resnet18", classes=3)
    args = ("compare", "mobilenet-v2", "resnet18", "--set", "classes=3", "--trainable", head, "--trainable", other)
    assert head == "classifier.1" and other == "fc"  # each pattern matches in one of the networks
    data = json.loads(cli_run(*args, "--format", "json", width=120))
    first, second = (n["training"] for n in data["networks"])
    assert first["trainable_params"] == 3_843 and second["trainable_params"] == 512 * 3 + 3  # 1,539
    text = cli_run(*args, width=200)
    assert "trainable" in text and "3,843" in text and "1,539" in text
    assert num_in(text, first["step_macs"]) and num_in(text, second["step_macs"])
    csv = cli_run(*args, "--format", "csv", width=120).splitlines()
    header = csv[0].split(",")
    total = dict(zip(header, csv[1].split(","), strict=True))
    assert total["mobilenet-v2:trainable_params"] == "3843" and total["resnet18:trainable_params"] == "1539"
    check_fits(args)


def num_in(text: str, n: int) -> bool:
    return f"{n:,}" in text


def test_compare_refuses_a_pattern_that_matches_in_no_network() -> None:
    import sys

    from typer.testing import CliRunner

    from cnncost import cli

    with CliRunner().isolation(env={"COLUMNS": "120", "NO_COLOR": "1", "CNNCOST_DEBUG": None}) as (_out, err, _):
        code = cli.main(["compare", "mobilenet-v2", "resnet18", "--trainable", "clasifier.1"])
        sys.stdout.flush()
        said = err.getvalue().decode("utf-8")
    assert code == 2
    assert "--trainable 'clasifier.1' matches no row of mobilenet-v2, resnet18" in said
