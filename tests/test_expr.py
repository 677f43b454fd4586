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
        ("[x for x in depths]", "syntax that specs do not allow"),
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
