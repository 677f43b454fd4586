"""Shared test fixtures.

``pytest --update-golden`` rewrites the golden outputs under ``tests/golden/`` from the current program (review
the diff before committing it); without it, a golden test fails on any difference and shows it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ from the current output instead of comparing with it",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``golden(name, text)``: compare ``text`` with ``tests/golden/<name>`` (or rewrite it under
    ``--update-golden``)."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"no golden file {path}: run 'pytest --update-golden' and review what it writes")
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"golden/{name}",
                    tofile="now",
                )
            )
            pytest.fail(f"output differs from golden/{name} (pytest --update-golden to accept):\n{diff}")

    return check


def pytest_configure(config: pytest.Config) -> None:
    # The library cache (cnncost.cache) goes to a folder of this run, never the user's own cache.
    import os
    import tempfile

    os.environ.setdefault("CNNCOST_CACHE_DIR", tempfile.mkdtemp(prefix="cnncost-test-cache-"))
