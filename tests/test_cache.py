"""The library cache behind ``cnncost list``: same answers as computing, never stale, never in the way."""

from __future__ import annotations

from pathlib import Path

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
    assert written.read_text(encoding="utf-8").startswith("[")


def test_the_key_follows_every_spec_byte(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text("name: a\n", encoding="utf-8")
    before = cache.library_key([spec])
    spec.write_text("name: b\n", encoding="utf-8")
    assert cache.library_key([spec]) != before


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
