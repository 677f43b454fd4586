"""Renderers and the comparison logic, on reports built by hand (no spec, no engine involved)."""

from __future__ import annotations

import csv
import io
import json
from types import MappingProxyType
from typing import Any

import pytest

from cnncost.analysis.compare import compare
from cnncost.analysis.records import Record, Report, Totals
from cnncost.render import CONVENTION, SCHEMA_VERSION, compare_text, report_text
from cnncost.render import numbers as num
from cnncost.render.compare import compare_dict, labels
from cnncost.render.formats import CSV_COLUMNS, report_dict
from cnncost.render.table import render_report

# ------------------------------------------------------------------------------------------ hand-made reports


def layer(
    path: str, op: str, depth: int, i: tuple[int, ...], o: tuple[int, ...], params: int, macs: int, **other: int
) -> Record:
    formula = None
    if op == "conv":
        formula = f"conv {path}"
    return Record(
        path=path,
        name=path.rsplit(".", 1)[-1],
        kind="layer",
        op=op,
        depth=depth,
        input_shape=i,
        output_shape=o,
        params=params,
        macs=macs,
        other=MappingProxyType(other),
        formula=formula,
    )


def group(path: str, kind: str, label: str, depth: int, children: list[Record]) -> Record:
    t = Totals.of(c for c in children if c.is_layer)
    return Record(
        path=path,
        name=path.rsplit(".", 1)[-1],
        kind=kind,
        op=label,
        depth=depth,
        input_shape=children[0].input_shape,
        output_shape=children[-1].output_shape,
        params=t.params,
        macs=t.macs,
        other=t.other,
    )


def report(name: str, records: list[Record], *, batch: int = 1) -> Report:
    return Report(
        name=name,
        description=f"{name} by hand",
        input_shape=records[0].input_shape,
        batch=batch,
        records=tuple(records),
        totals=Totals.of(r for r in records if r.is_layer),
        variables=MappingProxyType({"size": 28}),
        source=f"{name}.yaml",
    )


IN = (28, 28, 192)


def conv5x5(bottleneck: bool) -> Report:
    """The course's 5×5 example: 5·5·192 × 32 × 28·28 direct, or 1·1·192 × 16 × 28·28 + 5·5·16 × 32 × 28·28."""
    if not bottleneck:
        return report("conv5x5", [layer("conv5x5", "conv", 0, IN, (28, 28, 32), 153_632, 120_422_400, bias=25_088)])
    return report(
        "conv5x5-bottleneck",
        [
            layer("reduce", "conv", 0, IN, (28, 28, 16), 3_088, 2_408_448, bias=12_544),
            layer("relu", "relu", 0, (28, 28, 16), (28, 28, 16), 0, 0, activation=12_544),
            layer("conv5x5", "conv", 0, (28, 28, 16), (28, 28, 32), 12_832, 10_035_200, bias=25_088),
        ],
    )


def two_branches(reduce: bool) -> Report:
    """A concat of a 1×1 branch and a 5×5 branch (with or without its 1×1 reduction), then a linear head."""
    b1 = [layer("mix.b1.conv", "conv", 2, IN, (28, 28, 64), 12_352, 9_633_792, bias=50_176)]
    b5 = [layer("mix.b5.conv", "conv", 2, IN, (28, 28, 32), 153_632, 120_422_400, bias=25_088)]
    if reduce:
        b5 = [
            layer("mix.b5.reduce", "conv", 2, IN, (28, 28, 16), 3_088, 2_408_448, bias=12_544),
            layer("mix.b5.conv", "conv", 2, (28, 28, 16), (28, 28, 32), 12_832, 10_035_200, bias=25_088),
        ]
    cat = layer("mix.concat", "concat", 1, (28, 28, 96), (28, 28, 96), 0, 0)
    inner = [group("mix.b1", "branch", "branch", 1, b1), *b1, group("mix.b5", "branch", "branch", 1, b5), *b5, cat]
    head = [
        layer("pool", "global_avgpool", 0, (28, 28, 96), (1, 1, 96), 0, 0, pooling=75_264),
        layer("flat", "flatten", 0, (1, 1, 96), (96,), 0, 0),
        layer("fc", "linear", 0, (96,), (10,), 970, 960, bias=10),
    ]
    return report("mix-reduced" if reduce else "mix", [group("mix", "concat", "concat", 0, inner), *inner, *head])


