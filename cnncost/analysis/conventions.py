"""What every well-known counter reports for a network — predicted exactly from cnncost's analysis — and why.

Ask five tools for ResNet-50's cost and you get five numbers. Each one is cnncost's categories (MACs, bias
additions, batchnorm, activations, pooling, …) added up under the tool's own rules, which this module writes
down. ``predict_all(report)`` returns, for each tool, the exact integer it reports for the network, which of
our categories it is made of, and one line on why it differs from our MACs. The tests run every tool for real
and assert equality.

What each tool counts (read from their sources: fvcore 0.1.5, torch 2.x ``torch.utils.flop_counter``, ptflops
0.7.5, torchinfo 1.8, torchvision's model tables):

============================ ======= ====== =============================================================
tool (number)                batch   bias   besides conv and linear MACs
============================ ======= ====== =============================================================
fvcore ``FlopCountAnalysis  whole   no     batchnorm 2 per element in eval (5 in training mode);
.total()`` (one per MAC)                    ``adaptive_avg_pool2d`` 1 per *input* element (global pooling
                                            too); upsampling (nearest 1, bilinear 4 per output element).
                                            Not max/avg pooling, activations, adds, softmax, dropout.
torch ``FlopCounterMode``    whole   no     nothing: 2 FLOPs per MAC of conv and matrix products only.
ptflops, pytorch backend     image   yes    module hooks by exact type: batchnorm 2 per input element;
(``get_model_complexity_                    ReLU/PReLU/ELU/LeakyReLU/ReLU6/GELU 1 per output element;
info``, MACs)                               every ``MaxPool``/``AvgPool``/``Adaptive*Pool`` 1 per *input*
                                            element; ``Upsample`` 1 per output element. It also patches
                                            ``F.relu, F.gelu, F.silu, F.softmax, F.*pool*, F.interpolate``,
                                            ``torch.add/mul/matmul/mm/bmm/addmm`` and ``Tensor.add/mul/
                                            matmul/mm/bmm/addmm``: each call counts its input elements —
                                            so ``nn.ReLU``, ``nn.GELU`` and every pooling module, whose
                                            ``forward`` calls the patched function, count **twice**;
                                            ``nn.SiLU``/``nn.Softmax`` once (functional only); sigmoid,
                                            tanh, hardswish, dropout nothing; ``x + y`` and ``x * y``
                                            (operators, not patched) nothing; ``nn.LocalResponseNorm``
                                            its inner ``avg_pool3d``, ``mul``, ``mul`` and ``add`` calls.
                                            Always one image: ``input_res`` has no batch dimension.
ptflops, aten backend        image   yes    nothing else: ``convolution``, ``mm``, ``addmm``, ``bmm``.
torchinfo ``summary(...)     whole   yes    every leaf module's parameters × output positions: conv
.total_mult_adds``                          ``params × N·H_out·W_out``, any other module ``params × N`` —
                                            so batchnorm adds ``2·C`` per image; parameter-free modules 0.
torchvision GFLOPS (model    image   no     nothing: conv and linear MACs, exactly cnncost's MACs, in
docs, ``_ops``)                             billions (ResNet-50 4.09, VGG-16 15.47).
============================ ======= ====== =============================================================

fvcore also counts ``layer_norm`` (5 per input element with an affine weight, 4 without); ptflops costs
``nn.Linear`` on any input as ``(in·out + bias)`` per position (every leading dimension) and ``nn.LayerNorm``
as its input elements (its norm hook doubles only for an ``affine`` attribute, which LayerNorm lacks).

**No number without proof.** A prediction is stood by only for networks made of kinds of work (``kinds``:
registry ops, torch.nn module types, torch calls, uncosted aten operators) that the tests hold to the real tool's
integer (``PROVEN``; ``tests/test_coverage.py`` asserts each listed kind occurs in a network checked that way).
Any other kind — attention run as a fused kernel, ``nn.MultiheadAttention``, an operator cnncost does not cost —
makes the tool's prediction ``not predicted: <kind> is not covered`` (``PeerCount.predicted`` false,
``value`` None, ``why_not`` the reason; JSON: ``count`` null, ``predicted`` false, ``not_predicted`` the reason),
as does a row the rule does not model (``unmodeled``). ``count`` then holds only the partial tally.

Predictions for fvcore assume eval mode unless ``training=True`` (only batchnorm differs); ptflops puts the
model in eval mode itself; the others do not depend on it. For reports of user modules (``analyze_module``) a
row that is not a known module type is predicted from the torch calls it made; where a tool's number depends
on something the analysis cannot see, the prediction says so in ``unmodeled`` (its count is then a lower
bound) or, when it rests on a stated reading, in ``assumed``.

Pure Python: no torch here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cnncost.analysis.records import CallStats, Record, Report
from cnncost.frozen import frozen


@frozen
class Peer:
    """A counting tool: what number of it we predict, on what scope (``batch``: the whole batch it is given;
    ``image``: always one image), and the one-line reason it differs from cnncost's MACs."""

    key: str
    tool: str
    reports: str
    unit: str
    scope: str
    reason: str


