"""Property tests (hypothesis) over random specs.

1. Random *valid* specs — random depths, kernels, strides, paddings, dilations, groups (depthwise included), pools,
   concat branches, residuals with every shortcut kind, squeeze-and-excitation gates, repeats, blocks called by
   name and through ``block: {use: …}``, expressions over variables — are written as YAML and must give the same
   output shape as an independent shape tracker here, and identical parameters, FLOPs (= 2 × MACs) and shapes,
   layer by layer, through the analytic engine and the PyTorch road (built on the meta device, counted by
   FlopCounterMode: ``cnncost.api.verify``).
2. Random *mutations* of every bundled spec — keys deleted or renamed, values swapped for strings, negatives,
   huge or odd numbers, lists and mappings, lines truncated, duplicated, deleted or re-indented, text inserted —
   never give anything but a report or a one-line ``CnnCostError``, through the API and the command line; what is
   accepted also builds with PyTorch.

Examples per test: ``CNNCOST_FUZZ_EXAMPLES`` (default 20, a few seconds each). A long run::

    CNNCOST_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py -p no:cacheprovider
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncost import api
from cnncost.analysis.records import Report
from cnncost.errors import CnnCostError
from cnncost.spec.library import bundled_dir

EXAMPLES = int(os.environ.get("CNNCOST_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
Shape = tuple[int, ...]
Draw = Callable[[st.SearchStrategy[Any]], Any]


# ===================================================================================== 1. random valid specs
#
# Each generator returns (YAML item, output shape), choosing only arguments that fit the current shape. The
# shape arithmetic here is written from the course's formula, floor((n + 2p − d·(f − 1) − 1) / s) + 1, apart
# from the engine's, so the two check each other.


def _window(n: int, f: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    span = n + 2 * p - d * (f - 1) - 1
    if not ceil:
        return span // s + 1
    out = -(-span // s) + 1
    return out - 1 if (out - 1) * s >= n + p else out  # PyTorch: the last window starts inside the input


class SpecGen:
    """Draws one valid spec, layer by layer, tracking the shape."""

    def __init__(self, draw: Draw) -> None:
        self.draw = draw
        self.blocks: dict[str, Any] = {}
        self.variables: dict[str, Any] = {"width": draw(st.integers(1, 4))}
        self.count = 0
        self.saved: list[tuple[str, Shape]] = []  # tensors kept by 'save: NAME' so far, for a later join

    def pick(self, *options: Any) -> Any:
        return self.draw(st.sampled_from(options))

    def channels(self, multiple: int = 1) -> tuple[Any, int]:
        """An output channel count as YAML (sometimes an expression over 'width') and its value."""
        n = multiple * self.draw(st.integers(1, max(1, 24 // multiple)))
        width = self.variables["width"]
        if n % width == 0 and self.draw(st.booleans()):
            return f"width * {n // width}", n
        return n, n

    # ------------------------------------------------------------------------------------------- layers

    def conv(self, shape: Shape, *, keep_size: bool = False, stride: int | None = None) -> tuple[Any, Shape]:
        h, w, c = shape
        args: dict[str, Any] = {}
        if keep_size or stride is not None:  # odd kernel, p = (f − 1)/2: output ceil(n / s)
            f = self.pick(*[k for k in (1, 3, 5) if k <= 2 * min(h, w) + 1])
            s = 1 if stride is None else stride
            p: Any = (f - 1) // 2
            if s == 1 and self.draw(st.booleans()):
                p = "same"
            args.update(kernel=f, padding=p)
            if stride is not None:
                args["stride"] = "stride"
            elif s != 1:
                args["stride"] = s
            d = 1
            out_h, out_w = -(-h // s), -(-w // s)
        else:
            d = self.pick(1, 1, 1, 2)
            p = self.draw(st.integers(0, 2))
            fits = [k for k in (1, 2, 3, 5, 7) if d * (k - 1) + 1 <= min(h, w) + 2 * p]
            f_h = self.pick(*fits)
            f_w = self.pick(*fits)
            s = self.pick(1, 1, 2, 3)
            args["kernel"] = f_h if f_h == f_w else [f_h, f_w]
            if s != 1:
                args["stride"] = s
            if p:
                args["padding"] = p
            if d != 1:
                args["dilation"] = d
            out_h, out_w = _window(h, f_h, s, p, d), _window(w, f_w, s, p, d)
        depthwise = self.draw(st.integers(0, 5)) == 0
        if depthwise:
            args["groups"] = "depthwise"
            out_c = c
            if self.draw(st.booleans()):
                out_c = c * self.draw(st.integers(1, 2))
                args["out"] = out_c
        else:
            divisors = [g for g in range(1, c + 1) if c % g == 0 and g <= 8]
            g = self.pick(*divisors)
            out_yaml, out_c = self.channels(multiple=g)
            args["out"] = out_yaml
            if g != 1:
                args["groups"] = g
        if self.draw(st.booleans()):
            args["bias"] = False
        return {"conv": args}, (out_h, out_w, out_c)

    def pool(self, shape: Shape) -> tuple[Any, Shape] | None:
        h, w, c = shape
        op = self.pick("maxpool", "avgpool")
        f = self.pick(*[k for k in (2, 3) if k <= min(h, w)] or [1])
        p = self.draw(st.integers(0, f // 2))
        s = self.draw(st.sampled_from([None, 1, 2, 3]))
        ceil = self.draw(st.booleans())
        args: dict[str, Any] = {"kernel": f}
        if s is not None:
            args["stride"] = s
        if p:
            args["padding"] = p
        if ceil:
            args["ceil_mode"] = True
        step = f if s is None else s
        out = (_window(h, f, step, p, 1, ceil), _window(w, f, step, p, 1, ceil), c)
        return {op: args}, out

    def elementwise(self, shape: Shape) -> tuple[Any, Shape]:
        kind = self.pick("bn", "relu", "relu6", "tanh", "sigmoid", "silu", "hardswish", "gelu", "leaky", "dropout")
        if kind == "leaky":
            return {"leaky_relu": {"slope": self.pick(0.01, 0.2)}}, shape
        if kind == "dropout":
            return {"dropout": {"p": self.pick(0.0, 0.2, 0.5)}}, shape
        if kind == "bn" and self.draw(st.booleans()):
            return {"bn": {"eps": 0.001}}, shape
        return kind, shape

    def residual(self, shape: Shape, depth: int) -> tuple[Any, Shape]:
        h, w, c = shape
        kind = self.pick("identity", "projection", "zero-pad", "identity-or-projection", "identity-or-zero-pad")
        same = kind == "identity" or (kind.startswith("identity-or") and self.draw(st.booleans()))
        s = 1 if same else self.pick(1, 2)
        cur: Shape
        if same:
            first, _ = self.conv(shape, keep_size=True)
            first["conv"]["out"], cur = c, (h, w, c)
        else:
            first, cur = self.conv(shape, keep_size=s == 1, stride=None) if s == 1 else self._strided(shape, s)
            if kind.endswith("zero-pad") and cur[2] < c:
                first["conv"]["out"], cur = c + cur[2], (cur[0], cur[1], c + cur[2])
                first["conv"].pop("groups", None)
        body = [first]
        for _ in range(self.draw(st.integers(0, 2))):
            what = self.pick("conv", "elementwise", "nested")
            if what == "conv":
                item, _ = self.conv(cur, keep_size=True)
                item["conv"]["out"] = cur[2]
                item["conv"].pop("groups", None)
            elif what == "elementwise" or depth >= 2:
                item, _ = self.elementwise(cur)
            elif self.draw(st.booleans()):
                item, _ = self.scale(cur)  # a gate inside the body (squeeze-and-excitation)
            else:
                inner, _ = self.conv(cur, keep_size=True)
                inner["conv"]["out"] = cur[2]
                inner["conv"].pop("groups", None)
                item = {"residual": {"layers": [inner, "relu"]}}  # an identity residual inside a residual
            body.append(item)
        args: dict[str, Any] = {"shortcut": kind, "layers": body}
        if self.draw(st.booleans()):
            args["activation"] = "relu"
        if kind != "identity" and self.draw(st.booleans()):
            args["shortcut_bn"] = True
        return {"residual": args}, cur

    def _strided(self, shape: Shape, s: int) -> tuple[Any, Shape]:
        h, w, _ = shape
        f = self.pick(*[k for k in (1, 3) if k <= 2 * min(h, w) + 1])
        out_yaml, out_c = self.channels()
        item = {"conv": {"out": out_yaml, "kernel": f, "stride": s, "padding": (f - 1) // 2}}
        return item, (-(-h // s), -(-w // s), out_c)

    def concat(self, shape: Shape, depth: int) -> tuple[Any, Shape]:
        h, w, _ = shape
        branches: dict[str, Any] = {}
        total = 0
        for b in range(self.draw(st.integers(2, 3))):
            layers: list[Any] = []
            cur = shape
            if self.draw(st.booleans()):
                layers.append({"maxpool": {"kernel": 3, "stride": 1, "padding": 1}} if min(h, w) >= 2 else "relu")
            for _ in range(self.draw(st.integers(1, 2))):
                item, cur = self.conv(cur, keep_size=True)
                layers.append(item)
                if self.draw(st.booleans()):
                    layers.append("relu")
            branches[f"b{b}"] = layers
            total += cur[2]
        return {"concat": {"branches": branches}}, (h, w, total)

    def scale(self, shape: Shape) -> tuple[Any, Shape]:
        c = shape[2]
        squeeze = max(1, c // self.pick(1, 2, 4))
        gate = [
            "global_avgpool",
            {"conv": {"out": squeeze, "kernel": 1}},
            "relu",
            {"conv": {"out": c, "kernel": 1}},
            self.pick("sigmoid", "hardsigmoid"),
        ]
        return {"scale": {"layers": gate}}, shape

    def repeat(self, shape: Shape) -> tuple[Any, Shape]:
        times = self.draw(st.integers(0, 3))
        s = self.pick(1, 2)
        item, first = self.conv(shape, stride=s)
        # copies after the first see the first's output: plain (ungrouped) convs map any channels to 'out'
        item["conv"].pop("groups", None)
        out_yaml, out_c = self.channels()
        item["conv"]["out"] = out_yaml
        layers: list[Any] = [item]
        if self.draw(st.booleans()):
            layers.append("relu")
        out = shape if times == 0 else (first[0], first[1], out_c)
        return {"repeat": {"times": times, "stride": s, "layers": layers}}, out

    def block_call(self, shape: Shape) -> tuple[Any, Shape]:
        if "unit" not in self.blocks:
            self.blocks["unit"] = {
                "args": {"out": None, "stride": 1},
                "layers": [
                    {"name": "conv", "conv": {"out": "out", "kernel": 3, "stride": "stride", "padding": 1}},
                    {"name": "bn", "bn": {}},
                    "relu",
                ],
            }
        h, w, _ = shape
        s = self.pick(1, 2)
        out_yaml, out_c = self.channels()
        call = {"out": out_yaml, "stride": s}
        out = (-(-h // s), -(-w // s), out_c)
        if self.draw(st.booleans()):
            self.variables["unit_kind"] = "unit"
            return {"block": {"use": "unit_kind", **call}}, out
        return {"unit": call}, out

    def join(self, shape: Shape) -> tuple[Any, Shape] | None:
        """A join with a tensor saved earlier that is at least as large: cropped to the current H×W (when it
        differs, and sometimes when it does not), sometimes through a 1×1 conv first; concatenated or added."""
        h, w, c = shape
        fits = [(n, s) for n, s in self.saved if s[0] >= h and s[1] >= w]
        if not fits:
            return None
        name, (s_h, s_w, s_c) = self.pick(*fits)
        args: dict[str, Any] = {"with": self.pick(name, [name])}
        if (s_h, s_w) != (h, w) or self.draw(st.booleans()):
            args["crop"] = True
        if self.pick("concat", "add") == "add":
            args["mode"] = "add"
            if s_c != c or self.draw(st.booleans()):
                args["layers"] = [{"conv": {"out": c, "kernel": 1}}]
            return {"join": args}, (h, w, c)
        if self.draw(st.booleans()):
            s_c = self.draw(st.integers(1, 8))
            args["layers"] = [{"conv": {"out": s_c, "kernel": 1}}, "relu"]
        return {"join": args}, (h, w, c + s_c)

    def aux(self, shape: Shape) -> tuple[Any, Shape]:
        """A training-only side head: it leaves the main path's shape as it is."""
        out = self.draw(st.integers(1, 9))
        head = [self.pick("global_avgpool", "global_maxpool"), "flatten", {"linear": {"out": out}}]
        return {"aux": {"layers": head}}, shape

    # ------------------------------------------------------------------------------------------ sequences

    def layers(self, shape: Shape, depth: int, budget: int) -> tuple[list[Any], Shape]:
        items: list[Any] = []
        for _ in range(self.draw(st.integers(1, budget))):
            choices = ["conv", "conv", "elementwise", "pool", "repeat", "block"]
            if depth < 2:
                choices += ["residual", "concat", "scale"]
            if depth == 0:
                choices += ["aux"] + (["join", "join"] if self.saved else [])
            kind = self.pick(*choices)
            made: tuple[Any, Shape] | None
            if kind == "conv":
                made = self.conv(shape)
            elif kind == "elementwise":
                made = self.elementwise(shape)
            elif kind == "pool":
                made = self.pool(shape)
            elif kind == "repeat":
                made = self.repeat(shape)
            elif kind == "block":
                made = self.block_call(shape)
            elif kind == "residual":
                made = self.residual(shape, depth + 1)
            elif kind == "concat":
                made = self.concat(shape, depth + 1)
            elif kind == "join":
                made = self.join(shape)
            elif kind == "aux":
                made = self.aux(shape)
            else:
                made = self.scale(shape)
            if made is None:
                continue
            item, shape = made
            if depth == 0 and kind != "aux" and self.draw(st.integers(0, 3)) == 0:
                name = f"t{len(self.saved)}"
                item = {**(item if isinstance(item, dict) else {item: {}}), "save": name}
                self.saved.append((name, shape))
            items.append(item)
        return items, shape

    def head(self, shape: Shape) -> tuple[list[Any], Shape]:
        items: list[Any] = []
        if self.draw(st.booleans()):
            size = self.draw(st.integers(1, 3))
            items.append({"adaptive_avgpool": {"size": size}})
            shape = (size, size, shape[2])
        elif self.draw(st.booleans()):
            items.append(self.pick("global_avgpool", "global_maxpool"))
            shape = (1, 1, shape[2])
        items.append("flatten")
        n = math.prod(shape)
        for _ in range(self.draw(st.integers(1, 2))):
            out = self.draw(st.integers(1, 20))
            layer: dict[str, Any] = {"out": out}
            if self.draw(st.booleans()):
                layer["bias"] = False
            items.append({"linear": layer})
            n = out
            if self.draw(st.booleans()):
                items.append(self.pick("relu", "bn", "dropout", "softmax"))
        return items, (n,)


