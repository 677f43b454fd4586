"""``cnncost table NAME`` for a bundled network, printed from an on-disk cache when the very same command has run
before — so the command people run most answers in the time it takes Python to start.

The cache must never change an answer, so an entry is trusted by construction, as the library cache is
(``cnncost.cache``):

- **Keyed on everything the text depends on.** A SHA-256 over cnncost's version, the bytes of every source file of
  the package and of every bundled spec, the command's arguments exactly as given (name, ``--size``, ``--batch``,
  ``--set``, ``--depth``, ``--format``, ``--wide``) and the rendering options (terminal width, colour). A changed
  formula, spec, renderer or terminal is a different key: the text is computed again.
- **Unedited.** An entry holds its key and an HMAC-SHA256 over the key and the text, made with the caches' secret
  (``cnncost.cachefiles``): a file edited by hand, truncated, or copied under another key is not served.
- **Bounded.** At most ``MAX_ENTRIES`` files (the oldest go first) of at most ``MAX_TEXT_BYTES`` each.

Only a bare network name is cached (a path's file could change under it without the key knowing); any problem
reading or writing (a read-only home, a full disk) falls back to computing. ``CNNCOST_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cnncost.cachefiles import bundled_dir, cache_dir, secret

FORMAT = 1
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

    digest = hashlib.sha256(f"cnncost table cache {FORMAT} {__version__}\n".encode())
    package = Path(__file__).resolve().parent
    try:
        sources = sorted(package.rglob("*.py")) + sorted(bundled_dir().glob("*.y*ml"))
        for path in sources:
            digest.update(f"{path.relative_to(path.parent.parent).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    except OSError:
        return None
    command = {"name": name, **{k: values[k] for k in sorted(values)}, "render": dict(sorted(options.items()))}
    digest.update(repr(sorted(command.items())).encode())
    return digest.hexdigest()[:40]


def _mac(shared: bytes, key: str, text: bytes) -> str:
    return hmac.new(shared, f"cnncost table cache {FORMAT}\n{key}\n".encode() + text, hashlib.sha256).hexdigest()


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
        if not hmac.compare_digest(mac, _mac(shared, key, text)):
            return None
        return text.decode("utf-8")
    except (OSError, ValueError, UnicodeError):
        return None  # missing, unreadable, corrupt or edited: computed again (and rewritten)


def write(key: str, text: str) -> None:
    """Keep ``text`` under ``key`` (atomically), dropping the oldest entries beyond ``MAX_ENTRIES``; failures are
    silent — the answer stands, uncached."""
    folder = _folder()
    data = text.encode("utf-8")
    if folder is None or len(data) > MAX_TEXT_BYTES:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shared = secret(folder.parent, create=True)
        if shared is None:
            return
        from cnncost.atomic import write_bytes

        write_bytes(folder / f"{key}.txt", f"{key} {_mac(shared, key, data)}\n".encode("ascii") + data)
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
