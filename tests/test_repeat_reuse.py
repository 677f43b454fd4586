"""A repeat whose copies are alike resolves copies 2… as copy 1 moved to their paths (``cnncost.spec.resolve``):
the network must be exactly the one resolving every copy gives — every node, path, name, label, shape, argument
and location — for every bundled network and for specs that try the edges (``index``, ``when``, a first copy that
changes the shape, nested repeats, a residual or a scale as the copy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cnncost import api, ir
from cnncost.spec import library, resolve


def both(spec: Any, **options: Any) -> tuple[ir.Network, ir.Network]:
    try:
        resolve._Reading.reuse_copies = False
        every = api.resolve(spec, **options)
    finally:
        resolve._Reading.reuse_copies = True
    return every, api.resolve(spec, **options)


def nodes(node: ir.Node) -> Iterator[ir.Node]:
    yield node
    for child in ir.children_of(node):
        yield from nodes(child)


@pytest.mark.parametrize("name", library.names())
def test_bundled_networks_resolve_alike(name: str) -> None:
    every, reused = both(name)
    assert reused == every
    paths = [n.path for n in nodes(reused.root) if isinstance(n, ir.Layer)]
    assert len(paths) == len(set(paths))  # no two layers at one path


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("resnet-cifar.yaml:resnet56", {"size": 64}),
        ("resnet50", {"size": 97, "variables": {"classes": 10}}),
        ("mobilenet-v1", {"variables": {"width": 0.5}}),
        ("resnet1202", {}),
    ],
)
def test_with_variables(name: str, options: dict[str, Any]) -> None:
    spec = str(Path(library.bundled_dir()) / name) if ".yaml" in name else name
    every, reused = both(spec, **options)
    assert reused == every


SPEC = """
name: edges
input: [8, 8, 4]
layers:
  - repeat:
      times: 4
      layers:
        - residual:
            layers: [{conv: {out: 4, kernel: 3, padding: 1}}, relu]
  - repeat:
      times: 3
      layers:
        - conv: {out: 4, kernel: 1}
        - {when: index == 1, relu: {}}
  - repeat:
      times: 3
      layers:
        - conv: {out: 8, kernel: 3, padding: 1}
  - repeat:
      times: 3
      stride: 2
      layers:
        - conv: {out: 8, kernel: 3, padding: 1, stride: stride}
        - repeat:
            times: 3
            layers: [{conv: {out: 8, kernel: 1}}, relu]
  - repeat:
      times: 5
      layers:
        - {when: false, relu: {}}
"""


def test_edges(tmp_path: Path) -> None:
    path = tmp_path / "edges.yaml"
    path.write_text(SPEC, encoding="utf-8")
    every, reused = both(str(path))
    assert reused == every
    second = reused.root.children[1]  # uses index: copy 1 has its relu, copies 0 and 2 do not
    assert isinstance(second, ir.Sequence)
    assert [len(c.children) for c in second.children if isinstance(c, ir.Sequence)] == [1, 2, 1]
    first = reused.root.children[0]
    assert isinstance(first, ir.Sequence)
    assert [c.path for c in first.children] == ["repeat1.0", "repeat1.1", "repeat1.2", "repeat1.3"]
    assert [c.name for c in first.children] == ["0", "1", "2", "3"]
    # and copies 2… really are copy 1 moved (its arguments shared), not resolved again
    one, three = (list(ir.iter_layers(c)) for c in (first.children[1], first.children[3]))
    assert [a.args for a in one] == [b.args for b in three]
    assert all(a.args is b.args for a, b in zip(one, three, strict=True))


def test_layer_costs_remembered_are_the_formulas() -> None:
    """The engine costs a layer whose arguments it has just costed (the same mapping, the same shapes) from
    memory: every row of every bundled network is what the registry's formula gives for it."""
    from cnncost.analysis.engine import layer_cost
    from cnncost.ops import get_op

    for name in library.names():
        network = api.resolve(name)
        for layer in network.layers():
            fresh = get_op(layer.op).cost(layer.args, layer.in_shape, layer.out_shape)
            assert layer_cost(layer) == fresh, (name, layer.path)


GRAPH = """
name: graph-in-repeat
input: [8, 8, 4]
layers:
  - conv: {out: 4, kernel: 1}
    save: stem
  - repeat:
      times: 4
      layers:
        - conv: {out: 4, kernel: 3, padding: 1}
        - relu
        - join: {with: stem, mode: add}
  - repeat:
      times: 3
      layers:
        - aux:
            layers: [{conv: {out: 2, kernel: 1}}]
        - conv: {out: 4, kernel: 1}
"""


def test_copies_that_keep_read_or_branch_off_named_tensors(tmp_path: Path) -> None:
    """A copy that reads a named tensor (``join``; a repeat cannot ``save``, its name would be kept twice) is
    resolved afresh; a training-only head is moved with its copy."""
    path = tmp_path / "graph.yaml"
    path.write_text(GRAPH, encoding="utf-8")
    every, reused = both(str(path))
    assert reused == every
    joins = [n for n in ir.iter_nodes(reused.root) if isinstance(n, ir.Join)]
    assert [j.path for j in joins] == [f"repeat1.{i}.join1" for i in range(4)]
    assert {j.sources for j in joins} == {("conv1",)}
    heads = [n.path for n in ir.iter_nodes(reused.root) if isinstance(n, ir.Aux)]
    assert heads == ["repeat2.0.aux1", "repeat2.1.aux1", "repeat2.2.aux1"]