# ------------------------------------------------------------------------------------------------ numbers


def test_exact_integers_carry_thousands_separators() -> None:
    assert num.integer(15_470_264_320) == "15,470,264,320"
    assert num.integer(832) == "832"
    assert num.integer(0) == "0"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (15_470_264_320, "15.47 G"),
        (138_357_544, "138.36 M"),
        (4_089_184_256, "4.09 G"),
        (999, "999"),
        (1_000, "1.00 k"),
        (999_999, "1.00 M"),  # rounds into the next prefix, never "1000.00 k"
        (0, "0"),
        (-2_500, "-2.50 k"),
    ],
)
def test_short_si_form(value: int, text: str) -> None:
    assert num.si(value) == text


def test_count_adds_the_short_form_only_when_it_helps() -> None:
    assert num.count(832) == "832"
    assert num.count(12_443_648) == "12,443,648 (12.44 M)"


def test_percent_ratio_and_missing_values() -> None:
    assert num.percent(1, 3) == "33.3%"
    assert num.percent(2_048_000, 4_089_184_256) == "<0.1%"
    assert num.percent(0, 5) == "0.0%"
    assert num.percent(1, 0) == num.NONE
    assert num.ratio(12_443_648, 120_422_400) == "0.10×"
    assert num.ratio(120_422_400, 12_443_648) == "9.68×"
    assert num.ratio(5, 0) == num.NONE
    assert num.ratio_value(1, 4) == 0.25
    assert num.ratio_value(1, 0) is None


def test_shapes_in_the_course_notation() -> None:
    assert num.shape((28, 28, 6)) == "28×28×6"
    assert num.shape((120,)) == "120"
    assert num.shape((224, 224, 3), sep="x") == "224x224x3"


def test_a_sum_written_out() -> None:
    assert num.terms([2_408_448, 10_035_200], 12_443_648) == "2,408,448 + 10,035,200 = 12,443,648"
    assert num.terms([120_422_400], 120_422_400) == "120,422,400"


def test_spec_values_as_text() -> None:
    assert [num.plain(v) for v in (True, 224, 0.75, "relu", [3, 4, 6, 3])] == [
        "true",
        "224",
        "0.75",
        "relu",
        "[3, 4, 6, 3]",
    ]


# ----------------------------------------------------------------------------------------------- the table


def test_table_shows_every_layer_totals_and_the_convention() -> None:
    text = render_report(conv5x5(True), width=120)
    lines = text.splitlines()
    assert lines[0] == "conv5x5-bottleneck — conv5x5-bottleneck by hand"
    assert lines[1] == "input 28×28×192 · output 28×28×32 · batch 1"
    assert lines[2] == "variables: size=28"
    rows = {line.split()[0]: line.split() for line in lines if line.split() and line.split()[0] in
            ("reduce", "relu", "conv5x5", "total")}
    assert rows["reduce"][1:6] == ["conv", "28×28×16", "3,088", "2,408,448", "19.4%"]
    assert rows["conv5x5"][1:6] == ["conv", "28×28×32", "12,832", "10,035,200", "80.6%"]
    assert rows["relu"][1:5] == ["relu", "28×28×16", "0", "0"]
    assert rows["total"][1:5] == ["28×28×32", "15,920", "12,443,648", "100.0%"]
    assert "conv conv5x5" in text  # the formula column
    assert any(line.split()[:3] == ["FLOPs", "24,887,296", "24.89"] for line in lines if line.strip())
    assert f"convention: {CONVENTION}" in text
    assert all(len(line) <= 120 for line in lines)
    assert all(line == line.rstrip() for line in lines)


def test_narrow_table_drops_the_formula_column_and_keeps_every_number() -> None:
    text = render_report(conv5x5(True), width=60)
    assert "formula" not in text
    assert "conv conv5x5" not in text
    assert "10,035,200" in text and "12,443,648" in text


def test_batch_scales_the_header_and_the_formula_is_marked_per_image() -> None:
    text = render_report(conv5x5(True), width=120)
    assert "formula (per image)" not in text
    batched = report("b", [layer("c", "conv", 0, IN, (28, 28, 32), 153_632, 8 * 120_422_400)], batch=8)
    text = render_report(batched, width=120)
    assert "batch 8" in text and "formula (per image)" in text and "963,379,200" in text


