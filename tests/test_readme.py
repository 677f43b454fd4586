"""README examples are real output: every block between ``<!-- cnncost: ARGS -->`` and ``<!-- /cnncost -->`` must
equal what ``cnncost ARGS`` prints now, as ``cnncost docs README.md --check`` (CI's own step) sees it.
``pytest --update-golden`` rewrites those blocks in place (``cnncost docs README.md --update``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clirun import cli_runner

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = re.compile(r"^<!-- cnncost: (?P<args>.*?) -->$", re.M)


def docs(*args: str) -> tuple[int, str, str]:
    return cli_runner(100)("docs", *args)


def test_readme_has_examples() -> None:
    commands = MARKER.findall(README.read_text(encoding="utf-8"))
    assert len(commands) >= 4
    assert "list --format markdown" in commands  # the library table


def test_readme_examples_are_real_output(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--update-golden"):
        code, _, err = docs(str(README), "--update")
        assert code == 0, err
        return
    code, diff, err = docs(str(README), "--check")
    assert code == 0, f"README output is stale (run 'pytest --update-golden' and review the diff):\n{diff}{err}"
    assert "up to date" in err


def test_readme_sections_named_by_messages_exist() -> None:
    """A hint that sends the user to a README section names one that is there."""
    headings = {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", README.read_text(encoding="utf-8"), re.M)}
    package = README.parent / "cnncost"
    named = [
        (path.name, m.group(1))
        for path in package.rglob("*.py")
        for m in re.finditer(r"README, '([^']+)'", path.read_text(encoding="utf-8"))
    ]
    assert named, "no message names a README section any more: drop this test"
    missing = [(file, title) for file, title in named if not any(h.startswith(title) for h in headings)]
    assert not missing


def test_readme_install_commands_work_from_a_checkout() -> None:
    """cnncost is not on a package index: the README installs it from a checkout or a built wheel only."""
    text = README.read_text(encoding="utf-8")
    assert not re.search(r"pip install (['\"]?)cnncost\b", text)
    package = README.parent / "cnncost"
    assert not [p.name for p in package.rglob("*.py") if "pip install 'cnncost[" in p.read_text(encoding="utf-8")]
