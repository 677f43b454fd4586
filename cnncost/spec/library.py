"""Find specs: the bundled library (``architectures/``, shipped inside the wheel) and files named by path.

A bundled file defines one network (its ``name``) or a family (one network per entry of ``variants``). A user's
file is named by its path; a family file by ``PATH:VARIANT``.

The rule that tells the two apart looks at the text only, never at the disk: a bare word (``lenet5``,
``resnet50``) is ALWAYS a bundled network name, even when a file of that name sits in the current folder, so no
file can stand in for a bundled network (not in ``table``, and not in ``check`` over the library, the CI gate).
A path needs a ``/`` (``./lenet5``, ``specs/net``) or a ``.yaml`` / ``.yml`` suffix (``net.yaml``,
``family.yaml:VARIANT``). When a bare word names no bundled network but a file of that name exists, the error
says to write ``./NAME`` to use the file.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from cnncost.errors import NotFoundError, SpecError, suggest
from cnncost.frozen import frozen


@frozen
class Entry:
    """One network of the library."""

    name: str
    description: str
    file: Path
    variant: str | None


@frozen
class Located:
    """A spec document ready to resolve."""

    doc: Any
    file: str
    variant: str | None


def bundled_dir() -> Path:
    """The folder of bundled specs: inside the installed package, or the checkout's ``architectures/``."""
    from cnncost.cachefiles import bundled_dir as where

    return where()


def natural_key(name: str) -> list[Any]:
    """Sort resnet18 before resnet101: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


_BUNDLED_DOCS: dict[Path, Any] = {}


def _bundled_doc(path: Path) -> Any:
    """A bundled file, read once per process (``list`` resolves every network; families share a file).
    Resolution never mutates a document, so sharing it is safe."""
    if path not in _BUNDLED_DOCS:
        from cnncost.spec import yamlsafe  # YAML only when a file is read: `list` from its cache needs none

        _BUNDLED_DOCS[path] = yamlsafe.load(path)[0]
    return _BUNDLED_DOCS[path]


def _names_of(doc: Any, path: Path) -> list[tuple[str, Any]]:
    """(name, the variant's description) of every network a bundled document defines: its variants, else itself."""
    if not isinstance(doc, dict) or "name" not in doc:
        raise SpecError("bundled spec has no 'name'", file=str(path))
    variants = doc.get("variants") or {}
    return [(str(n), (v or {}).get("description")) for n, v in variants.items()] or [(str(doc["name"]), None)]


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, Entry]:
    index: dict[str, Entry] = {}
    for path in sorted(bundled_dir().glob("*.yaml")):
        doc = _bundled_doc(path)
        variants = isinstance(doc, dict) and doc.get("variants")
        for name, desc in _names_of(doc, path):
            if name in index:
                raise SpecError(
                    f"network '{name}' is defined twice", file=str(path), hint=f"also in {index[name].file}"
                )
            entry = Entry(name, str(desc or doc.get("description") or ""), path, name if variants else None)
            index[name] = entry
    return index


# ------------------------------------------------------------------ which file holds a name, without YAML
#
# `cnncost table resnet50` needs one file, not all of them: parsing every bundled spec to find it took about
# 65 ms. `_scan` reads the names a file defines from its text — the top-level `name:` and the keys directly
# under a top-level `variants:` — and answers None on anything it does not fully understand (quotes, flow
# collections, anchors, tags, tabs, words YAML reads as numbers, booleans or null, duplicates...), where that one
# file is parsed instead. `locate` then parses the one file it picked and checks that it defines the name, and
# any disagreement falls back to the full index, so a name can never resolve to another file than before.

_KEY_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_.+-]*):(?:[ ]+(.*))?\Z")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]*\Z")
#: Plain words a YAML loader may read as something other than a string (YAML 1.1 and 1.2 booleans and null).
_NOT_STRINGS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})
_DOUBTFUL = re.compile(r"[\t\r&*!|>%@`\"'{}\[\]?]")


def _plain_word(text: str) -> str | None:
    text = text.split(" #", 1)[0].strip()
    if not _WORD.match(text) or text.lower() in _NOT_STRINGS:
        return None
    return text


