"""The index of bundled names → files that reads no YAML (``library._scan``): the same answers as parsing every
file, doubt on anything it does not fully understand, and never a name resolved to another file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncost.spec import library


def test_the_scan_equals_the_full_index() -> None:
    full = {name: (entry.file, entry.variant) for name, entry in library._index().items()}
    assert library._names() == full
    assert library.names() == [e.name for e in library.entries()]
    assert library.names("resnet*") == [e.name for e in library.entries("resnet*")]
    assert library.names("vgg") == [e.name for e in library.entries("vgg")]
    assert library.bundled_files() == sorted({e.file for e in library.entries()})


@pytest.mark.parametrize("path", sorted(library.bundled_dir().glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_file_scans_without_doubt(path: Path) -> None:
    """Each bundled file is understood by the scan (so no YAML is parsed to find a name), and agrees with YAML."""
    scanned = library._scan(path.read_text(encoding="utf-8"))
    assert scanned is not None
    doc = library._bundled_doc(path)
    assert scanned[0] == doc["name"]
    assert list(scanned[1]) == [str(n) for n in doc.get("variants") or {}]


GOOD = "name: net\ndescription: x\nvariants:\n  a:\n    description: A\n  b-2: {variables: {x: 1}}\nlayers: []\n"


def test_a_plain_file_scans() -> None:
    assert library._scan(GOOD) == ("net", ("a", "b-2"))
    assert library._scan("name: solo   # a comment\nlayers:\n  - relu\n") == ("solo", ())


@pytest.mark.parametrize(
    "text",
    [
        "name: 'quoted'\n",  # quotes
        'name: "net"\n',
        "name: yes\n",  # YAML 1.1 reads it as a boolean
        "name: null\n",
        "name: 123\n",  # a number
        "name: &a net\n",  # an anchor
        "name: !!str net\n",  # a tag
        "name: net\nname: other\n",  # duplicate key
        "name: net\nvariants: {a: {}}\n",  # a flow mapping
        "name: net\nvariants:\n  a: {}\n a2: {}\n",  # odd indentation
        "name: net\nvariants:\n  'a': {}\n",  # a quoted variant key
        "name: net\nvariants:\n  a: {}\n  a: {}\n",  # a duplicate variant
        "name: net\nvariants:\n  ? a\n  : {}\n",  # a complex key
        "name: net\nvariants:\n  <<: *base\n",  # a merge key
        "name: net\nvariants:\n",  # empty
        "---\nname: net\n",  # document markers
        "name: net\ninput: [1,\n2]\n",  # a flow collection across lines
        "\tname: net\n",  # a tab
        "description: no name\n",
        "- a list\n",
    ],
)
def test_doubt_on_anything_unusual(text: str) -> None:
    assert library._scan(text) is None


def test_a_name_never_resolves_to_another_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the scan ever disagreed with the file it picked, ``locate`` falls back to the full index."""
    real = library._names()
    path = next(p for p, v in real.values() if v is None)
    wrong = {**real, "resnet50": (path, None)}  # a scan that points resnet50 at another file
    library._names.cache_clear()
    monkeypatch.setattr(library, "_names", lambda: wrong)
    found = library.locate("resnet50")
    assert (Path(found.file), found.variant) == (library._index()["resnet50"].file, "resnet50")
