"""cnncost's ``analyze_module`` against fvcore and torchinfo on the same large PyTorch modules, in the same run.

A user holds a model in Python and wants its cost. fvcore traces a real forward pass; torchinfo runs one under
hooks; cnncost runs none — it copies the model to the meta device (no weights, no activations) and reads shapes.
So the gap should grow with the input: a large batch (VGG-16 at batch 32) or a large image (ResNet-152 at
1024×1024).

Every measurement is a fresh process (``--worker``) that builds the model the same way for every tool — the
torchvision layout written out below, real random weights on the CPU, eval mode — then times the counting call
alone (``time.perf_counter``) and reads its peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``)
twice: right after building (the model alone) and at the end. "peak" is the whole process; "counting" is what
the count itself added on top of the built model. Each process reports its number, and the cnncost process also
reports its exact predictions of the fvcore and torchinfo numbers, which the parent checks against the tools'
own output from the same run.

    python benchmarks/analyze_vs_peers.py [--repeats 3] [--quick] [--json results.json]

``--quick`` uses small inputs (a smoke test, seconds). The models are importable too, e.g.
``cnncost table --module benchmarks/analyze_vs_peers.py:resnet152 --input-shape 3,1024,1024``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------------------ the models


def vgg16() -> Any:
    """torchvision's VGG-16 (configuration D): 138,357,544 parameters."""
    from torch import nn

    layers: list[nn.Module] = []
    c_in = 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c_in, int(v), 3, padding=1), nn.ReLU(inplace=True)]
            c_in = int(v)
    return nn.Sequential(
        nn.Sequential(*layers),
        nn.AdaptiveAvgPool2d(7),
        nn.Flatten(),
        nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, 1000),
        ),
    )


def _resnet(depths: tuple[int, int, int, int]) -> Any:
    """torchvision's ResNet with bottlenecks (v1.5: stride in the 3×3), written out as its forward is."""
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, c_in: int, width: int, stride: int) -> None:
            super().__init__()
            c_out = 4 * width
            self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = (
                nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                if stride != 1 or c_in != c_out
                else None
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            c_in, stages = 64, []
            for i, (n, width) in enumerate(zip(depths, (64, 128, 256, 512), strict=True)):
                blocks = []
                for j in range(n):
                    blocks.append(Bottleneck(c_in, width, 2 if j == 0 and i > 0 else 1))
                    c_in = 4 * width
                stages.append(nn.Sequential(*blocks))
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(2048, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()


def resnet50() -> Any:
    """torchvision's ResNet-50: 25,557,032 parameters."""
    return _resnet((3, 4, 6, 3))


def resnet152() -> Any:
    """torchvision's ResNet-152: 60,192,808 parameters."""
    return _resnet((3, 8, 36, 3))


def convnext_base() -> Any:
    """torchvision's ConvNeXt-Base (88,591,464 parameters), written out as its forward is — or torchvision's own
    when it is installed and ``CNNCOST_BENCH_TORCHVISION=1``."""
    if os.environ.get("CNNCOST_BENCH_TORCHVISION") == "1":
        import torchvision

        return torchvision.models.convnext_base(weights=None)
    import torch
    from torch import nn
    from torch.nn import functional as F

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class Permute(nn.Module):
        def __init__(self, dims: list[int]) -> None:
            super().__init__()
            self.dims = dims

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.permute(x, self.dims)

    class CNBlock(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.block = nn.Sequential(
                nn.Conv2d(dim, dim, 7, padding=3, groups=dim),
                Permute([0, 2, 3, 1]),
                nn.LayerNorm(dim, eps=1e-6),
                nn.Linear(dim, 4 * dim),
                nn.GELU(),
                nn.Linear(4 * dim, dim),
                Permute([0, 3, 1, 2]),
            )
            self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer_scale * self.block(x) + x  # stochastic depth: the identity in eval mode

    dims, depths = (128, 256, 512, 1024), (3, 3, 27, 3)
    layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6))]
    for i, (dim, depth) in enumerate(zip(dims, depths, strict=True)):
        layers.append(nn.Sequential(*(CNBlock(dim) for _ in range(depth))))
        if i < 3:
            layers.append(nn.Sequential(LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, dims[i + 1], 2, 2)))

    class ConvNeXt(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(LayerNorm2d(1024, eps=1e-6), nn.Flatten(1), nn.Linear(1024, 1000))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.avgpool(self.features(x)))

    return ConvNeXt()