def _scan(text: str) -> tuple[str, tuple[str, ...]] | None:
    """(name, variant names) a bundled file defines, read from its text alone; None on any doubt."""
    name: str | None = None
    variants: list[str] | None = None
    region = False  # inside the block under `variants:`
    indent = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line.startswith(("---", "...", "%")):
            return None
        depth = len(line) - len(line.lstrip(" "))
        if depth == 0:
            region = False
            if line.count("[") != line.count("]") or line.count("{") != line.count("}"):
                return None
            match = _KEY_LINE.match(line.split(" #", 1)[0].rstrip())
            if match is None:
                return None
            key, value = match.group(1), (match.group(2) or "").strip()
            if key == "name":
                if name is not None or _DOUBTFUL.search(value):
                    return None
                name = _plain_word(value)
                if name is None:
                    return None
            elif key == "variants":
                if variants is not None or value:
                    return None
                variants, region, indent = [], True, 0
            continue
        if not region:
            continue
        if indent == 0:
            indent = depth
        if depth < indent:
            return None
        if depth == indent:
            match = _KEY_LINE.match(line[depth:].split(" #", 1)[0].rstrip())
            if match is None or _DOUBTFUL.search(match.group(1)):
                return None
            word = _plain_word(match.group(1))
            if word is None or word in (variants or []):
                return None
            assert variants is not None
            variants.append(word)
    if name is None or variants == []:
        return None
    return name, tuple(variants or ())


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, tuple[Path, str | None]]:
    """Name → (file, variant) of every bundled network, from ``_scan`` (a doubtful file is parsed instead)."""
    found: dict[str, tuple[Path, str | None]] = {}
    for path in sorted(bundled_dir().glob("*.yaml")):
        scanned = _scan(path.read_text(encoding="utf-8"))
        if scanned is None:
            doc = _bundled_doc(path)
            variants = isinstance(doc, dict) and bool(doc.get("variants"))
            pairs = [(name, name if variants else None) for name, _ in _names_of(doc, path)]
        else:
            pairs = [(v, v) for v in scanned[1]] or [(scanned[0], None)]
        for name, variant in pairs:
            if name in found:  # the full index words the error
                return {name: (entry.file, entry.variant) for name, entry in _index().items()}
            found[name] = (path, variant)
    return found


def names(pattern: str | None = None) -> list[str]:
    """The names ``entries(pattern)`` gives, in the same natural order, without reading any file as YAML."""
    import fnmatch

    found = list(_names())
    if pattern:
        glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
        found = [n for n in found if fnmatch.fnmatch(n, glob)]
    return sorted(found, key=natural_key)


def bundled_files() -> list[Path]:
    """Every bundled spec file that defines a network, sorted."""
    return sorted({path for path, _ in _names().values()})


def entries(pattern: str | None = None) -> list[Entry]:
    """Bundled networks whose name matches ``pattern`` (a glob, or a substring), in natural order."""
    import fnmatch

    found = list(_index().values())
    if pattern:
        glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
        found = [e for e in found if fnmatch.fnmatch(e.name, glob)]
    return sorted(found, key=lambda e: natural_key(e.name))


def looks_like_path(spec: str) -> bool:
    """Whether ``spec`` names a file rather than a bundled network — by its text alone (see the module doc)."""
    return (
        "/" in spec or "\\" in spec or spec.endswith((".yaml", ".yml")) or ".yaml:" in spec or ".yml:" in spec
    )


def _exists(text: str, *, file_only: bool = False) -> bool:
    """Whether a path names something, False for names the system cannot even look up (too long, NUL bytes):
    ``yamlsafe.read_text`` then says what is wrong with them."""
    try:
        path = Path(text)
        return path.is_file() if file_only else path.exists()
    except (OSError, ValueError):
        return False


def locate_all(spec: str | Path) -> tuple[Located, ...]:
    """Like ``locate``, but a family file named without ``:VARIANT`` gives every network it defines."""
    try:
        return (locate(spec),)
    except _Family as family:
        return tuple(Located(family.doc, family.family_file, name) for name in family.names)


class _Family(SpecError):
    def __init__(self, message: str, *, doc: Any, file: str, names: list[str], hint: str) -> None:
        super().__init__(message, file=file, hint=hint)
        self.doc, self.names, self.family_file = doc, names, file


def locate(spec: str | Path) -> Located:
    """The document for a bundled name, a path, or ``PATH:VARIANT``."""
    if isinstance(spec, Path) or looks_like_path(spec):
        text = str(spec)
        variant = None
        path = Path(text)
        if not _exists(text) and ":" in text:
            head, _, tail = text.rpartition(":")
            if _exists(head):
                path, variant = Path(head), tail
        from cnncost.spec import yamlsafe

        doc, _ = yamlsafe.load(path)
        file = str(path)
        if variant is None and isinstance(doc, dict) and isinstance(doc.get("variants"), dict) and doc["variants"]:
            names = [str(n) for n in doc["variants"]]
            raise _Family(
                f"this file defines {len(names)} network{'s' if len(names) > 1 else ''} "
                f"({', '.join(names[:6])}{'…' if len(names) > 6 else ''})",
                doc=doc,
                file=file,
                names=names,
                hint=f"name one as {file}:{names[0]}",
            )
        return Located(doc, file, variant)
    scanned = _names().get(spec)
    if scanned is not None:
        path, variant = scanned
        doc = _bundled_doc(path)
        defined = dict(_names_of(doc, path))
        has_variants = isinstance(doc, dict) and bool(doc.get("variants"))
        if spec in defined and (variant is not None) == has_variants:
            return Located(doc, str(path), variant)
    index = _index()  # not found, or any doubt: the full index decides (and words the error)
    if spec not in index:
        if _exists(spec, file_only=True):
            hint = (
                f"a bare word is always a bundled network name; to use the file, write ./{spec} "
                "(a path needs a '/' or a .yaml/.yml suffix)"
            )
        else:
            hint = (
                suggest(spec, index) or "run 'cnncost list' to see the bundled networks, or give a path to a .yaml"
            )
        raise NotFoundError(f"no network named '{spec}'", hint=hint)
    entry = index[spec]
    return Located(_bundled_doc(entry.file), str(entry.file), entry.variant)
