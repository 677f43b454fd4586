"""``check --junit FILE`` and the atomic writer under it: well-formed XML always, only regular files written,
links followed, and no temporary file left behind, not even on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from clirun import cli_runner

from cnncost.errors import UsageError

run = cli_runner(width=160)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_control_characters_never_break_the_xml(tmp_path: Path) -> None:
    spec = tmp_path / "ctl.yaml"
    spec.write_text(
        'name: "ctl\\x02net"\ninput: [8, 8, 3]\ndocumented:\n'
        '  - {figure: params, value: 224, source: "paper\\x01 table\\x1b[31m 2\\x7f\\x0c"}\n'
        '  - {figure: macs, value: 1, source: "\\x00nul\\x0b", deviation: "typo\\x08"}\n'
        '  - {figure: params, value: 225, source: "tab\\there"}\n'
        "layers:\n  - {name: conv, conv: {out: 8, kernel: 3}}\n",
        encoding="utf-8",
    )
    junit = tmp_path / "out.xml"
    code, _, err = run("check", str(spec), "--junit", str(junit))
    assert code == 1 and err == "", err
    root = ET.parse(junit).getroot()  # well-formed XML 1.0
    assert root.get("tests") == "3" and root.get("failures") == "1"
    text = junit.read_text(encoding="utf-8")
    assert all(ch in "\t\n\r" or ord(ch) >= 0x20 for ch in text)
    assert "paper\\x01 table" in "".join(root.itertext())


def test_junit_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "junit.xml"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "junit.xml"
    link.symlink_to(target)
    code, _, err = run("check", "lenet5", "--junit", str(link))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert ET.parse(target).getroot().tag == "testsuites"
    assert _leftovers(tmp_path) == [] and _leftovers(target.parent) == []


def test_a_non_regular_target_is_refused(tmp_path: Path) -> None:
    from cnncost.atomic import check_writable

    with pytest.raises(UsageError) as info:  # only checked, never written: a device is not ours to replace
        check_writable(os.devnull)
    assert "not a regular file" in str(info.value) and info.value.exit_code == 2
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    code, out, err = run("check", "lenet5", "--junit", str(fifo))
    assert code == 2 and out == "" and "not a regular file" in err and len(err.splitlines()) == 1
    assert fifo.exists() and not fifo.is_file() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", ["/", "//", os.sep + "."])
def test_a_trailing_slash_is_refused(tmp_path: Path, suffix: str) -> None:
    from cnncost.atomic import check_writable, write_text

    name = str(tmp_path / "out.xml") + suffix
    with pytest.raises(UsageError) as info:
        check_writable(name)
    assert "directory" in str(info.value)
    with pytest.raises(UsageError):
        write_text(name, "x")
    code, out, err = run("check", "lenet5", "--junit", name)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_the_junit_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The write is held open (a slow fsync in the child) so SIGTERM lands inside it, deterministically."""
    target = tmp_path / "out.xml"
    target.write_text("old report\n", encoding="utf-8")
    code = (
        "import os, sys, time\n"
        "def slow_fsync(fd):\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
        "os.fsync = slow_fsync\n"
        "from cnncost import cli\n"
        "sys.exit(cli.main(['check', 'lenet5', '--junit', sys.argv[1]]))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    assert len(_leftovers(tmp_path)) == 1  # the new report is in a temporary file beside the target
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)
    assert child.returncode == 143
    assert target.read_text(encoding="utf-8") == "old report\n"
    assert _leftovers(tmp_path) == []


def test_the_sigterm_handler_is_restored_after_writing(tmp_path: Path) -> None:
    from cnncost.atomic import write_text

    before = signal.getsignal(signal.SIGTERM)
    write_text(tmp_path / "a.txt", "x")
    assert signal.getsignal(signal.SIGTERM) is before
