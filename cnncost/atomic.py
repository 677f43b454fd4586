"""Write files atomically: the old file stays intact until the new one is complete.

Every command that writes a file (``check``'s update, plots, JUnit reports, benchmark results) goes through
here. The text is written to a temporary file in the target's own directory (so that the final rename never
crosses a file system), flushed to disk, and moved over the target with ``os.replace``, which is atomic on POSIX
and Windows. If anything fails before that — an exception, a full disk, Ctrl-C — the temporary file is removed
and the target is untouched.

A target in a directory that does not exist, or that is a directory, is refused with a ``UsageError`` (exit code
2: the command line named it) before anything is written::

    from cnncost.atomic import atomic_write, write_text

    write_text("results/bench.json", json.dumps(data))
    with atomic_write("report.xml") as handle:
        handle.write(header)
        handle.write(body)
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, overload

from cnncost.errors import CnnCostError, UsageError

__all__ = ["atomic_write", "check_writable", "write_bytes", "write_text"]


def check_writable(path: str | os.PathLike[str]) -> Path:
    """The target as a Path, or a one-line UsageError when it cannot be a file we write: its directory is
    missing or not a directory, or the target is itself a directory. Call it before long work, so that a bad
    output path is reported at once rather than after minutes of computing."""
    target = Path(path)
    parent = target.parent
    shown = os.fspath(path)
    try:
        if not parent.exists():
            raise UsageError(
                f"cannot write {shown}: the directory {os.fspath(parent)} does not exist",
                hint="create it first, or choose another path",
            )
        if not parent.is_dir():
            raise UsageError(
                f"cannot write {shown}: {os.fspath(parent)} is not a directory", hint="choose another path"
            )
        if target.is_dir():
            raise UsageError(f"cannot write {shown}: it is a directory", hint="name a file inside it")
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, …
        raise UsageError(f"cannot write {shown!r}: {_reason(exc)}", hint="choose another path") from None
    return target


@overload
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["w"] = "w", *, encoding: str = "utf-8", newline: str | None = None
) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["wb"], *, encoding: str = "utf-8", newline: str | None = None
) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str = "utf-8", newline: str | None = None
) -> contextlib.AbstractContextManager[IO[Any]]:
    """A context manager yielding a file handle (text for ``"w"``, bytes for ``"wb"``) whose content replaces
    ``path`` when the block ends without an exception, and is thrown away otherwise (see the module doc)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', not {mode!r}")
    return _atomic(check_writable(path), mode, encoding, newline)


@contextlib.contextmanager
def _atomic(target: Path, mode: str, encoding: str, newline: str | None) -> Iterator[IO[Any]]:
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot write {os.fspath(target)!r}: {_reason(exc)}", hint="check the path") from None
    tmp = Path(tmp_name)
    try:
        _set_mode(fd, target)
        handle: IO[Any] = (
            os.fdopen(fd, "wb") if mode == "wb" else os.fdopen(fd, "w", encoding=encoding, newline=newline)
        )
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:  # also KeyboardInterrupt and SystemExit: never leave the temporary file behind
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.filename in (None, tmp_name, os.fspath(target)):
            # writing, flushing or renaming failed (a full disk, a read-only file system): one line, exit 1
            raise CnnCostError(f"cannot write {os.fspath(target)}: {_reason(exc)}") from None
        raise


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Replace ``path`` with ``text``, atomically. Returns the path written."""
    with atomic_write(path, encoding=encoding) as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace ``path`` with ``data``, atomically. Returns the path written."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def _set_mode(fd: int, target: Path) -> None:
    """Give the new file the old file's permissions, or the usual ones for a new file (mkstemp makes 0600)."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError, NotImplementedError):
        os.fchmod(fd, mode)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__
