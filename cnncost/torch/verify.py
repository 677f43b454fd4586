"""Check the analysis against PyTorch: build on the meta device, run FlopCounterMode, compare every layer.

The analysis (pure Python formulas) and the builder (one ``nn.Module`` per layer) are two roads from the same
IR. ``verify`` confirms they meet: the module's parameter count equals the report's, every layer's module
holds the parameters its record claims, every layer's FLOPs as FlopCounterMode counts them equal 2 × its
record's MACs, and every layer's output has the shape its record says. Nothing is allocated: the module and
its input live on the meta device, and FlopCounterMode reads only shapes.

``fvcore_flops`` is a second, independent oracle (jit tracing on real CPU tensors, one "flop" per MAC), used
only when asked (``--fvcore``), as it needs real memory and time. Its layer-by-layer comparison counts conv and
linear MACs only; its own total (``FlopCountAnalysis.total()``) also counts batchnorm, adaptive pooling and
upsampling, and is reported beside it, labelled (``VerifyResult.oracles``).
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnncost.analysis.records import Record, Report
from cnncost.errors import CheckFailed, MissingDependencyError, ShapeError
from cnncost.frozen import frozen
from cnncost.ir import Network, Shape
from cnncost.torch.build import MERGE_OPS, build_module

#: fvcore ops that are not multiply-accumulates of a conv or linear (ignored under ``macs_only``).
FVCORE_NON_MAC_OPS = (
    "aten::batch_norm",
    "aten::group_norm",
    "aten::layer_norm",
    "aten::instance_norm",
    "aten::upsample_nearest2d",
    "aten::upsample_bilinear2d",
    "aten::adaptive_avg_pool2d",
    "aten::grid_sampler",
)

#: The same ops as fvcore names them in its per-operator counts (``batch_norm``, ``adaptive_avg_pool2d``, …).
FVCORE_NON_MAC_NAMES = frozenset(op.split("::", 1)[1] for op in FVCORE_NON_MAC_OPS)

#: What each oracle's number counts, as ``--verify`` labels it.
FLOP_COUNTER_COUNTS = "= 2 × conv and linear MACs, whole batch"
FVCORE_MACS_COUNTS = "conv and linear MACs only, as compared layer by layer, per image"
FVCORE_TOTAL_COUNTS = (
    "its own total, FlopCountAnalysis.total(), which also counts batchnorm, adaptive pooling and upsampling, "
    "per image"
)


@frozen
class Oracle:
    """One independent count ``--verify`` compared with the analysis (or reports beside it): the tool, what its
    number counts, the number and its unit."""

    tool: str
    counts: str
    value: int
    unit: str


@frozen
class VerifyRow:
    """One record of the report against the module at its path. ``kind`` is the record's (``layer`` or a group
    kind); ``measured_params`` is None when no module stands at ``path``; shapes are ``(H, W, C)`` / ``(N,)``
    like the record's (``measured_shape`` None when nothing was seen). FLOPs are for the whole batch."""

    path: str
    kind: str
    op: str
    expected_params: int
    measured_params: int | None
    expected_flops: int
    measured_flops: int
    expected_shape: Shape
    measured_shape: Shape | None
    ok: bool
    note: str = ""


