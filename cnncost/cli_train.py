"""The training options of ``cnncost table`` (and ``bench``), declared once: which layers train, batchnorm's
mode, and the ``--train`` view. The commands stay in ``cnncost.cli``; this module only parses."""

from __future__ import annotations

from typing import Annotated

import typer

from cnncost.errors import UsageError

FreezeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--freeze",
        metavar="PATTERN",
        help="freeze the layers at or under the rows matching PATTERN (a path or a glob: 'features.*'); "
        "repeatable; applied last, so it wins",
        show_default=False,
    ),
]
TrainableOption = Annotated[
    list[str] | None,
    typer.Option(
        "--trainable",
        metavar="PATTERN",
        help="train only the layers at or under the rows matching PATTERN (others frozen); repeatable",
        show_default=False,
    ),
]
TrainFromOption = Annotated[
    str | None,
    typer.Option(
        "--train-from",
        metavar="PATH",
        help="train the layer (or group) at PATH and everything after it; freeze everything before",
        show_default=False,
    ),
]
BnOption = Annotated[
    str,
    typer.Option(
        "--bn",
        metavar="train|eval",
        help="batchnorm in a training step: train (batch statistics, PyTorch's .train()) or eval (fixed)",
    ),
]
TrainOption = Annotated[
    bool,
    typer.Option("--train", help="the training view: forward + backward MACs per image and per step"),
]


def chosen(freeze: list[str] | None, trainable: list[str] | None, train_from: str | None, bn: str) -> bool:
    """Whether any training option other than ``--train`` itself was given."""
    return bool(freeze or trainable or train_from or bn != "train")


def train_kwargs(
    freeze: list[str] | None, trainable: list[str] | None, train_from: str | None, bn: str
) -> dict[str, object]:
    """The keyword arguments of ``api.analyze_training`` for the options given."""
    if bn not in ("train", "eval"):
        raise UsageError(f"--bn {bn!r} is not a batchnorm mode", hint="use --bn train or --bn eval")
    return {"freeze": tuple(freeze or ()), "trainable": tuple(trainable or ()), "train_from": train_from, "bn": bn}
