"""Ctrl-C is idempotent: a second interrupt during the first one's cleanup never prints a traceback.

``cnncost bench`` runs in a subprocess whose stderr is a pseudo-terminal, so the progress bar is on: the test
waits until the run is timing (a progress line on stderr), then sends two SIGINTs a few milliseconds apart.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

pty = pytest.importorskip("pty")
pytest.importorskip("torch")


def _read_until(fd: int, needle: bytes, deadline: float) -> bytes:
    seen = b""
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _drain(fd: int, proc: subprocess.Popen[bytes], deadline: float) -> bytes:
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    return seen


def _check(code: int, err: str) -> None:
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Exception ignored" not in err, err
    assert code == 130, err
    assert err.count("error:") == 1 and "error: interrupted" in err, err  # one line (after the progress bar)
    assert "note:" not in err, err


@pytest.mark.parametrize("burst", [False, True], ids=["two-5ms-apart", "until-exit"])
def test_repeated_sigints_into_bench_give_one_line_and_exit_130(burst: bool) -> None:
    """Two interrupts 5 ms apart, and a burst every millisecond until the process has exited (which lands
    interrupts in the cleanup, the error report and the interpreter's shutdown)."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "xterm"}
    env.pop("CNNCOST_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnncost", "bench", "lenet5", "--device", "cpu", "--warmup", "0.2",
         "--min-time", "600", "--repeats", "3", "--format", "json"],
        stdout=subprocess.PIPE, stderr=slave, env=env,
    )
    os.close(slave)
    try:
        seen = _read_until(master, b"measure", time.monotonic() + 60)
        assert b"measure" in seen, seen.decode(errors="replace")
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 60
        while burst and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
            try:
                proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                break
        code = proc.wait(timeout=60)
        err = (seen + _drain(master, proc, time.monotonic() + 5)).decode(errors="replace")
        out = proc.stdout.read() if proc.stdout else b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    _check(code, err)
    assert out == b"" or out.startswith(b"[")  # the runs that finished, as JSON, or nothing