@frozen
class VerifyResult:
    """The whole-network totals, one row per layer record (``rows``, the report's ``layers()`` in order) and one
    per group record (``groups``: blocks, repeats, residuals, branches…), for the report's input size and batch.
    ``ok`` needs all of them to agree."""

    name: str
    input_shape: Shape
    batch: int
    rows: tuple[VerifyRow, ...]
    groups: tuple[VerifyRow, ...]
    expected_params: int
    measured_params: int
    expected_flops: int
    measured_flops: int
    #: The second oracle, when asked for: fvcore's MACs per image for the whole network (None: not run), and the
    #: layers on which fvcore disagrees with the analysis.
    fvcore_macs: int | None = None
    fvcore_failures: tuple[str, ...] = ()
    #: fvcore's own total per image (``FlopCountAnalysis.total()``: batchnorm, adaptive pooling and upsampling
    #: included), reported beside the comparison, not compared; None: fvcore not run.
    fvcore_total: int | None = None

    @property
    def oracles(self) -> tuple[Oracle, ...]:
        """Each oracle's number with what it counts: FlopCounterMode always; fvcore's compared MACs and its own
        total when fvcore ran."""
        found = [Oracle("FlopCounterMode", FLOP_COUNTER_COUNTS, self.measured_flops, "FLOPs")]
        if self.fvcore_macs is not None:
            found.append(Oracle("fvcore", FVCORE_MACS_COUNTS, self.fvcore_macs, "MACs"))
        if self.fvcore_total is not None:
            found.append(Oracle("fvcore", FVCORE_TOTAL_COUNTS, self.fvcore_total, "flops"))
        return tuple(found)

    @property
    def totals_ok(self) -> bool:
        fvcore_ok = self.fvcore_macs is None or 2 * self.fvcore_macs * self.batch == self.expected_flops
        return self.expected_params == self.measured_params and self.expected_flops == self.measured_flops and fvcore_ok

    @property
    def ok(self) -> bool:
        return self.totals_ok and not self.failures and not self.fvcore_failures

    @property
    def failures(self) -> tuple[VerifyRow, ...]:
        """Rows that disagree: layers first, then groups."""
        return tuple(r for r in (*self.rows, *self.groups) if not r.ok)

    def check(self) -> VerifyResult:
        """Return self when everything agrees; raise a one-line ``CheckFailed`` naming the first mismatch."""
        for r in self.failures:
            if not r.ok:
                raise CheckFailed(
                    f"PyTorch disagrees with the analysis: {_describe(r)}",
                    path=r.path,
                    hint="the builder or a formula is wrong: please report it with this spec",
                )
        if self.fvcore_failures:
            raise CheckFailed(
                f"fvcore disagrees with the analysis: {self.fvcore_failures[0]}",
                hint="the builder or a formula is wrong: please report it with this spec",
            )
        if not self.totals_ok:
            raise CheckFailed(
                f"PyTorch disagrees with the analysis on the totals of {self.name}: "
                f"params {self.measured_params} vs {self.expected_params}, "
                f"FLOPs {self.measured_flops} vs {self.expected_flops}",
                hint="the builder or a formula is wrong: please report it with this spec",
            )
        return self


def _describe(r: VerifyRow) -> str:
    if r.note:
        return r.note
    parts = []
    if r.measured_params != r.expected_params:
        parts.append(f"params {r.measured_params} (torch) vs {r.expected_params} (analysis)")
    if r.measured_flops != r.expected_flops:
        parts.append(f"FLOPs {r.measured_flops} (torch) vs {r.expected_flops} = 2 × MACs (analysis)")
    if r.measured_shape != r.expected_shape:
        parts.append(f"output shape {r.measured_shape} (torch) vs {r.expected_shape} (analysis)")
    return "; ".join(parts)


# ----------------------------------------------------------------------------------------- counting


def _module_device(module: nn.Module) -> torch.device:
    for param in module.parameters():
        return param.device
    for buffer in module.buffers():
        return buffer.device
    return torch.device("meta")


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Eval mode for the duration (batch norm on a batch of 1), every submodule's own flag restored after."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


def nchw(shape: Shape, batch: int) -> tuple[int, ...]:
    """The torch input shape for an IR shape ``(H, W, C)`` (or ``(N,)``) and a batch."""
    if len(shape) == 3:
        h, w, c = shape
        return (batch, c, h, w)
    return (batch, *shape)


def _ir_shape(torch_shape: tuple[int, ...]) -> Shape:
    dims = tuple(int(d) for d in torch_shape[1:])
    if len(dims) == 3:
        c, h, w = dims
        return (h, w, c)
    return dims


def _run(module: nn.Module, x: torch.Tensor) -> FlopCounterMode:
    counter = FlopCounterMode(display=False)
    try:
        with _eval_mode(module), torch.no_grad(), counter:
            module(x)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ShapeError(
            f"the module fails on an input of shape {tuple(x.shape)}: {first}",
            hint="check the input size (N, C, H, W) the module expects",
        ) from None
    return counter


