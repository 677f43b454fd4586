"""The depth study: plain and residual networks of several depths trained for the same budget on a small real
dataset, to see whether the deeper plain net ends at a *higher training error* (He et al. 2015, §4.1–4.2: the
degradation problem) while the residual net does not.

The networks are the CIFAR family (``resnet-cifar``: 6n + 2 weight layers, three stacks, filters 16·w, 32·w, 64·w)
with or without shortcuts, on scikit-learn's 8×8 handwritten digits (``sklearn.datasets.load_digits``, 1,797
grayscale images of 10 classes, shipped inside scikit-learn: nothing is downloaded), at their own 8×8 size (the
stacks run at 8×8, 4×4 and 2×2; ``size`` upsamples them bilinearly), one channel, pixels scaled to mean 0 and
std 1 by the training split's statistics. A stratified split holds out ``test_fraction`` of the images.

Training: mini-batches drawn from one seeded permutation per epoch (the same batches in the same order for every
network), SGD with momentum 0.9 and weight decay 1e-4 (the paper's) or Adam, a constant learning rate, for
``budget`` iterations. Recorded every ``record_every`` iterations: the *training error* and *training loss* as
the optimizer saw them (the mean over the mini-batches since the last record, in training mode — what a training
curve shows), and the *test error* on the held-out images (evaluation mode). A network whose loss is no longer a
finite number has diverged: it stops there and says so.

Reproducible: the weights come from ``torch.manual_seed(seed)`` before each network is built, the split and the
batches from the seed too, deterministic algorithms are switched on and the CPU runs ``threads`` threads (1 by
default), so the same settings on the same machine give the same numbers. Results are written to a JSON file
atomically after each network; a rerun with the same settings skips the networks already in it.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from cnncost.errors import CnnCostError, DeviceError, LimitError, MissingDependencyError, UsageError
from cnncost.frozen import frozen

FAMILY_SPEC = "resnet20"  # the CIFAR family (resnet-cifar.yaml); n, shortcut, bn, width set per network
FAMILIES: Mapping[str, str] = {"plain": "none", "resnet": "identity-or-zero-pad"}
OPTIMIZERS = ("sgd", "adam")
DEFAULT_LR: Mapping[str, float] = {"sgd": 0.05, "adam": 0.001}
MOMENTUM = 0.9
WEIGHT_DECAY = 1e-4
MAX_DEPTH = 1202
MAX_BUDGET = 1_000_000

#: Version of the results file's layout; raised only when a field changes meaning or goes.
SCHEMA_VERSION = 1

STUDY_HINT = "install it with: pip install scikit-learn (from a cnncost checkout: pip install '.[study]')"

#: What the recorded figures mean, carried in the JSON.
MEASURE = (
    "train_error, train_loss: mean over the mini-batches since the previous record, in training mode (what the "
    "optimizer saw); test_error: the held-out images in evaluation mode; final_*: the last record"
)


@frozen
class StudyConfig:
    """Everything that decides a study's numbers (a results file is resumed only under the same config)."""

    depths: tuple[int, ...] = (8, 20, 56)
    families: tuple[str, ...] = ("plain", "resnet")
    budget: int = 400
    width: float = 0.5
    optimizer: str = "sgd"
    lr: float | None = None
    bn: bool = True
    batch: int = 64
    seed: int = 0
    size: int = 8
    init: str = "kaiming"
    test_fraction: float = 0.2
    record_every: int | None = None
    device: str = "cpu"
    threads: int = 1

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def every(self) -> int:
        return self.record_every or max(1, self.budget // 20)

    def settings(self) -> dict[str, Any]:
        data = asdict(self)
        data["depths"] = list(self.depths)
        data["families"] = list(self.families)
        data["lr"] = self.learning_rate
        data["record_every"] = self.every
        data["filters"] = [int(16 * self.width), int(32 * self.width), int(64 * self.width)]
        return data


@frozen
class Point:
    """One record: the training error and loss over the ``images`` seen since the previous record, and the test
    error after ``iteration`` iterations."""

    iteration: int
    train_error: float
    train_loss: float
    test_error: float
    images: int = 0


@frozen
class NetworkResult:
    family: str
    depth: int
    params: int
    macs: int
    initial_loss: float
    curve: tuple[Point, ...]
    seconds: float
    diverged: bool = False
    cpu_seconds: float = math.nan

    @property
    def name(self) -> str:
        return f"{self.family}-{self.depth}"

    @property
    def final(self) -> Point | None:
        return self.curve[-1] if self.curve else None

    @property
    def final_train_error(self) -> float | None:
        return None if self.diverged or not self.curve else self.curve[-1].train_error

    @property
    def loss_fell(self) -> bool:
        return bool(self.curve) and not self.diverged and self.curve[-1].train_loss < self.initial_loss


@frozen
class Progress:
    """One step of a study, for a progress bar: network ``index`` of ``total``, ``iteration`` of ``budget``."""

    name: str
    index: int
    total: int
    iteration: int
    budget: int
    loss: float
    skipped: bool = False


@dataclass
class Study:
    """A study's settings, data description and the networks finished so far (in order)."""

    config: StudyConfig
    data: dict[str, Any]
    environment: dict[str, Any]
    results: list[NetworkResult] = field(default_factory=list)
    resumed: int = 0
    interrupted: bool = False


# ----------------------------------------------------------------------------------------------- checks


def check_config(config: StudyConfig) -> None:
    """A one-line UsageError for any setting that cannot run."""
    if not config.depths:
        raise UsageError("--depths is empty", hint="e.g. --depths 8,20,56")
    for depth in config.depths:
        if depth < 8 or (depth - 2) % 6 or depth > MAX_DEPTH:
            raise UsageError(
                f"--depths: {depth} is not 6n + 2 with n ≥ 1 (at most {MAX_DEPTH})",
                hint="the CIFAR family has 6n + 2 weight layers: 8, 14, 20, 32, 44, 56, 110, …",
            )
    if len(set(config.depths)) != len(config.depths):
        raise UsageError("--depths names a depth twice", hint="give each depth once")
    for family in config.families:
        if family not in FAMILIES:
            raise UsageError(f"no family '{family}'", hint="choose plain, resnet or both")
    if not 1 <= config.budget <= MAX_BUDGET:
        raise UsageError(f"--budget {config.budget} is out of range", hint=f"give 1…{MAX_BUDGET:,} iterations")
    filters = int(16 * config.width)
    if not (math.isfinite(config.width) and filters >= 1 and config.width <= 16):
        raise UsageError(
            f"--width {config.width:g} gives {filters} filters in the first stack",
            hint="give a width from 0.0625 (1, 2, 4 filters) to 16",
        )
    if config.optimizer not in OPTIMIZERS:
        raise UsageError(f"--optimizer {config.optimizer}: no such optimizer", hint="choose sgd or adam")
    if config.lr is not None and not (math.isfinite(config.lr) and 0 < config.lr <= 10):
        raise UsageError(f"--lr {config.lr:g} is out of range", hint="give a learning rate above 0, at most 10")
    if not 2 <= config.batch <= 1024:
        raise UsageError(f"--batch {config.batch} is out of range", hint="give 2…1024 images per mini-batch")
    if not 8 <= config.size <= 256:
        raise UsageError(f"--size {config.size} is out of range", hint="give 8 (the digits' own size) … 256")
    if config.threads < 1:
        raise UsageError(f"--threads {config.threads} is out of range", hint="give 1 or more")
    if not 0 < config.test_fraction < 1:
        raise UsageError("the test fraction must lie between 0 and 1", hint="e.g. 0.2")


def check_memory(config: StudyConfig) -> None:
    """Refuse, in one line, a network whose layer outputs for one mini-batch would pass ``MAX_ACTIVATION_BYTES``
    (the deepest one of the study is the largest)."""
    from cnncost.analysis.engine import analyze_network
    from cnncost.torch.gradients import MAX_ACTIVATION_BYTES

    depth = max(config.depths)
    report = analyze_network(network_for(config, config.families[0], depth))
    per_image = 4 * sum(math.prod(r.output_shape) for r in report.layers())
    if per_image * config.batch > MAX_ACTIVATION_BYTES:
        raise LimitError(
            f"depth {depth} at width {config.width:g}, size {config.size} and batch {config.batch} would keep "
            f"{per_image * config.batch / 2**30:.1f} GiB of layer outputs for the backward pass, more than "
            f"{MAX_ACTIVATION_BYTES // 2**30} GiB",
            hint="lower --batch, --width, --size or the depths",
        )


def _device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise UsageError(f"--device {name}: not a PyTorch device", hint="use cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: CUDA is not available on this machine", hint="use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"--device {name}: the study runs on cpu or cuda", hint="use cpu or cuda")
    return device


# ------------------------------------------------------------------------------------------------- data


@frozen
class Data:
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    description: dict[str, Any]


def load_data(config: StudyConfig) -> Data:
    """scikit-learn's digits, split (stratified, seeded), standardized by the training split, as N×1×S×S."""
    try:
        import sklearn
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise MissingDependencyError(
            "the depth study trains on scikit-learn's digits, and scikit-learn is not installed", hint=STUDY_HINT
        ) from None
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.images, digits.target, test_size=config.test_fraction, random_state=config.seed, stratify=digits.target
    )
    train_x = torch.tensor(x_train, dtype=torch.float32).unsqueeze(1)
    test_x = torch.tensor(x_test, dtype=torch.float32).unsqueeze(1)
    mean, std = train_x.mean(), train_x.std()
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    if config.size != 8:
        def up(x: torch.Tensor) -> torch.Tensor:
            return nn.functional.interpolate(x, size=(config.size, config.size), mode="bilinear", align_corners=False)

        train_x, test_x = up(train_x), up(test_x)
    description = {
        "dataset": "scikit-learn digits (sklearn.datasets.load_digits: 8×8 grayscale, 10 classes)",
        "scikit_learn": sklearn.__version__,
        "images": len(digits.target),
        "train": len(y_train),
        "test": len(y_test),
        "input": [config.size, config.size, 1],
        "shape_order": "HWC",
        "preprocessing": "standardized by the training split's mean and std"
        + ("" if config.size == 8 else f"; upsampled bilinearly from 8×8 to {config.size}×{config.size}"),
        "split": f"stratified, test fraction {config.test_fraction:g}, seed {config.seed}",
    }
    return Data(
        train_x, torch.tensor(y_train, dtype=torch.long), test_x, torch.tensor(y_test, dtype=torch.long), description
    )


# ---------------------------------------------------------------------------------------------- training


@contextmanager
def reproducible(threads: int, device: torch.device) -> Iterator[None]:
    """Deterministic algorithms and ``threads`` CPU threads for the duration; the previous settings after."""
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what deterministic cuBLAS asks for
    torch.set_num_threads(threads)
    # CUDA has no deterministic kernel for adaptive average pooling's backward: there it warns instead of failing
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have a deterministic implementation.*")
            yield
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
        torch.set_num_threads(previous_threads)


def network_for(config: StudyConfig, family: str, depth: int) -> Any:
    from cnncost.spec.load import load_network

    variables = {
        "n": (depth - 2) // 6,
        "shortcut": FAMILIES[family],
        "bn": config.bn,
        "width": config.width,
        "channels": 1,
        "classes": 10,
    }
    return load_network(FAMILY_SPEC, size=(config.size, config.size), variables=variables)


def _errors(module: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, batch: int = 512) -> float:
    wrong = 0
    with torch.no_grad():
        for start in range(0, len(y), batch):
            out = module(x[start : start + batch].to(device))
            wrong += int((out.argmax(1).cpu() != y[start : start + batch]).sum())
    return wrong / len(y)


def train_one(
    config: StudyConfig,
    data: Data,
    family: str,
    depth: int,
    device: torch.device,
    report: Callable[[int, float], None] | None = None,
) -> NetworkResult:
    """Train one network for the budget; its curve of training error, training loss and test error."""
    from cnncost.analysis.engine import analyze_network
    from cnncost.torch.build import build_module
    from cnncost.torch.gradients import initialize

    network = network_for(config, family, depth)
    totals = analyze_network(network).totals
    torch.manual_seed(config.seed)
    module = build_module(network)
    initialize(module, config.init)
    module.to(device)
    if config.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            module.parameters(), lr=config.learning_rate, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
        )
    else:
        optimizer = torch.optim.Adam(module.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    count = len(train_y)
    order = torch.randperm(count, generator=generator)
    at = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    curve: list[Point] = []
    window_loss, window_wrong, window_seen = 0.0, 0, 0
    initial_loss = math.nan
    diverged = False
    module.train()
    for iteration in range(1, config.budget + 1):
        if at + config.batch > count:
            order, at = torch.randperm(count, generator=generator), 0
        index = order[at : at + config.batch].to(device)
        at += config.batch
        x, y = train_x[index], train_y[index]
        optimizer.zero_grad(set_to_none=True)
        out = module(x)
        loss = nn.functional.cross_entropy(out, y)
        value = float(loss.detach())
        if not math.isfinite(value):
            diverged = True
            break
        if iteration == 1:
            initial_loss = value
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        window_loss += value * len(y)
        window_wrong += int((out.detach().argmax(1) != y).sum())
        window_seen += len(y)
        if iteration % config.every == 0 or iteration == config.budget:
            module.eval()
            test_error = _errors(module, data.test_x, data.test_y, device)
            module.train()
            curve.append(
                Point(iteration, window_wrong / window_seen, window_loss / window_seen, test_error, window_seen)
            )
            window_loss, window_wrong, window_seen = 0.0, 0, 0
        if report is not None:
            report(iteration, value)
    return NetworkResult(
        family=family,
        depth=depth,
        params=totals.params,
        macs=totals.macs,
        initial_loss=initial_loss,
        curve=tuple(curve),
        seconds=time.perf_counter() - start,
        diverged=diverged,
        cpu_seconds=time.process_time() - cpu_start,
    )


# ------------------------------------------------------------------------------------------------ results


def result_dict(result: NetworkResult) -> dict[str, Any]:
    final = result.final
    return {
        "name": result.name,
        "family": result.family,
        "depth": result.depth,
        "params": result.params,
        "macs_per_image": result.macs,
        "initial_loss": result.initial_loss,
        "final_train_error": result.final_train_error,
        "final_train_loss": None if final is None else final.train_loss,
        "final_test_error": None if final is None else final.test_error,
        "loss_fell": result.loss_fell,
        "diverged": result.diverged,
        "seconds": result.seconds,
        "cpu_seconds": result.cpu_seconds,
        "curve": [asdict(p) for p in result.curve],
    }


def result_from(data: Mapping[str, Any]) -> NetworkResult:
    return NetworkResult(
        family=str(data["family"]),
        depth=int(data["depth"]),
        params=int(data["params"]),
        macs=int(data["macs_per_image"]),
        initial_loss=float(data["initial_loss"]) if data["initial_loss"] is not None else math.nan,
        curve=tuple(Point(**p) for p in data["curve"]),
        seconds=float(data["seconds"]),
        diverged=bool(data["diverged"]),
        cpu_seconds=float(data.get("cpu_seconds") or math.nan),
    )


def _finite(data: Any) -> Any:
    """``data`` with every float that is not finite as None (JSON has no NaN)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


def dumps(data: Mapping[str, Any]) -> str:
    """Strict JSON (non-finite numbers as null), two-space indent, one final newline."""
    import json

    return json.dumps(_finite(dict(data)), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def study_dict(study: Study) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "settings": study.config.settings(),
        "data": study.data,
        "environment": study.environment,
        "measure": MEASURE,
        "networks": [result_dict(r) for r in study.results],
    }


def finished_in(path: str, config: StudyConfig) -> list[NetworkResult]:
    """The networks a results file already holds for exactly these settings ([] when there is no file); a file
    with other settings, or that is not a study's, is refused in one line."""
    import json

    if not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        settings = data["settings"]
        networks = [result_from(n) for n in data["networks"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{path} is not a depth-study results file ({type(exc).__name__})",
            hint="choose another --output-dir, or --fresh to overwrite it",
        ) from None
    mine = json.loads(json.dumps(config.settings()))
    if settings != mine:
        changed = sorted(k for k in set(settings) | set(mine) if settings.get(k) != mine.get(k))
        raise UsageError(
            f"{path} holds a study with other settings ({', '.join(changed)})",
            hint="rerun with the same settings to resume it, --fresh to overwrite it, or choose another --output-dir",
        )
    wanted = {(f, d) for f in config.families for d in config.depths}
    return [n for n in networks if (n.family, n.depth) in wanted]


def environment(config: StudyConfig, device: torch.device) -> dict[str, Any]:
    import platform

    info: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "threads": config.threads,
        "deterministic": "yes" if device.type == "cpu" else "where CUDA has deterministic kernels",
    }
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
    else:
        info["machine"] = platform.machine()
    return info


def run_study(
    config: StudyConfig,
    *,
    results_path: str | None = None,
    fresh: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> Study:
    """Train every family × depth (plain first, shallow to deep), writing ``results_path`` after each network.
    Ctrl-C stops the network in training; the study returned (and the file) keeps every one that finished."""
    from cnncost.atomic import write_text

    check_config(config)
    device = _device(config.device)
    check_memory(config)
    done = [] if fresh or results_path is None else finished_in(results_path, config)
    data = load_data(config)
    study = Study(config, data.description, environment(config, device), resumed=len(done))
    jobs = [(f, d) for f in config.families for d in sorted(config.depths)]
    by_key = {(r.family, r.depth): r for r in done}
    with reproducible(config.threads, device):
        for index, (family, depth) in enumerate(jobs, start=1):
            name = f"{family}-{depth}"
            if (family, depth) in by_key:
                study.results.append(by_key[(family, depth)])
                if progress is not None:
                    progress(Progress(name, index, len(jobs), config.budget, config.budget, math.nan, skipped=True))
                continue

            def tick(iteration: int, loss: float, name: str = name, index: int = index) -> None:
                if progress is not None:
                    progress(Progress(name, index, len(jobs), iteration, config.budget, loss))

            try:
                study.results.append(train_one(config, data, family, depth, device, tick))
            except KeyboardInterrupt:
                study.interrupted = True
                break
            except CnnCostError:
                raise
            if results_path is not None:
                write_text(results_path, dumps(study_dict(study)))
    if results_path is not None and not study.interrupted and not study.results:
        write_text(results_path, dumps(study_dict(study)))
    return study


# ------------------------------------------------------------------------------------------------ verdicts


def by_family(results: Sequence[NetworkResult], family: str) -> list[NetworkResult]:
    return sorted((r for r in results if r.family == family), key=lambda r: r.depth)


#: How many standard errors a difference of two final training errors must exceed to count as one.
NOISE_SE = 2.0


def _standard_error(result: NetworkResult) -> float:
    """The binomial standard error of a final training error, measured over its last record's images."""
    final = result.final
    if final is None or final.images <= 0:
        return 0.0
    p = final.train_error
    return math.sqrt(p * (1 - p) / final.images)


def compare(higher: NetworkResult, lower: NetworkResult) -> str:
    """Whether ``higher`` ends at a higher training error than ``lower``: "yes", "no", "within noise" (higher by
    less than ``NOISE_SE`` standard errors of the two measurements) or "cannot tell" (both diverged). A diverged
    network counts as the higher error."""
    a, b = higher.final_train_error, lower.final_train_error
    if a is None or b is None:
        return "cannot tell" if a is None and b is None else ("yes" if a is None else "no")
    if a <= b:
        return "no"
    se = math.hypot(_standard_error(higher), _standard_error(lower))
    return "yes" if a - b > NOISE_SE * se else "within noise"


def verdicts(results: Sequence[NetworkResult]) -> list[tuple[str, str, str]]:
    """The study's answers, as (question, answer, the numbers), the answers as ``compare`` gives them:

    - for each family, the deepest net against each shallower one: does it end at a higher training error? (For
      the plain family a "yes" is the degradation problem.)
    - does the deepest residual net end at a lower training error than the plain net of the same depth?
    """
    out: list[tuple[str, str, str]] = []

    def pct(value: float | None) -> str:
        return "diverged" if value is None else f"{100 * value:.1f}%"

    for family in FAMILIES:
        nets = by_family(results, family)
        if len(nets) < 2:
            continue
        deepest = nets[-1]
        for other in reversed(nets[:-1]):
            question = f"{deepest.name} ends at a higher training error than {other.name}"
            numbers = f"{pct(deepest.final_train_error)} vs {pct(other.final_train_error)}"
            out.append((question, compare(deepest, other), numbers))
    plains = {n.depth: n for n in by_family(results, "plain")}
    residuals = by_family(results, "resnet")
    if residuals and residuals[-1].depth in plains:
        r, p = residuals[-1], plains[residuals[-1].depth]
        numbers = f"{pct(r.final_train_error)} vs {pct(p.final_train_error)}"
        out.append((f"{r.name} ends at a lower training error than {p.name}", compare(p, r), numbers))
    return out
