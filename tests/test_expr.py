from __future__ import annotations

import pytest

from cnncost.spec.expr import ExprError, evaluate, make_divisible, names_in


def test_arithmetic_over_variables() -> None:
    scope = {"width": 0.75, "depths": [3, 4, 6, 3], "stride": 2}
    assert evaluate("width * 64", scope) == 48.0
    assert evaluate("depths[2] + 1", scope) == 7
    assert evaluate("1 if stride == 1 else 2", scope) == 2
    assert evaluate("max(8, int(width * 16))", scope) == 12
    assert evaluate("2 ** 3 // 3 % 5", scope) == 2


def test_bare_words_stand_for_themselves() -> None:
    assert evaluate("same", {}) == "same"
    assert evaluate("bottleneck", {"bottleneck": "x"}) == "x"  # unless a variable has that name
    assert evaluate("identity-or-projection", {}) == "identity-or-projection"


def test_make_divisible_matches_mobilenet_rule() -> None:
    assert make_divisible(32 * 0.75, 8) == 24
    assert make_divisible(16 * 0.25, 8) == 8  # never below the divisor
    assert make_divisible(37, 8) == 40
    assert make_divisible(34, 8) == 32  # 32 ≥ 0.9 · 34
    assert make_divisible(19, 16) == 32  # 16 < 0.9 · 19, so one more step


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "not an allowed function"),
        ("width.real", "syntax that specs do not allow"),
        ("(lambda: 1)()", "not an allowed function"),
        ("{x for x in depths}", "syntax that specs do not allow"),  # list building is allowed; sets are not
        ("1 / 0", "divides by zero"),
        ("10 ** 100", "too large a power"),
        ("missing + 1", "'missing' is not defined"),
        ("depths[9]", "outside the list"),
        ("2 ** 62 * 2 ** 62", "too large"),
    ],
)
def test_refused_expressions(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        evaluate(text, {"width": 1, "depths": [1, 2]})


def test_names_in() -> None:
    assert names_in("make_divisible(width * 32, 8)") == {"width"}


@pytest.mark.parametrize(
    "text", ["1 if v1 else 2", "not v1", "v1 and 1", "v1 or 1", "1 if depths else 2", "0 or v1 or 1"]
)
def test_text_and_lists_are_not_conditions(text: str) -> None:
    """'false' as text was taken as true (any non-empty text is, in Python): a silent wrong number."""
    with pytest.raises(ExprError, match="as a condition, but a condition must be true or false"):
        evaluate(text, {"v1": "false", "depths": [1]})


def test_conditions_keep_python_values() -> None:
    scope = {"t": True, "f": False, "w": 0.5, "z": 0}
    assert evaluate("w or 1", scope) == 0.5
    assert evaluate("z or 3", scope) == 3
    assert evaluate("z and 3", scope) == 0
    assert evaluate("t and f", scope) is False
    assert evaluate("not z", scope) is True
    assert evaluate("2 if t else 3", scope) == 2


# ------------------------------------------------------------- list building and the functions of the zoo issue

REGNET_X_400MF = {"w0": 24, "wa": 24.48, "wm": 2.54, "depth": 22, "g": 16}
#: RegNet's width rule (Radosavovic et al. 2020, eq. 2–3, as torchvision computes it): u_j = w0 + wa·j, quantized
#: to w0·wm^round(log(u_j/w0)/log(wm)), rounded to a multiple of 8.
WIDTHS = "[int(round(w0 * wm ** round(log((j * wa + w0) / w0) / log(wm)) / 8) * 8) for j in range(depth)]"


def test_regnet_widths_are_computed_from_the_papers_parameters() -> None:
    widths = evaluate(WIDTHS, REGNET_X_400MF)
    # by hand: u = 24, 48.48, …; log(u/24)/log(2.54) rounds to 0 for j = 0, 1 for j = 1, 2 (u ≤ 73), …
    assert widths[:3] == [24, 64, 64] and len(widths) == 22
    scope = {**REGNET_X_400MF, "ws": widths}
    assert evaluate("unique(ws)", scope) == [24, 64, 152, 392]
    assert evaluate("[count(ws, w) for w in unique(ws)]", scope) == [1, 2, 7, 12]  # torchvision: depths 1, 2, 7, 12
    # widths made compatible with the group width (torchvision's _adjust_widths_groups_compatibilty): 32 … 400
    assert evaluate("[int(ceil(w / min(g, w)) * min(g, w)) for w in unique(ws)]", scope) == [32, 64, 160, 400]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[w * 2 ** i for i in range(4)]", [64, 128, 256, 512]),
        ("[i for i in range(10) if i % 3 == 0]", [0, 3, 6, 9]),
        ("range(2, 8, 3)", [2, 5]),
        ("sum([1, 2, 3.5])", 6.5),
        ("log2(1024)", 10.0),
        ("log(8, 2)", 3.0),
        ("sqrt(2.25)", 1.5),
        ("round(exp(0))", 1),
        ("ceil(1.2 ** 2 * 3)", 5),  # EfficientNet-B2's depth multiplier on a stage of 3: ceil(3 · 1.2 · 1.2)
        ("len([d for d in depths])", 2),
    ],
)
def test_list_building_and_functions(text: str, value: object) -> None:
    assert evaluate(text, {"w": 64, "depths": [1, 2]}) == value


def test_a_comprehensions_own_name_is_not_a_variable() -> None:
    assert names_in("[w * 2 ** i for i in range(n)]") == {"w", "n"}
    assert evaluate("[i for i in depths]", {"i": 99, "depths": [1, 2]}) == [1, 2]  # the loop's i, not the spec's


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[i * j for j in range(10000)] for i in range(10000)]", "steps to evaluate"),
        ("range(10 ** 9)", "lists hold at most"),
        ("range(1.5)", "whole numbers"),
        ("log(0)", "fails"),
        ("log(8, 1)", "fails"),
        ("exp(1000)", "fails"),
        ("sqrt(-1)", "fails"),
        ("[x for x in 3]", "not a list"),
        ("[x for x in depths for y in depths]", "one 'for'"),
        ("[1 for (a, b) in depths]", "for NAME in LIST"),
        ("sum([1, 'a'])", "list of numbers"),
        ("unique(3)", "takes a list"),
        ("[x for x in depths if 'yes']", "condition"),
    ],
)
def test_refused_list_building(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        evaluate(text, {"depths": [1, 2]})


def test_a_spec_computes_its_stage_widths(tmp_path: object) -> None:
    """The widths of every stage computed in the spec from a base width, and used by index in a repeat."""
    from pathlib import Path

    from cnncost import api

    spec = Path(str(tmp_path)) / "stages.yaml"
    spec.write_text(
        "name: stages\ninput: [32, 32, 3]\n"
        "variables: {base: 8, widths: '[base * 2 ** i for i in range(3)]'}\n"
        "layers:\n"
        "  - {name: s0, conv: {out: 'widths[0]', kernel: 3, padding: 1}}\n"
        "  - {name: s1, conv: {out: 'widths[1]', kernel: 3, stride: 2, padding: 1}}\n"
        "  - {name: s2, conv: {out: 'widths[2]', kernel: 3, stride: 2, padding: 1}}\n",
        encoding="utf-8",
    )
    report = api.analyze(str(spec))
    assert report.output_shape == (8, 8, 32)
    # 3·3·3·8 + 8, 3·3·8·16 + 16, 3·3·16·32 + 32
    assert report.totals.params == 224 + 1168 + 4640
