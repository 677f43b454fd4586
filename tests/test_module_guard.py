"""``--module`` runs someone else's code: it must not hang, exit, print into JSON, build twice silently or
allocate without bound (``cnncost.torch.guard``)."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from clirun import cli_runner

pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _cli(*args: str) -> tuple[int, str, str]:
    return cli_runner(120)(*args)


def _file(tmp_path: Path, text: str, name: str = "net.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


NET = """
import torch.nn as nn

def net():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
"""


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ("import", "import time\nwhile True:\n    time.sleep(0.01)\n" + NET),
        ("import", "n = 0\nwhile True:\n    n += 1\n" + NET),  # a pure-Python loop, no sleep
        ("build", NET + "\ndef slow():\n    import time\n    time.sleep(60)\n"),
        (
            "forward",
            NET
            + textwrap.dedent(
                """
                class Loops(nn.Module):
                    def forward(self, x):
                        while True:
                            try:
                                x = x + 1
                            except Exception:  # user code that swallows errors still stops
                                pass

                def slow():
                    return Loops()
                """
            ),
        ),
    ],
)
def test_code_that_never_ends_is_stopped(tmp_path: Path, where: str, code: str) -> None:
    path = _file(tmp_path, code)
    target = f"{path}:{'net' if where == 'import' else 'slow'}"
    started = time.monotonic()
    status, out, err = _cli("table", "--module", target, "--input-shape", "3,8,8", "--timeout", "0.5")
    took = time.monotonic() - started
    assert status == 1 and out == "" and err.count("\n") == 1, err
    assert "did not finish within 0.5 s" in err and "--timeout" in err
    assert took < 20


def test_the_previous_alarm_handler_is_restored(tmp_path: Path) -> None:
    import signal

    from cnncost import api

    def mine(signum: int, frame: Any) -> None:
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        api.analyze_module(f"{_file(tmp_path, NET)}:net", (3, 8, 8), timeout=5)
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    finally:
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "code",
    [
        "import sys\nsys.exit(0)\n" + NET,
        NET + "\ndef quits():\n    exit()\n",
        NET
        + textwrap.dedent(
            """
            class Quits(nn.Module):
                def forward(self, x):
                    raise SystemExit(3)

            def quits():
                return Quits()
            """
        ),
    ],
)
def test_sys_exit_in_user_code_is_an_error(tmp_path: Path, code: str) -> None:
    path = _file(tmp_path, code)
    name = "net" if code.startswith("import sys") else "quits"
    status, out, err = _cli("table", "--module", f"{path}:{name}", "--input-shape", "3,8,8")
    assert status == 1 and out == "" and err.count("\n") == 1, (status, err)
    assert "called sys.exit(" in err


def test_printing_model_code_leaves_json_clean(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        """
        import torch.nn as nn
        print("hello from import")

        class Chatty(nn.Module):
            def __init__(self):
                super().__init__()
                print("hello from __init__")
                self.conv = nn.Conv2d(3, 4, 3)

            def forward(self, x):
                print("hello from forward")
                return self.conv(x)
        """,
    )
    for command in ("table", "explain"):
        status, out, err = _cli(command, "--module", f"{path}:Chatty", "--input-shape", "3,8,8", "--format", "json")
        assert status == 0, err
        data = json.loads(out)  # stdout is the JSON and nothing else
        assert data["name"].endswith("Chatty")
        assert "hello from import" in err or command == "explain"  # imported once per process run
        assert "hello from __init__" in err and "hello from forward" in err


COUNTED = """
import torch
import torch.nn as nn

CALLS = []

def counted():
    CALLS.append(1)
    return nn.Conv2d(3, 4, 3)

def needs_values():
    CALLS.append(1)
    n = int(torch.ones(2).sum().item())  # impossible on the meta device
    return nn.Conv2d(3, n, 3)
"""


def test_constructor_runs_once(tmp_path: Path) -> None:
    from cnncost import api

    path = _file(tmp_path, COUNTED, "counted.py")
    report = api.analyze_module(f"{path}:counted", (3, 8, 8))
    calls = [m for name, m in sys.modules.items() if name.startswith("_cnncost_user_") and hasattr(m, "CALLS")]
    assert [len(m.CALLS) for m in calls if m.__file__ == str(path)] == [1]
    assert "twice" not in report.description


def test_constructor_run_twice_says_why(tmp_path: Path) -> None:
    path = _file(tmp_path, COUNTED, "counted2.py")
    status, out, err = _cli("table", "--module", f"{path}:needs_values", "--input-shape", "3,8,8", "--format", "json")
    assert status == 0, err
    description = json.loads(out)["description"]
    assert "called twice" in description and "meta device" in description
    module = next(m for m in sys.modules.values() if getattr(m, "__file__", None) == str(path))
    assert len(module.CALLS) == 2


HUGE = """
import torch
import torch.nn as nn

