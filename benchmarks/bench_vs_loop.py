"""Does ``cnncost bench`` measure what a hand-written PyTorch timing loop measures?

Times the *same* built module, in the same process and the same rounds, two ways:

1. a plain hand-written loop (eval, ``inference_mode``, warm-up calls, then blocks of back-to-back calls with a
   synchronize at both ends of each block: the loop people write by hand);
2. the cnncost bench library (``cnncost.bench.run_bench`` with the matching options);

and prints both medians and their ratio per round, interleaved so that drifting machine load hits both alike.
They must agree within 5 %. Many short interleaved rounds, judged by the median of their ratios, keep a
machine whose speed drifts by several per cent from one second to the next (a shared or virtual machine) from
deciding the result.

    python benchmarks/bench_vs_loop.py                         # resnet18, batch 8, CPU, fp32, 9 rounds
    python benchmarks/bench_vs_loop.py --net resnet50 --batch 256 --device cuda --precision bf16 \\
        --channels-last --compile --rounds 3                   # the H100 throughput figure
    python benchmarks/bench_vs_loop.py --net resnet50 --batch 1 --device cuda --precision bf16 \\
        --channels-last --compile --cuda-graphs --rounds 3     # the H100 latency figure

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
from cnncost.bench import BenchConfig, BenchResult, run_bench
from cnncost.bench.backend import cpu_name

DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def hand_loop(
    model: Callable[[torch.Tensor], object],
    x: torch.Tensor,
    *,
    sync: Callable[[], None],
    warmup_s: float,
    blocks: int,
    block_s: float,
) -> tuple[float, float]:
    """(median, min) seconds per forward: warm up for ``warmup_s``, then ``blocks`` blocks of back-to-back
    calls, each block timed between two synchronizes."""
    with torch.inference_mode():
        start = time.perf_counter()
        calls = 0
        while calls < 3 or time.perf_counter() - start < warmup_s:
            model(x)
            sync()
            calls += 1
        sync()
        t0 = time.perf_counter()
        model(x)
        sync()
        one = time.perf_counter() - t0
        per_block = max(1, round(block_s / max(one, 1e-9)))
        times = []
        for _ in range(blocks):
            sync()
            t0 = time.perf_counter()
            for _ in range(per_block):
                model(x)
            sync()
            times.append((time.perf_counter() - t0) / per_block)
    return statistics.median(times), min(times)


def cuda_graph(fn: Callable[[], object]) -> Callable[[], object]:
    """The usual by-hand CUDA graph: warm up on a side stream, capture one forward, replay it."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--net", default="resnet18")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="fp32", choices=list(DTYPES))
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--cuda-graphs", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per round, both ways")
    p.add_argument("--min-time", type=float, default=1.0, help="timed seconds per round, both ways")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--tolerance", type=float, default=0.05)
    args = p.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = DTYPES[args.precision]
    report = api.analyze(args.net)
    network = api.resolve(args.net)
    h, w, c = network.input_shape
    model: nn.Module = api.build(args.net, device=device).eval().to(dtype=dtype)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    x = torch.randn(args.batch, c, h, w, device=device, dtype=dtype)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
        tf32 = args.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32

        def sync() -> None:
            torch.cuda.synchronize()

        name = torch.cuda.get_device_name()
    else:

        def sync() -> None:
            return None

        name = cpu_name()

    # The hand-written side: its own torch.compile and its own CUDA graph.
    compiled: Callable[[torch.Tensor], object] = (
        torch.compile(model, dynamic=False) if args.compile else model  # type: ignore[assignment]
    )
    loop_fn: Callable[[torch.Tensor], object] = compiled
    if args.cuda_graphs:
        with torch.inference_mode():
            replay = cuda_graph(lambda: compiled(x))
        loop_fn = lambda _x: replay()  # noqa: E731

    config = BenchConfig(
        device=args.device,
        batches=(args.batch,),
        precision=args.precision,
        channels_last=args.channels_last,
        compile="default" if args.compile else "off",
        cuda_graphs=args.cuda_graphs,
        threads=args.threads,
        warmup_s=args.warmup,
        min_time_s=args.min_time,
        repeats=args.repeats,
    )
    macs = report.totals.macs
    print(f"{args.net} batch {args.batch} · {args.precision} · {'channels-last' if args.channels_last else 'NCHW'}"
          f" · compile {'on' if args.compile else 'off'} · CUDA graphs {'on' if args.cuda_graphs else 'off'}")
    print(f"device {name} · torch {torch.__version__} · threads {torch.get_num_threads()}")
    heads = ("round", "hand loop ms", "cnncost ms", "ratio", "min ratio", "hand img/s", "cnncost img/s")
    widths = (5, 12, 10, 6, 9, 10, 13)
    print("  ".join(f"{h:>{n}}" for h, n in zip(heads, widths, strict=True)))
    ratios, min_ratios = [], []
    for i in range(args.rounds):
        # Alternate which side goes first, so that neither always inherits the other's warm caches or
        # always meets a load that builds up during the round.
        def loop() -> tuple[float, float]:
            return hand_loop(loop_fn, x, sync=sync, warmup_s=args.warmup, blocks=args.repeats,
                             block_s=args.min_time / args.repeats)

        def library() -> BenchResult:
            return run_bench(lambda _d: model, macs, config, input_shape=(h, w, c), name=args.net).results[0]

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
    median = statistics.median(ratios)
    ok = abs(median - 1) <= args.tolerance
    spread = f"rounds {min(ratios):.3f}–{max(ratios):.3f}"
    print(f"median ratio cnncost / hand loop: {median:.3f} ({'within' if ok else 'OUTSIDE'} "
          f"±{100 * args.tolerance:.0f}%; {spread}) · ratio of the minima {statistics.median(min_ratios):.3f} · "
          f"{result.tflops:.3f} TFLOP/s achieved ({2 * macs:,} FLOPs per image)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
