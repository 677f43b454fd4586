"""Name lookup: a bare word is always a bundled network, never a file that happens to sit in the current folder.

A path needs a '/' or a .yaml/.yml suffix; a bare word that names no bundled network but a file gets a hint to
write ./NAME.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnncost import api
from cnncost.errors import NotFoundError

FORGED = (
    "name: vgg16\ninput: [8, 8, 3]\n"
    "documented:\n  - {figure: params, value: 0, source: forged}\n"
    "layers:\n  - relu\n"
)


def _check_rows(names: tuple[str, ...] = ()) -> list[tuple[str, str, object, str]]:
    report = api.check(*names)
    return [(r.figure.network, r.figure.label, r.computed, r.status) for r in report.results]


@pytest.mark.parametrize("content", [FORGED.encode(), b"\x80PK\x03\x04 not a spec at all"], ids=["forged", "junk"])
def test_a_file_in_the_current_folder_never_shadows_a_bundled_network_in_check(
    content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    honest = _check_rows(("vgg16",))
    assert len(honest) >= 7 and all(network == "vgg16" for network, *_ in honest)
    (tmp_path / "vgg16").write_bytes(content)
    assert _check_rows(("vgg16",)) == honest
    library = _check_rows()
    assert [row for row in library if row[0] == "vgg16"] == honest
    assert all(source != "forged" for source in (r.figure.source for r in api.check().results))


@pytest.mark.parametrize("name", ["lenet5", "resnet50"])
def test_a_file_named_like_a_bundled_network_does_not_replace_it(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = api.analyze(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text("name: impostor\ninput: [8, 8, 3]\nlayers:\n  - relu\n", encoding="utf-8")
    assert api.analyze(name) == expected
    assert api.analyze(f"./{name}").name == "impostor"  # the file, named as a path


def test_a_bare_word_naming_only_a_file_says_how_to_use_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mynet").write_text("name: mynet\ninput: [8, 8, 3]\nlayers:\n  - relu\n", encoding="utf-8")
    with pytest.raises(NotFoundError) as info:
        api.analyze("mynet")
    assert "no network named 'mynet'" in str(info.value)
    assert "to use the file, write ./mynet" in str(info.value)
    assert api.analyze("./mynet").name == "mynet"
    assert api.analyze(os.path.join(str(tmp_path), "mynet")).name == "mynet"


def test_without_such_a_file_the_hint_suggests_close_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFoundError) as info:
        api.analyze("lenett5")
    assert "did you mean 'lenet5'" in str(info.value) and "./" not in str(info.value)
