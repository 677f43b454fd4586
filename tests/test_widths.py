"""Every command's output fits the terminal and never cuts a number.

Each command renders through the CLI (Typer's CliRunner, ``COLUMNS``) at 80 and at 200 columns (and with
``--wide``). At 80 no line may be longer than 80 characters, and every figure — an integer, a percentage, a
ratio, a shape, an SI figure — that the wide output shows must appear whole at 80, unless the 80-column output
names its column in the "left out to fit" line. A cut number shows up as a figure at 80 that the wide output never
has (``15,470,264`` of ``15,470,264,320``), so that is checked too.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from cnncost import cli
from cnncost.bench.results import BenchResult, LayerTiming
from cnncost.render import numbers as num
from cnncost.render.table import Column, layout

# ------------------------------------------------------------------------------------------------ helpers

#: A figure as the renderers write it: 15,470,264,320 · 0.6% · +<0.01% · 1.00× · 224×224×64 · 118.01 M · 0.0452
FIGURE = re.compile(
    r"(?<![\w.,·×])[+-]?<?\d+(?:,\d{3})*(?:\.\d+)?(?:×\d+)*(?: [kMGTPE](?!\w))?[%×]?(?!\d)(?!,\d)(?!\.\d)"
)


def figures(text: str) -> Counter[str]:
    return Counter(FIGURE.findall(text))


def cli_run(*args: str, width: int) -> str:
    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": str(width), "NO_COLOR": "1", "CNNCOST_DEBUG": None}) as (out, err, _):
        code = cli.main(list(args))
        sys.stdout.flush()
        text = out.getvalue().decode("utf-8")
        assert code in (0, 1), err.getvalue().decode("utf-8")
    return text


def dropped_names(text: str) -> list[str]:
    """The columns a narrow output says it left out (the line may wrap)."""
    start = text.find("left out to fit")
    if start < 0:
        return []
    said = " ".join(text[start:].split("—", 1)[0].split())
    return re.findall(r"'([^']+)'", said)


def column_figures(text: str, headers: set[str]) -> Counter[str]:
    """The figures in the columns called ``headers`` of every table in ``text``: a table is a header line, a rule
    and the lines up to the next blank line; a column is a run of positions not blank on every line of it."""
    lines = text.split("\n")
    found: Counter[str] = Counter()
    for k in range(1, len(lines)):
        if not lines[k].startswith("──") or not lines[k - 1].strip():
            continue
        end = k + 1
        while end < len(lines) and lines[end].strip():
            end += 1
        block = [lines[k - 1], *(line for line in lines[k + 1 : end] if not line.startswith("──"))]
        width = max(len(line) for line in block)
        padded = [line.ljust(width) for line in block]
        filled = [any(line[i] != " " for line in padded) for i in range(width)]
        spans, i = [], 0
        while i < width:
            if filled[i]:
                j = i
                # a column ends where two blank positions follow (single spaces are inside a cell)
                while j < width and (filled[j] or (j + 1 < width and filled[j + 1])):
                    j += 1
                spans.append((i, j))
                i = j
            else:
                i += 1
        for a, b in spans:
            if padded[0][a:b].strip() in headers:
                for line in padded[1:]:
                    found += figures(line[a:b])
    return found


def check_fits(args: tuple[str, ...], *, narrow: int = 80) -> tuple[str, str]:
    """The outputs at ``narrow`` and at 200 columns, after checking the two promises."""
    small = cli_run(*args, width=narrow)
    large = cli_run(*args, width=200)
    wide = cli_run(*args, "--wide", width=narrow)
    too_long = [line for line in small.splitlines() if len(line) > narrow]
    assert not too_long, f"{args} at {narrow} columns:\n" + "\n".join(too_long)
    assert all(len(line) <= 200 for line in large.splitlines()) or "--wide" in args
    dropped = set(dropped_names(small))
    if "formula" in large and "formula" not in small:  # the formula column comes and goes with the width
        dropped |= {"formula", "formula (per image)"}
    for reference in (large, wide):
        missing = figures(reference) - figures(small) - column_figures(reference, dropped)
        assert not missing, f"{args}: figures cut or lost at {narrow} columns: {sorted(missing)[:20]}"
    # A cut figure leaves a fragment: a figure at 80 that the full-width output never shows. Only small whole
    # numbers may be new (the width in the 'left out' line, source numbers).
    new = set(figures(small)) - set(figures(wide))
    assert all(re.fullmatch(r"\d{1,2}", f) for f in new), f"{args}: fragments at {narrow} columns: {sorted(new)}"
    return small, large


# ---------------------------------------------------------------------------------------------- commands

COMMANDS = [
    ("list",),
    ("ops",),
    ("table", "lenet5"),
    ("table", "vgg16"),
    ("table", "resnet50"),
    ("table", "googlenet"),
    ("table", "resnet50", "--depth", "1"),
    ("table", "resnet50", "--depth", "0", "--batch", "8", "--size", "160"),
    ("compare", "conv5x5", "conv5x5-bottleneck"),
    ("compare", "inception-naive", "inception-bottleneck"),
    ("compare", "resnet18", "resnet34", "resnet50", "vgg16"),
    ("check", "conv5x5-bottleneck", "alexnet", "googlenet"),
    ("check", "vgg16", "resnet50"),
    ("explain", "resnet50"),
    ("explain", "googlenet", "--depth", "0"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_fits_80_columns_without_cutting_a_figure(args: tuple[str, ...]) -> None:
    check_fits(args)


@pytest.mark.parametrize("args", [("table", "googlenet"), ("check", "googlenet"), ("explain", "resnet50")])
def test_a_very_narrow_terminal_still_cuts_no_figure(args: tuple[str, ...]) -> None:
    small = cli_run(*args, width=50)
    wide = cli_run(*args, "--wide", width=50)
    new = set(figures(small)) - set(figures(wide))
    assert all(re.fullmatch(r"\d{1,2}", f) for f in new), sorted(new)


@pytest.mark.parametrize(
    ("name", "dropped"),
    # ResNet-50's torchvision paths (layer1.0.downsample.0) leave room for the op; DenseNet's
    # (features.denseblock1.denselayer1.conv1) do not
    [("resnet50", ["% MACs"]), ("densenet121", ["% MACs", "op"])],
)
def test_the_table_keeps_every_layers_params_and_macs_at_80_columns(name: str, dropped: list[str]) -> None:
    small = cli_run("table", name, width=80)
    data = json.loads(cli_run("table", name, "--format", "json", width=80))
    have = figures(small)
    for layer in data["layers"]:
        assert have[num.integer(layer["params"])] and have[num.integer(layer["macs"])], layer["name"]
    assert dropped_names(small) == dropped  # in that order; the formula goes quietly


def test_check_keeps_every_documented_and_computed_figure_and_numbers_the_sources() -> None:
    small = cli_run("check", "vgg16", "resnet50", "googlenet", width=80)
    data = json.loads(cli_run("check", "vgg16", "resnet50", "googlenet", "--format", "json", width=80))
    for r in data["results"]:
        for value in (r["documented"], r["computed"]):
            text = num.shape(value) if isinstance(value, list) else num.integer(int(value))
            assert text in small, (r["label"], text)
    assert "+<0.01%" in small and "e-05" not in small  # a deviation is a percentage like every other
    assert dropped_names(small) == ["source", "tolerance"]


def test_check_at_100_columns_lists_the_sources_under_the_table() -> None:
    text = cli_run("check", "vgg16", width=100)
    assert "sources:" in text and "torchvision VGG16_Weights docs: 15.47 GFLOPS (meaning GMACs)" in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_explain_moves_the_reasons_below_the_tools_table() -> None:
    small = cli_run("explain", "resnet50", width=80)
    assert "fvcore: + batchnorm (2 per element, 5 in training)" in " ".join(small.split())
    wide = cli_run("explain", "resnet50", width=200)
    assert "why it differs" in wide and "why it differs" not in small


def test_explain_json_keeps_shapes_on_one_line() -> None:
    text = cli_run("explain", "resnet50", "--format", "json", width=80)
    assert '"input": [224, 224, 3]' in text


def test_wide_renders_at_full_width_whatever_the_terminal() -> None:
    text = cli_run("table", "vgg16", "--wide", width=80)
    assert "formula" in text and "left out" not in text
    assert any(len(line) > 80 for line in text.splitlines())


def test_200_columns_show_everything() -> None:
    for args in COMMANDS:
        assert "left out to fit" not in cli_run(*args, width=200), args


# -------------------------------------------------------------------------------------------------- bench


def bench_result(**changes: Any) -> BenchResult:
    base = BenchResult(
        name="resnet50", device="cuda:0", device_name="NVIDIA H100 80GB HBM3", batch=256, requested_batch=256,
        precision="bf16", layout="channels_last", compile="default", cuda_graphs=True, threads=16,
        torch_version="2.13.0", input_shape=(224, 224, 3), macs_per_image=4_089_184_256, first_call_ms=41_000.0,
        median_ms=12.0, iqr_ms=0.1, min_ms=11.9, repeats=10, calls_per_repeat=17, warmup_calls=80,
        images_per_s=256 / 0.012, gmacs_per_s=4_089_184_256 * 256 / 0.012 / 1e9,
        tflops=2 * 4_089_184_256 * 256 / 0.012 / 1e12, peak_tflops=989.0,
        peak_source="NVIDIA H100 SXM (NVIDIA H100 Tensor Core GPU datasheet)",
        peak_fraction=2 * 4_089_184_256 * 256 / 0.012 / 1e12 / 989.0, noisy=False, above_peak=False,
    )
    return replace(base, **changes)


LAYERS = tuple(
    LayerTiming(path, op, shape, t, t / 3.1, flops, 10**6, flops / t / 1e9, 412.5, "compute", 0.61)
    for path, op, shape, t, flops in [
        ("conv1", "conv", (112, 112, 64), 0.4123, 236_027_904 * 256),
        ("layer1.0.shortcut.conv", "conv", (56, 56, 256), 0.2051, 102_760_448 * 256),
        ("layer4.2.downsample.0.bn", "batchnorm", (7, 7, 2048), 0.0452, 100_352 * 256),
        ("fc", "linear", (1000,), 0.0101, 4_096_000 * 256),
    ]
)

BENCH_RUNS = {
    "plain": [
        bench_result(),
        bench_result(batch=1, iqr_ms=3.0, noisy=True),
        bench_result(batch=512, tflops=2000.0, peak_fraction=2000 / 989, above_peak=True),
    ],
    "per-layer": [bench_result(layers=LAYERS, launch_floor_us=4.2, layer_coverage=0.97)],
}


@pytest.mark.parametrize("kind", list(BENCH_RUNS))
def test_bench_tables_fit_80_columns(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncost import api

    results = BENCH_RUNS[kind]
    monkeypatch.setattr(api, "bench", lambda *a, **k: SimpleNamespace(results=results, interrupted=False))
    small, large = check_fits(("bench", "resnet50", "--device", "cpu"))
    assert "ERROR: above peak" in large or kind == "per-layer"
    if kind == "per-layer":
        lines = small.splitlines()
        top = next(i for i, line in enumerate(lines) if line.startswith("layer "))
        op = lines[top].index(" op ")
        names: list[str] = []
        for line in lines[top + 2 :]:
            if not line.strip():
                break
            cell = line[:op].strip()
            if names and names[-1].endswith("."):  # the layer names stay, wrapped after a dot where they must
                names[-1] += cell
            else:
                names.append(cell)
        assert names == [layer.path for layer in LAYERS]
    assert "…" not in small


def test_bench_help_offers_wide() -> None:
    assert "--wide" in cli_run("bench", "--help", width=80)


# --------------------------------------------------------------------------------------------------- grid


def test_grid_drops_columns_lowest_rank_first_and_says_which() -> None:
    columns = [
        Column("name"),
        Column("a", "right", drop=2),
        Column("b", "right", drop=0),
        Column("c", "right", drop=1),
        Column("d", "right"),
    ]
    rows = [["x" * 10, "1" * 10, "2" * 10, "3" * 10, "4" * 10]]
    assert layout(columns, rows, width=200).dropped == []
    assert layout(columns, rows, width=62).dropped == []  # 5 × 10 + 4 × 3
    assert layout(columns, rows, width=61).dropped == ["b"]
    assert layout(columns, rows, width=48).dropped == ["b", "c"]
    narrow = layout(columns, rows, width=30)
    assert narrow.dropped == ["b", "c", "a"]
    assert narrow.lines[-1].split() == ["x" * 10, "4" * 10]  # nothing droppable left: never cut, only wider
    tight = layout(columns, rows, width=20)
    assert tight.lines[-1] == "x" * 10 + "  " + "4" * 10  # the gap closes to 2 as a last resort


def test_grid_wraps_a_flexible_column_at_words_and_paths_after_dots() -> None:
    columns = [Column("sum", flexible=True, min_width=5, whole_words=True), Column("path", flexible=True, min_width=9)]
    rows = [["2,408,448 + 10,035,200 = 12,443,648", "layer1.0.shortcut.conv"]]
    lines = layout(columns, rows, width=25, rules=False).lines
    cells = " ".join(lines).split()
    assert "10,035,200" in cells and "12,443,648" in cells
    assert any(line.rstrip().endswith("layer1.0.") for line in lines)


def test_grid_styles_cells_after_the_layout() -> None:
    columns = [Column("status", style=lambda s: "red" if s == "FAIL" else None), Column("n", "right")]
    plain = layout(columns, [["FAIL", "1"], ["pass", "22"]], width=40).lines
    coloured = layout(columns, [["FAIL", "1"], ["pass", "22"]], width=40, color=True).lines
    assert [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in coloured] == plain
    assert "\x1b[1;31mFAIL\x1b[0m" in coloured[2]


# ------------------------------------------------------------------------------------------------ numbers


def test_signed_percent() -> None:
    assert num.signed_percent(0.0) == "0"
    assert num.signed_percent(0.002587) == "+0.26%"  # 138,357,544 / 138,000,000 − 1
    assert num.signed_percent(-7_776 / 10_000 + 1 - 1) == "-77.76%"
    assert num.signed_percent(-0.2224) == "-22.24%"
    assert num.signed_percent(1.71e-05) == "+<0.01%"  # 15,470,264,320 / 15,470,000,000 − 1
    assert num.signed_percent(-2.18e-05) == "-<0.01%"
    assert num.signed_percent(2.4710) == "+247.10%"
    assert num.signed_percent(12.5) == "+1,250.00%"
    assert num.signed_percent(float("inf")) == "∞" and num.signed_percent(float("-inf")) == "-∞"
    assert num.signed_percent(None) == "—"
    assert num.signed_percent(0.0004, digits=1) == "+<0.1%"


def test_durations_rates_and_shares() -> None:
    assert [num.duration(x) for x in (0.04522, 1.2345, 15.333, 1234.56)] == ["0.0452", "1.234", "15.33", "1,234.6"]
    assert [num.rate(x) for x in (65.49, 21_333.3, 1_250_000.0)] == ["65.5", "21.33 k", "1.25 M"]
    assert [num.sig3(x) for x in (0.005067, 3.27, 52.31, 650.4, 1234.4, None)] == [
        "0.00507", "3.27", "52.3", "650", "1,234", "—",
    ]
    assert [num.share(0.1764), num.share(0.5, digits=0), num.share(None)] == ["17.6%", "50%", "—"]
    assert [num.share(2.022, above=True), num.share(5e6, above=True)] == ["202%!", ">9999%!"]
    assert [num.decimal(87_235.94), num.decimal(None), num.decimal(2.25, digits=2)] == ["87,235.9", "—", "2.25"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "vgg16 — VGG-16 (configuration D)",
        "two  spaces inside",
        " a leading space",
        "a trailing space ",
        "a\ttab",
        "a\nnew line",
        "19.4 M and 4.09 G",
        "x" * 40,
        "a\u00a0no-break space",
    ],
)
@pytest.mark.parametrize("width", [12, 40, 80])
def test_folding_a_short_line_skips_textwrap_and_gives_what_it_gives(text: str, width: int) -> None:
    import textwrap

    from cnncost.render.table import _fold

    glued = text.replace("4 M", "4\u00a0M").replace("9 G", "9\u00a0G")
    wrapped = textwrap.wrap(glued, width, break_on_hyphens=False) or [""]
    expected = [line.replace("\u00a0", " ") for line in wrapped] if glued != text else wrapped
    assert _fold(text, width) == expected
