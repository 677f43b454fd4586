"""The library cache behind ``cnncost list``: same answers as computing, never stale, never in the way."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cnncost import api, cache


@pytest.fixture
def cache_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CNNCOST_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CNNCOST_NO_CACHE", raising=False)
    return tmp_path


def test_cached_summaries_equal_computed_ones(cache_in: Path) -> None:
    first = api.library_summaries()
    (written,) = cache_in.glob("library-*.json")
    again = api.library_summaries()
    computed = [api.analyze(e.name).summary() for e in api.library_entries()]
    assert first == again == computed
    assert [s.name for s in api.library_summaries("resnet1*")] == [
        "resnet18",
        "resnet101",
        "resnet110",
        "resnet152",
        "resnet1202",
    ]
    assert written.exists()


def test_a_corrupt_cache_is_recomputed_and_overwritten(cache_in: Path) -> None:
    api.library_summaries()
    (written,) = cache_in.glob("library-*.json")
    written.write_text("{not json", encoding="utf-8")
    assert api.library_summaries() == [api.analyze(e.name).summary() for e in api.library_entries()]
    assert json.loads(written.read_text(encoding="utf-8"))["entries"][0]["name"] == "alexnet"


def test_the_key_follows_every_spec_byte(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text("name: a\n", encoding="utf-8")
    before = cache.library_key([spec])
    spec.write_text("name: b\n", encoding="utf-8")
    assert cache.library_key([spec]) != before


def test_the_key_follows_the_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    """The totals come from the op registry's formulas (``cnncost/ops``), the resolver and the engine: the key
    reads every one of those files, so an edited formula is never served from the cache."""
    read: list[Path] = []
    original = Path.read_bytes

    def recording(self: Path) -> bytes:
        read.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", recording)
    cache.library_key([])
    package = Path(cache.__file__).resolve().parent
    for folder in ("ops", "spec", "analysis"):
        assert set(package.glob(f"{folder}/*.py")) <= set(read), folder
    assert {package / "ir.py", package / "limits.py", package / "cache.py"} <= set(read)


def test_no_cache_when_asked_or_unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNCOST_NO_CACHE", "1")
    assert cache.cache_dir() is None
    monkeypatch.delenv("CNNCOST_NO_CACHE")
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("CNNCOST_CACHE_DIR", str(blocker / "below-a-file"))
    calls: list[int] = []

    def compute() -> list:  # type: ignore[type-arg]
        calls.append(1)
        return []

    assert cache.library_summaries([], compute) == [] and calls == [1]


# ------------------------------------------------------------------- the cache never changes an answer


def _list_output(*args: str) -> str:
    from typer.testing import CliRunner

    from cnncost import cli

    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "160", "NO_COLOR": "1"}) as (out, err, _):
        code = cli.main(["list", *args])
        assert code == 0, err.getvalue()
        return out.getvalue().decode("utf-8")


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    """What ``list`` says with the cache off (CNNCOST_NO_CACHE=1): the whole library, one network, summaries."""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("CNNCOST_NO_CACHE", "1")
        return {"list": _list_output(), "vgg16": _list_output("vgg16"), "summaries": api.library_summaries()}


def _entries(data: Any) -> list[dict[str, Any]]:
    """The cached rows, whatever envelope holds them."""
    rows = data if isinstance(data, list) else data["entries"]
    assert isinstance(rows, list)
    return rows


def _row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in rows if r["name"] == name)


def _set(name: str, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def plant(rows: list[dict[str, Any]]) -> None:
        _row(rows, name)[key] = value

    return plant


PLANTS: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    "wrong-number": _set("vgg16", "params", 138357545),
    "wrong-macs": _set("resnet50", "macs", 1),
    "negative": _set("vgg16", "params", -138357544),
    "float": _set("vgg16", "params", 1.5),
    "float-whole": _set("vgg16", "macs", 15470264320.0 + 1024),
    "string": _set("vgg16", "params", "12"),
    "bool": _set("lenet5", "params", True),
    "other-negative": _set("vgg16", "other", {"bias": -1}),
    "missing": lambda rows: rows.remove(_row(rows, "vgg16")),
    "duplicated": lambda rows: rows.append(dict(_row(rows, "lenet5"))),
    "extra-name": lambda rows: rows.append(dict(_row(rows, "lenet5"), name="vgg17")),
    "renamed": _set("vgg16", "name", "vgg17"),
    "wrong-shape": _set("vgg16", "input", [8, 8, 3]),
    "bad-shape": _set("vgg16", "output", [0, -1]),
    "shape-text": _set("vgg16", "input", "224x224x3"),
    "description": _set("vgg16", "description", "a forged description"),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_entry_is_never_served(plant: str, cache_in: Path, fresh: dict[str, Any]) -> None:
    assert _list_output() == fresh["list"]  # writes the cache
    (written,) = cache_in.glob("library-*.json")
    data = json.loads(written.read_text(encoding="utf-8"))
    PLANTS[plant](_entries(data))
    written.write_text(json.dumps(data), encoding="utf-8")
    assert _list_output() == fresh["list"]
    assert _list_output("vgg16") == fresh["vgg16"]
    assert api.library_summaries() == fresh["summaries"]


def test_a_valid_cache_is_served_without_computing(cache_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = api.library_summaries()

    def no_analysis(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("computed although the cache is valid")

    monkeypatch.setattr(api, "analyze", no_analysis)
    assert api.library_summaries() == expected


def test_a_file_named_like_a_network_in_one_folder_never_poisons_the_cache(
    cache_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: dict[str, Any]
) -> None:
    expected = fresh["list"]
    poisoned = tmp_path / "elsewhere"
    poisoned.mkdir()
    (poisoned / "vgg16").write_text("name: impostor\ninput: [8, 8, 3]\nlayers:\n  - relu\n", encoding="utf-8")
    monkeypatch.chdir(poisoned)
    assert _list_output() == expected
    monkeypatch.chdir(tmp_path)
    assert _list_output() == expected
    assert "impostor" not in _list_output("vgg16")


def test_an_edited_entry_with_a_plain_hash_recomputed_is_still_refused(cache_in: Path, fresh: dict[str, Any]) -> None:
    """Someone who edits a number and recomputes a SHA-256 of the content cannot forge the HMAC (no secret)."""
    import hashlib

    api.library_summaries()
    (written,) = cache_in.glob("library-*.json")
    data = json.loads(written.read_text(encoding="utf-8"))
    _row(data["entries"], "vgg16")["params"] = 1
    body = json.dumps(data["entries"], sort_keys=True, separators=(",", ":")).encode()
    data["mac"] = hashlib.sha256(data["key"].encode() + body).hexdigest()
    written.write_text(json.dumps(data), encoding="utf-8")
    assert api.library_summaries() == fresh["summaries"]
    (cache_in / "secret").unlink()  # without its secret no file is trusted
    assert api.library_summaries() == fresh["summaries"]
    assert (cache_in / "secret").stat().st_mode & 0o077 == 0
