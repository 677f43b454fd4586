"""The memory oracle: what PyTorch really holds over a forward pass or a training step of the built module.

:class:`LiveBytes` is a ``TorchDispatchMode`` that sees every tensor an ATen op returns — forward, backward (the
autograd engine runs its nodes under the same mode) and the optimizer's step alike. The first time it sees a
storage it adds the storage's bytes to the live total and hangs a ``weakref.finalize`` on it that takes them off
when PyTorch frees the storage; views, in-place results and tensors made before it started add nothing. The
peak of that total, over the step, plus the bytes already held when it began (weights, buffers, optimizer state,
the input batch) is the measured peak. Scratch memory a kernel allocates inside one op (im2col buffers, oneDNN
workspaces) is not a tensor any op returns, so it is not counted; cnncost's model (``cnncost.analysis.memory``)
does not count it either.

The module may be built on the CPU (real tensors, real arithmetic) or on the meta device (shapes only, no bytes
allocated, no arithmetic: seconds for any network): every op returns tensors of the same shapes and dtypes on
both, so the mode sees the same storages (``tests/test_memory_oracle.py`` holds the two to the same bytes).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from cnncost.frozen import frozen
from cnncost.ir import Network


class LiveBytes(TorchDispatchMode):  # type: ignore[misc,no-untyped-call,unused-ignore]
    """Live bytes of the storages made under the mode; ``peak`` the most at once, ``peaks`` per phase
    (:meth:`phase` names the current one)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        self.live = 0
        self.peak = 0
        self.peaks: dict[str, int] = {}
        self.current = "start"
        self._seen: weakref.WeakSet[Any] = weakref.WeakSet()

    def hold(self, tensors: Iterable[Any]) -> None:
        """Mark the storages of ``tensors`` as already held (made before the mode): never counted."""
        for t in tensors:
            if isinstance(t, torch.Tensor):
                self._seen.add(t.untyped_storage())

    def phase(self, name: str) -> None:
        self.current = name
        self.peaks[name] = self.live

    def _free(self, nbytes: int) -> None:
        self.live -= nbytes

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            if storage in self._seen:
                continue
            self._seen.add(storage)
            nbytes = int(storage.nbytes())
            self.live += nbytes
            weakref.finalize(storage, self._free, nbytes)
        self.peak = max(self.peak, self.live)
        self.peaks[self.current] = max(self.peaks.get(self.current, 0), self.live)
        return out


def storage_bytes(tensors: Iterable[Any]) -> int:
    """Bytes of the distinct storages under ``tensors``."""
    seen: dict[int, int] = {}
    for t in tensors:
        if isinstance(t, torch.Tensor):
            s = t.untyped_storage()
            seen[id(s)] = int(s.nbytes())
    return sum(seen.values())


@frozen
class Measured:
    """What PyTorch held. ``held`` bytes before the pass began (weights, buffers, optimizer state, the input);
    ``peak`` the most live at once, ``held`` included; ``phases`` the peak of each phase (forward, backward,
    step), ``held`` included."""

    held: int
    peak: int
    phases: dict[str, int]


def _input(network: Network, batch: int, device: Any) -> torch.Tensor:
    shape = network.input_shape
    dims = (batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else (batch, *shape)
    return torch.randn(dims, device=device)


def _loss(out: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on class scores (N, K); the mean of any other output."""
    if out.dim() == 2:
        target = torch.zeros(out.shape[0], dtype=torch.long, device=out.device)
        return torch.nn.functional.cross_entropy(out, target)
    return out.mean()


_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _autocast(dtype: str, device: Any) -> Any:
    """Autocast to ``dtype`` (bf16, fp16) on ``device``'s type, or a null context for fp32. The meta device has
    no autocast: a mixed-precision measurement needs real tensors (the CPU)."""
    import contextlib

    if dtype == "fp32":
        return contextlib.nullcontext()
    kind = torch.device(device).type
    if kind == "meta":
        raise ValueError("autocast needs real tensors: measure mixed precision on the CPU (or CUDA)")
    return torch.autocast(kind, dtype=_AUTOCAST[dtype])


def measure_inference(network: Network, *, batch: int = 1, device: Any = "meta", dtype: str = "fp32") -> Measured:
    """Live bytes over one forward pass in eval mode without autograd (under autocast for ``dtype`` bf16 or
    fp16): ``held`` is the input batch (the weights are not counted here: the inference peak is of
    activations)."""
    from cnncost.torch.build import build_module

    model = build_module(network, device=device).eval()
    x = _input(network, batch, device)
    tracker = LiveBytes()
    tracker.hold([x, *model.parameters(), *model.buffers()])
    with torch.no_grad(), tracker, _autocast(dtype, device):
        tracker.phase("forward")
        out = model(x)
    del out
    held = storage_bytes([x])
    return Measured(held, held + tracker.peak, {k: held + v for k, v in tracker.peaks.items()})


def make_optimizer(kind: str, params: list[torch.nn.Parameter], *, foreach: bool | None = None) -> Any:
    """The optimizer ``kind`` names (``sgd``, ``momentum``, ``adam``, ``adamw``) over ``params``."""
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.01, foreach=foreach)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach)
    if kind == "adam":
        return torch.optim.Adam(params, lr=1e-3, foreach=foreach)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=1e-3, foreach=foreach)
    raise ValueError(f"no optimizer {kind!r}")


def measure_training(
    network: Network,
    *,
    batch: int = 1,
    optimizer: str = "sgd",
    device: Any = "meta",
    foreach: bool | None = None,
    trainable: Any = None,
    dtype: str = "fp32",
) -> Measured:
    """Live bytes over one training step (forward in training mode, loss, backward, optimizer step), after one
    untracked warm-up step made the optimizer's state (plain SGD keeps none: no warm-up). ``held`` is the
    weights, buffers, optimizer state and input batch; gradients are set to None before the step, as
    ``zero_grad()`` does. ``trainable`` (a predicate on a parameter's name) freezes the others
    (``requires_grad=False``). ``dtype`` bf16 or fp16: the forward and loss under autocast (mixed precision:
    the weights, gradients and optimizer state stay fp32)."""
    from cnncost.torch.build import build_module

    model = build_module(network, device=device).train()
    for name, p in model.named_parameters():
        p.requires_grad_(trainable is None or bool(trainable(name)))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, params, foreach=foreach)
    x = _input(network, batch, device)

    def step(tracker: LiveBytes | None) -> None:
        opt.zero_grad(set_to_none=True)
        if tracker is not None:
            tracker.phase("forward")
        with _autocast(dtype, device):
            out = model(x)
            loss = _loss(out)
        if tracker is not None:
            tracker.phase("backward")
        loss.backward()  # type: ignore[no-untyped-call,unused-ignore]
        del out, loss
        if tracker is not None:
            tracker.phase("step")
        opt.step()

    if optimizer != "sgd":  # a warm-up step makes the optimizer's state (plain SGD keeps none)
        step(None)
        opt.zero_grad(set_to_none=True)
    state = [t for s in opt.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
    before = [x, *model.parameters(), *model.buffers(), *state]
    held = storage_bytes(before)
    tracker = LiveBytes()
    tracker.hold(before)
    with tracker:
        step(tracker)
    return Measured(held, held + tracker.peak, {k: held + v for k, v in tracker.peaks.items()})
