"""What ``cnncost list`` shows of a network — its totals, input and output — without the per-layer table.

``analyze_network(network).summary()`` makes a row for every layer and a subtotal row for every block, each
summing its subtree again, only for ``list`` to keep the totals. ``summarize_network`` walks the same layers
in the same order (``cnncost.analysis.engine``: each layer, then a merge's own row — a residual's ``add``, a
concat's ``concat``, a gate's ``multiply`` — then a residual's activation) and sums their costs, so it gives the
very same ``Summary``; ``tests/test_summary.py`` holds it to that for every bundled network.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType

from cnncost import ir
from cnncost.analysis.engine import _MERGE_OPS, _NO_ARGS, layer_cost
from cnncost.analysis.records import Summary, Totals


def summarize_network(network: ir.Network) -> Summary:
    """The ``Summary`` of ``analyze_network(network)`` (batch 1): name, description, source, input and output
    shape, and the totals of every layer row."""
    params = macs = 0
    other: dict[str, int] = {}
    output = network.input_shape
    for layer in _rows(network.root):
        cost = layer_cost(layer)
        params += cost.params
        macs += cost.macs
        for key, value in cost.other.items():
            other[key] = other.get(key, 0) + value
        output = layer.out_shape
    totals = Totals(params, macs, MappingProxyType({k: v for k, v in other.items() if v}))
    return Summary(network.name, network.description, network.meta.get("source"), network.input_shape, output, totals)


def _rows(node: ir.Node) -> Iterator[ir.Layer]:
    """The layer rows of the engine's table under ``node``, in its order."""
    if isinstance(node, ir.Layer):
        yield node
        return
    if isinstance(node, ir.Sequence):
        for child in node.children:
            yield from _rows(child)
        return
    if isinstance(node, (ir.Save, ir.Aux)):
        return  # a marker, and a training-only head: no inference rows
    post = node.activation if isinstance(node, ir.Residual) else None
    for child in ir.children_of(node):
        if child is not post:
            yield from _rows(child)
    op = node.mode if isinstance(node, ir.Join) else _MERGE_OPS[type(node)]
    yield ir.Layer(op, ir.join_path(node.path, op), op, _NO_ARGS, node.out_shape, node.out_shape)
    if post is not None:
        yield post