@frozen
class PeerCount:
    """One tool's number for one network, predicted.

    ``count`` is the integer the tool reports (``torchvision``: MACs per image, published divided by 10⁹ as
    "GFLOPS"). ``ours`` is cnncost's MACs on the same scope (per image for per-image tools), ``parts`` the
    count split into cnncost's categories (they sum to ``count``). ``unmodeled`` names rows or calls whose
    treatment by the tool is unknown here: the prediction is then not exact. ``assumed`` names readings the
    prediction rests on (``x + y`` rather than ``x.add(y)``, which no observer can tell apart).
    """

    peer: Peer
    count: int
    ours: int
    parts: Mapping[str, int]
    unmodeled: tuple[str, ...] = ()
    assumed: tuple[str, ...] = ()
    training: bool = False
    uncovered: tuple[str, ...] = ()

    @property
    def exact(self) -> bool:
        """Every row and call is modeled by the tool's rule (see ``predicted`` for whether the rule is proven)."""
        return not self.unmodeled

    @property
    def predicted(self) -> bool:
        """Whether ``count`` is a prediction cnncost stands by: exact, and every kind of layer, call and operator
        in the network is one the tests prove against the real tool (``PROVEN``). Otherwise no number is shown."""
        return self.exact and not self.uncovered

    @property
    def value(self) -> int | None:
        """The predicted number, or None when it is not predicted (``why_not`` says why)."""
        return self.count if self.predicted else None

    @property
    def why_not(self) -> str | None:
        """Why there is no prediction, in one line; None when there is one."""
        if self.uncovered:
            more = f" (and {len(self.uncovered) - 1} more kinds)" if len(self.uncovered) > 1 else ""
            return f"{self.uncovered[0]} is not covered{more}"
        if self.unmodeled:
            more = f" (and {len(self.unmodeled) - 1} more)" if len(self.unmodeled) > 1 else ""
            return f"how it counts {self.unmodeled[0]} is not modeled{more}"
        return None

    @property
    def ratio(self) -> float | None:
        """The tool's number over cnncost's MACs (same scope); None when our MACs are zero."""
        return None if self.ours == 0 else self.count / self.ours


FVCORE = Peer(
    "fvcore",
    "fvcore",
    "FlopCountAnalysis(model, x).total()",
    "flops",
    "batch",
    "+ batchnorm (2 per element, 5 in training) + adaptive avg-pool inputs; no bias",
)
FLOP_COUNTER = Peer(
    "flopcounter",
    "FlopCounterMode",
    "torch.utils.flop_counter.FlopCounterMode().get_total_flops()",
    "FLOPs",
    "batch",
    "2 FLOPs per MAC (a multiply and an add); conv and matrix products only",
)
PTFLOPS = Peer(
    "ptflops",
    "ptflops (pytorch)",
    "ptflops.get_model_complexity_info(model, (C, H, W), backend='pytorch')",
    "MACs",
    "image",
    "+ bias, batchnorm, ReLU-family activations, pooling inputs; nn.ReLU, nn.GELU and pooling counted twice",
)
PTFLOPS_ATEN = Peer(
    "ptflops-aten",
    "ptflops (aten)",
    "ptflops.get_model_complexity_info(model, (C, H, W), backend='aten')",
    "MACs",
    "image",
    "+ the bias additions of conv and linear layers",
)
TORCHINFO = Peer(
    "torchinfo",
    "torchinfo",
    "torchinfo.summary(model, input_size).total_mult_adds ('Total mult-adds')",
    "mult-adds",
    "batch",
    "every parameter × its output positions: + bias additions + 2·C per batchnorm",
)
TORCHVISION = Peer(
    "torchvision",
    "torchvision docs",
    "the GFLOPS column of torchvision's model tables (metadata '_ops')",
    "GFLOPS × 10⁹",
    "image",
    "the same number: conv and linear MACs per image, bias excluded, published as GFLOPS",
)

