"""``cnncost table … --memory / --device-memory``: the options checked and turned into a ``MemoryView`` for the
renderers (``cnncost.render.memory``). Kept out of ``cnncost.cli`` so the command stays a few lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnncost.errors import UsageError
from cnncost.render.memory import Fit, MemoryView


def device_memory(text: str) -> tuple[int, str, bool]:
    """``--device-memory``: a size (``24GiB``, ``80GB``) or a device of the bench peaks table (``H100``,
    ``A100 40GB``) → (bytes, how the user gave it or the device's name, whether it is a device)."""
    from cnncost.analysis.memory import DEVICE_MEMORY_GIB, parse_bytes
    from cnncost.bench.peaks import DEVICE_PEAKS, lookup

    nbytes = parse_bytes(text)
    if nbytes is not None:
        return nbytes, text.strip(), False
    row = lookup(text) if text.strip() else None
    if row is None or row.name not in DEVICE_MEMORY_GIB:
        known = ", ".join(r.name.removeprefix("NVIDIA ") for r in DEVICE_PEAKS)
        raise UsageError(
            f"--device-memory '{text}' is neither a size nor a known device",
            hint=f"give a size such as 24GiB or 80GB, or one of: {known}",
        )
    return DEVICE_MEMORY_GIB[row.name] * 2**30, row.name, True


def memory_view(
    spec: str | None,
    module: str | None,
    report: Any,
    options: Mapping[str, Any],
    batch: int,
    table: bool,
    train: bool,
    optimizer: str | None,
    dtype: str | None,
    device: str | None,
    depth: int | None = None,
) -> MemoryView:
    """The memory figures of ``spec`` as the table's options ask for them."""
    from cnncost import api
    from cnncost.analysis.memory import largest_batch, memory_options

    if table and depth is not None:
        raise UsageError("--memory lists every layer: it cannot fold them to a depth", hint="remove --depth")
    if module is not None:
        raise UsageError("--memory models a spec's layers", hint="give a bundled network or a spec file")
    chosen: dict[str, Any] = memory_options(optimizer, dtype, train)
    training = getattr(report, "training", None)
    if training is not None:  # --freeze / --trainable / --train-from: frozen layers keep no gradients nor state
        layers = zip(training.rows, report.records, strict=True)
        chosen["trainable"] = frozenset(row.path for row, r in layers if r.is_layer and row.trainable_params)
    fit_to = device_memory(device) if device is not None else None
    assert spec is not None
    network = api.resolve(spec, **options)
    figures = api.memory(network, batch=batch, **chosen)
    fit = None
    if fit_to is not None:
        view = MemoryView(report, figures, train, table)
        largest = None
        if view.needed > fit_to[0]:
            largest = largest_batch(network, fit_to[0], train=train, **chosen)
        fit = Fit(fit_to[0], fit_to[1], fit_to[2], largest)
    return MemoryView(report, figures, train, table, fit)
