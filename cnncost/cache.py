"""A small on-disk cache of the library's totals, so ``cnncost list`` need not resolve every network each time.

The key is a hash of everything the totals depend on — cnncost's version, the source of its spec and analysis
code, and every bundled spec file — so a changed formula or spec can never be served stale. The cache lives in
``$CNNCOST_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnncost``, else ``~/.cache/cnncost``; ``CNNCOST_NO_CACHE=1``
turns it off. Any problem reading or writing it (a read-only home, a corrupt file) falls back to computing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cnncost import __version__
from cnncost.analysis.records import Summary, Totals


def cache_dir() -> Path | None:
    if os.environ.get("CNNCOST_NO_CACHE"):
        return None
    if os.environ.get("CNNCOST_CACHE_DIR"):
        return Path(os.environ["CNNCOST_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cnncost"


def library_key(spec_files: Sequence[Path]) -> str:
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parent
    code = [*package.glob("spec/*.py"), *package.glob("analysis/*.py"), package / "ir.py"]
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


def _from_json(d: dict[str, Any]) -> Summary:
    totals = Totals(int(d["params"]), int(d["macs"]), MappingProxyType({k: int(v) for k, v in d["other"].items()}))
    return Summary(str(d["name"]), str(d["description"]), d["source"], tuple(d["input"]), tuple(d["output"]), totals)


def library_summaries(spec_files: Sequence[Path], compute: Callable[[], list[Summary]]) -> list[Summary]:
    """The summaries ``compute`` gives, from the cache when the key matches (see the module doc)."""
    where = cache_dir()
    if where is None:
        return compute()
    try:
        path = where / f"library-{library_key(spec_files)}.json"
    except OSError:
        return compute()
    try:
        if path.is_file():
            return [_from_json(d) for d in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # unreadable or corrupt: compute afresh and overwrite it
    summaries = compute()
    try:
        from cnncost.atomic import write_text

        where.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps([_to_json(s) for s in summaries]))
    except Exception:
        pass
    return summaries
