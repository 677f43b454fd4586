"""A small on-disk cache of the library's totals, so ``cnncost list`` need not resolve every network each time.

The cache must never change an answer, so it is trusted by construction, not by hope:

- **What was analyzed.** The key is a hash of everything the totals depend on — cnncost's version, the source of
  its spec, op and analysis code, and every bundled spec file — so a changed formula or spec is never served stale.
  The totals are computed from the bundled files only: a bare word is always a bundled network
  (``cnncost.spec.library``), so a file named ``vgg16`` in the current folder can never stand in for VGG-16.
- **Nothing edited.** The file holds the key, the entries and an HMAC-SHA256 over both, made with a random secret
  kept beside it (``secret``, mode 0600). An entry edited by hand, a file copied under another key, a truncated or
  corrupt file: the HMAC does not match and everything is recomputed. (This guards against accidents and
  tampering by anything that does not hold the secret; whoever can write files as you can change cnncost itself.)
- **Well formed.** Every entry is validated anyway: exactly the expected fields; whole, non-negative counts (no
  floats, text or true/false); shapes of 1 or 3 positive dimensions; and the names exactly the bundled networks,
  each once, in order. On any doubt the totals are recomputed, and the file rewritten.

The cache lives in ``$CNNCOST_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnncost``, else ``~/.cache/cnncost``;
``CNNCOST_NO_CACHE=1`` turns it off. Any problem reading or writing it (a read-only home, a corrupt file) falls
back to computing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cnncost.analysis.records import Summary, Totals
from cnncost.cachefiles import cache_dir
from cnncost.cachefiles import secret as _secret
from cnncost.limits import MAX_DIMENSION, MAX_INT
from cnncost.version import __version__

#: Version of the cache file's layout; a file of another layout is recomputed.
FORMAT = 2
#: A cache file is a few tens of kilobytes; anything far larger is not ours and is not read.
MAX_CACHE_BYTES = 4_000_000
_FIELDS = frozenset({"name", "description", "source", "input", "output", "params", "macs", "other"})
_ENVELOPE = frozenset({"format", "key", "entries", "mac"})


def library_key(spec_files: Sequence[Path]) -> str:
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parent
    code = [
        *package.glob("spec/*.py"),
        *package.glob("analysis/*.py"),
        *package.glob("ops/*.py"),  # the formulas: the op registry is where an op's cost is defined
        package / "ir.py",
        package / "limits.py",
        package / "cache.py",
    ]
    for path in sorted(code) + sorted(spec_files):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _to_json(s: Summary) -> dict[str, Any]:
    return {
        "name": s.name,
        "description": s.description,
        "source": s.source,
        "input": list(s.input_shape),
        "output": list(s.output_shape),
        "params": s.totals.params,
        "macs": s.totals.macs,
        "other": dict(s.totals.other),
    }


def _count(value: Any) -> int:
    """A whole, non-negative count as the analysis makes them, or ValueError."""
    if type(value) is not int or not 0 <= value <= MAX_INT:
        raise ValueError(f"not a count: {value!r}")
    return value


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) not in (1, 3):
        raise ValueError(f"not a shape: {value!r}")
    if not all(type(d) is int and 1 <= d <= MAX_DIMENSION for d in value):
        raise ValueError(f"not a shape: {value!r}")
    return tuple(value)


def _from_json(d: Any) -> Summary:
    """One validated entry, or ValueError (see the module doc)."""
    if not isinstance(d, dict) or set(d) != _FIELDS:
        raise ValueError("not an entry")
    name, description, source, other = d["name"], d["description"], d["source"], d["other"]
    if not isinstance(name, str) or not isinstance(description, str) or not isinstance(source, (str, type(None))):
        raise ValueError("name, description or source of the wrong kind")
    if not isinstance(other, dict) or not all(isinstance(k, str) for k in other):
        raise ValueError("other ops of the wrong kind")
    totals = Totals(_count(d["params"]), _count(d["macs"]), MappingProxyType({k: _count(v) for k, v in other.items()}))
    return Summary(name, description, source, _shape(d["input"]), _shape(d["output"]), totals)


def _canonical(key: str, entries: Any) -> bytes:
    body = json.dumps(entries, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return f"cnncost library cache {FORMAT}\n{key}\n{body}".encode()


def _mac(secret: bytes, key: str, entries: Any) -> str:
    return hmac.new(secret, _canonical(key, entries), hashlib.sha256).hexdigest()


def _read(path: Path, key: str, names: Sequence[str]) -> list[Summary] | None:
    """The cached summaries when the file is ours, unedited, for this key, and exactly ``names``; else None."""
    secret = _secret(path.parent, create=False)
    if secret is None:
        return None
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CACHE_BYTES + 1)
        if len(raw) > MAX_CACHE_BYTES:
            return None
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or set(data) != _ENVELOPE:
            return None
        if data["format"] != FORMAT or data["key"] != key or not isinstance(data["mac"], str):
            return None
        if not hmac.compare_digest(data["mac"], _mac(secret, key, data["entries"])):
            return None
        if not isinstance(data["entries"], list):
            return None
        summaries = [_from_json(d) for d in data["entries"]]
    except (OSError, ValueError, TypeError, RecursionError):
        return None  # unreadable, corrupt or edited: compute afresh and overwrite it
    if [s.name for s in summaries] != list(names):
        return None
    return summaries


def _write(path: Path, key: str, summaries: Sequence[Summary]) -> None:
    from cnncost.atomic import write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    secret = _secret(path.parent, create=True)
    if secret is None:
        return
    entries = [_to_json(s) for s in summaries]
    envelope = {"format": FORMAT, "key": key, "entries": entries, "mac": _mac(secret, key, entries)}
    write_text(path, json.dumps(envelope, allow_nan=False))


def library_summaries(
    spec_files: Sequence[Path], compute: Callable[[], list[Summary]], *, names: Sequence[str] | None = None
) -> list[Summary]:
    """The summaries ``compute`` gives, from the cache when it is trustworthy (see the module doc).

    ``names`` are the networks ``compute`` gives, in order (default: every bundled network); a cached file that
    holds any other set is recomputed, and a computation that gives another set is returned but not stored."""
    if names is None:
        from cnncost.spec import library

        names = [entry.name for entry in library.entries()]
    where = cache_dir()
    if where is None:
        return compute()
    try:
        key = library_key(spec_files)
    except OSError:
        return compute()
    path = where / f"library-{key}.json"
    cached = _read(path, key, names)
    if cached is not None:
        return cached
    summaries = compute()
    if [s.name for s in summaries] == list(names):
        with contextlib.suppress(Exception):  # a read-only or full cache folder: the answer stands, uncached
            _write(path, key, summaries)
    return summaries