MODELS = {"vgg16": vgg16, "resnet50": resnet50, "resnet152": resnet152, "convnext_base": convnext_base}

#: (model, batch, image size) measured by default, and with --quick.
CASES = [("vgg16", 32, 224), ("resnet152", 1, 1024)]
QUICK = [("vgg16", 2, 64), ("resnet152", 1, 128)]

#: The speed target: cnncost's counting call at least TARGET × faster than fvcore's, batch 1, 224×224, one thread.
TARGET_CASES = [("resnet152", 1, 224), ("convnext_base", 1, 224)]
TARGET = 5.0
TOOLS = ("cnncost", "fvcore", "torchinfo")

# ------------------------------------------------------------------------------------------------ a worker


def _maxrss_mib() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux


def worker(tool: str, model_name: str, batch: int, size: int) -> dict[str, Any]:
    """Build the model, count it once with ``tool``, and report the time and peak memory of the count."""
    import logging
    import warnings

    import torch

    threads = int(os.environ.get("CNNCOST_BENCH_THREADS", "0"))
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = MODELS[model_name]().eval()
    built_mib = _maxrss_mib()
    out: dict[str, Any] = {"built_mib": built_mib}
    if tool == "cnncost":
        from cnncost.analysis.conventions import predict
        from cnncost.torch.module import analyze_module

        start, cpu_start = time.perf_counter(), time.process_time()
        report = analyze_module(model, (3, size, size), batch=batch, name=model_name)
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu_start
        out["count"] = report.totals.macs
        out["predicted"] = {key: predict(report, key).count for key in ("fvcore", "torchinfo")}
        out["params"] = report.totals.params
    elif tool == "fvcore":
        from fvcore.nn import FlopCountAnalysis

        logging.getLogger("fvcore").setLevel(logging.ERROR)
        x = torch.zeros(batch, 3, size, size)
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            analysis = FlopCountAnalysis(model, (x,))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            out["count"] = int(analysis.total())
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu_start
    elif tool == "torchinfo":
        from torchinfo import summary

        start, cpu_start = time.perf_counter(), time.process_time()
        stats = summary(model, input_size=(batch, 3, size, size), verbose=0, device="cpu")
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu_start
        out["count"] = int(stats.total_mult_adds)
    else:
        raise SystemExit(f"unknown tool {tool}")
    out["peak_mib"] = _maxrss_mib()
    return out


# ------------------------------------------------------------------------------------------------ the parent


@dataclass(frozen=True)
class Measured:
    tool: str
    model: str
    batch: int
    size: int
    seconds: list[float]
    #: CPU time of the counting call in each process (the target's measure: on one thread it is the call's own
    #: work, whatever else the machine runs).
    cpu_seconds: list[float]
    peak_mib: float
    built_mib: float
    count: int
    predicted: dict[str, int] | None

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(self.cpu_seconds)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def counting_mib(self) -> float:
        return max(0.0, self.peak_mib - self.built_mib)


def measure(tool: str, model: str, batch: int, size: int, repeats: int, threads: int = 0) -> Measured:
    runs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if threads:
        env["CNNCOST_BENCH_THREADS"] = str(threads)
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, __file__, "--worker", tool, model, str(batch), str(size)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{tool} on {model} failed:\n{done.stderr}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    last = runs[-1]
    return Measured(
        tool,
        model,
        batch,
        size,
        [r["seconds"] for r in runs],
        [r["cpu_seconds"] for r in runs],
        max(r["peak_mib"] for r in runs),
        min(r["built_mib"] for r in runs),
        int(last["count"]),
        last.get("predicted"),
    )


def _version(name: str) -> str:
    try:
        return str(getattr(__import__(name), "__version__", "?"))
    except ImportError:
        return "not installed"