def _per_module(counter: FlopCounterMode, root: nn.Module) -> dict[str, int]:
    # FlopCounterMode names modules "<RootClass>.<fqn>"; the root itself by its class name.
    prefix = type(root).__name__
    flops: dict[str, int] = {}
    for key, per_op in counter.get_flop_counts().items():
        if key == prefix:
            continue
        if key.startswith(prefix + "."):
            flops[key[len(prefix) + 1 :]] = int(sum(per_op.values()))
    flops[""] = int(counter.get_total_flops())
    return flops


def count_with_torch(module: nn.Module, input_nchw_shape: tuple[int, ...]) -> tuple[int, dict[str, int]]:
    """Run ``module`` once under FlopCounterMode on a zero input of ``input_nchw_shape`` (batch included).

    Returns the parameter count and the FLOPs per module FQN (``""`` is the whole module; modules that did no
    counted work are absent). The input lives on the module's device, so a meta module allocates nothing.
    Runs in eval mode and without autograd; the module's train/eval flags are restored after.
    """
    x = torch.zeros(input_nchw_shape, device=_module_device(module))
    counter = _run(module, x)
    params = sum(p.numel() for p in module.parameters())
    return params, _per_module(counter, module)


# ----------------------------------------------------------------------------------------- verify


def verify(network: Network, report: Report, *, fvcore: bool = False) -> VerifyResult:
    """Build ``network`` on the meta device and compare it with ``report``, row by row (see the module doc).

    With ``fvcore``, fvcore's FlopCountAnalysis is run as a second, independent oracle on one image (it traces
    with real CPU tensors, so this allocates the weights): every layer's MACs and the total must match too.

    Every layer record must have its module (merge pseudo-layers excepted: they have none and claim nothing).
    Group records (blocks, repeats, residuals, branches…) are checked too where a module stands at their path;
    a transparent group with no module of its own gets a row that is ok but measures nothing. The input is a
    meta tensor of the report's input shape and batch. Nothing global is changed.
    """
    module = build_module(network, device="meta")
    modules = dict(module.named_modules())

    seen: dict[str, Shape] = {}
    handles = []
    for path in {r.path for r in report.records if r.op not in MERGE_OPS or not r.is_layer}:
        target = modules.get(path)
        if target is not None:
            handles.append(target.register_forward_hook(_shape_hook(seen, path)))
    try:
        x = torch.zeros(nchw(report.input_shape, report.batch), device="meta")
        counter = _run(module, x)
    finally:
        for handle in handles:
            handle.remove()
    flops = _per_module(counter, module)

    fv_total: int | None = None
    fv_own: int | None = None
    fv_failures: list[str] = []
    if fvcore:
        per_image, fv_own = fvcore_counts(module, nchw(report.input_shape, 1))
        fv_total = per_image.get("", 0)
        for rec in report.layers():
            if rec.macs and per_image.get(rec.path, 0) * report.batch != rec.macs:
                fv_failures.append(
                    f"{rec.path}: {per_image.get(rec.path, 0) * report.batch:,} MACs (fvcore) vs {rec.macs:,}"
                )

    return VerifyResult(
        fvcore_macs=fv_total,
        fvcore_failures=tuple(fv_failures),
        fvcore_total=fv_own,
        name=report.name,
        input_shape=report.input_shape,
        batch=report.batch,
        rows=tuple(_row(rec, modules, flops, seen) for rec in report.layers()),
        groups=tuple(_row(rec, modules, flops, seen) for rec in report.groups()),
        expected_params=report.totals.params,
        measured_params=sum(p.numel() for p in module.parameters()),
        expected_flops=2 * report.totals.macs,
        measured_flops=flops[""],
    )