@st.composite
def valid_specs(draw: Draw) -> tuple[dict[str, Any], Shape]:
    gen = SpecGen(draw)
    shape: Shape = (draw(st.integers(4, 32)), draw(st.integers(4, 32)), draw(st.integers(1, 8)))
    layers, out = gen.layers(shape, 0, budget=6)
    if draw(st.booleans()):
        head, out = gen.head(out)
        layers += head
    doc: dict[str, Any] = {
        "name": "fuzzed",
        "description": "a random valid network",
        "input": list(shape),
        "variables": gen.variables,
        "layers": layers,
    }
    if gen.blocks:
        doc["blocks"] = gen.blocks
    return doc, out


def _write(doc: dict[str, Any], folder: str, name: str = "fuzzed.yaml") -> str:
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(path)


@FUZZ
@given(spec=valid_specs(), batch=st.sampled_from([1, 1, 2, 3]))
def test_valid_specs_engine_shapes(spec: tuple[dict[str, Any], Shape], batch: int) -> None:
    """Without torch: every generated spec is accepted, with the output shape the tracker here predicts."""
    doc, expected = spec
    with tempfile.TemporaryDirectory() as folder:
        path = _write(doc, folder)
        report = api.analyze(path, batch=batch)
        network = api.resolve(path)
    assert network.root.out_shape == expected, yaml.safe_dump(doc, sort_keys=False)
    layers = report.layers()
    assert sum(r.params for r in layers) == report.totals.params
    assert sum(r.macs for r in layers) == report.totals.macs


