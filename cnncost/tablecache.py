"""``cnncost table NAME`` for a bundled network, printed from an on-disk cache when the very same command has run
before — so the command people run most answers in the time it takes Python to start.

The cache must never change an answer, so an entry is trusted by construction, as the library cache is
(``cnncost.cache``):

- **Keyed on everything the text depends on.** A BLAKE2b digest over cnncost's version, the bytes of every source
  file of the package and of every bundled spec, the command's arguments exactly as given (name, ``--size``,
  ``--batch``, ``--set``, ``--depth``, ``--format``, ``--wide``) and the rendering options (terminal width,
  colour). A changed formula, spec, renderer or terminal is a different key: the text is computed again.
- **Unedited.** An entry holds its key and a keyed BLAKE2b MAC (RFC 7693) over the key and the text, made with the
  caches' secret (``cnncost.cachefiles``): a file edited by hand, truncated, or copied under another key is not
  served.
- **Bounded.** At most ``MAX_ENTRIES`` files (the oldest go first) of at most ``MAX_TEXT_BYTES`` each.

Only a bare network name is cached (a path's file could change under it without the key knowing); any problem
reading or writing (a read-only home, a full disk) falls back to computing. ``CNNCOST_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

try:  # BLAKE2 from its own module: importing hashlib loads OpenSSL first, 2 ms of every table's start
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python without the builtin module
    from hashlib import blake2b
try:  # hmac.compare_digest itself, without hmac's import of hashlib
    from _operator import _compare_digest as compare_digest
except ImportError:  # pragma: no cover
    from hmac import compare_digest  # type: ignore[no-redef]
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cnncost.cachefiles import bundled_dir, cache_dir, secret

FORMAT = 2  # 2: BLAKE2b key and MAC
MAX_ENTRIES = 256
MAX_TEXT_BYTES = 4_000_000
#: A bundled network's name (a bare word: never a path, never a family file's ``FILE:VARIANT``).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,99}\Z")


def key_of(name: str, values: Mapping[str, Any], options: Mapping[str, Any]) -> str | None:
    """The cache key of ``cnncost table NAME`` with these option values and rendering options; None when the
    command is not one the cache serves (not a bare name) or the sources cannot be read."""
    if not _NAME.match(name):
        return None
    from cnncost.version import __version__

    digest = blake2b(f"cnncost table cache {FORMAT} {__version__}\n".encode(), digest_size=32)
    try:
        for label, path in _sources():
            digest.update(f"{label}\n".encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
    except OSError:
        return None
    command = {"name": name, **{k: values[k] for k in sorted(values)}, "render": dict(sorted(options.items()))}
    digest.update(repr(sorted(command.items())).encode())
    return digest.hexdigest()[:40]


def _sources() -> list[tuple[str, str]]:
    """(a stable label, the path) of every source file of the package and every bundled spec, in a fixed order
    (``os.walk`` and ``os.scandir``: ``Path.rglob`` costs a millisecond more on every first run)."""
    package = os.path.dirname(os.path.abspath(__file__))
    found: list[tuple[str, str]] = []
    for root, folders, files in os.walk(package):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        relative = os.path.relpath(root, os.path.dirname(package)).replace(os.sep, "/")
        found += [(f"{relative}/{f}", os.path.join(root, f)) for f in sorted(files) if f.endswith(".py")]
    specs = bundled_dir()
    with os.scandir(specs) as entries:
        names = sorted(e.name for e in entries if e.name.endswith((".yaml", ".yml")) and e.is_file())
    found += [(f"{specs.name}/{n}", os.path.join(specs, n)) for n in names]
    return found


def _mac(shared: bytes, key: str, text: bytes) -> str:
    # keyed BLAKE2 is a MAC by design (RFC 7693), as HMAC is for SHA-2
    return blake2b(f"cnncost table cache {FORMAT}\n{key}\n".encode() + text, key=shared, digest_size=32).hexdigest()


def _folder() -> Path | None:
    where = cache_dir()
    return None if where is None else where / "tables"


def read(key: str) -> str | None:
    """The cached text for ``key`` when its file is ours, unedited and for this key; else None."""
    folder = _folder()
    if folder is None:
        return None
    shared = secret(folder.parent, create=False)
    if shared is None:
        return None
    try:
        with (folder / f"{key}.txt").open("rb") as handle:
            raw = handle.read(MAX_TEXT_BYTES + 200)
        head, _, text = raw.partition(b"\n")
        stored_key, mac = head.decode("ascii").split(" ")
        if stored_key != key or len(text) > MAX_TEXT_BYTES:
            return None
        if not compare_digest(mac, _mac(shared, key, text)):
            return None
        return text.decode("utf-8")
    except (OSError, ValueError, UnicodeError):
        return None  # missing, unreadable, corrupt or edited: computed again (and rewritten)


def write(key: str, text: str) -> None:
    """Keep ``text`` under ``key`` (written to a temporary file in the folder, then renamed over the entry, so a
    reader sees the old entry, the new one or none), dropping the oldest entries beyond ``MAX_ENTRIES``.
    Not flushed to disk: an entry cut short by a crash fails its MAC and is computed again. Failures are silent —
    the answer stands, uncached."""
    folder = _folder()
    data = text.encode("utf-8")
    if folder is None or len(data) > MAX_TEXT_BYTES:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shared = secret(folder.parent, create=True)
        if shared is None:
            return
        target = folder / f"{key}.txt"
        partial = folder / f".{key}.{os.getpid()}.partial"
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(f"{key} {_mac(shared, key, data)}\n".encode("ascii") + data)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        entries = sorted(folder.glob("*.txt"), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[: max(0, len(entries) - MAX_ENTRIES)]:
            old.unlink(missing_ok=True)
    except Exception:  # a read-only or full cache folder: the answer stands, uncached
        return


def cached_text(name: str, values: Mapping[str, Any], options: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(the key, the cached text or None) for this command; (None, None) when it is not cacheable or the cache is
    off (nothing hashed then)."""
    if cache_dir() is None:
        return None, None
    key = key_of(name, values, options)
    return key, (read(key) if key is not None else None)
