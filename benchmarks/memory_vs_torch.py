"""Does cnncost's memory model predict what PyTorch really holds?

For every bundled network (or those named), at its own input size and a batch, side by side:

- inference: the predicted peak of live activations over an eval forward pass (``cnncost.analysis.memory``)
  against the peak that ``cnncost.torch.memory.LiveBytes`` (a TorchDispatchMode counting every storage an op
  returns until PyTorch frees it) measures over that pass of the built module, the input batch included;
- training: the predicted peak of a training step (forward, cross-entropy, backward, optimizer step: weights,
  gradients, optimizer state and everything live) against the measured one, and the phase it falls in.

The module is built on the meta device (same storages as the CPU, no bytes allocated: the tests hold the two to
the same bytes), so the whole library takes minutes, not hours. Prints a Markdown table and the worst relative
error; exit code 1 when any network is outside ±10 %.

    python benchmarks/memory_vs_torch.py                          # every network, batch 8, Adam
    python benchmarks/memory_vs_torch.py --batch 32 --optimizer sgd resnet50 vgg16
"""

from __future__ import annotations

import argparse
import sys
import time

from cnncost import api
from cnncost.analysis.memory import memory
from cnncost.render import numbers as num
from cnncost.torch.memory import measure_inference, measure_training


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="bundled networks (default: all)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--optimizer", default="adam", choices=("sgd", "momentum", "adam", "adamw"))
    parser.add_argument("--bound", type=float, default=0.10)
    args = parser.parse_args()
    names = args.names or [e.name for e in api.library_entries()]
    print(f"batch {args.batch}, {args.optimizer}, fp32, each network at its own input size; built on the meta "
          "device; the training step after a warm-up step (the optimizer's state made)\n")
    print("| network | inference predicted | measured | error | training predicted | measured | error | peak in |")
    print("|---|--:|--:|--:|--:|--:|--:|---|")
    worst = (0.0, "", "")
    started = time.perf_counter()
    for name in names:
        net = api.resolve(name)
        # The meta device takes the CPU's road for dropout: its noise kept in fp32, as the model's "cpu" kind.
        model = memory(net, batch=args.batch, optimizer=args.optimizer, device="cpu")
        inference = measure_inference(net, batch=args.batch)
        training = measure_training(net, batch=args.batch, optimizer=args.optimizer)
        e_inf = model.inference_peak / inference.peak - 1
        e_train = model.training_peak / training.peak - 1
        for err, what in ((e_inf, "inference"), (e_train, "training")):
            if abs(err) > abs(worst[0]):
                worst = (err, name, what)
        measured_phase = max(training.phases, key=lambda k: training.phases[k] if k != "start" else -1)
        print(
            f"| {name} | {num.size(model.inference_peak)} | {num.size(inference.peak)} | "
            f"{num.signed_percent(e_inf)} | {num.size(model.training_peak)} | {num.size(training.peak)} | "
            f"{num.signed_percent(e_train)} | {model.peak_phase} / {measured_phase} |",
            flush=True,
        )
    elapsed = time.perf_counter() - started
    print(f"\n{len(names)} networks in {elapsed:.0f} s; worst: {num.signed_percent(worst[0])} ({worst[1]}, "
          f"{worst[2]})")
    return 1 if abs(worst[0]) > args.bound else 0


if __name__ == "__main__":
    sys.exit(main())