def test_depth_collapses_blocks_into_their_subtotal_rows() -> None:
    text = render_report(two_branches(True), depth=0, width=120)
    first_words = [line.split()[0] for line in text.splitlines() if line.split()]
    assert "mix" in first_words and "mix.b5" not in first_words and "mix.b5.reduce" not in first_words
    mix_row = next(line for line in text.splitlines() if line.startswith("mix "))
    assert "concat" in mix_row and num.integer(9_633_792 + 12_443_648) in mix_row


# ------------------------------------------------------------------------------------------------ formats

LAYER_KEYS = {
    "name",
    "kind",
    "op",
    "depth",
    "input_shape",
    "output_shape",
    "params",
    "macs",
    "flops",
    "other_ops",
    "other",
    "formula",
}


def test_json_layout_is_the_documented_one() -> None:
    data = json.loads(report_text(conv5x5(True), fmt="json"))
    assert set(data) == {
        "schema_version",
        "name",
        "description",
        "source",
        "input",
        "output",
        "batch",
        "shape_order",
        "variables",
        "convention",
        "totals",
        "layers",
        "unknown_ops",
    }
    assert data["unknown_ops"] == {}
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["input"] == [28, 28, 192] and data["output"] == [28, 28, 32]
    assert data["shape_order"] == "HWC" and data["batch"] == 1
    assert data["totals"] == {
        "params": 15_920,
        "macs": 12_443_648,
        "flops": 24_887_296,
        "other_ops": 50_176,
        "other": {"bias": 37_632, "activation": 12_544},
    }
    assert [set(row) for row in data["layers"]] == [LAYER_KEYS] * 3
    assert data["layers"][0]["output_shape"] == [28, 28, 16]
    assert data["layers"][0]["flops"] == 2 * 2_408_448
    assert data["layers"][1]["formula"] is None


def test_json_vectors_are_one_element_lists_and_shapes_sit_on_one_line() -> None:
    text = report_text(two_branches(False), fmt="json")
    data = json.loads(text)
    assert data["output"] == [10]
    assert '"output_shape": [96]' in text and '"input_shape": [28, 28, 192]' in text


@pytest.mark.parametrize("depth", [None, 0, 1, 2])
def test_json_and_csv_rows_sum_to_the_totals(depth: int | None) -> None:
    rep = two_branches(True)
    data = json.loads(report_text(rep, fmt="json", depth=depth))
    for key in ("params", "macs", "flops", "other_ops"):
        assert sum(row[key] for row in data["layers"]) == data["totals"][key]
    rows = list(csv.DictReader(io.StringIO(report_text(rep, fmt="csv", depth=depth))))
    for key in ("params", "macs", "flops", "other_ops"):
        assert sum(int(row[key]) for row in rows) == data["totals"][key]
    for category, n in data["totals"]["other"].items():
        assert sum(int(row[category]) for row in rows) == n


def test_csv_has_a_header_and_one_row_per_layer() -> None:
    text = report_text(conv5x5(True), fmt="csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[0] for r in rows[1:]] == ["reduce", "relu", "conv5x5"]
    assert rows[1][4:8] == ["28x28x192", "28x28x16", "3088", "2408448"]


def test_markdown_table_is_well_formed() -> None:
    text = report_text(two_branches(True), fmt="markdown")
    table_lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table_lines) == 2 + len(two_branches(True).layers()) + 1  # header, rule, rows, total
    widths = {line.replace("\\|", "").count("|") for line in table_lines}
    assert widths == {8}
    assert "| **total** |" in text and "**12,443,648**" not in text  # total MACs include the other branch
    assert f"**{num.integer(9_633_792 + 12_443_648 + 960)}**" in text


# ------------------------------------------------------------------------------------------------ compare


