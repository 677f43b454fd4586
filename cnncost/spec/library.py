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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnncost.errors import NotFoundError, SpecError, suggest
from cnncost.spec import yamlsafe


@dataclass(frozen=True)
class Entry:
    """One network of the library."""

    name: str
    description: str
    file: Path
    variant: str | None


@dataclass(frozen=True)
class Located:
    """A spec document ready to resolve."""

    doc: Any
    file: str
    variant: str | None


def bundled_dir() -> Path:
    """The folder of bundled specs: inside the installed package, or the checkout's ``architectures/``."""
    try:
        from importlib.resources import files

        packaged = Path(str(files("cnncost.architectures")))
        if any(packaged.glob("*.yaml")):
            return packaged
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - depends on how cnncost is installed
        pass
    return Path(__file__).resolve().parents[2] / "architectures"


def natural_key(name: str) -> list[Any]:
    """Sort resnet18 before resnet101: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


_BUNDLED_DOCS: dict[Path, Any] = {}


def _bundled_doc(path: Path) -> Any:
    """A bundled file, read once per process (``list`` resolves every network; families share a file).
    Resolution never mutates a document, so sharing it is safe."""
    if path not in _BUNDLED_DOCS:
        _BUNDLED_DOCS[path] = yamlsafe.load(path)[0]
    return _BUNDLED_DOCS[path]


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, Entry]:
    index: dict[str, Entry] = {}
    for path in sorted(bundled_dir().glob("*.yaml")):
        doc = _bundled_doc(path)
        if not isinstance(doc, dict) or "name" not in doc:
            raise SpecError("bundled spec has no 'name'", file=str(path))
        variants = doc.get("variants") or {}
        names = [(str(n), (v or {}).get("description")) for n, v in variants.items()] or [
            (str(doc["name"]), None)
        ]
        for name, desc in names:
            if name in index:
                raise SpecError(
                    f"network '{name}' is defined twice", file=str(path), hint=f"also in {index[name].file}"
                )
            entry = Entry(name, str(desc or doc.get("description") or ""), path, name if variants else None)
            index[name] = entry
    return index


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
    index = _index()
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
