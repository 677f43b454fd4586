"""Running someone else's model code (``--module``) without letting it take cnncost down with it.

A model file is arbitrary Python: importing it, calling its constructor and running its forward may print,
call ``sys.exit()``, loop forever or allocate gigabytes. ``user_code(what, timeout)`` wraps every such step:

- its ``print`` output goes to stderr, so ``--format json`` on stdout stays clean (Python-level writes to
  ``sys.stdout``; a C extension writing to file descriptor 1 directly is not caught);
- ``SystemExit`` (``sys.exit()``, ``exit()``) becomes a one-line :class:`CnnCostError` instead of ending cnncost
  with exit code 0 and no output;
- a deadline: on POSIX, in the main thread, ``SIGALRM`` interrupts the user code after ``timeout`` seconds (the
  previous handler and timer are restored afterwards); elsewhere there is no deadline. A single C call that
  never returns to Python (one huge kernel) is interrupted only when it returns.

``AllocationGuard(limit)`` is a dispatch mode that adds up the bytes of every tensor the code creates (views and
in-place operators excluded: they allocate nothing) and stops it with a :class:`LimitError` naming the size as
soon as the sum passes ``limit``. It bounds the *work* of a real-tensor build or forward: the sum counts
temporaries that were freed too, so it is an upper bound on the peak.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from cnncost.errors import CnnCostError, LimitError, UsageError

#: Default seconds the model's own code (import, build, forward) may take.
DEFAULT_TIMEOUT = 60.0

#: Default bytes a real-tensor build or forward may allocate (2 GiB).
DEFAULT_MAX_MEMORY = 2 * 1024**3


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Deadlines armed by the blocks now running (outermost first): an inner block never re-arms the alarm.
_ARMED: list[float] = []


class _Deadline(BaseException):
    """Raised by the alarm handler: a BaseException, so the user's ``except Exception`` cannot swallow it."""


class _Refused(BaseException):
    """Carries a LimitError through user code that catches ``Exception``."""

    def __init__(self, error: LimitError) -> None:
        super().__init__(str(error))
        self.error = error


def first_line(exc: BaseException) -> str:
    """An exception in one line: its type and the first line of its message."""
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def gib(n: int) -> str:
    """Bytes as GiB with two decimals (MiB below one GiB)."""
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**3 else f"{n / 1024**2:.1f} MiB"


def check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, not {timeout!r}")
    if not timeout > 0 or timeout != timeout or timeout > 86_400:
        raise UsageError(f"timeout {timeout} is out of range", hint="give a number of seconds above 0, at most 86400")
    return float(timeout)


def check_max_memory(max_memory: int | None) -> int:
    if max_memory is None:
        return DEFAULT_MAX_MEMORY
    if isinstance(max_memory, bool) or not isinstance(max_memory, int):
        raise TypeError(f"max_memory must be a number of bytes, not {max_memory!r}")
    if max_memory < 1:
        raise UsageError(f"memory bound {max_memory} must be positive", hint="e.g. --max-memory 4 (GiB)")
    return max_memory


#: Modules whose code is the user's (``--module`` targets); files are imported as ``_cnncost_user_*``.
USER_MODULES: set[str] = set()


def _is_user(name: str) -> bool:
    return name.startswith("_cnncost_user_") or any(name == m or name.startswith(m + ".") for m in USER_MODULES)


def _importing_a_library(frame: Any) -> bool:
    """Whether ``frame`` runs inside an import of a module that is not the user's (before any user frame)."""
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if _is_user(name):
            return False
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False



