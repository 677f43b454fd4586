"""``cnncost sweep``: the cartesian grid, family files as sweeps, MobileNet's Tables 6 and 7, the bound on points,
bad values, and every output format at 80 and 200 columns."""

from __future__ import annotations

import csv
import io
import json

import pytest
from clirun import cli_runner
from test_widths import check_fits, cli_run

from cnncost import api
from cnncost.analysis.sweep import MAX_POINTS, parse_sets, parse_sizes, split_values
from cnncost.errors import LimitError, UsageError

MOBILENET = ("mobilenet-v1", "--set", "width=1.0,0.75,0.5,0.25", "--size", "224,192,160,128")


run = cli_runner(width=80)


# ------------------------------------------------------------------------------------------- MobileNet


def test_mobilenet_tables_6_and_7() -> None:
    result = api.sweep("mobilenet-v1", sets={"width": [1.0, 0.75, 0.5, 0.25]}, sizes=[224, 192, 160, 128])
    assert result.axes == ("width", "size") and len(result.rows) == 16
    grid = {(r.values["width"], r.values["size"][0]): r for r in result.rows}
    # the last axis varies fastest: width 1.0 at 224, 192, 160, 128, then width 0.75 …
    assert [(r.values["width"], r.values["size"]) for r in result.rows[:5]] == [
        (1.0, (224, 224)), (1.0, (192, 192)), (1.0, (160, 160)), (1.0, (128, 128)), (0.75, (224, 224)),
    ]
    # Table 6 (ρ = 224): million mult-adds 569, 325, 149, 41; million parameters 4.2, 2.6, 1.3, 0.5
    table6 = {1.0: (569, 4.2), 0.75: (325, 2.6), 0.5: (149, 1.3), 0.25: (41, 0.5)}
    for width, (macs, params) in table6.items():
        row = grid[(width, 224)]
        assert round(row.macs / 1e6) == macs and round(row.params / 1e6, 1) == params, width
    # exactly: 1.0 → 568,740,352 and 4,231,976 (mobilenet-v1.yaml works them out); 0.25 → 41,030,272 and 470,072
    assert (grid[(1.0, 224)].macs, grid[(1.0, 224)].params) == (568_740_352, 4_231_976)
    assert (grid[(0.25, 224)].macs, grid[(0.25, 224)].params) == (41_030_272, 470_072)
    # Table 7 (α = 1): 569, 418, 290, 186 million mult-adds, 4.2 million parameters at every resolution. At 160
    # the count is 290,675,200 (290.7 M): the table rounds it down — the spec's explained deviation.
    for size, macs in {224: 569, 192: 418, 128: 186}.items():
        assert round(grid[(1.0, size)].macs / 1e6) == macs, size
    assert grid[(1.0, 160)].macs == 290_675_200 and int(grid[(1.0, 160)].macs / 1e6) == 290
    assert {round(grid[(1.0, s)].params / 1e6, 1) for s in (224, 192, 160, 128)} == {4.2}


def test_mobilenet_sweep_on_the_command_line() -> None:
    code, out, _ = run("sweep", *MOBILENET)
    assert code == 0
    lines = [line.split() for line in out.splitlines()]
    assert ["width", "size", "input", "params", "MACs"] in lines
    assert ["1", "224", "224×224×3", "4,231,976", "568,740,352"] in lines
    assert ["0.25", "128", "128×128×3", "470,072", "13,570,048"] in lines
    assert "16 points (width × size)" in out


# ---------------------------------------------------------------------------------------------- families


def test_a_family_file_is_a_sweep_of_its_variants() -> None:
    result = api.sweep("resnet.yaml")  # the bundled file, named by its file name
    names = list(result.networks)
    assert names[:5] == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert result.axes == () and len(result.rows) == len(names)
    row = {r.network: r for r in result.rows}
    assert (row["resnet50"].params, row["resnet50"].macs) == (25_557_032, 4_089_184_256)
    assert [r.network for r in api.sweep("architectures/resnet.yaml").rows] == names
    # with a size swept too: networks × sizes
    both = api.sweep("vgg.yaml", sizes=[224, 160])
    assert len(both.rows) == 2 * len(both.networks)
    assert [r.network for r in both.rows[:2]] == ["vgg11", "vgg11"]
    assert both.rows[0].macs == api.analyze("vgg11").totals.macs
    assert both.rows[1].macs == api.analyze("vgg11", size=160).totals.macs