def environment() -> dict[str, str]:
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cores": str(os.cpu_count()),
        "torch": torch.__version__,
        "fvcore": _version("fvcore"),
        "torchinfo": _version("torchinfo"),
        "torchvision": _version("torchvision"),
        "threads": str(torch.get_num_threads()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="processes per tool and case (median time)")
    parser.add_argument("--quick", action="store_true", help="small inputs: a smoke test")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--target-only", action="store_true", help=f"only the speed target: {TARGET:g}× fvcore, batch 1, one thread"
    )
    parser.add_argument("--worker", nargs=4, metavar=("TOOL", "MODEL", "BATCH", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tool, model, batch, size = args.worker
        print(json.dumps(worker(tool, model, int(batch), int(size))))
        return 0

    env = environment()
    print("environment: " + ", ".join(f"{k} {v}" for k, v in env.items()))
    results: list[Measured] = []
    failures = 0
    for model, batch, size in [] if args.target_only else QUICK if args.quick else CASES:
        print(f"\n{model}, batch {batch}, {size}×{size} (times: median of {args.repeats} processes)")
        row = {tool: measure(tool, model, batch, size, args.repeats) for tool in TOOLS}
        results.extend(row.values())
        ours = row["cnncost"]
        header = f"  {'tool':<10} {'count':>20} {'time':>10} {'peak RSS':>11} {'counting':>11}"
        print(header + "   time ×   counting memory ×")
        for tool in TOOLS:
            m = row[tool]
            t_ratio = m.median_s / ours.median_s
            mem_ratio = m.counting_mib / ours.counting_mib if ours.counting_mib > 0 else float("inf")
            ratios = "" if tool == "cnncost" else f"   {t_ratio:6.0f}×   {mem_ratio:10.1f}×"
            print(
                f"  {tool:<10} {m.count:>20,} {m.median_s:>9.3f}s {m.peak_mib:>8.0f} MiB {m.counting_mib:>7.0f} MiB"
                f"{ratios}"
            )
        assert ours.predicted is not None
        for tool in ("fvcore", "torchinfo"):
            same = ours.predicted[tool] == row[tool].count
            failures += not same
            verdict = "equals" if same else "DIFFERS FROM"
            print(f"  cnncost's prediction of {tool}, {ours.predicted[tool]:,}, {verdict} {tool}'s own count")
        print(f"  built model alone: {ours.built_mib:.0f} MiB peak RSS (the same code for every tool)")
    missed = target(args.repeats, results)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "environment": env,
                    "results": [
                        {**asdict(m), "median_s": m.median_s, "counting_mib": m.counting_mib} for m in results
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    if missed:
        print(f"MISSED the {TARGET:g}× target on: {', '.join(missed)}")
    return 1 if failures or missed else 0


def target(repeats: int, results: list[Measured]) -> list[str]:
    """The speed target, measured and printed: cnncost's counting call against fvcore's, one thread, batch 1.
    Returns the models on which cnncost is less than TARGET × faster."""
    missed = []
    print(
        f"\nspeed target: cnncost's counting call ≥ {TARGET:g}× faster than fvcore's (batch 1, one thread; judged on"
        " CPU time, which on one thread is the call's own work however loaded the machine; wall time beside it)"
    )
    for model, batch, size in TARGET_CASES:
        ours = measure("cnncost", model, batch, size, repeats, threads=1)
        theirs = measure("fvcore", model, batch, size, repeats, threads=1)
        results.extend((ours, theirs))
        ratio = theirs.median_cpu_s / ours.median_cpu_s
        wall = theirs.median_s / ours.median_s
        verdict = "ok" if ratio >= TARGET else "MISSED"
        print(
            f"  {model:<14} {size}×{size}  cnncost {ours.median_cpu_s:.3f}s CPU ({ours.median_s:.3f}s wall, "
            f"{ours.counting_mib:.0f} MiB counting)  fvcore {theirs.median_cpu_s:.3f}s CPU ({theirs.median_s:.3f}s "
            f"wall, {theirs.counting_mib:.0f} MiB)  {ratio:5.1f}× CPU ({wall:.1f}× wall)  {verdict}"
        )
        if ratio < TARGET:
            missed.append(model)
    return missed


if __name__ == "__main__":
    sys.exit(main())
