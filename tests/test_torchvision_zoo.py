"""``torchvision:NAME`` through torchvision's registry: every kind of model, never a download; detection models
by an announced real forward on the CPU. Skips without torchvision (run it in a venv that has it)."""

from __future__ import annotations

import ast
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent / "cnncost"

#: Names whose call would fetch something from the network.
#: What code that reaches the network would import or call. Read from the syntax tree, not the text, so a
#: docstring's "requests" or "socket" is not mistaken for a call.
NETWORK_MODULES = ("requests", "httpx", "socket", "urllib", "http", "torch.hub", "ftplib", "aiohttp")
DOWNLOAD_NAMES = frozenset(
    {
        "load_state_dict_from_url",
        "download_url",
        "download_and_extract_archive",
        "urlopen",
        "urlretrieve",
        "get_state_dict",
        "hub",
    }
)


def _network_uses(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute) and node.attr in DOWNLOAD_NAMES:
            found.append((node.lineno, node.attr))
            continue
        elif isinstance(node, ast.Name) and node.id in DOWNLOAD_NAMES:
            found.append((node.lineno, node.id))
            continue
        else:
            continue
        found += [(node.lineno, n) for n in names if any(n == m or n.startswith(m + ".") for m in NETWORK_MODULES)]
    return found


def test_the_network_check_finds_network_code() -> None:
    sample = "import socket\nfrom urllib.request import urlopen\nimport torch.hub\n"
    sample += "x = torch.hub.load_state_dict_from_url(u)\n"
    assert len(_network_uses(ast.parse(sample))) >= 4
    assert _network_uses(ast.parse('"""requests and a socket, in words"""\n')) == []


def test_no_cnncost_module_calls_download_helpers() -> None:
    found = [
        f"{path.relative_to(ROOT.parent)}:{line}: {what}"
        for path in sorted(ROOT.rglob("*.py"))
        for line, what in _network_uses(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, found


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every way out to the network raises, and is recorded."""
    tried: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        tried.append(repr(args[:2]))
        raise OSError("network access during a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(urllib.request, "urlretrieve", refuse)
    import torch.hub

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    return tried


def test_unknown_torchvision_name_suggests() -> None:
    pytest.importorskip("torchvision")
    from cnncost.errors import NotFoundError
    from cnncost.torch.module import load_module_target

    with pytest.raises(NotFoundError, match=r"torchvision has no model 'resnet5'.*did you mean"):
        load_module_target("torchvision:resnet5")


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("resnet18", (3, 64, 64)),
        ("fcn_resnet50", (3, 64, 64)),  # segmentation: its builder would fetch backbone weights by default
        ("deeplabv3_mobilenet_v3_large", (3, 64, 64)),
        ("lraspp_mobilenet_v3_large", (3, 64, 64)),
    ],
)
def test_registry_models_offline(offline: list[str], name: str, shape: tuple[int, int, int]) -> None:
    pytest.importorskip("torchvision")
    from cnncost import api

    started = time.monotonic()
    report = api.analyze_module(f"torchvision:{name}", shape)
    assert report.totals.macs > 0 and report.totals.params > 0
    assert not offline
    print(f"{name}: {time.monotonic() - started:.2f} s")


@pytest.mark.torch
@pytest.mark.parametrize(
    "name", ["fasterrcnn_mobilenet_v3_large_320_fpn", "retinanet_resnet50_fpn", "ssdlite320_mobilenet_v3_large"]
)
def test_detection_models(offline: list[str], name: str) -> None:
    torchvision = pytest.importorskip("torchvision")
    from cnncost import api
    from cnncost.errors import ShapeError
    from cnncost.torch.module import analyze_module

    with pytest.raises(ShapeError) as info:
        api.analyze_module(f"torchvision:{name}", (3, 64, 64))
    text = str(info.value)
    assert "--real-forward" in text and "\n" not in text
    if name.startswith("ssd"):
        assert "not parameters or buffers" in text and "input shape" not in text  # the true cause
    # Small images keep the real forward short (2 CPU cores): the builders' own resize bounds are lowered.
    kwargs: dict[str, Any] = {"min_size": 64, "max_size": 64} if not name.startswith("ssd") else {"size": (64, 64)}
    if name.startswith("ssd"):
        model = torchvision.models.get_model(name, weights=None, weights_backbone=None)
        model.transform.min_size, model.transform.max_size, model.transform.fixed_size = (64,), 64, (64, 64)
    else:
        model = torchvision.models.get_model(name, weights=None, weights_backbone=None, **kwargs)
    started = time.monotonic()
    report = analyze_module(model, (3, 64, 64), real_forward=True)
    took = time.monotonic() - started
    assert report.totals.macs > 0
    assert "run for real on the CPU with random weights" in report.description
    assert "data-dependent operators" in report.description and "aten.nonzero" in report.description
    assert not offline
    print(f"{name}: real forward {took:.2f} s; {report.description}")