def huge():
    torch.ones(2).sum().item()  # fails on the meta device: built again with real tensors
    return nn.Sequential(*[nn.Linear(16384, 16384) for _ in range(6)])  # 6.0 GiB of weights
"""


def test_a_real_build_over_the_bound_is_refused(tmp_path: Path) -> None:
    import resource

    path = _file(tmp_path, HUGE, "huge.py")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status, out, err = _cli("table", "--module", f"{path}:huge", "--input-shape", "16384")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert status == 1 and out == "" and err.count("\n") == 1, err
    assert "allocates more than 2.00 GiB" in err and "--max-memory" in err
    assert grown_kib < 3 * 1024 * 1024  # stopped long before 6 GiB were written
    status, _, err = _cli("table", "--module", f"{path}:huge", "--input-shape", "16384", "--max-memory", "0.5")
    assert status == 1 and "more than 512.0 MiB" in err


def test_real_forward_over_the_bound_is_refused_before_building(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        """
        import torch.nn as nn
        def big():
            return nn.Sequential(*[nn.Linear(16384, 16384) for _ in range(3)])  # 3.0 GiB, built on meta
        """,
        "big.py",
    )
    status, out, err = _cli("table", "--module", f"{path}:big", "--input-shape", "16384", "--real-forward")
    assert status == 1 and out == "" and err.count("\n") == 1, err
    assert "3.00 GiB of parameters and buffers" in err
    status, out, err = _cli("table", "--module", f"{path}:big", "--input-shape", "16384", "--format", "json")
    assert status == 0 and json.loads(out)["totals"]["params"] == 3 * (16384 * 16384 + 16384)


def test_real_forward_agrees_with_the_meta_analysis(tmp_path: Path) -> None:
    from cnncost import api

    path = _file(tmp_path, NET + "\n" + "import torch\ndef pooled():\n    return nn.Sequential(net(), "
                 "nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))\n", "real.py")
    meta = api.analyze_module(f"{path}:pooled", (3, 8, 8), batch=2)
    real = api.analyze_module(f"{path}:pooled", (3, 8, 8), batch=2, real_forward=True)
    assert real.totals == meta.totals
    assert [(r.path, r.macs, r.other) for r in real.records] == [(r.path, r.macs, r.other) for r in meta.records]
    assert "run for real on the CPU with random weights" in real.description
    assert "built a second time with real tensors" in real.description
    assert "no data-dependent operator ran" in real.description


def test_data_dependent_operators_are_named(tmp_path: Path) -> None:
    import torch
    from torch import nn

    from cnncost.errors import ShapeError
    from cnncost.torch.module import analyze_module

    class Picks(nn.Module):  # a detector's shape: keep what passes a threshold
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x: Any) -> Any:
            y = self.conv(x)
            return y[y > 0].sum() + torch.nonzero(y).shape[0]

    with pytest.raises(ShapeError) as info:
        analyze_module(Picks(), (3, 8, 8))
    assert "depends on tensor values" in str(info.value) and "--real-forward" in str(info.value)
    report = analyze_module(Picks(), (3, 8, 8), real_forward=True)
    assert report.find("conv").macs == 4 * 27 * 64
    assert "aten.nonzero ×1" in report.description and "aten.index ×1" in report.description


def test_stray_tensors_get_a_true_hint() -> None:
    import torch
    from torch import nn

    from cnncost.errors import ShapeError
    from cnncost.torch.module import analyze_module

    class Anchors(nn.Module):  # SSD's shape: tensors kept in a plain list, neither parameters nor buffers
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.boxes = [torch.ones(4)]

        def forward(self, x: Any) -> Any:
            return self.conv(x) * self.boxes[0].view(1, 4, 1, 1)

    with pytest.raises(ShapeError) as info:
        analyze_module(Anchors(), (3, 8, 8))
    text = str(info.value)
    assert "not parameters or buffers (boxes)" in text and "--real-forward" in text and "input shape" not in text
    assert analyze_module(Anchors(), (3, 8, 8), real_forward=True).find("conv").macs == 4 * 27 * 64