def test_list_values_are_one_value_each() -> None:
    assert split_values("[2, 2, 2, 2],[3, 4, 6, 3]") == ["[2, 2, 2, 2]", "[3, 4, 6, 3]"]
    assert split_values("'a,b',c") == ["'a,b'", "c"]
    sets = parse_sets(["depths=[2,2,2,2],[3,4,6,3]", "shortcut=identity-or-projection"])
    assert sets == {"depths": [[2, 2, 2, 2], [3, 4, 6, 3]], "shortcut": ["identity-or-projection"]}
    result = api.sweep("resnet18", sets=sets)
    # ResNet-18's basic blocks with ResNet-34's depths is ResNet-34: 21,797,672 params
    assert [r.params for r in result.rows] == [11_689_512, 21_797_672]
    assert parse_sizes("128,224x160") == [(128, 128), (224, 160)]


# ------------------------------------------------------------------------------------------------ refusals


def test_too_many_points_are_refused_before_any_is_analyzed() -> None:
    widths = [str(w) for w in range(1, 22)]  # 21 × 20 = 420 > 400
    sizes = [32 + 8 * i for i in range(20)]
    with pytest.raises(LimitError, match=f"420 points, more than {MAX_POINTS}"):
        api.sweep("mobilenet-v1", sets={"width": widths}, sizes=sizes)
    code, out, err = run("sweep", "resnet.yaml", "--set", "classes=" + ",".join(map(str, range(1, 40))))
    assert code == 1 and out == "" and err.count("\n") == 1 and "507 points, more than 400" in err


@pytest.mark.parametrize(
    "args, said",
    [
        (("--set", "width=0.5,[1,"), "--set width='[1,': invalid YAML"),
        (("--set", "width=0.5,,1"), "an empty value between commas"),
        (("--set", "width"), "is not KEY=V1,V2"),
        (("--size", "224,abc"), "--size 'abc' is not a size"),
        (("--set", "size=1,2"), "sweep input sizes with --size"),
    ],
)
def test_bad_values_get_one_line(args: tuple[str, ...], said: str) -> None:
    code, out, err = run("sweep", "mobilenet-v1", *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and said in err, err


def test_a_value_the_spec_refuses_names_the_point_and_the_place() -> None:
    code, out, err = run("sweep", "mobilenet-v1", "--set", "width=1.0,abc")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "sweep point width=abc" in err and "mobilenet-v1.yaml:" in err


def test_the_api_refuses_wrong_types() -> None:
    with pytest.raises(TypeError):
        api.sweep("mobilenet-v1", sizes="224")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        api.sweep("mobilenet-v1", sets={"width": []})


# ------------------------------------------------------------------------------------------------- formats


def test_json_csv_and_markdown() -> None:
    data = json.loads(cli_run("sweep", *MOBILENET, "--format", "json", width=80))
    assert data["axes"] == ["width", "size"] and len(data["points"]) == 16
    first = data["points"][0]
    assert first["values"] == {"width": 1.0, "size": [224, 224]}
    assert (first["params"], first["macs"], first["flops"]) == (4_231_976, 568_740_352, 1_137_480_704)
    assert first["input"] == [224, 224, 3] and first["output"] == [1000] and first["metrics"] == {}
    rows = list(csv.DictReader(io.StringIO(cli_run("sweep", *MOBILENET, "--format", "csv", width=80))))
    assert rows[0] == {
        "network": "mobilenet-v1", "width": "1.0", "size": "224", "input": "224x224x3", "output": "1000",
        "params": "4231976", "macs": "568740352", "flops": "1137480704",
    }
    markdown = cli_run("sweep", *MOBILENET, "--format", "markdown", width=80)
    assert "| width | size | input | params | MACs |" in markdown
    assert "| 0.75 | 192 | 192×192×3 | 2,585,560 | 239,273,472 |" in markdown


SWEEPS = [
    ("sweep", *MOBILENET),
    ("sweep", "resnet.yaml"),
    ("sweep", "vgg.yaml", "--size", "224,160", "--batch", "8"),
]


@pytest.mark.parametrize("args", SWEEPS, ids=[" ".join(s[:2]) for s in SWEEPS])
def test_sweep_fits_80_columns_without_cutting_a_figure(args: tuple[str, ...]) -> None:
    small, large = check_fits(args)
    assert "left out to fit" not in small + large
