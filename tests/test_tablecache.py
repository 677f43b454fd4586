"""The short road's cache of ``cnncost table NAME`` text (``cnncost.tablecache``): a hit is exactly what computing
gives, any change to what the text depends on is a new key, and an entry that is not ours is never served."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cnncost import api, entry, tablecache
from cnncost.console import render_options

OPTIONS = {"width": 100, "color": False}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CNNCOST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNCOST_NO_CACHE", raising=False)
    return tmp_path / "cache"


def test_a_hit_is_the_computed_text_and_analyzes_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = entry.plan_of(["table", "resnet18", "--batch", "8", "--set", "classes=10"])
    assert plan is not None
    computed = entry.output(plan)
    assert computed is not None and "resnet18" in computed
    assert len(list((cache / "tables").glob("*.txt"))) == 1

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cache hit must not analyze")

    monkeypatch.setattr(api, "analyze", refuse)
    assert entry.output(plan) == computed


def test_the_key_follows_everything_the_text_depends_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tablecache.key_of("vgg16", {"batch": 1}, OPTIONS)
    assert base is not None and base == tablecache.key_of("vgg16", {"batch": 1}, dict(OPTIONS))
    assert base != tablecache.key_of("vgg16", {"batch": 2}, OPTIONS)
    assert base != tablecache.key_of("vgg16", {"batch": 1, "depth": 1}, OPTIONS)
    assert base != tablecache.key_of("vgg19", {"batch": 1}, OPTIONS)
    assert base != tablecache.key_of("vgg16", {"batch": 1}, {**OPTIONS, "width": 80})
    assert base != tablecache.key_of("vgg16", {"batch": 1}, {**OPTIONS, "color": True})
    # a bundled spec edited: another key
    specs = tmp_path / "architectures"
    shutil.copytree(Path(api.library.bundled_dir()), specs)
    monkeypatch.setattr(tablecache, "bundled_dir", lambda: specs)
    assert tablecache.key_of("vgg16", {"batch": 1}, OPTIONS) == base
    vgg = specs / "vgg.yaml"
    vgg.write_text(vgg.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert tablecache.key_of("vgg16", {"batch": 1}, OPTIONS) != base


@pytest.mark.parametrize("name", ["my.yaml", "nets/vgg.yaml", "resnet.yaml:resnet50", "./vgg16", "-x", ""])
def test_only_a_bare_network_name_is_cached(name: str) -> None:
    assert tablecache.key_of(name, {}, OPTIONS) is None


def test_an_entry_that_is_not_ours_is_never_served(cache: Path) -> None:
    key = tablecache.key_of("lenet5", {}, OPTIONS)
    assert key is not None
    tablecache.write(key, "the text\n")
    assert tablecache.read(key) == "the text\n"
    path = cache / "tables" / f"{key}.txt"
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"the text", b"the test"))  # edited by hand
    assert tablecache.read(key) is None
    path.write_bytes(raw)
    other = cache / "tables" / ("0" * 40 + ".txt")
    other.write_bytes(raw)  # copied under another key
    assert tablecache.read("0" * 40) is None
    path.write_bytes(raw[:20])  # truncated
    assert tablecache.read(key) is None
    (cache / "secret").write_bytes(b"x" * 32)  # another secret: nothing it did not sign
    path.write_bytes(raw)
    assert tablecache.read(key) is None


def test_off_bounded_and_silent_on_failure(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tablecache, "MAX_ENTRIES", 2)
    for i in range(4):
        tablecache.write(f"{i:040d}", f"text {i}\n")
    assert sorted(p.stem for p in (cache / "tables").glob("*.txt")) == [f"{2:040d}", f"{3:040d}"]
    monkeypatch.setenv("CNNCOST_NO_CACHE", "1")
    assert tablecache.read(f"{3:040d}") is None
    tablecache.write(f"{5:040d}", "text\n")  # off: nothing written
    assert not (cache / "tables" / f"{5:040d}.txt").exists()
    monkeypatch.delenv("CNNCOST_NO_CACHE")
    monkeypatch.setenv("CNNCOST_CACHE_DIR", "/proc/cnncost-cannot-write-here")
    tablecache.write(f"{6:040d}", "text\n")  # a folder it cannot write: the answer stands, uncached
    assert render_options()  # and the short road still renders