@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[bool]:
    """Interrupt the block after ``seconds`` with ``_Deadline``; yields whether a deadline is really armed."""
    if _ARMED:  # an outer block's deadline already covers this one
        yield True
        return
    usable = (
        seconds is not None
        and hasattr(signal, "SIGALRM")
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield False
        return
    assert seconds is not None

    deferred = [0]

    def on_alarm(signum: int, frame: Any) -> None:
        # An alarm inside a library's import (torch imports its compiler stack on first use) would leave that
        # library half imported for the rest of the process: let the import finish first (10 s at most).
        if deferred[0] < 200 and _importing_a_library(frame):
            deferred[0] += 1
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            return
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    _ARMED.append(seconds)
    try:
        yield True
    finally:
        _ARMED.pop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_delay > 0:  # someone else's timer was running: give it back what is left of it (roughly)
            signal.setitimer(signal.ITIMER_REAL, old_delay, old_interval)


@contextlib.contextmanager
def user_code(what: str, timeout: float | None = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Run the block as the model's own code: ``what`` names it in errors (``importing net.py``,
    ``calling net.py:Net()``, ``the forward of net.py:Net``)."""
    limit = _ARMED[0] if _ARMED else timeout
    try:
        with _alarm(timeout), contextlib.redirect_stdout(sys.stderr):
            yield
    except _Deadline:
        raise LimitError(
            f"{what} did not finish within {limit:g} s",
            hint="a model that loops or waits on import, build or forward; give more time with --timeout SECONDS",
        ) from None
    except _Refused as refused:
        raise refused.error from None
    except SystemExit as exc:
        code = exc.code
        raise CnnCostError(
            f"{what} called sys.exit({'' if code is None else repr(code)})",
            hint="model code must not exit the process; guard the call with if __name__ == '__main__':",
        ) from None


_PREPARED: list[bool] = []


class _Plain(TorchDispatchMode):  # type: ignore[misc,no-untyped-call,unused-ignore]
    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        return func(*args, **(kwargs or {}))


def prepare_dispatch() -> None:
    """Do once, with the deadline's signal held back, what torch does the first time a dispatch mode is entered:
    it imports its compiler stack (about 800 modules, seconds), and an alarm landing in the middle of those
    imports would leave them half made for the rest of the process."""
    if _PREPARED:
        return
    blockable = hasattr(signal, "pthread_sigmask") and hasattr(signal, "SIGALRM")
    if blockable:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        with _Plain():  # type: ignore[no-untyped-call,unused-ignore]
            torch.empty(1, device="meta") + 1
        _PREPARED.append(True)
    finally:
        if blockable:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})  # a pending alarm fires now


#: Operators whose result shares its input's memory (or writes into it): they allocate nothing.
_NO_ALLOCATION = _words(
    """
    view _unsafe_view reshape _reshape_alias t transpose permute expand squeeze unsqueeze flatten unflatten slice
    select narrow split split_with_sizes unbind chunk alias as_strided detach lift_fresh sym_size sym_stride
    sym_numel sym_storage_offset set_ _local_scalar_dense
    """
)


class AllocationGuard(TorchDispatchMode):  # type: ignore[misc,no-untyped-call,unused-ignore]
    """Sums the bytes of the tensors created under it and refuses past ``limit`` (see the module docstring)."""

    def __init__(self, limit: int, what: str) -> None:
        prepare_dispatch()
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        self.limit = limit
        self.what = what
        self.total = 0
        self.data_dependent: Counter[str] = Counter()  # operators with data-dependent output shapes that ran

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        name = func._overloadpacket.__name__
        if name in DATA_DEPENDENT_OPS or (name == "index" and _bool_index(args)):
            self.data_dependent[name] += 1
        if name not in _NO_ALLOCATION and not name.endswith("_"):
            # Counted once made: a fresh allocation is only address space until it is written, and the check
            # stops the code before its next operator (an initializer, the layer that reads it).
            self.total += sum(t.numel() * t.element_size() for t in _tensors(out))
            if self.total > self.limit:
                raise _Refused(
                    LimitError(
                        f"{self.what} allocates more than {gib(self.limit)} "
                        f"(over {gib(self.total)} by aten.{name})",
                        hint="raise the bound with --max-memory GIB, or give a smaller --input-shape",
                    )
                )
        return out


def _bool_index(args: Sequence[Any]) -> bool:
    indices = args[1] if len(args) > 1 and isinstance(args[1], (list, tuple)) else ()
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices)


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


def module_bytes(model: torch.nn.Module) -> int:
    """Bytes of a model's parameters and buffers (shared tensors once), real or meta."""
    seen: set[int] = set()
    total = 0
    for t in (*model.parameters(), *model.buffers()):
        if id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()
    return total


#: Operators whose output shape depends on the values of their input (the meta device cannot run them).
DATA_DEPENDENT_OPS = _words(
    """
    nonzero nonzero_static masked_select _unique _unique2 unique_dim unique_consecutive unique_dim_consecutive
    repeat_interleave bincount histc nms _local_scalar_dense
    """
)