def _row(
    rec: Record, modules: Mapping[str, nn.Module], flops: Mapping[str, int], seen: Mapping[str, Shape]
) -> VerifyRow:
    def row(params: int | None, measured: int, shape: Shape | None, ok: bool, note: str = "") -> VerifyRow:
        return VerifyRow(
            rec.path, rec.kind, rec.op, rec.params, params, 2 * rec.macs, measured, rec.output_shape, shape, ok, note
        )

    if rec.is_layer and rec.op in MERGE_OPS:
        # No module: the container adds, joins or multiplies in forward, with no MACs to count.
        ok = rec.params == 0 and rec.macs == 0
        return row(0, 0, None, ok, "" if ok else "a merge has no module, so it can have no params or MACs")
    target = modules.get(rec.path)
    if target is None:
        if rec.is_layer:
            return row(None, 0, None, False, f"no module named '{rec.path}' in the built network")
        return row(None, 0, None, True, "no module of its own (a transparent group)")
    params = sum(p.numel() for p in target.parameters())
    measured = flops.get(rec.path, 0)
    shape = seen.get(rec.path)
    ok = params == rec.params and measured == 2 * rec.macs and shape == tuple(rec.output_shape)
    return row(params, measured, shape, ok)


def _shape_hook(seen: dict[str, Shape], path: str) -> Any:
    def hook(module: nn.Module, inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            seen[path] = _ir_shape(tuple(output.shape))

    return hook


# ----------------------------------------------------------------------------------------- fvcore


def fvcore_flops(module: nn.Module, input_shape: tuple[int, ...], *, macs_only: bool = True) -> Mapping[str, int]:
    """fvcore's count per module FQN (``""`` is the whole module) for one zero input of ``input_shape``
    (NCHW, batch included). fvcore counts one "flop" per multiply-accumulate, so under ``macs_only`` (the
    default: its batchnorm, pooling and upsampling counts left out) the numbers are directly MACs.

    fvcore traces with real tensors on the CPU: a meta module is copied and given uninitialized CPU storage
    first (``to_empty``; the caller's module is untouched), so this allocates the weights and activations for
    real. Keep it for small inputs or when asked.
    """
    by_operator = _fvcore_by_module_and_operator(module, input_shape)
    skipped = FVCORE_NON_MAC_NAMES if macs_only else frozenset()
    return MappingProxyType(
        {path: sum(n for op, n in ops.items() if op not in skipped) for path, ops in by_operator.items()}
    )


def fvcore_counts(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[Mapping[str, int], int]:
    """From one fvcore analysis: its conv and linear MACs per module FQN (as :func:`fvcore_flops`) and its own
    total (``FlopCountAnalysis.total()``: batchnorm, adaptive pooling and upsampling included)."""
    by_operator = _fvcore_by_module_and_operator(module, input_shape)
    skipped = FVCORE_NON_MAC_NAMES
    macs = {path: sum(n for op, n in ops.items() if op not in skipped) for path, ops in by_operator.items()}
    total = sum(by_operator.get("", {}).values())
    return MappingProxyType(macs), total


def _fvcore_by_module_and_operator(module: nn.Module, input_shape: tuple[int, ...]) -> dict[str, dict[str, int]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fvcore scripts a loss with torch.jit on import
            from fvcore.nn import FlopCountAnalysis
    except ImportError:
        raise MissingDependencyError(
            "the fvcore cross-check needs fvcore, which is not installed",
            hint="install it with: pip install fvcore (from a cnncost checkout: pip install '.[torch]')",
        ) from None
    work = module
    if _module_device(module).type == "meta":
        work = copy.deepcopy(module).to_empty(device="cpu")
    x = torch.zeros(input_shape, device=_module_device(work))
    fvcore_log = logging.getLogger("fvcore")
    level = fvcore_log.level
    fvcore_log.setLevel(logging.ERROR)
    try:
        with _eval_mode(work), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jit tracing warns about itself (deprecation, tracer notes)
            analysis = FlopCountAnalysis(work, (x,))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            counts = analysis.by_module_and_operator()
    finally:
        fvcore_log.setLevel(level)
    return {name: {op: int(n) for op, n in ops.items()} for name, ops in counts.items()}