def test_compare_lines_up_branches_by_path_and_keeps_the_terms() -> None:
    c = compare([two_branches(False), two_branches(True)], depth=2)
    rows = {row.path: row for row in c.rows}
    naive, reduced = rows["mix.b5"].cells
    assert naive is not None and reduced is not None
    assert naive.macs == 120_422_400 and naive.terms == (120_422_400,)
    assert reduced.macs == 12_443_648 and reduced.terms == (2_408_448, 10_035_200) and reduced.flat
    assert rows["mix.b5.reduce"].cells[0] is None
    assert "mix.concat" not in rows and "pool" not in rows  # no params, no MACs anywhere
    assert [row.path for row in c.rows] == ["", "mix", "mix.b1", "mix.b1.conv", "mix.b5", "mix.b5.reduce",
                                            "mix.b5.conv", "fc"]
    mix = rows["mix"].cells[1]
    assert mix is not None and not mix.flat  # it holds branches, so its sum is not written out


def test_compare_ratios_are_against_the_first_network() -> None:
    c = compare([conv5x5(False), conv5x5(True)])
    (ratio,) = c.ratios()
    assert ratio.name == "conv5x5-bottleneck" and ratio.reference == "conv5x5"
    assert ratio.macs == pytest.approx(12_443_648 / 120_422_400)
    assert ratio.params == pytest.approx(15_920 / 153_632)
    network = c.rows[0]
    assert network.path == "" and network.depth == -1
    assert [cell.terms for cell in network.cells if cell] == [(120_422_400,), (2_408_448, 10_035_200)]


def test_compare_text_writes_the_bottleneck_sum_out() -> None:
    text = compare_text(compare([conv5x5(False), conv5x5(True)]), width=120)
    total = next(line for line in text.splitlines() if line.startswith("total"))
    assert "120,422,400" in total and "2,408,448 + 10,035,200 = 12,443,648" in total and "0.10×" in total
    text = compare_text(compare([two_branches(False), two_branches(True)], depth=1), width=120)
    b5 = next(line for line in text.splitlines() if line.strip().startswith("mix.b5"))
    assert b5.split()[:2] == ["mix.b5", "120,422,400"] and "2,408,448 + 10,035,200 = 12,443,648" in b5


def test_compare_depth_chooses_itself_within_the_row_budget() -> None:
    pair = [two_branches(False), two_branches(True)]
    assert compare(pair).depth == 2
    assert compare(pair, max_rows=5).depth == 1
    assert compare(pair, max_rows=1).depth == 0


def test_compare_json_has_one_report_per_network_and_the_ratios() -> None:
    data: dict[str, Any] = json.loads(compare_text(compare([conv5x5(False), conv5x5(True)]), fmt="json"))
    assert data["schema_version"] == 1 and data["reference"] == "conv5x5"
    assert [n["name"] for n in data["networks"]] == ["conv5x5", "conv5x5-bottleneck"]
    assert data["networks"][1] == report_dict(conv5x5(True))
    assert data["ratios"][0]["macs"] == pytest.approx(0.10333, abs=1e-5)
    assert data["rows"][0]["cells"][1]["terms"] == [2_408_448, 10_035_200]
    assert compare_dict(compare([conv5x5(False), conv5x5(True)])) == data


def test_compare_labels_repeat_names_uniquely() -> None:
    c = compare([conv5x5(False), conv5x5(False), conv5x5(True)])
    assert labels(c) == ["conv5x5", "conv5x5 #2", "conv5x5-bottleneck"]


def test_compare_csv_and_markdown() -> None:
    c = compare([conv5x5(False), conv5x5(True)])
    rows = list(csv.reader(io.StringIO(compare_text(c, fmt="csv"))))
    assert rows[0] == ["path", "depth", "conv5x5:params", "conv5x5:macs", "conv5x5-bottleneck:params",
                       "conv5x5-bottleneck:macs"]
    assert rows[1] == ["total", "-1", "153632", "120422400", "15920", "12443648"]
    assert rows[2] == ["reduce", "0", "", "", "3088", "2408448"]
    md = compare_text(c, fmt="markdown")
    assert "| **total** | 120,422,400 | 2,408,448 + 10,035,200 = 12,443,648 | 0.10× |" in md


def test_colour_only_adds_terminal_styles() -> None:
    import re

    plain = render_report(two_branches(True), width=120)
    coloured = render_report(two_branches(True), width=120, color=True)
    assert "\x1b[1m" in coloured and "\x1b[" not in plain
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    text = compare_text(compare([conv5x5(False), conv5x5(True)]), width=120, color=True)
    assert re.sub(r"\x1b\[[0-9;]*m", "", text) == compare_text(compare([conv5x5(False), conv5x5(True)]), width=120)
