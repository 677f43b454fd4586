"""``cnncost plot``: each kind renders to PNG, SVG and PDF (Agg, no window); what the figures draw is read back from
their Axes and held to the analysis; labels of the compare plot never overlap; bad requests are one line."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from clirun import cli_runner

import cnncost
from cnncost.errors import MissingDependencyError, UsageError
from cnncost.render import numbers as num
from cnncost.render import plot as plots

matplotlib = pytest.importorskip("matplotlib")

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<?xml", "pdf": b"%PDF-"}


run = cli_runner(width=100)


def subject(name: str, **variables: Any) -> plots.Subject:
    label = " ".join([name, *(f"{k}={v}" for k, v in variables.items())])
    return plots.Subject(label, name, cnncost.analyze(name, variables=variables))


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


# ------------------------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize(
    ("kind", "names"),
    [("shapes", ["lenet5"]), ("costs", ["lenet5", "conv5x5-bottleneck"]), ("compare", ["resnet18", "resnet34"])],
)
def test_each_kind_renders_to_each_format(kind: str, names: list[str], fmt: str, tmp_path: Path) -> None:
    target = tmp_path / f"picture.{fmt}"
    code, out, err = run("plot", *names, "--kind", kind, "-o", str(target))
    assert code == 0, err
    assert out == ""  # stdout stays clean; the note goes to stderr
    assert f"wrote {target}" in err
    data = target.read_bytes()
    assert data.startswith(MAGIC[fmt])
    subjects = [subject(n) for n in names]
    assert plots.fingerprint_of(target) == plots.fingerprint(plots.KINDS[kind].data(subjects, None))
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary file left


def test_the_same_data_gives_the_same_bytes() -> None:
    data = plots.costs_data([subject("lenet5")])
    for fmt in ("png", "svg", "pdf"):
        assert plots.render(data, fmt) == plots.render(data, fmt)


def test_the_fingerprint_follows_the_figures() -> None:
    a = plots.compare_data([subject("mobilenet-v1", width=0.5)])
    b = plots.compare_data([subject("mobilenet-v1", width=0.75)])
    assert plots.fingerprint(a) != plots.fingerprint(b)
    assert plots.fingerprint(a) == plots.fingerprint(plots.compare_data([subject("mobilenet-v1", width=0.5)]))


# ---------------------------------------------------------------------------- the plotted data = the report


def lines_by_label(fig: Any) -> dict[str, list[float]]:
    return {line.get_label(): list(line.get_ydata()) for ax in fig.axes for line in ax.get_lines()}


def test_shapes_draw_lenet5_as_the_course_does() -> None:
    fig = plots.figure(plots.shapes_data([subject("lenet5")]))
    drawn = lines_by_label(fig)
    # input 32×32×1, c1 28×28×6, p1 14×14×6, c2 10×10×16, p2 5×5×16, flatten 400, fc1 120, fc2 84, output 10
    nan = math.nan
    assert [v if not math.isnan(v) else nan for v in drawn["height × width"]][:5] == [32, 28, 14, 10, 5]
    assert all(math.isnan(v) for v in drawn["height × width"][5:])
    assert drawn["channels (after flatten: the vector's length)"] == [1, 6, 6, 16, 16, 400, 120, 84, 10]
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["input", "c1", "p1", "c2", "p2", "flatten1", "fc1", "fc2", "output"]


def test_shapes_follow_the_report_row_by_row() -> None:
    report = cnncost.analyze("vgg16")
    data = plots.shapes_data([plots.Subject("vgg16", "vgg16", report)])
    fig = plots.figure(data)
    drawn = lines_by_label(fig)
    rows = [r for r in report.layers() if r.params or r.macs or r.output_shape != r.input_shape]
    assert drawn["channels (after flatten: the vector's length)"] == [3] + [r.output_shape[-1] for r in rows]
    heights = drawn["height × width"]
    assert heights[0] == 224
    maps = [r.output_shape[0] for r in rows if len(r.output_shape) == 3]
    assert [h for h in heights[1:] if not math.isnan(h)] == maps
    spatial = [h for h in heights if not math.isnan(h)]
    assert spatial == sorted(spatial, reverse=True) and spatial[-1] == 7  # H×W falls: 224 … 7
    assert max(c for c in drawn["channels (after flatten: the vector's length)"][:-4]) == 512  # C rises to 512


def bars(ax: Any) -> list[tuple[str, float]]:
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return list(zip(labels, [p.get_width() for p in ax.patches], strict=True))


def test_costs_show_vgg16s_fc6_holding_the_params_and_its_convs_the_macs() -> None:
    report = cnncost.analyze("vgg16")
    fig = plots.figure(plots.costs_data([plots.Subject("vgg16", "vgg16", report)]))
    macs_ax, params_ax = fig.axes[:2]
    rows = [r for r in report.layers() if r.params or r.macs]
    assert bars(macs_ax) == [(r.path, r.macs) for r in rows]
    widths = [p.get_width() for p in params_ax.patches]
    assert widths == [r.params for r in rows]
    params = dict(zip([name for name, _ in bars(macs_ax)], widths, strict=True))
    # fc6 (torchvision's classifier.0): 7·7·512 × 4096 weights + 4096 biases = 102,764,544, 74.3% of 138,357,544
    assert params["classifier.0"] == 25088 * 4096 + 4096 == 102_764_544
    assert max(params, key=lambda k: params[k]) == "classifier.0"
    conv_macs = sum(p.get_width() for p in macs_ax.patches if matplotlib.colors.to_hex(p.get_facecolor()) == "#1f77b4")
    assert conv_macs / report.totals.macs > 0.99  # the convolutions hold 99.2% of the MACs
    texts = [t.get_text() for t in params_ax.texts]
    assert f"{num.tick(102_764_544)} (74.3%)" in texts


def test_costs_at_a_depth_fold_blocks_into_rows_that_sum_to_the_totals() -> None:
    report = cnncost.analyze("resnet50")
    data = plots.costs_data([plots.Subject("resnet50", "resnet50", report)], depth=1)
    fig = plots.figure(data)
    drawn = bars(fig.axes[0])
    assert [name for name, _ in drawn][:3] == ["conv1", "bn1", "layer1.0"] or [n for n, _ in drawn][:3] == [
        "conv1",
        "layer1.0",
        "layer1.1",
    ]
    assert sum(w for _, w in drawn) == report.totals.macs
    assert sum(p.get_width() for p in fig.axes[1].patches) == report.totals.params


def test_costs_fold_to_fit_by_default() -> None:
    data = plots.costs_data([subject("resnet152")])
    network = data["networks"][0]
    assert network["depth"] is not None and len(network["rows"]) <= plots.MAX_ROWS


def test_compare_draws_each_network_at_its_totals() -> None:
    names = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    subjects = [subject(n) for n in names]
    fig = plots.figure(plots.compare_data(subjects))
    ax = fig.axes[0]
    offsets = [tuple(xy) for xy in ax.collections[0].get_offsets()]
    assert offsets == [(s.report.totals.macs, s.report.totals.params) for s in subjects]
    assert offsets[0] == (1_814_073_344, 11_689_512)  # ResNet-18, as torchvision publishes it
    assert sorted(t.get_text() for t in ax.texts if t.get_gid() == "point-label") == sorted(names)
    assert ax.get_xscale() == "linear"  # 1.8 G … 11.5 G: within LOG_SPAN


def test_compare_joins_the_points_of_one_network_under_several_values() -> None:
    subjects = [subject("mobilenet-v1", width=w) for w in (0.25, 0.5, 0.75, 1.0)]
    fig = plots.figure(plots.compare_data(subjects))
    ax = fig.axes[0]
    (curve,) = [line for line in ax.get_lines() if line.get_label() == "_curve mobilenet-v1"]
    assert list(curve.get_xdata()) == sorted(s.report.totals.macs for s in subjects)
    assert ax.get_xscale() == "log"  # 41 M … 569 M MACs: more than LOG_SPAN


# ----------------------------------------------------------------------------------- labels never overlap


def label_boxes(fig: Any) -> tuple[list[Any], Any]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_gid() == "point-label"]
    # the text's own box (an Annotation's get_window_extent also spans its leader line)
    own = matplotlib.text.Text.get_window_extent
    return [own(t, renderer) for t in texts], ax.get_window_extent(renderer)


def assert_disjoint(boxes: list[Any], area: Any) -> None:
    for i, a in enumerate(boxes):
        assert area.x0 <= a.x0 and a.x1 <= area.x1 and area.y0 <= a.y0 and a.y1 <= area.y1, "a label leaves the axes"
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), f"labels overlap: {a} and {b}"


def test_the_whole_library_is_labelled_without_overlap() -> None:
    summaries = cnncost.api.library_summaries()
    subjects = [plots.Subject(s.name, s.name, s) for s in summaries]
    data = plots.compare_data(subjects)
    assert data["scales"] == {"macs": "log", "params": "log"}
    fig = plots.figure(data)
    boxes, area = label_boxes(fig)
    assert_disjoint(boxes, area)
    labelled = {name.strip() for t in fig.axes[0].texts if t.get_gid() == "point-label"
                for name in t.get_text().replace("\n", " ").split(",")}  # fmt: skip
    assert labelled == {s.name for s in summaries}  # every network is named, none left out
    assert "left out" not in fig.axes[0].get_title()


def test_crowded_points_still_get_disjoint_labels_or_are_said_to_be_left_out() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    xs = [1 + 0.02 * i for i in range(60)]
    ys = [1 + 0.015 * (i % 7) for i in range(60)]
    ax.scatter(xs, ys)
    ax.set_xlim(0, 3)
    ax.set_ylim(0, 2)
    fig.canvas.draw()
    dropped = plots.place_labels(fig, ax, xs, ys, [f"network-{i}" for i in range(60)])
    boxes, area = label_boxes(fig)
    assert_disjoint(boxes, area)
    assert len(boxes) + len(dropped) <= 60 and dropped  # too many for a small figure: some are said to be left out


# --------------------------------------------------------------------------------------------- requests


def test_set_grid_splits_values_at_top_level_commas_only() -> None:
    assert plots.set_grid(["width=0.25,0.5", "depths=[2, 2],[3, 3]"]) == [
        ("width=0.25 depths=[2, 2]", {"width": 0.25, "depths": [2, 2]}),
        ("width=0.25 depths=[3, 3]", {"width": 0.25, "depths": [3, 3]}),
        ("width=0.5 depths=[2, 2]", {"width": 0.5, "depths": [2, 2]}),
        ("width=0.5 depths=[3, 3]", {"width": 0.5, "depths": [3, 3]}),
    ]
    assert plots.set_grid(None) == [("", {})]
    assert plots.set_grid(["name='a,b'"]) == [("name='a,b'", {"name": "a,b"})]


def test_set_grid_reads_values_with_the_sweeps_own_parser() -> None:
    from cnncost.analysis.sweep import parse_sets

    items = ["width=0.25,0.5", "bn=true,false", "depths=[2, 2],[3, 3]"]
    parsed = parse_sets(items)
    grid = plots.set_grid(items)
    assert [variables for _, variables in grid] == [
        {"width": w, "bn": b, "depths": d} for w in parsed["width"] for b in parsed["bn"] for d in parsed["depths"]
    ]
    with pytest.raises(UsageError, match="an empty value between commas"):
        plots.set_grid(["width=0.5,"])  # the sweep's message, word for word


def test_numbers_tick() -> None:
    assert [num.tick(v) for v in (0, 64, 0.5, 2_500_000, 1e8, 15_470_264_320, 4_097_000)] == [
        "0", "64", "0.5", "2.5 M", "100 M", "15.47 G", "4.1 M",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "says", "code"),
    [
        (["lenet5", "--kind", "nosuch", "-o", "x.png"], "'nosuch' is not one of", 2),
        (["lenet5", "--kind", "sweep", "-o", "x.png"], "gives one point", 2),
        (["mobilenet-v1", "--kind", "sweep", "--set", "width=0.5", "-o", "x.png"], "--set KEY=V1,V2", 2),
        (["lenet5", "--kind", "sweep", "--size", "32,abc", "-o", "x.png"], "'abc' is not a size", 2),
        (["--all", "--kind", "sweep", "--size", "32,64", "-o", "x.png"], "--all is for --kind compare", 2),
        (["lenet5", "--kind", "sweep", "--size", "32,64", "--depth", "1", "-o", "x.png"], "--depth folds", 2),
        (["lenet5", "--kind", "costs", "--size", "32,64", "-o", "x.png"], "draws one input size", 2),
        (["lenet5", "--kind", "costs", "--train", "-o", "x.png"], "--train is for --kind memory", 2),
        (["lenet5", "--kind", "costs", "--dtype", "bf16", "-o", "x.png"], "--dtype is for --kind memory", 2),
        (["lenet5", "--kind", "shapes", "--optimizer", "sgd", "-o", "x.png"], "--optimizer is for --kind memory", 2),
        (["lenet5", "--kind", "memory", "--optimizer", "sgd", "-o", "x.png"], "add --train", 2),
        (["lenet5", "--kind", "memory", "--train", "--optimizer", "lion", "-o", "x.png"], "lion", 2),
        (["lenet5", "--kind", "memory", "--dtype", "fp8", "-o", "x.png"], "fp8", 2),
        (["torchvision:resnet18", "--kind", "memory", "-o", "x.png"], "models a spec's layers", 2),
        (["pkg.models:make_net", "--kind", "sweep", "--size", "32,64", "-o", "x.png"], "models a spec's layers", 2),
        (["vgg*", "resnet*", "--kind", "memory", "-o", "x.png"], "at most 8", 2),
        (["lenet5", "--kind", "memory", "--set", "width=0.5", "-o", "x.png"], "width", 2),
        (["lenet5", "--kind", "memory", "--size", "3", "-o", "x.png"], "3×3", 1),
        (["lenet5", "-o", "x.jpg"], "the format comes from the extension", 2),
        (["lenet5", "-o", "no/such/dir/x.png"], "does not exist", 2),
        (["lenet5", "-o", "x.png/"], "names a directory", 2),
        (["-o", "x.png"], "plot needs a network", 2),
        (["lenet5", "--all", "-o", "x.png", "--kind", "compare"], "not both", 2),
        (["vgg*", "resnet*", "--kind", "costs", "-o", "x.png"], "at most 8", 2),
        (["nosuch*", "--kind", "compare", "-o", "x.png"], "no bundled network matches", 1),
        (["lenet5", "--set", "width=0.5", "-o", "x.png"], "width", 2),
    ],
)
def test_bad_requests_are_one_line(args: list[str], says: str, code: int, tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        got, out, err = run("plot", *args)
    finally:
        os.chdir(cwd)
    assert (got, out) == (code, "")
    assert says in one_line_error(err)
    assert list(tmp_path.iterdir()) == []


def test_without_matplotlib_plot_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    code, out, err = run("plot", "lenet5", "-o", str(tmp_path / "x.png"))
    assert (code, out) == (1, "")
    line = one_line_error(err)
    assert "needs matplotlib" in line and "pip install matplotlib" in line and "'.[plot]'" in line


def test_a_failure_while_drawing_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"old")

    def broken(data: Any, fmt: str) -> bytes:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(plots, "render", broken)
    code, _, err = run("plot", "lenet5", "-o", str(target))
    assert code == 1 and "drawing failed" in err
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


def test_a_pattern_and_all_draw_the_library_from_its_totals(tmp_path: Path) -> None:
    target = tmp_path / "resnets.svg"
    code, _, err = run("plot", "resnet*", "--kind", "compare", "-o", str(target))
    assert code == 0, err
    assert "compare of" in err
    names = [s.name for s in cnncost.api.library_summaries("resnet*")]
    assert f"compare of {len(names)} network(s)" in err


# ------------------------------------------------------------------------------------------------ sweep


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize(
    ("args", "spec", "sets", "sizes"),
    [
        (["mobilenet-v1", "--set", "width=0.25,0.5,1.0", "--size", "128,224"], "mobilenet-v1",
         {"width": [0.25, 0.5, 1.0]}, [128, 224]),
        (["resnet.yaml"], "resnet.yaml", {}, []),
    ],
)  # fmt: skip
def test_sweep_renders_and_carries_the_sweeps_fingerprint(
    args: list[str], spec: str, sets: dict[str, list[Any]], sizes: list[int], fmt: str, tmp_path: Path
) -> None:
    target = tmp_path / f"sweep.{fmt}"
    code, out, err = run("plot", *args, "--kind", "sweep", "-o", str(target))
    assert code == 0, err
    assert out == "" and f"wrote {target}: sweep of" in err
    assert target.read_bytes().startswith(MAGIC[fmt])
    data = plots.sweep_data([cnncost.api.sweep(spec, sets=sets, sizes=sizes)])
    assert plots.fingerprint_of(target) == plots.fingerprint(data)


def plotted(fig: Any) -> dict[tuple[int, str], tuple[list[float], list[float]]]:
    """(panel, label) → the x and y a line draws."""
    return {
        (i, line.get_label()): (list(line.get_xdata()), list(line.get_ydata()))
        for i, ax in enumerate(fig.axes)
        for line in ax.get_lines()
    }


def test_sweep_draws_the_sweeps_numbers_along_the_first_variable_one_line_per_size() -> None:
    widths, sizes = [0.25, 0.5, 0.75, 1.0], [128, 160, 192, 224]
    result = cnncost.api.sweep("mobilenet-v1", sets={"width": widths}, sizes=sizes)
    data = plots.sweep_data([result])
    assert data["x_axis"] == "width" and data["legend_title"] == "input size (H×W)"
    fig = plots.figure(data)
    drawn = plotted(fig)
    assert len(drawn) == 2 * len(sizes)  # two panels (MACs, params), one line per size
    for size in sizes:
        rows = [r for r in result.rows if r.values["size"] == (size, size)]
        label = f"{size}×{size}"
        assert drawn[(0, label)] == ([r.values["width"] for r in rows], [float(r.macs) for r in rows])
        assert drawn[(1, label)] == ([r.values["width"] for r in rows], [float(r.params) for r in rows])
    assert sorted(v for line in data["lines"] for v in line["y"]["macs"]) == sorted(r.macs for r in result.rows)
    assert [(p["macs"], p["params"]) for p in data["points"]] == [(r.macs, r.params) for r in result.rows]
    macs_ax, params_ax = fig.axes[:2]
    assert macs_ax.get_yscale() == "log"  # 14 M … 569 M: more than LOG_SPAN
    assert params_ax.get_yscale() == "linear"  # 0.47 M … 4.2 M: within it
    assert "the same for every input size" in params_ax.get_title()  # params do not change with the input size
    fig.canvas.draw()
    assert all(t.get_text() == num.tick(t.get_position()[1]) for t in macs_ax.get_yticklabels() if t.get_text())


def test_sweep_of_sizes_only_has_the_size_on_x_and_one_line_per_network() -> None:
    sweeps = [cnncost.api.sweep(n, sizes=[96, 128, 224]) for n in ("resnet18", "mobilenet-v2")]
    data = plots.sweep_data(sweeps)
    assert data["x_axis"] == "size" and not data["categorical"]
    drawn = plotted(plots.figure(data))
    for sweep in sweeps:
        name = sweep.networks[0]
        assert drawn[(0, name)] == ([96.0, 128.0, 224.0], [float(r.macs) for r in sweep.rows])


def test_a_family_file_draws_its_variants_as_categories() -> None:
    result = cnncost.api.sweep("resnet.yaml")
    data = plots.sweep_data([result])
    assert data["x_axis"] == "network" and data["categorical"] and not data["join"]
    fig = plots.figure(data)
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_ydata()) == [r.macs for r in result.rows]
    assert line.get_linestyle() == "None"  # variants have no order: points, not a line
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [r.network for r in result.rows]


def test_a_non_square_size_is_a_category() -> None:
    data = plots.sweep_data([cnncost.api.sweep("lenet5", sizes=[32, (40, 32)])])
    assert data["categorical"] and [t[1] for t in data["x_ticks"]] == ["32×32", "40×32"]


# ----------------------------------------------------------------------------------------------- memory


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_memory_renders_and_carries_the_reports_fingerprint(fmt: str, tmp_path: Path) -> None:
    target = tmp_path / f"memory.{fmt}"
    code, out, err = run("plot", "lenet5", "resnet18", "--kind", "memory", "--batch", "2", "-o", str(target))
    assert code == 0, err
    assert out == "" and f"wrote {target}: memory of 2 network(s)" in err
    assert target.read_bytes().startswith(MAGIC[fmt])
    reports = [(n, cnncost.api.memory(n, batch=2)) for n in ("lenet5", "resnet18")]
    assert plots.fingerprint_of(target) == plots.fingerprint(plots.memory_data(reports))


def test_memory_bars_are_the_layers_outputs_and_the_peak_is_the_inference_peak() -> None:
    report = cnncost.api.memory("resnet50", batch=2)
    fig = plots.figure(plots.memory_data([("resnet50", report)]))
    ax = fig.axes[0]
    bars = [p.get_height() for p in ax.patches]
    assert bars == [r.activation for r in report.layers]
    (live,) = [line for line in ax.get_lines() if line.get_gid() == "live"]
    assert list(live.get_ydata()) == [r.live for r in report.layers]
    (peak,) = [line for line in ax.get_lines() if line.get_gid() == "peak"]
    assert list(peak.get_ydata()) == [report.inference_peak]
    at = int(peak.get_xdata()[0])
    assert report.layers[at].live == report.inference_peak == max(r.live for r in report.layers)
    assert num.size(report.inference_peak) in ax.get_title("left")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(text == "0" or text.endswith(("B", "KiB", "MiB", "GiB")) for text in labels if text)


@pytest.mark.parametrize("name", ["vgg16", "mobilenet-v2", "googlenet", "densenet121", "unet", "lenet5"])
def test_the_live_bytes_reach_the_inference_peak(name: str) -> None:
    report = cnncost.api.memory(name)
    assert max(r.live for r in report.layers) == report.inference_peak
    assert all(r.live >= r.activation for r in report.layers)


def test_memory_with_train_draws_what_is_kept_for_backward() -> None:
    report = cnncost.api.memory("vgg16")
    data = plots.memory_data([("vgg16", report)], train=True)
    fig = plots.figure(data)
    ax = fig.axes[0]
    n = len(report.layers)
    heights = [p.get_height() for p in ax.patches]
    assert heights[:n] == [r.activation for r in report.layers]
    assert heights[n:] == [r.saved for r in report.layers]
    (total,) = [line for line in ax.get_lines() if line.get_gid() == "saved-total"]
    assert total.get_ydata()[-1] == report.saved  # the running total ends at the report's total
    assert num.size(report.training_peak) in ax.get_title("left")


def test_memory_takes_the_optimizer_and_dtype_the_table_takes(tmp_path: Path) -> None:
    target = tmp_path / "memory.png"
    args = ("plot", "vgg16", "--kind", "memory", "--train", "--optimizer", "sgd", "--dtype", "bf16", "-o", str(target))
    code, _, err = run(*args)
    assert code == 0, err
    report = cnncost.api.memory("vgg16", optimizer="sgd", dtype="bf16")
    data = plots.memory_data([("vgg16", report)], train=True)
    assert plots.fingerprint_of(target) == plots.fingerprint(data)
    assert (data["networks"][0]["optimizer"], data["networks"][0]["dtype"]) == ("sgd", "bf16")
    adam = cnncost.api.memory("vgg16")  # the defaults: adam, fp32 — a different picture
    assert adam.training_peak != report.training_peak
    title = plots.figure(data).axes[0].get_title("left")
    assert "bf16" in title and "sgd" in title and num.size(report.training_peak) in title


def test_memory_under_several_values_draws_one_panel_each(tmp_path: Path) -> None:
    data, what = plots.collect("memory", ["mobilenet-v1"], sets=["width=0.5,1.0"], sizes=[(128, 128)])
    assert what == "2 network(s)"
    assert [n["name"] for n in data["networks"]] == ["mobilenet-v1 width=0.5", "mobilenet-v1 width=1.0"]
    expected = cnncost.api.memory("mobilenet-v1", size=128, variables={"width": 0.5})
    assert data["networks"][0]["inference_peak"] == expected.inference_peak


# ------------------------------------------------------------------------------------------------- lines


def test_lines_are_written_as_png_atomically_with_a_fingerprint(tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    panel = plots.Panel(
        "t", "x", "y", [plots.Series("a", [1, 2, 3], [1.0, 0.1, 0.0]), plots.Series("b", [1, 2], [2.0, 3.0])],
        log_y=True,
    )  # fmt: skip
    other = plots.Panel("u", "x", "y", [plots.Series("c", [0.5, 1.5], [0.2, 0.3])])
    plots.save_lines(str(out), [panel, other], title="two")
    assert out.read_bytes()[:8] == MAGIC["png"]
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary file left
    assert plots.fingerprint_of(out) == plots.fingerprint(plots.lines_data([panel, other], "two"))
    with pytest.raises(UsageError, match="does not exist"):
        plots.save_lines(str(tmp_path / "nowhere" / "p.png"), [panel])


def test_lines_draw_panels_side_by_side_with_gaps_on_a_log_axis() -> None:
    panels = [
        plots.Panel("error", "iterations", "%", [plots.Series("a", [0, 10, 20], [90.0, 50.0, 20.0], dashed=True)],
                    y_limits=(0, 100)),
        plots.Panel("norm", "layer", "‖g‖", [plots.Series("b", [1, 2, 3], [1.0, 0.0, -1.0], color=3)], log_y=True,
                    x_ticks=[1, 2, 3]),
    ]  # fmt: skip
    title = " · ".join(["a setting"] * 30)
    fig = plots.figure(plots.lines_data(panels, title))
    first, second = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["error", "norm"]
    (a,) = first.get_lines()
    assert list(a.get_ydata()) == [90.0, 50.0, 20.0] and a.get_linestyle() == "--"
    assert first.get_ylim() == (0, 100) and first.get_legend() is not None
    (b,) = second.get_lines()
    assert second.get_yscale() == "log"
    assert b.get_ydata()[0] == 1.0 and all(math.isnan(v) for v in b.get_ydata()[1:])  # not positive: a gap
    assert matplotlib.colors.to_hex(b.get_color()) == matplotlib.colors.to_hex("C3")
    assert list(second.get_xticks()) == [1, 2, 3]
    assert all(float(t).is_integer() for t in first.get_xticks())  # whole-number x: whole-number ticks
    suptitle = fig.get_suptitle()
    assert "\n" in suptitle and all(len(line) <= 128 for line in suptitle.splitlines())


def test_require_matplotlib_names_what_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"^cnncost plot needs matplotlib"):
        plots.require_matplotlib()
    with pytest.raises(MissingDependencyError, match=r"^the depth study's pictures needs matplotlib"):
        plots.save_lines("x.png", [], feature="the depth study's pictures")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0001234, "1.23e-04"),
        (1142.3, "1.14e+03"),
        (1.0, "1.00e+00"),
        (4.219e-22, "4.22e-22"),
        (-0.5, "-5.00e-01"),
        (0.0, "0"),
        (None, "—"),
        (math.inf, "∞"),
        (-math.inf, "-∞"),
        (math.nan, "nan"),
    ],
)
def test_numbers_scientific(value: float | None, text: str) -> None:
    assert num.scientific(value) == text


def test_numbers_size_tick() -> None:
    assert [num.size_unit(v) for v in (0, 999, 3 << 20, 1000 << 20)] == ["B", "B", "MiB", "GiB"]
    assert [num.size_tick(v, u) for v, u in ((0, "MiB"), (3 << 20, "MiB"), (1.5 * 2**30, "GiB"), (512, "B"))] == [
        "0", "3 MiB", "1.5 GiB", "512 B",
    ]  # fmt: skip
