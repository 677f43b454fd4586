"""How fast and how light is ``cnncost table resnet50``, next to a cold-process fvcore count of the same network?

Every measurement is a whole, fresh process, as a user meets it: interpreter start, imports, work, exit. Each
command runs once to warm the file cache, then ``--repeats`` times; the script reports the median wall time with
its spread (min–max) and the peak resident memory of each process (``ru_maxrss`` from ``os.wait4`` on that very
child). All figures come from the same run, on the same machine, and the environment is printed with them.

Compared:
- ``cnncost table resnet50`` (the analytic engine: no torch, no tensors) — also at batch 64, at 1024×1024, and at
  batch 256 and 512×512 together, to show its time does not depend on ``--batch`` or ``--size``;
- fvcore in a cold process: import torch and fvcore, build ResNet-50 with cnncost's PyTorch builder (the same
  module ``--verify`` checks), run ``FlopCountAnalysis`` on a 1×3×224×224 input (a real traced forward pass);
- ``cnncost --help`` and ``cnncost list``.

Targets (issue 2): the table at least 8× faster and at most 1/5 of fvcore's peak memory; ``--help`` and ``list``
well under 0.5 s.

    python benchmarks/cli_vs_fvcore.py [--repeats 5] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FVCORE_SNIPPET = """
import sys
import torch
from fvcore.nn import FlopCountAnalysis
from cnncost import api

network, batch, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model = api.build(network, size=size).eval()
x = torch.zeros(batch, 3, size, size)
with torch.no_grad():
    analysis = FlopCountAnalysis(model, (x,))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    total = analysis.total()
print(total)
"""


@dataclass(frozen=True)
class Result:
    label: str
    command: list[str]
    wall_s: list[float]
    peak_rss_mib: list[float]
    stdout_tail: str

    @property
    def median_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def median_rss_mib(self) -> float:
        return statistics.median(self.peak_rss_mib)

    def summary(self) -> str:
        return (
            f"{self.label:<38} {self.median_s * 1000:9.0f} ms  "
            f"[{min(self.wall_s) * 1000:.0f}–{max(self.wall_s) * 1000:.0f}]  "
            f"{self.median_rss_mib:8.1f} MiB"
        )


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and the last line of stdout of one fresh process.

    The child is reaped with ``os.wait4``, which returns the resource usage of that child alone (``RUSAGE_CHILDREN``
    would give the maximum over every child so far). Output goes to temporary files, so no pipe can block it.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}:\n{stderr}")
    tail = stdout.strip().splitlines()[-1:] or [""]
    return elapsed, usage.ru_maxrss / 1024, tail[0]  # ru_maxrss is in KiB on Linux


def measure(label: str, command: list[str], repeats: int, env: dict[str, str]) -> Result:
    run_once(command, env)  # warm-up: file cache, bytecode
    walls, peaks, tail = [], [], ""
    for _ in range(repeats):
        wall, rss, tail = run_once(command, env)
        walls.append(wall)
        peaks.append(rss)
    result = Result(label, command, walls, peaks, tail)
    print(result.summary(), flush=True)
    return result


def cnncost_command() -> list[str]:
    """The installed ``cnncost`` script beside this interpreter, else ``python -m cnncost``."""
    script = Path(sys.executable).with_name("cnncost")
    if script.exists():
        return [str(script)]
    found = shutil.which("cnncost")
    return [found] if found else [sys.executable, "-m", "cnncost"]


def environment() -> dict[str, str]:
    def version(module: str) -> str:
        code = f"import {module}; print(getattr({module}, '__version__', '?'))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() or "not installed"

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "cnncost": version("cnncost"),
        "torch": version("torch"),
        "fvcore": version("fvcore"),
    }


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: an old file survives any failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="measured runs per command (after one warm-up)")
    parser.add_argument("--network", default="resnet50")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "NO_COLOR": "1", "OMP_NUM_THREADS": "1"}
    env.pop("CNNCOST_DEBUG", None)
    cc = cnncost_command()
    net = args.network
    info = environment()
    print("environment: " + " · ".join(f"{k} {v}" for k, v in info.items()))
    print(f"cnncost runs as: {' '.join(cc)}; {args.repeats} runs each after one warm-up; median [min–max]\n")

    fvcore = measure(
        f"fvcore FlopCountAnalysis {net} (cold)",
        [sys.executable, "-c", FVCORE_SNIPPET, net, "1", "224"],
        args.repeats,
        env,
    )
    table = measure(f"cnncost table {net}", [*cc, "table", net], args.repeats, env)
    variants = [
        measure(f"cnncost table {net} --batch 64", [*cc, "table", net, "--batch", "64"], args.repeats, env),
        measure(f"cnncost table {net} --size 1024", [*cc, "table", net, "--size", "1024"], args.repeats, env),
        measure(
            f"cnncost table {net} -b 256 -s 512",
            [*cc, "table", net, "--batch", "256", "--size", "512"],
            args.repeats,
            env,
        ),
    ]
    help_ = measure("cnncost --help", [*cc, "--help"], args.repeats, env)
    listing = measure("cnncost list", [*cc, "list"], args.repeats, env)

    speed = fvcore.median_s / table.median_s
    memory = table.median_rss_mib / fvcore.median_rss_mib
    times = [table.median_s] + [v.median_s for v in variants]
    spread = (max(times) - min(times)) / min(times)
    checks = [
        (f"table {speed:.1f}× faster than fvcore (target ≥ 8×)", speed >= 8),
        (f"table peak memory {memory:.3f} of fvcore's = 1/{1 / memory:.1f} (target ≤ 1/5)", memory <= 0.2),
        (
            f"table time across --batch/--size within {spread * 100:.0f}% of the fastest (target: independent)",
            spread <= 0.25,
        ),
        (f"--help {help_.median_s * 1000:.0f} ms (target well under 500 ms)", help_.median_s < 0.5),
        (f"list {listing.median_s * 1000:.0f} ms (target well under 500 ms)", listing.median_s < 0.5),
    ]
    print(f"\nfvcore's total for {net} at 1×3×224×224: {fvcore.stdout_tail}")
    print()
    for text, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")

    if args.json:
        payload = {
            "environment": info,
            "cnncost_command": cc,
            "repeats": args.repeats,
            "results": [
                {**asdict(r), "median_s": r.median_s, "median_peak_rss_mib": r.median_rss_mib}
                for r in [fvcore, table, *variants, help_, listing]
            ],
            "ratios": {"speed": speed, "memory": memory, "batch_size_spread": spread},
            "checks": {text: passed for text, passed in checks},
        }
        write_atomically(args.json, json.dumps(payload, indent=2) + "\n")
    return 0 if all(passed for _, passed in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
