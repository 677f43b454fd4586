"""README examples are real output: every block marked ``<!-- output: cnncost ARGS -->`` must equal what the
command prints now (at 100 columns, no colour). ``pytest --update-golden`` rewrites those blocks in place."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncost import cli

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- output: cnncost (?P<args>[^>]*?) -->\n```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


def output_of(args: str) -> str:
    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "100", "NO_COLOR": "1", "CNNCOST_DEBUG": None}) as (out, _err, _):
        code = cli.main(shlex.split(args))
        sys.stdout.flush()
        text = out.getvalue().decode("utf-8")
    assert code == 0, f"cnncost {args} exited {code}"
    return "\n".join(line.rstrip() for line in text.rstrip("\n").splitlines()) + "\n"


def test_readme_has_examples() -> None:
    assert len(BLOCK.findall(README.read_text(encoding="utf-8"))) >= 4


def test_readme_examples_are_real_output(request: pytest.FixtureRequest) -> None:
    text = README.read_text(encoding="utf-8")
    update = bool(request.config.getoption("--update-golden"))
    stale: list[str] = []

    def replace(match: re.Match[str]) -> str:
        fresh = output_of(match["args"])
        if fresh != match["body"]:
            stale.append(match["args"])
        return f"<!-- output: cnncost {match['args']} -->\n```{match['lang']}\n{fresh}```"

    new = BLOCK.sub(replace, text)
    if update:
        README.write_text(new, encoding="utf-8")
        return
    assert not stale, f"README output is stale for: {stale} (run 'pytest --update-golden' and review the diff)"


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
