"""Every public function of ``cnncost.api`` with arguments of the wrong Python type: only ``TypeError`` (the wrong
type) or a ``CnnCostError`` (a refused value) may escape — never AttributeError, KeyError, …

A ``pathlib.Path`` is accepted wherever a spec is: it names a spec file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cnncost import api
from cnncost.errors import CnnCostError

LENET5 = Path(__file__).resolve().parents[1] / "architectures" / "lenet5.yaml"

BAD: list[Any] = [["lenet5"], {"lenet5": 1}, {1, 2}, 1.5, object(), b"lenet5", True, 3, -1, float("nan"), ("a", "b")]


def _quick() -> Any:
    from cnncost.bench.config import BenchConfig

    return BenchConfig(device="cpu", warmup_s=0.0, min_time_s=0.0, repeats=3)


#: function → (positional arguments, keyword arguments) of a valid call, and the arguments to spoil.
CALLS: dict[str, tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], bool]] = {
    "resolve": (api.resolve, ("lenet5",), {"size": None, "variables": None}, False),
    "analyze": (api.analyze, ("lenet5",), {"size": None, "batch": 1, "variables": None}, False),
    "compare": (api.compare, ("lenet5", "conv5x5"), {"size": None, "batch": 1, "variables": None, "depth": None},
                False),
    "check": (api.check, ("lenet5",), {}, False),
    "library_summaries": (api.library_summaries, (None,), {}, False),
    "memory": (api.memory, ("lenet5",), {"size": None, "batch": 1, "variables": None, "dtype": "fp32",
                                         "optimizer": "adam", "trainable": None, "device": "cuda"}, False),
    "library_entries": (api.library_entries, (None,), {}, False),
    "spec_source": (api.spec_source, ("lenet5",), {}, False),
    "build": (api.build, ("lenet5",), {"size": None, "variables": None, "device": "meta"}, True),
    "verify": (api.verify, ("lenet5",), {"size": None, "batch": 1, "variables": None, "fvcore": False}, True),
    "analyze_module": (api.analyze_module, ("MODULE", (3, 32, 32)), {"batch": 1, "name": None}, True),
    "bench": (api.bench, ("lenet5",), {"config": None, "size": None, "variables": None, "progress": None}, True),
    "analyze_training": (
        api.analyze_training,
        ("lenet5",),
        {"size": None, "batch": 1, "variables": None, "freeze": (), "trainable": (), "train_from": None, "bn": "train"},
        False,
    ),
    "compare_training": (api.compare, ("lenet5", "conv5x5"), {"training": {"bn": "eval"}}, False),
    "bench_train": (
        api.bench_train,
        ("lenet5",),
        {"config": None, "size": None, "variables": None, "train_from": None, "bn": "train", "progress": None},
        True,
    ),
}


def _cases() -> list[Any]:
    cases = []
    for name, (_fn, args, kwargs, torch) in CALLS.items():
        marks = [pytest.mark.torch] if torch else []
        slots = [f"arg{i}" for i in range(len(args))] + list(kwargs)
        for slot in slots:
            for i, bad in enumerate(BAD):
                cases.append(pytest.param(name, slot, bad, id=f"{name}-{slot}-{i}", marks=marks))
    return cases


@pytest.mark.parametrize(("name", "slot", "bad"), _cases())
def test_wrong_types_raise_type_error_or_cnncost_error(name: str, slot: str, bad: Any) -> None:
    fn, args, kwargs, torch = CALLS[name]
    if torch:
        pytest.importorskip("torch")
    args, kwargs = list(args), dict(kwargs)
    if name == "analyze_module":
        from torch import nn

        args[0] = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    if name in ("bench", "bench_train"):
        kwargs["config"] = _quick()
    if slot.startswith("arg"):
        args[int(slot[3:])] = bad
    else:
        kwargs[slot] = bad
    try:
        fn(*args, **kwargs)
    except (TypeError, CnnCostError) as exc:
        assert "\n" not in str(exc) or isinstance(exc, TypeError)
    except BaseException as exc:
        pytest.fail(f"{name}({slot}={bad!r}) raised {type(exc).__name__}: {exc}")


@pytest.mark.parametrize("name", ["resolve", "analyze", "compare", "check"])
def test_a_path_is_a_spec_file(name: str) -> None:
    fn, args, kwargs, _ = CALLS[name]
    by_path = fn(LENET5, *args[1:], **kwargs)
    by_name = fn(*args, **kwargs)
    if name == "check":
        assert len(by_path.results) == len(by_name.results)
    elif name == "compare":
        assert by_path.reports[0].totals == by_name.reports[0].totals
    else:
        assert by_path == by_name if name == "resolve" else by_path.totals == by_name.totals
