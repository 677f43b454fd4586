"""How fast does cnncost start? Every command a fresh process, against the floor of this very interpreter.

The floor is ``python -c "import yaml"``: the interpreter's start, the site packages and the YAML library every
spec needs — nothing a Python CLI reading YAML can avoid. Measured in the same run, interleaved (one run of each
command per round, rounds repeated), so load from other jobs spreads over every command alike; each figure is the
median over the rounds, after one warm-up round (file cache, bytecode). Compared:

- a cold fvcore count of the same network (import torch and fvcore, build the module, trace, count);
- ``cnncost table NET`` and the same at ``--batch 64``, ``--size 1024`` and both (its time must not depend on
  them), and ``cnncost table resnet1202`` (the largest bundled network, about 4,000 layers);
- ``cnncost --help``; ``cnncost list`` with its cache warm, and cold (``CNNCOST_NO_CACHE=1``).

Targets (the start-up issue), each checked as a ratio of medians from this run; the script exits 1 when one is
missed:
- ``table`` (computed; the first run, which also keys and stores its text in a new cache folder; and repeated
  from the table cache): at least 20× faster than the cold fvcore count, and
  within 4× of the floor;
- ``table`` at other ``--batch``/``--size``: within 25 % of the plain run (flat);
- ``--help`` and ``list`` (warm): within 3× of the floor; ``list`` cold: under one second;
- ``table resnet1202``: within 2× of ``table NET``.

Bytecode: the children may write it (``PYTHONDONTWRITEBYTECODE`` is dropped for them), as an installed wheel has
it; the warm-up round writes it.

    python benchmarks/startup.py [--rounds 7] [--network resnet50] [--skip-fvcore] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_vs_fvcore import (  # a sibling script, not a package
    FVCORE_SNIPPET,
    ROOT,
    cnncost_command,
    environment,
    run_once,
    write_atomically,
)


@dataclass
class Command:
    label: str
    argv: list[str]
    env: dict[str, str]
    walls: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    #: run each time with a new, empty cache folder made in this folder (the first run of a command on a machine)
    fresh_cache_in: str | None = None

    def environ(self) -> dict[str, str]:
        if self.fresh_cache_in is None:
            return self.env
        fresh = tempfile.mkdtemp(prefix="first-", dir=self.fresh_cache_in)
        return {**self.env, "CNNCOST_CACHE_DIR": fresh}

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    def line(self, floor: float) -> str:
        return (
            f"{self.label:<42} {self.median * 1000:8.0f} ms  "
            f"[{min(self.walls) * 1000:.0f}–{max(self.walls) * 1000:.0f}]"
            f"  {self.median / floor:6.2f}× floor  {statistics.median(self.rss):7.1f} MiB"
        )


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="measured rounds (after one warm-up round)")
    parser.add_argument("--network", default="resnet50")
    parser.add_argument("--skip-fvcore", action="store_true", help="leave the (slow) fvcore baseline out")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    scratch = tempfile.mkdtemp(prefix="cnncost-startup-")  # every cache folder the runs use
    try:
        return measure(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure(args: argparse.Namespace, scratch: str) -> int:
    """Run the rounds, print every figure and the checks; 1 when a target is missed."""
    base = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "NO_COLOR": "1", "OMP_NUM_THREADS": "1"}
    for name in ("CNNCOST_DEBUG", "CNNCOST_NO_CACHE", "PYTHONDONTWRITEBYTECODE"):
        base.pop(name, None)
    cache = tempfile.mkdtemp(prefix="cache-", dir=scratch)
    warm = {**base, "CNNCOST_CACHE_DIR": cache}
    cold = {**base, "CNNCOST_NO_CACHE": "1"}
    cc, net, py = cnncost_command(), args.network, sys.executable

    floor = Command('python -c "import yaml" (floor)', [py, "-c", "import yaml"], base)
    fvcore = Command(f"fvcore FlopCountAnalysis {net} (cold)", [py, "-c", FVCORE_SNIPPET, net, "1", "224"], base)
    # The table computed (CNNCOST_NO_CACHE=1: resolved, analyzed and rendered, as a first run is), and the same
    # command repeated, served by the table cache (cnncost.tablecache)
    table = Command(f"cnncost table {net} (computed)", [*cc, "table", net], cold)
    # The very first run on a machine: computed, and its cache key made and its entry written (a new cache folder
    # every time, secret included)
    first = Command(f"cnncost table {net} (first run)", [*cc, "table", net], base, fresh_cache_in=scratch)
    repeat = Command(f"cnncost table {net} (repeat: cache warm)", [*cc, "table", net], warm)
    variants = [
        Command(f"cnncost table {net} --batch 64", [*cc, "table", net, "--batch", "64"], cold),
        Command(f"cnncost table {net} --size 1024", [*cc, "table", net, "--size", "1024"], cold),
        Command(f"cnncost table {net} -b 256 -s 512", [*cc, "table", net, "-b", "256", "-s", "512"], cold),
    ]
    largest = Command("cnncost table resnet1202 (computed)", [*cc, "table", "resnet1202"], cold)
    help_ = Command("cnncost --help", [*cc, "--help"], warm)
    listing = Command("cnncost list (cache warm)", [*cc, "list"], warm)
    cold_list = Command("cnncost list (CNNCOST_NO_CACHE=1)", [*cc, "list"], cold)
    commands = [floor, table, first, repeat, *variants, largest, help_, listing, cold_list]
    if not args.skip_fvcore:
        commands.insert(1, fvcore)

    info = environment()
    print("environment: " + " · ".join(f"{k} {v}" for k, v in info.items()))
    print(f"cnncost runs as: {' '.join(cc)}; {args.rounds} interleaved rounds after a warm-up round; median [min–max]")
    load_before = load()
    print(f"load before: {load_before}\n")
    for round_ in range(args.rounds + 1):
        for command in commands:
            wall, rss, _ = run_once(command.argv, command.environ())
            if round_:  # round 0 warms the file cache and writes bytecode
                command.walls.append(wall)
                command.rss.append(rss)
    load_after = load()
    for command in commands:
        print(command.line(floor.median))
    print(f"\nload after: {load_after}")

    spread = max(v.median / table.median for v in variants)
    checks: list[tuple[str, bool | None]] = [
        (
            f"table {fvcore.median / table.median:.1f}× faster than a cold fvcore count (target ≥ 20×)"
            if fvcore.walls
            else "table vs fvcore: not measured (--skip-fvcore)",
            fvcore.median / table.median >= 20 if fvcore.walls else None,
        ),
        (
            f"table first run (empty cache) {fvcore.median / first.median:.1f}× faster than a cold fvcore count "
            "(target ≥ 20×)"
            if fvcore.walls
            else "table first run vs fvcore: not measured (--skip-fvcore)",
            fvcore.median / first.median >= 20 if fvcore.walls else None,
        ),
        (
            f"table repeated (cache warm) {fvcore.median / repeat.median:.1f}× faster than a cold fvcore count "
            "(target ≥ 20×)"
            if fvcore.walls
            else "table repeated vs fvcore: not measured (--skip-fvcore)",
            fvcore.median / repeat.median >= 20 if fvcore.walls else None,
        ),
        (f"table {table.median / floor.median:.2f}× the floor (target ≤ 4×)", table.median <= 4 * floor.median),
        (f"table at other --batch/--size: at most {spread:.2f}× the plain run (target ≤ 1.25×)", spread <= 1.25),
        (f"--help {help_.median / floor.median:.2f}× the floor (target ≤ 3×)", help_.median <= 3 * floor.median),
        (
            f"list (warm) {listing.median / floor.median:.2f}× the floor (target ≤ 3×)",
            listing.median <= 3 * floor.median,
        ),
        (f"list (cold) {cold_list.median * 1000:.0f} ms (target < 1000 ms)", cold_list.median < 1.0),
        (
            f"table resnet1202 {largest.median / table.median:.2f}× table {net} (target ≤ 2×)",
            largest.median <= 2 * table.median,
        ),
    ]
    print()
    for text, passed in checks:
        print(f"{'SKIP' if passed is None else 'PASS' if passed else 'FAIL'}  {text}")

    if args.json:
        payload = {
            "environment": info,
            "load_before": load_before,
            "load_after": load_after,
            "rounds": args.rounds,
            "results": [
                {"label": c.label, "command": c.argv, "wall_s": c.walls, "median_s": c.median if c.walls else None,
                 "peak_rss_mib": c.rss}
                for c in commands
            ],
            "checks": {text: passed for text, passed in checks},
        }
        write_atomically(args.json, json.dumps(payload, indent=2) + "\n")
    return 0 if all(passed is not False for _, passed in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