#: Every tool, in the order tables show them.
PEERS: tuple[Peer, ...] = (TORCHVISION, FVCORE, FLOP_COUNTER, PTFLOPS, PTFLOPS_ATEN, TORCHINFO)


class _Unmodeled(Exception):
    """A row whose treatment by a tool the prediction cannot know."""


@dataclass
class _Tally:
    parts: dict[str, int] = field(default_factory=dict)
    unmodeled: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)

    def add(self, part: str, n: int) -> None:
        if n:
            self.parts[part] = self.parts.get(part, 0) + n


# ------------------------------------------------------------------------------------------------ row facts


def _calls(r: Record) -> int:
    """How many times the row's module ran (1 for spec rows)."""
    return r.observed.calls if r.observed is not None else 1


def _in_elements(r: Record, batch: int) -> int:
    """Input elements over the whole batch and every call."""
    if r.observed is not None:
        return r.observed.in_elements
    return math.prod(r.input_shape) * batch


def _out_elements(r: Record, batch: int) -> int:
    if r.observed is not None:
        return r.observed.out_elements
    return math.prod(r.output_shape) * batch


def _functions(r: Record) -> Mapping[str, CallStats] | None:
    """The torch calls of a row that is not a known module (``analyze_module``): name → counts, batch included;
    None for rows costed by a registry formula."""
    return r.observed.functions if r.observed is not None else None


def _module(r: Record) -> str | None:
    """The class name of the module standing at the row (None for spec rows and a container's own work)."""
    return r.observed.module if r.observed is not None else None


def _weights(r: Record) -> Mapping[str, int]:
    """The row's own parameters by name (empty for spec rows and known modules)."""
    return (r.observed.weights if r.observed is not None else None) or {}


_F = "torch.nn.functional."


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: ptflops' patched functionals: each call counts its input's elements.
_PTFLOPS_NUMEL_FUNCTIONS = frozenset(
    _F + n
    for n in _words(
        "relu prelu elu relu6 gelu silu softmax avg_pool1d avg_pool2d avg_pool3d max_pool1d max_pool2d max_pool3d "
        "adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d "
        "adaptive_max_pool3d"
    )
)
#: Calls whose name does not say whether the patched method or the (unpatched) operator ran: ``x + y`` and
#: ``x.add(y)`` both arrive as ``torch.Tensor.add``. Read as the operator, by far the commoner in model code.
_PTFLOPS_AMBIGUOUS = frozenset({"torch.Tensor.add", "torch.Tensor.mul", "torch.Tensor.matmul"})
_PTFLOPS_ELEMENTWISE = frozenset({"torch.add", "torch.mul"})
_PTFLOPS_MATMUL = frozenset({"torch.matmul", "torch.mm", "torch.Tensor.mm", "torch.bmm", "torch.Tensor.bmm"})
_PTFLOPS_UNKNOWN = frozenset(
    {"torch.addmm", "torch.Tensor.addmm", "torch.baddbmm", _F + "interpolate", _F + "upsample"}
)
#: Module types ptflops hooks that the op registry does not describe (their rows would need ptflops' formula).
_PTFLOPS_HOOKED = _words(
    """
    Conv1d Conv2d Conv3d ReLU PReLU ELU LeakyReLU ReLU6 MaxPool1d AvgPool1d AvgPool2d MaxPool2d MaxPool3d AvgPool3d
    AdaptiveMaxPool1d AdaptiveAvgPool1d AdaptiveMaxPool2d AdaptiveAvgPool2d AdaptiveMaxPool3d AdaptiveAvgPool3d
    BatchNorm1d BatchNorm2d BatchNorm3d InstanceNorm1d InstanceNorm2d InstanceNorm3d GroupNorm LayerNorm Linear
    Upsample ConvTranspose1d ConvTranspose2d ConvTranspose3d RNN GRU LSTM RNNCell LSTMCell GRUCell
    MultiheadAttention GELU
    """
)

