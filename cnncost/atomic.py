"""Write files atomically: the old file stays intact until the new one is complete.

Every command that writes a file (``check``'s update, plots, JUnit reports, benchmark results) goes through
here. The text is written to a temporary file in the target's own directory (so that the final rename never
crosses a file system), flushed to disk, and moved over the target with ``os.replace``, which is atomic on POSIX
and Windows. If anything fails before that — an exception, a full disk, Ctrl-C — the temporary file is removed
and the target is untouched.

A target is refused with a ``UsageError`` (exit code 2: the command line named it) before anything is written when
its directory does not exist, when it is a directory or written like one (a trailing ``/``, a last part ``.`` or
``..``), or when it exists and is not a regular file (a device such as ``/dev/null``, a pipe, a socket): only
regular files are replaced. A symbolic link is followed: the file it points to is replaced atomically, and the
link stays. A SIGTERM while the file is being written removes the temporary file and exits with 143 (128 +
SIGTERM), as the default action would, but clean; the previous handler is restored afterwards (main thread only)::

    from cnncost.atomic import atomic_write, write_text

    write_text("results/bench.json", json.dumps(data))
    with atomic_write("report.xml") as handle:
        handle.write(header)
        handle.write(body)
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any, Literal, overload

from cnncost.errors import CnnCostError, UsageError

__all__ = ["atomic_write", "check_writable", "write_bytes", "write_text"]


def check_writable(path: str | os.PathLike[str]) -> Path:
    """The file to write, as a Path (a symbolic link resolved to the file it points to), or a one-line
    UsageError when it cannot be a regular file we replace: its directory is missing or not a directory, it is
    or names a directory, or it exists and is not a regular file (see the module doc). Call it before long work,
    so that a bad output path is reported at once rather than after minutes of computing."""
    shown = os.fspath(path)
    separators = tuple(sep for sep in (os.sep, os.altsep) if sep)
    try:
        last = os.path.basename(shown.rstrip("".join(separators))) if shown.strip("".join(separators)) else ""
        if shown.endswith(separators) or last in ("", ".", ".."):
            raise UsageError(
                f"cannot write {shown}: it names a directory", hint="name a file (without a trailing '/')"
            )
        target = Path(os.path.realpath(shown)) if os.path.islink(shown) else Path(shown)
        parent = target.parent
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
        if target.exists() and not stat.S_ISREG(target.stat().st_mode):
            raise UsageError(
                f"cannot write {shown}: it is not a regular file (a device, a pipe or a socket)",
                hint="name a regular file",
            )
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a loop of links, …
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
    with _clean_on_sigterm():
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
        except BaseException as exc:  # also KeyboardInterrupt, SystemExit and SIGTERM: never leave the file behind
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, OSError) and exc.filename in (None, tmp_name, os.fspath(target)):
                # writing, flushing or renaming failed (a full disk, a read-only file system): one line, exit 1
                raise CnnCostError(f"cannot write {os.fspath(target)}: {_reason(exc)}") from None
            raise


class Terminated(SystemExit):
    """SIGTERM arrived while a file was being written: the temporary file is removed on the way out (exit 143)."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def _clean_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into an exception while writing, so that the cleanup above runs; restore the old handler."""
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here: leave it alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


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
