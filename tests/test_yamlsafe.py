"""The spec reader's answers do not depend on the PyYAML/libyaml release underneath it.

PyYAML 6.0.4's libyaml refuses deep flow nesting itself, in its own words, before the first event reaches our
depth check; 6.0.3's does not. Both must give our ``LimitError``. The parser is replaced here by stand-ins that
refuse in made-up words, so no test reads a third party's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from cnncost.errors import LimitError, SpecError
from cnncost.limits import MAX_YAML_DEPTH
from cnncost.spec import yamlsafe


def _refusing_parser(*_: Any, **__: Any) -> Iterator[yaml.Event]:
    raise yaml.scanner.ScannerError(problem="some words no test should read")
    yield  # pragma: no cover - makes this a generator, like yaml.parse


@pytest.fixture
def parser_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsafe.yaml, "parse", _refusing_parser)


def test_a_parser_refusing_deep_nesting_gives_our_limit(parser_refuses: None) -> None:
    deep = "layers: " + "[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1) + "\n"
    with pytest.raises(LimitError, match=f"nests more than {MAX_YAML_DEPTH} levels deep") as info:
        yamlsafe.parse("name: x\n" + deep, file="deep.yaml")
    assert (info.value.file, info.value.line, info.value.column) == ("deep.yaml", 2, 9 + MAX_YAML_DEPTH)


def test_a_parser_refusing_shallow_text_stays_a_yaml_error(parser_refuses: None) -> None:
    shallow = "layers: " + "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH + "\n"
    with pytest.raises(SpecError) as info:
        yamlsafe.parse(shallow, file="shallow.yaml")
    assert not isinstance(info.value, LimitError)
    assert info.value.message.startswith("invalid YAML")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [[1]]", 4),  # the second bracket is the first past a limit of 1
        ("a: {b: [1]}", 7),
        ('a: "[[["', None),  # inside a double-quoted string
        ("a: '[[''[['", None),  # '' is a quote inside a single-quoted string
        ('a: "\\"[[["', None),  # an escaped double quote does not end the string
        ("# [[[\nb: 1", None),  # a comment
        ("a: [1]\nb: [2]", None),  # closed brackets give their depth back
        ("a: x#[[", 6),  # not a comment without a space before '#': counted (a bound from above)
        ("a: don't [[", 10),  # a quote inside a word opens no string
    ],
)
def test_flow_depth_bound(text: str, expected: int | None) -> None:
    assert yamlsafe.too_deep_flow(text, 1) == expected


def test_the_real_parser_on_deep_flow_nesting() -> None:
    """Whichever PyYAML is installed (CI runs this file under 6.0.3 and 6.0.4): our limit, at the bracket."""
    depth = 50_000
    text = "name: deep\nlayers: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(LimitError, match=f"nests more than {MAX_YAML_DEPTH} levels deep") as info:
        yamlsafe.parse(text, file="deep.yaml")
    assert info.value.line == 2