_FVCORE_MACS = frozenset(
    {
        _F + "conv1d",
        _F + "conv2d",
        _F + "conv3d",
        _F + "linear",
        "torch.matmul",
        "torch.Tensor.matmul",
        "torch.mm",
        "torch.Tensor.mm",
        "torch.bmm",
        "torch.Tensor.bmm",
        "torch.addmm",
        "torch.Tensor.addmm",
    }
)
_FVCORE_LAYER_NORM = frozenset({_F + "layer_norm"})
_FVCORE_UNKNOWN = frozenset(
    {
        _F + n
        for n in _words("batch_norm group_norm instance_norm interpolate upsample grid_sample")
    }
    | {"torch.einsum", "torch.batch_norm", "torch.layer_norm", "torch.group_norm"}
)

#: Aten operators FlopCounterMode counts that cnncost does not cost (they show up in ``Report.unknown_ops``).
_FLOP_COUNTER_EXTRA = ("attention", "_scaled_mm", "backward")
#: Likewise for fvcore (its handles for bilinear upsampling, grid sampling and instance norm).
_FVCORE_EXTRA = ("upsample", "grid_sampler", "instance_norm")


# ------------------------------------------------------------------------------------------------ the rules

Rule = Callable[[Record, int, bool, _Tally], None]


def _layers(report: Report) -> Iterable[Record]:
    return (r for r in report.layers() if _calls(r) > 0)


def _function_rule(
    r: Record,
    tally: _Tally,
    rule: Callable[[str, CallStats], tuple[str, int] | None],
) -> None:
    functions = _functions(r)
    assert functions is not None
    for name, stats in functions.items():
        try:
            got = rule(name, stats)
        except _Unmodeled:
            tally.unmodeled.append(f"{r.path} ({name})")
            continue
        if got is not None:
            tally.add(*got)


def _fvcore(r: Record, batch: int, training: bool, tally: _Tally) -> None:
    if _functions(r) is not None:

        def rule(name: str, stats: CallStats) -> tuple[str, int] | None:
            in_el, macs = stats.in_elements, stats.macs
            if name in _FVCORE_LAYER_NORM:
                # fvcore's norm_flop_counter: 5 per input element with an affine weight, 4 without.
                weights = _weights(r)
                if _module(r) is None:
                    raise _Unmodeled  # a container's own call: whether it passes a weight is not recorded
                per = 5 if "weight" in weights else 4
                return (f"layer norm ({per} per element)", per * in_el)
            if name in _FVCORE_UNKNOWN:
                raise _Unmodeled
            if name in _FVCORE_MACS:
                return ("MACs", macs)
            if name == _F + "adaptive_avg_pool2d":
                return ("adaptive pooling (input elements)", in_el)
            if name == "torch.baddbmm":
                return None  # fvcore has no handle for aten::baddbmm
            if macs:
                raise _Unmodeled
            return None

        _function_rule(r, tally, rule)
        return
    if r.op in ("conv", "linear"):
        tally.add("MACs", r.macs)
    elif r.op == "bn":
        per_element = 5 if training else 2
        tally.add(f"batchnorm ({per_element} per element)", per_element * _in_elements(r, batch))
    elif r.op in ("global_avgpool", "adaptive_avgpool"):
        tally.add("adaptive pooling (input elements)", _in_elements(r, batch))
    elif r.macs:
        tally.unmodeled.append(f"{r.path} ({r.op})")


def _flop_counter(r: Record, batch: int, training: bool, tally: _Tally) -> None:
    tally.add("2 × MACs", 2 * r.macs)