@pytest.mark.torch
@FUZZ
@given(spec=valid_specs(), batch=st.sampled_from([1, 1, 2]))
def test_valid_specs_agree_with_pytorch(spec: tuple[dict[str, Any], Shape], batch: int) -> None:
    """Engine and PyTorch agree exactly: params per module, FLOPs = 2 × MACs per layer, shapes per layer."""
    pytest.importorskip("torch")
    pytest.importorskip("cnncost.torch.verify")
    doc, _ = spec
    with tempfile.TemporaryDirectory() as folder:
        path = _write(doc, folder)
        report = api.analyze(path, batch=batch)
        result = api.verify(path, batch=batch)
    text = yaml.safe_dump(doc, sort_keys=False)
    assert not result.failures, f"{result.failures[0]}\n{text}"
    assert result.measured_params == report.totals.params, text
    assert result.measured_flops == 2 * report.totals.macs, text
    result.check()


@pytest.mark.torch
@FUZZ
@given(spec=valid_specs())
def test_valid_specs_training_view_agrees_with_pytorch(spec: tuple[dict[str, Any], Shape]) -> None:
    """With the aux heads: the module built with them holds the training view's params, and in training mode
    FlopCounterMode counts 2 × its MACs (the heads run); in eval mode, 2 × the inference MACs."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    doc, _ = spec
    with tempfile.TemporaryDirectory() as folder:
        path = _write(doc, folder)
        network = api.resolve(path)
    inference, training = api.analyze(network), api.analyze(network, aux=True)
    module = api.build(network, device="meta", aux=True)
    text = yaml.safe_dump(doc, sort_keys=False)
    assert sum(p.numel() for p in module.parameters()) == training.totals.params, text
    # batch 2: batchnorm on a vector of one value per channel refuses a batch of 1 in training mode
    x = torch.zeros(2, network.input_shape[2], *network.input_shape[:2], device="meta")
    for mode, report in ((True, training), (False, inference)):
        module.train(mode)
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            module(x)
        assert counter.get_total_flops() == 2 * 2 * report.totals.macs, text


# ================================================================================ 2. mutations of the library

BUNDLED = sorted(p for p in bundled_dir().glob("*.yaml"))
REPLACEMENTS = [
    "1", "2", "3", "5", "7", "64", "0.9", "1.0",  # plausible values: accepted specs that PyTorch must agree with
    "-1", "0", "-0", "1.5", "2.0", "1e999", "-1e999", ".nan", ".inf", "99999999999999999999", "1000000",
    "123456789", "'x'", "''", "null", "true", "[]", "{}", "[1, 2]", "[1, 2, 3]", "{a: 1}", "same", "valid",
    "depthwise", "relu", "'1 +'", "'2 ** 99'", "'1 // 0'", "'size * 1000000'", "'depths[9]'", "'__import__'",
    "!!int x", "!!float x", "!!bool x", "!!binary x", "!!python/none ''", "*nope", "&a 3", "2024-01-01",
]
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
WORD = re.compile(r"\b[a-z_][a-z0-9_]*\b")
scalars = st.one_of(
    st.integers(-10, 10),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["same", "valid", "relu", "conv", "bottleneck", "identity", "zero-pad", "width * 2", "x +"]),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _mutate_text(text: str, draw: Draw) -> str:
    lines = text.split("\n")
    kind = draw(st.sampled_from(["truncate", "delete", "duplicate", "swap", "number", "word", "insert", "indent"]))
    i = draw(st.integers(0, max(0, len(lines) - 1)))
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    if kind == "delete":
        return "\n".join(lines[:i] + lines[i + 1 :])
    if kind == "duplicate":
        return "\n".join(lines[: i + 1] + lines[i:])
    if kind == "swap":
        j = draw(st.integers(0, max(0, len(lines) - 1)))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if kind == "indent":
        lines[i] = draw(st.sampled_from(["  ", "    ", "\t", ""])) + lines[i].lstrip(" ")
        return "\n".join(lines)
    if kind == "insert":
        at = draw(st.integers(0, len(text)))
        inserted: str = draw(st.text(max_size=8))
        return text[:at] + inserted + text[at:]
    pattern = NUMBER if kind == "number" else WORD
    found = list(pattern.finditer(text))
    if not found:
        return text
    m = found[draw(st.integers(0, len(found) - 1))]
    new: str
    if kind == "number":
        new = draw(st.sampled_from(REPLACEMENTS))
    else:
        word = m.group(0)
        new = draw(
            st.sampled_from(
                [word[:-1] or "x", word + "s", word[1:] or "y", word.upper(), "conv", "relu", "block", "name", "x"]
            )
        )
    return text[: m.start()] + new + text[m.end() :]


def _paths(data: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*here, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*here, i))
    return out


def _mutate_data(doc: Any, draw: Draw) -> Any:
    paths = [p for p in _paths(doc) if p]
    if not paths:
        return draw(values)
    path = draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    kind = draw(st.sampled_from(["delete", "replace", "rename", "duplicate", "wrap"]))
    if kind == "delete":
        del parent[key]
    elif kind == "replace":
        parent[key] = draw(values)
    elif kind == "wrap":
        parent[key] = [parent[key]]
    elif kind == "duplicate" and isinstance(parent, list):
        parent.insert(key, parent[key])
    elif kind == "rename" and isinstance(parent, dict):
        new = draw(st.sampled_from([str(key)[:-1] or "k", str(key) + "s", "name", "layers", "conv", "when", "x"]))
        parent[new] = parent.pop(key)
    return doc


@st.composite
def mutated_specs(draw: Draw) -> tuple[str, str, list[str]]:
    """(file name, mutated text, names to analyze: FILE or FILE:VARIANT)."""
    source = draw(st.sampled_from(BUNDLED))
    text = source.read_text(encoding="utf-8")
    original = yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            text = _mutate_text(text, draw)
        else:
            try:
                doc = yaml.safe_load(text)
            except Exception:  # PyYAML also fails with ValueError/KeyError on '!!int x' and the like
                continue
            text = yaml.safe_dump(_mutate_data(doc, draw), sort_keys=False, allow_unicode=True)
    variants = list((original.get("variants") or {}) if isinstance(original, dict) else {})
    names = [source.name] if not variants else [f"{source.name}:{draw(st.sampled_from(variants))}"]
    return source.name, text, names


def _check_outcome(spec: str) -> Report | None:
    start = time.process_time()
    try:
        report = api.analyze(spec)
    except CnnCostError as exc:
        text = str(exc)
        assert text.strip() and text.isprintable(), repr(text)  # one line: no breaks, no control characters
        report = None
    elapsed = time.process_time() - start  # CPU time: work done, whatever else runs on the machine
    assert elapsed < 2.0, f"{spec} took {elapsed:.2f} s of CPU"
    return report


@FUZZ
@given(mutated_specs())
def test_mutated_library_specs_fail_cleanly(mutated: tuple[str, str, list[str]]) -> None:
    """Through the API, then the command line: a report or one clean line; never another exception."""
    from cnncost.cli import main

    name, text, specs = mutated
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / name).write_text(text, encoding="utf-8")
        for spec in specs:
            full = str(Path(folder) / spec)
            report = _check_outcome(full)
            if report is not None:
                code = main(["table", full, "--format", "json"])
                assert code == 0


@pytest.mark.torch
@FUZZ
@given(mutated_specs())
def test_mutated_library_specs_build(mutated: tuple[str, str, list[str]]) -> None:
    """What the analysis accepts, PyTorch builds on the meta device and agrees with, or refuses in one line."""
    pytest.importorskip("torch")
    name, text, specs = mutated
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / name).write_text(text, encoding="utf-8")
        for spec in specs:
            full = str(Path(folder) / spec)
            if _check_outcome(full) is None:
                continue
            try:
                result = api.verify(full)
            except CnnCostError as exc:
                assert str(exc).isprintable(), repr(str(exc))
                continue
            assert not result.failures, f"{result.failures[0]}\n{text}"
