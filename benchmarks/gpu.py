"""The GPU figures in one command: inference and a training step of ResNet-50, with the fastest settings
``cnncost bench`` supports, rendered as tables and as a Markdown section for BENCHMARKS.md.

    python benchmarks/gpu.py                    # everything below, on the first CUDA device
    python benchmarks/gpu.py --out gpu.md       # also write the Markdown section to gpu.md (atomically)
    python benchmarks/gpu.py --quick            # shorter timings (a smoke run)

1. inference, batch 1 (latency): bf16, channels-last, torch.compile, CUDA graphs;
2. inference, batch 256 (throughput): bf16, channels-last, torch.compile, CUDA graphs;
3. a training step, batch 256: forward, cross-entropy, backward, SGD with momentum; mixed precision (autocast
   bf16 over fp32 weights), channels-last, torch.compile; TFLOP/s from the step's exact MACs (forward +
   backward), not 3 × forward.

Without a usable CUDA device it prints why on one line and exits 2, having measured nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys

RUNS = (
    ("inference, latency", "inference", 1, True),
    ("inference, throughput", "inference", 256, True),
    ("training step", "train", 256, False),
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--net", default="resnet50")
    p.add_argument("--device", default="cuda", help="cuda or cuda:N")
    p.add_argument("--out", default=None, help="also write the Markdown section to this file")
    p.add_argument("--quick", action="store_true", help="warm-up 0.5 s and 1 s timed per run (a smoke run)")
    args = p.parse_args()
    try:
        import torch
    except ImportError:
        print("gpu.py: PyTorch is not installed: install cnncost[torch] on the GPU machine", file=sys.stderr)
        return 2
    if not args.device.startswith("cuda"):
        print(f"gpu.py: --device {args.device} is not a CUDA device: use cuda or cuda:N", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        why = "this torch is a CPU build" if torch.version.cuda is None else "no CUDA device is visible"
        print(f"gpu.py: no GPU available ({why}; torch {torch.__version__}): nothing measured", file=sys.stderr)
        return 2

    from cnncost import api, render
    from cnncost.atomic import write_text
    from cnncost.bench import BenchConfig

    timing = {"warmup_s": 0.5, "min_time_s": 1.0} if args.quick else {"warmup_s": 2.0, "min_time_s": 5.0}
    results = []
    for title, mode, batch, graphs in RUNS:
        config = BenchConfig(
            device=args.device,
            batches=(batch,),
            precision="bf16",
            channels_last=True,
            compile="default",
            cuda_graphs=graphs,
            **timing,  # type: ignore[arg-type]
        )
        print(f"== {args.net}: {title}, batch {batch}", flush=True)
        run = api.bench_train(args.net, config=config) if mode == "train" else api.bench(args.net, config=config)
        print(render.render("bench", run.results, "table", width=120))
        results.extend((title, r) for r in run.results)

    index = torch.device(args.device).index or 0
    props = torch.cuda.get_device_properties(index)
    lines = [
        f"## GPU: {args.net} on {props.name}",
        "",
        f"Command: `python benchmarks/gpu.py{' --quick' if args.quick else ''}` · torch {torch.__version__} · "
        f"CUDA {torch.version.cuda} · cuDNN {torch.backends.cudnn.version()} · "
        f"{props.total_memory / 2**30:.0f} GiB · Python {platform.python_version()}",
        "",
        "| run | batch | settings | median ms | IQR ms | images/s | TFLOP/s | % peak |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for title, r in results:
        settings = f"{r.precision}, {r.layout}, compile {r.compile}, CUDA graphs {'on' if r.cuda_graphs else 'off'}"
        peak = f"{100 * r.peak_fraction:.1f}" if r.peak_fraction is not None else "—"
        lines.append(
            f"| {title} | {r.batch} | {settings} | {r.median_ms:.3f} | {r.iqr_ms:.3f} | {r.images_per_s:,.0f} | "
            f"{r.tflops:.1f} | {peak} |"
        )
    lines += ["", "Training TFLOP/s count the step's exact MACs (forward + backward), 2 FLOPs per MAC.", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
