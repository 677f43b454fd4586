"""The built wheel carries every bundled spec, so a non-editable install finds the whole library."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

#: CI pins the build backend with PIP_BUILD_CONSTRAINT, which pip refuses beside --no-build-isolation.
_WITHOUT_BUILD_CONSTRAINT = {k: v for k, v in os.environ.items() if k != "PIP_BUILD_CONSTRAINT"}

ROOT = Path(__file__).resolve().parents[1]


def _clean_copy(target: Path) -> Path:
    """The checkout as a fresh clone would have it: no build/ folder left by an earlier build, no venvs."""
    skip = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")
    shutil.copytree(ROOT, target, ignore=skip)
    return target


@pytest.mark.slow
def test_wheel_carries_every_spec(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(_clean_copy(tmp_path / "src")),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_WITHOUT_BUILD_CONSTRAINT,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("cnncost-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    specs = sorted(p.name for p in (ROOT / "architectures").glob("*.yaml"))
    assert specs, "no bundled specs found"
    missing = [s for s in specs if f"cnncost/architectures/{s}" not in names]
    assert not missing, f"specs missing from the wheel: {missing}"
    assert "cnncost/py.typed" in names
    sources = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "cnncost").rglob("*.py"))
    sources += [f"cnncost/architectures/{p.name}" for p in (ROOT / "architectures").glob("*.py")]
    assert not [s for s in sources if s not in names], "modules missing from the wheel (pyproject's packages list)"
    stale = [n for n in names if n.startswith("cnncost/") and n.endswith(".py") and n not in sources]
    assert not stale, f"the wheel carries modules the source no longer has (a stale build/ folder?): {stale}"

    # Installed from the wheel (not editable, run outside the checkout), the library still finds every spec.
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    probe = (
        "import cnncost.spec.library as l, cnncost.api as a;"
        "print(l.bundled_dir()); print(len(a.library_entries())); print(a.analyze('vgg16').totals.params)"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    where, count, params = out.stdout.split()
    assert where.startswith(str(target))
    assert int(count) >= len(specs)
    assert params == "138357544"