def _ptflops_aten(r: Record, batch: int, training: bool, tally: _Tally) -> None:
    if _functions(r) is not None:

        def rule(name: str, stats: CallStats) -> tuple[str, int] | None:
            macs, bias = stats.macs, stats.bias
            if "baddbmm" in name:
                raise _Unmodeled  # ptflops' aten table has no baddbmm
            if macs or bias:
                tally.add("bias", bias // batch)
                return ("MACs", macs // batch)
            return None

        _function_rule(r, tally, rule)
        return
    if r.op in ("conv", "linear"):
        tally.add("MACs", r.macs // batch)
        tally.add("bias", r.other.get("bias", 0) // batch)
    elif r.macs:
        tally.unmodeled.append(f"{r.path} ({r.op})")


def _lrn_ptflops(r: Record, batch: int) -> int:
    # F.local_response_norm on N×C×H×W: div = x.mul(x) (C·H·W, patched Tensor.mul), avg_pool3d over the input
    # padded to C + size − 1 channels (patched F.avg_pool3d: its input's elements), div.mul(alpha) and
    # .add(k) (patched Tensor.mul/add: C·H·W each); pow and division are not patched.
    h, w, c = r.input_shape
    size = int(r.args["size"])
    return _calls(r) * ((c + size - 1) * h * w + 3 * c * h * w)


_PTFLOPS_TWICE = frozenset({"relu", "gelu"})  # module hook (output) + patched F.relu/F.gelu (input)
_PTFLOPS_ONCE_HOOK = frozenset({"relu6", "leaky_relu"})  # module hook only (F.hardtanh, F.leaky_relu unpatched)
_PTFLOPS_ONCE_FUNCTIONAL = frozenset({"silu", "softmax"})  # patched F.silu / F.softmax only
_POOLS = frozenset({"maxpool", "avgpool", "global_avgpool", "global_maxpool", "adaptive_avgpool"})


def _ptflops(r: Record, batch: int, training: bool, tally: _Tally) -> None:
    if _functions(r) is not None:
        module = _module(r) or ""
        if module == "Linear" and set(_functions(r) or {}) == {_F + "linear"}:
            # ptflops' linear hook on any input: (in·out + bias) per position, every leading dimension a position.
            stats = (_functions(r) or {})[_F + "linear"]
            tally.add("MACs", stats.macs // batch)
            tally.add("bias", stats.bias // batch)
            return
        if module == "LayerNorm" and set(_functions(r) or {}) == {_F + "layer_norm"}:
            # ptflops' norm hook: input elements, doubled only for modules with an 'affine' attribute, which
            # nn.LayerNorm has not (it says elementwise_affine).
            tally.add("layer norm (input elements)", _in_elements(r, batch) // batch)
            return
        if module in _PTFLOPS_HOOKED:
            tally.unmodeled.append(f"{r.path} ({module})")
            return

        def rule(name: str, stats: CallStats) -> tuple[str, int] | None:
            in_el, out_el, macs = stats.in_elements, stats.out_elements, stats.macs
            if name in _PTFLOPS_UNKNOWN:
                raise _Unmodeled
            if name in _PTFLOPS_NUMEL_FUNCTIONS:
                return ("patched functionals (input elements)", in_el // batch)
            if name in _PTFLOPS_ELEMENTWISE:
                return ("torch.add/mul (output elements)", out_el // batch)
            if name in _PTFLOPS_MATMUL:
                return ("MACs", macs // batch)
            if name in _PTFLOPS_AMBIGUOUS:
                tally.assumed.append(f"{r.path}: {name} read as an operator (x + y, x * y, x @ y): not counted")
            return None

        _function_rule(r, tally, rule)
        return
    op = r.op
    if op in ("conv", "linear"):
        tally.add("MACs", r.macs // batch)
        tally.add("bias", r.other.get("bias", 0) // batch)
    elif op == "bn":
        tally.add("batchnorm (2 per element)", 2 * _in_elements(r, batch) // batch)
    elif op in _PTFLOPS_TWICE:
        tally.add("activations", 2 * _out_elements(r, batch) // batch)
    elif op in _PTFLOPS_ONCE_HOOK or op in _PTFLOPS_ONCE_FUNCTIONAL:
        tally.add("activations", _out_elements(r, batch) // batch)
    elif op in _POOLS:
        tally.add("pooling (2 × input elements)", 2 * _in_elements(r, batch) // batch)
    elif op == "lrn":
        tally.add("local response norm (patched inner calls)", _lrn_ptflops(r, batch))
    elif r.macs:
        tally.unmodeled.append(f"{r.path} ({op})")


def _torchinfo(r: Record, batch: int, training: bool, tally: _Tally) -> None:
    if _functions(r) is not None:
        weights = _weights(r)
        if not weights or _module(r) is None:
            return  # a container's own work, or a parameter-free module: torchinfo counts 0
        if _calls(r) != 1:
            tally.unmodeled.append(f"{r.path} ({r.op}, {_calls(r)} calls)")
            return
        shape = r.output_shape
        spatial = math.prod(shape[:2]) if len(shape) == 3 else math.prod(shape[1:])
        channels = (shape[2] if len(shape) == 3 else shape[0]) if shape else 1
        for pname, n in weights.items():
            if pname in ("weight", "bias"):
                factor = batch * spatial if "Conv" in str(_module(r)) else batch
            elif "weight" in pname or "bias" in pname:
                factor = batch * channels
            else:
                continue
            tally.add("parameters × output positions", n * factor)
        return
    if r.op in ("conv", "linear"):
        tally.add("MACs", r.macs)
        tally.add("bias", r.other.get("bias", 0))
    elif r.op == "bn":
        # params × output_size[0]: the batch (or what the model folded into it), once per call.
        leads = _in_elements(r, batch) // max(1, math.prod(r.input_shape))
        tally.add("batchnorm parameters × batch", leads * r.params)
    elif r.macs:
        tally.unmodeled.append(f"{r.path} ({r.op})")


def _torchvision(r: Record, batch: int, training: bool, tally: _Tally) -> None:
    tally.add("MACs", r.macs // batch)


_RULES: Mapping[str, Rule] = MappingProxyType(
    {
        FVCORE.key: _fvcore,
        FLOP_COUNTER.key: _flop_counter,
        PTFLOPS.key: _ptflops,
        PTFLOPS_ATEN.key: _ptflops_aten,
        TORCHINFO.key: _torchinfo,
        TORCHVISION.key: _torchvision,
    }
)


# ------------------------------------------------------------------------------------------------ coverage

#: torch.nn's module classes (the tools hook modules by their exact type; a user's class is seen by its calls).
TORCH_MODULES = _words(
    """
    AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d
    AlphaDropout AvgPool1d AvgPool2d AvgPool3d BatchNorm1d BatchNorm2d BatchNorm3d Bilinear CELU ChannelShuffle
    CircularPad1d CircularPad2d CircularPad3d ConstantPad1d ConstantPad2d ConstantPad3d Container Conv1d Conv2d
    Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d CosineSimilarity CrossMapLRN2d DataParallel Dropout
    Dropout1d Dropout2d Dropout3d ELU Embedding EmbeddingBag FeatureAlphaDropout Flatten Fold FractionalMaxPool2d
    FractionalMaxPool3d GELU GLU GRU GRUCell GroupNorm Hardshrink Hardsigmoid Hardswish Hardtanh Identity
    InstanceNorm1d InstanceNorm2d InstanceNorm3d LPPool1d LPPool2d LPPool3d LSTM LSTMCell LayerNorm LazyBatchNorm1d
    LazyBatchNorm2d LazyBatchNorm3d LazyConv1d LazyConv2d LazyConv3d LazyConvTranspose1d LazyConvTranspose2d
    LazyConvTranspose3d LazyInstanceNorm1d LazyInstanceNorm2d LazyInstanceNorm3d LazyLinear LeakyReLU Linear
    LocalResponseNorm LogSigmoid LogSoftmax MaxPool1d MaxPool2d MaxPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d Mish
    Module ModuleDict ModuleList MultiheadAttention PReLU PairwiseDistance ParameterDict ParameterList PixelShuffle
    PixelUnshuffle RMSNorm RNN RNNBase RNNCell RNNCellBase RReLU ReLU ReLU6 ReflectionPad1d ReflectionPad2d
    ReflectionPad3d ReplicationPad1d ReplicationPad2d ReplicationPad3d SELU Sequential SiLU Sigmoid Softmax
    Softmax2d Softmin Softplus Softshrink Softsign SyncBatchNorm Tanh Tanhshrink Threshold Transformer
    TransformerDecoder TransformerDecoderLayer TransformerEncoder TransformerEncoderLayer Unflatten Unfold Upsample
    UpsamplingBilinear2d UpsamplingNearest2d ZeroPad1d ZeroPad2d ZeroPad3d
    """
)


def kinds(report: Report) -> frozenset[str]:
    """The kinds of work in ``report`` a tool's rule must be proven for: ``op NAME`` for a row costed by the op
    registry (a spec layer, or a module of exactly the type the registry describes), ``module NAME`` for any
    other torch.nn module, ``call NAME`` for each torch call a module or container made itself, and
    ``operator NAME`` for each aten operator cnncost does not cost."""
    out: set[str] = set()
    for r in _layers(report):
        functions = _functions(r)
        if functions is None:
            out.add(f"op {r.op}")
            continue
        module = _module(r)
        if module in TORCH_MODULES:
            out.add(f"module {module}")
        out.update(f"call {name}" for name in functions)
    out.update(f"operator {name}" for name in report.unknown_ops)
    return frozenset(out)


#: What the tests hold every tool's prediction to, exactly, against the tool run for real
#: (tests/test_conventions.py, tests/test_coverage.py: the bundled networks, hand-made modules, a ConvNeXt-like
#: module; tests/test_coverage.py asserts every kind here occurs in a network checked that way).
_PROVEN_EVERYWHERE = frozenset(
    {
        *(
            f"op {op}"
            for op in _words(
                """
                conv linear bn relu relu6 leaky_relu gelu silu hardswish hardsigmoid tanh sigmoid softmax lrn maxpool
                avgpool global_avgpool global_maxpool adaptive_avgpool flatten dropout zero_pad add multiply concat
                """
            )
        ),
        *(
            f"call {name}"
            for name in _words(
                """
                torch.Tensor.add torch.Tensor.add_ torch.Tensor.mul torch.add torch.cat torch.nn.functional.conv2d
                torch.nn.functional.linear torch.nn.functional.layer_norm torch.nn.functional.relu
                torch.nn.functional.max_pool2d torch.nn.functional.adaptive_avg_pool2d
                """
            )
        ),
        "module Linear",
        "module LayerNorm",
    }
)


#: Per tool, the kinds (see ``kinds``) its prediction is proven for.
PROVEN: Mapping[str, frozenset[str]] = MappingProxyType({key: _PROVEN_EVERYWHERE for key in _RULES})


# ------------------------------------------------------------------------------------------------ predictions


def peer(key: str) -> Peer:
    """The tool called ``key`` (``fvcore``, ``flopcounter``, ``ptflops``, ``ptflops-aten``, ``torchinfo``,
    ``torchvision``)."""
    for p in PEERS:
        if p.key == key:
            return p
    known = ", ".join(p.key for p in PEERS)
    raise KeyError(f"no counting tool '{key}' (known: {known})")


def predict(report: Report, key: str, *, training: bool = False) -> PeerCount:
    """What tool ``key`` reports for the network of ``report`` at its input size and batch (per image for the
    per-image tools). ``training`` says the model is in training mode (fvcore's batchnorm count)."""
    tool = peer(key)
    rule = _RULES[key]
    batch = report.batch
    tally = _Tally()
    for r in _layers(report):
        rule(r, batch, training, tally)
    # Operators cnncost could not cost matter only to the tools that cost operators of that kind themselves.
    words = {FLOP_COUNTER.key: _FLOP_COUNTER_EXTRA, FVCORE.key: _FVCORE_EXTRA}.get(key, ())
    tally.unmodeled.extend(
        f"operator {n}" for n in sorted(report.unknown_ops) if any(word in n for word in words)
    )
    ours = report.totals.macs if tool.scope == "batch" else report.totals.macs // batch
    uncovered = tuple(sorted(kinds(report) - PROVEN[key]))
    return PeerCount(
        peer=tool,
        count=sum(tally.parts.values()),
        ours=ours,
        parts=MappingProxyType(dict(tally.parts)),
        unmodeled=tuple(dict.fromkeys(tally.unmodeled)),
        assumed=tuple(dict.fromkeys(tally.assumed)),
        training=training,
        uncovered=uncovered,
    )


def predict_all(report: Report, *, training: bool = False) -> tuple[PeerCount, ...]:
    """Every tool's number for ``report`` (see ``PEERS``), in table order."""
    return tuple(predict(report, p.key, training=training) for p in PEERS)


def describe(count: PeerCount) -> dict[str, Any]:
    """A prediction as plain data (for JSON). When the tool's number is not predicted, ``count``, ``ratio`` are
    null and ``parts`` empty, ``predicted`` is false and ``not_predicted`` says why in one line (a kind of layer,
    call or operator no test proves the rule for, listed in ``uncovered``; or a row the rule does not model,
    listed in ``unmodeled``)."""
    return {
        "tool": count.peer.tool,
        "key": count.peer.key,
        "reports": count.peer.reports,
        "unit": count.peer.unit,
        "scope": count.peer.scope,
        "count": count.value,
        "predicted": count.predicted,
        "not_predicted": count.why_not,
        "ours": count.ours,
        "ratio": count.ratio if count.predicted else None,
        "parts": dict(count.parts) if count.predicted else {},
        "exact": count.exact,
        "uncovered": list(count.uncovered),
        "unmodeled": list(count.unmodeled),
        "assumed": list(count.assumed),
        "training": count.training,
        "why": count.peer.reason,
    }
