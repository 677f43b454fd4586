"""Does ``cnncost bench --train`` measure what a hand-written PyTorch training loop measures?

Times a training step of the *same* built module, in the same process and the same rounds, two ways:

1. a plain hand-written training loop: ``zero_grad``, forward (under autocast for bf16/fp16), cross-entropy
   against fixed random labels, ``backward``, ``SGD(momentum=0.9).step()``; warm-up steps, then blocks of
   back-to-back steps with a synchronize at both ends of each block;
2. the cnncost bench library (``cnncost.bench.train.run_train_bench`` with the matching options);

and prints both medians and their ratio per round, interleaved (alternating which goes first) so that drifting
machine load hits both alike. The median ratio must lie within 1 ± 5 %. Also prints the achieved TFLOP/s from
the step's exact MACs (forward + backward, 2 FLOPs per MAC) next to what "3 × forward" would have claimed.

    python benchmarks/train_vs_loop.py                          # resnet18 at 112, batch 8, CPU, fp32, 7 rounds
    python benchmarks/train_vs_loop.py --net resnet50 --size 224 --batch 256 --device cuda --precision bf16 \\
        --channels-last --compile --rounds 3                    # the GPU training figure

Exit code 1 when the median ratio is outside 1 ± tolerance.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

from cnncost import api
from cnncost.analysis.engine import analyze_network
from cnncost.analysis.training import TrainOptions, analyze_training
from cnncost.bench import BenchConfig, BenchResult
from cnncost.bench.backend import cpu_name
from cnncost.bench.train import run_train_bench


def hand_step(model: nn.Module, x: torch.Tensor, classes: int, *, precision: str) -> Callable[[], None]:
    """The training step people write by hand."""
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
    labels = torch.randint(0, classes, (x.shape[0],), device=x.device)
    autocast = precision in ("bf16", "fp16")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=dtype, enabled=autocast):
            out = model(x)
        loss = nn.functional.cross_entropy(out.float(), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    return step


def hand_loop(
    step: Callable[[], None], *, sync: Callable[[], None], warmup_s: float, blocks: int, block_s: float
) -> tuple[float, float]:
    """(median, min) seconds per step: warm up for ``warmup_s``, then ``blocks`` timed blocks of steps."""
    start = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < warmup_s:
        step()
        sync()
        calls += 1
    t0 = time.perf_counter()
    step()
    sync()
    one = time.perf_counter() - t0
    per_block = max(1, round(block_s / max(one, 1e-9)))
    times = []
    for _ in range(blocks):
        sync()
        t0 = time.perf_counter()
        for _ in range(per_block):
            step()
        sync()
        times.append((time.perf_counter() - t0) / per_block)
    return statistics.median(times), min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--net", default="resnet18")
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per round, both ways")
    p.add_argument("--min-time", type=float, default=2.0, help="timed seconds per round, both ways")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--tolerance", type=float, default=0.05)
    args = p.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    network = api.resolve(args.net, size=args.size)
    report = analyze_network(network)
    training = analyze_training(network, report, TrainOptions())
    h, w, c = network.input_shape
    classes = report.output_shape[0]
    model: nn.Module = api.build(network, device=device).train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    x = torch.randn(args.batch, c, h, w, device=device)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True

        def sync() -> None:
            torch.cuda.synchronize()

        name = torch.cuda.get_device_name()
    else:

        def sync() -> None:
            return None

        name = cpu_name()

    runner: nn.Module = torch.compile(model, dynamic=False) if args.compile else model  # type: ignore[assignment]
    step = hand_step(runner, x, classes, precision=args.precision)
    config = BenchConfig(
        device=args.device,
        batches=(args.batch,),
        precision=args.precision,
        channels_last=args.channels_last,
        compile="default" if args.compile else "off",
        cuda_graphs=False,
        threads=args.threads,
        warmup_s=args.warmup,
        min_time_s=args.min_time,
        repeats=args.repeats,
    )
    print(f"{args.net} at {h}×{w}, batch {args.batch} · training step · {args.precision} · "
          f"{'channels-last' if args.channels_last else 'NCHW'} · compile {'on' if args.compile else 'off'}")
    print(f"device {name} · torch {torch.__version__} · threads {torch.get_num_threads()}")
    heads = ("round", "hand loop ms", "cnncost ms", "ratio", "min ratio", "hand img/s", "cnncost img/s")
    widths = (5, 12, 10, 6, 9, 10, 13)
    print("  ".join(f"{hd:>{n}}" for hd, n in zip(heads, widths, strict=True)))
    ratios, min_ratios = [], []
    result: BenchResult | None = None
    for i in range(args.rounds):
        def loop() -> tuple[float, float]:
            return hand_loop(step, sync=sync, warmup_s=args.warmup, blocks=args.repeats,
                             block_s=args.min_time / args.repeats)

        def library() -> BenchResult:
            return run_train_bench(network, config, build=lambda _d: model).results[0]

        if i % 2 == 0:
            (loop_s, loop_min), result = loop(), library()
        else:
            result = library()
            loop_s, loop_min = loop()
        bench_s, bench_min = result.median_ms / 1e3, result.min_ms / 1e3
        ratios.append(bench_s / loop_s)
        min_ratios.append(bench_min / loop_min)
        print(f"{i + 1:>5}  {loop_s * 1e3:>12.3f}  {bench_s * 1e3:>10.3f}  {ratios[-1]:>6.3f}  {min_ratios[-1]:>9.3f}  "
              f"{args.batch / loop_s:>10.1f}  {result.images_per_s:>13.1f}"
              + ("  (cnncost: noisy)" if result.noisy else ""))
    assert result is not None
    median = statistics.median(ratios)
    ok = abs(median - 1) <= args.tolerance
    step_macs = training.step_macs
    naive = 3 * training.forward_macs
    print(f"median ratio cnncost / hand loop: {median:.3f} ({'within' if ok else 'OUTSIDE'} "
          f"±{100 * args.tolerance:.0f}%; rounds {min(ratios):.3f}–{max(ratios):.3f}) · ratio of the minima "
          f"{statistics.median(min_ratios):.3f}")
    print(f"{result.tflops:.4f} TFLOP/s achieved from the exact step MACs ({step_macs:,} per image: forward "
          f"{training.forward_macs:,} + backward {training.backward_macs:,}); '3 × forward' would claim "
          f"{result.tflops * naive / step_macs:.4f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
