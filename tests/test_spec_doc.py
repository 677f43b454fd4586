"""docs/spec.md, the language reference, is kept true by the code: every YAML example in it resolves (or fails
with the error it says), its ``# = value`` comments are the values the variables take, its generated op
reference is what the registry makes now, and it mentions every op, argument, combinator, top-level key, item
key, function and documented-figure key."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cnncost import api
from cnncost.analysis.check import ENTRY_KEYS
from cnncost.errors import CnnCostError
from cnncost.ops import all_ops
from cnncost.render.reference import KIND_WORDS, generated_part, reference_markdown
from cnncost.spec.expr import FUNCTIONS
from cnncost.spec.readers import READERS
from cnncost.spec.schema import COMBINATORS, ITEM_KEYS, RESERVED, TOP_LEVEL

DOC = Path(__file__).resolve().parent.parent / "docs" / "spec.md"
TEXT = DOC.read_text(encoding="utf-8")
EXAMPLES = re.findall(r"^```yaml\n(.*?)^```", TEXT, flags=re.S | re.M)
FRAGMENT = re.compile(r"^# on an? (\d+)×(\d+)×(\d+) input$", re.M)
ERROR = re.compile(r"^# error: (.+)$", re.M)
RESULT = re.compile(r"^  (\w+): .*#\s*= (.+)$", re.M)
SHAPE = re.compile(r"(\d+)×(\d+)×(\d+)")


def _as_spec(example: str) -> str:
    """A fragment (a list of layer items, marked '# on a H×W×C input') inside a spec of its own; a spec as is."""
    found = FRAGMENT.search(example)
    if found is None:
        return example
    h, w, c = found.groups()
    body = "".join(f"  {line}\n" for line in example.splitlines())
    return f"name: example\ninput: [{h}, {w}, {c}]\nlayers:\n{body}"


def test_the_reference_has_examples() -> None:
    assert len(EXAMPLES) >= 15
    for example in EXAMPLES:
        # every example is a whole spec or a fragment that says its input
        assert FRAGMENT.search(example) or re.search(r"^layers:", example, re.M), example


@pytest.mark.parametrize("number", range(len(EXAMPLES)))
def test_every_example_resolves(tmp_path: Path, number: int) -> None:
    example = EXAMPLES[number]
    path = tmp_path / "example.yaml"
    path.write_text(_as_spec(example), encoding="utf-8")
    expected_error = ERROR.search(example)
    if expected_error is not None:
        with pytest.raises(CnnCostError) as info:
            api.analyze(str(path))
        assert expected_error.group(1) in info.value.one_line()
        return
    variants = re.findall(r"^  ([\w-]+): \{description", example.split("variants:", 1)[-1], re.M)
    names = [f"{path}:{v}" for v in variants] if "variants:" in example else [str(path)]
    networks = [api.resolve(name) for name in names]
    for net in networks:
        assert api.analyze(net).totals.params >= 0
    network = networks[0]  # the '# = value' comments are about the defaults
    for name, value in RESULT.findall(example):
        assert network.variables[name] == ast.literal_eval(value.strip()), name
    if "documented:" in example:
        assert api.check(str(path)).ok
    _check_shape_comments(path, network)


def _check_shape_comments(path: Path, network: object) -> None:
    """A top-level item whose comment ends with a shape H×W×C outputs that shape (the last one the comment
    names): the examples' arithmetic is the engine's."""
    from cnncost.spec.yamlsafe import load

    lines = path.read_text(encoding="utf-8").splitlines()
    doc, _ = load(path)
    if any("when" in item for item in doc["layers"] if isinstance(item, dict)):
        return  # items switched off have no row
    rows = [r for r in api.analyze(network, aux=True).records if r.depth == 0]  # type: ignore[arg-type]
    assert len(rows) == len(doc["layers"])
    for row, (line, _) in zip(rows, doc["layers"].item_pos, strict=True):
        comment = lines[line - 1].partition(" #")[2]
        shapes = SHAPE.findall(comment)
        if shapes:
            assert row.output_shape == tuple(int(d) for d in shapes[-1]), f"{row.path}: {lines[line - 1]}"


def _example(name: str) -> str:
    (found,) = [e for e in EXAMPLES if e.startswith(f"name: {name}\n")]
    return found


def test_the_row_names_are_as_the_text_says(tmp_path: Path) -> None:
    path = tmp_path / "rows.yaml"
    path.write_text(_example("rows"), encoding="utf-8")
    said = re.search(r"This spec's rows are (.*?):\n", TEXT, re.S)
    assert said is not None
    rows = re.findall(r"`([\w.]+)`", said.group(1))
    assert [r.path for r in api.analyze(str(path)).layers()] == rows


def test_the_training_view_example(tmp_path: Path) -> None:
    path = tmp_path / "side.yaml"
    path.write_text(_example("side"), encoding="utf-8")
    inference, training = api.analyze(str(path)), api.analyze(str(path), aux=True)
    # the head: 512·128 + 128 = 65,664; 2048·1024 + 1024 = 2,098,176; 1024·1000 + 1000 = 1,025,000
    assert training.totals.params - inference.totals.params == 65_664 + 2_098_176 + 1_025_000


def test_the_generated_reference_is_current() -> None:
    assert generated_part(TEXT) == reference_markdown(), (
        "docs/spec.md's op reference is stale: run 'python -m cnncost.render.reference docs/spec.md'"
    )


def test_every_op_argument_and_combinator_is_documented() -> None:
    reference = generated_part(TEXT)
    for op in all_ops():
        section = reference.split(f"#### `{op.name}`\n", 1)
        assert len(section) == 2, op.name
        body = section[1].split("\n#### ", 1)[0]
        for field in op.fields:
            assert f"| `{field}` |" in body, f"{op.name}.{field}"
    for name, fields in COMBINATORS.items():
        assert f"#### `{name}`" in reference and f"### `{name}`" in TEXT, name
        body = reference.split(f"#### `{name}`\n", 1)[1].split("\n#### ", 1)[0]
        for field in fields:
            assert f"| `{field}` |" in body, f"{name}.{field}"


def test_every_key_word_and_function_is_documented() -> None:
    for key in (*TOP_LEVEL, *ITEM_KEYS, *ENTRY_KEYS):
        assert f"`{key}`" in TEXT, key
    for name in (*RESERVED, *FUNCTIONS):
        assert f"`{name}" in TEXT or f" {name} " in TEXT, name
    assert set(READERS) <= set(KIND_WORDS)  # every kind of argument has words in the reference
