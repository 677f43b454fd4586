"""Where cnncost's on-disk caches live and the secret that signs them — the part of caching that imports almost
nothing, so that a cache hit on the short road (``cnncost.tablecache``) stays cheap.

The caches live in ``$CNNCOST_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnncost``, else ``~/.cache/cnncost``;
``CNNCOST_NO_CACHE=1`` turns them off. The secret is 32 random bytes made on first write, readable by its owner
only: each cache file carries an HMAC-SHA256 made with it, so a file edited by hand, copied under another key,
truncated or corrupt is never served (it is computed again).
"""

from __future__ import annotations

import os
from pathlib import Path

SECRET_BYTES = 32


def cache_dir() -> Path | None:
    if os.environ.get("CNNCOST_NO_CACHE"):
        return None
    if os.environ.get("CNNCOST_CACHE_DIR"):
        return Path(os.environ["CNNCOST_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cnncost"


def secret(where: Path, *, create: bool) -> bytes | None:
    """The caches' random secret (made on first write, readable by its owner only), or None."""
    path = where / "secret"
    try:
        data = path.read_bytes()
        if len(data) == SECRET_BYTES:
            return data
        if not create:
            return None
        path.unlink()
    except FileNotFoundError:
        if not create:
            return None
    except OSError:
        return None
    data = os.urandom(SECRET_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return secret(where, create=False)
    except OSError:
        return None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return data


def bundled_dir() -> Path:
    """The folder of bundled specs: inside the installed package, or the checkout's ``architectures/``."""
    import importlib.util  # the package's folder from its import spec: importlib.resources costs ~12 ms to import

    try:
        spec = importlib.util.find_spec("cnncost.architectures")
        for location in (spec.submodule_search_locations or []) if spec is not None else []:
            packaged = Path(location)
            if any(packaged.glob("*.yaml")):
                return packaged
    except (ModuleNotFoundError, TypeError, ValueError):  # pragma: no cover - depends on how cnncost is installed
        pass
    return Path(__file__).resolve().parents[1] / "architectures"
