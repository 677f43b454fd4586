"""The analytic engine: walk a resolved network and cost every layer with the registry's formulas.

Rows come out in pre-order — a group's subtotal row before its children — each with its nesting depth, so a
renderer can fold blocks at any depth and the rows it shows still sum to the totals. Merges get rows of their
own (``add`` for a residual addition, ``concat`` for a channel concatenation, ``multiply`` for a gate), because
they cost something (or, for concat, visibly nothing) and belong to no module.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cnncost import ir
from cnncost.analysis.receptive import with_fields
from cnncost.analysis.records import Record, Report, Totals
from cnncost.errors import LimitError
from cnncost.limits import MAX_BATCH
from cnncost.ops import Cost, get_op

_MERGE_OPS = {ir.Residual: "add", ir.Concat: "concat", ir.Scale: "multiply"}
_GROUP_KINDS = {ir.Residual: "residual", ir.Concat: "concat", ir.Scale: "scale"}


def layer_cost(layer: ir.Layer) -> Cost:
    """The per-image cost of one layer, by the registry's formula for its op."""
    return get_op(layer.op).cost(layer.args, layer.in_shape, layer.out_shape)


def analyze_network(network: ir.Network, *, batch: int = 1) -> Report:
    if isinstance(batch, bool) or not isinstance(batch, int):
        raise TypeError(f"batch must be a whole number, not {type(batch).__name__}")
    if not 1 <= batch <= MAX_BATCH:
        raise LimitError(f"batch {batch} is out of range", hint=f"use a batch of 1…{MAX_BATCH:,}")
    records: list[Record] = []
    for child in network.root.children:
        _walk(child, 0, batch, records)
    records = with_fields(network, records)  # receptive field and jump of every row
    layer_rows = [r for r in records if r.is_layer]
    return Report(
        name=network.name,
        description=network.description,
        input_shape=network.input_shape,
        batch=batch,
        records=tuple(records),
        totals=Totals.of(layer_rows),
        variables=network.variables,
        source=network.meta.get("source"),
    )


def _layer_record(layer: ir.Layer, depth: int, batch: int) -> Record:
    cost = layer_cost(layer)
    return Record(
        path=layer.path,
        name=layer.name,
        kind="layer",
        op=layer.op,
        depth=depth,
        input_shape=layer.in_shape,
        output_shape=layer.out_shape,
        params=cost.params,
        macs=cost.macs * batch,
        other=MappingProxyType({k: v * batch for k, v in cost.other.items()}),
        formula=cost.formula,
        args=layer.args,
    )


def _merge_record(node: ir.Residual | ir.Concat | ir.Scale, depth: int, batch: int) -> Record:
    op = _MERGE_OPS[type(node)]
    layer = ir.Layer(
        op, ir.join_path(node.path, op), op, MappingProxyType({}), node.out_shape, node.out_shape
    )
    return _layer_record(layer, depth, batch)


def _walk(node: ir.Node, depth: int, batch: int, out: list[Record]) -> None:
    if isinstance(node, ir.Layer):
        out.append(_layer_record(node, depth, batch))
        return
    start = len(out)
    out.append(_placeholder())
    if isinstance(node, ir.Sequence):
        kind, label = node.kind, node.label
        for child in node.children:
            _walk(child, depth + 1, batch, out)
    else:
        kind, label = _GROUP_KINDS[type(node)], _GROUP_KINDS[type(node)]
        post = node.activation if isinstance(node, ir.Residual) else None
        for child in ir.children_of(node):
            if child is post:
                continue
            if isinstance(child, ir.Sequence) and child.path == node.path:
                # a transparent body or gate: its children belong to the node itself
                for grandchild in child.children:
                    _walk(grandchild, depth + 1, batch, out)
            else:
                _walk(child, depth + 1, batch, out)
        out.append(_merge_record(node, depth + 1, batch))
        if post is not None:
            out.append(_layer_record(post, depth + 1, batch))
    subtree = [r for r in out[start + 1 :] if r.is_layer]
    totals = Totals.of(subtree)
    out[start] = Record(
        path=node.path,
        name=node.name,
        kind=kind,
        op=label,
        depth=depth,
        input_shape=node.in_shape,
        output_shape=node.out_shape,
        params=totals.params,
        macs=totals.macs,
        other=totals.other,
        args=_group_args(node),
    )


def _group_args(node: ir.Node) -> Mapping[str, Any]:
    if isinstance(node, ir.Residual):
        return MappingProxyType({"shortcut": node.shortcut_kind})
    return MappingProxyType({})


def _placeholder() -> Record:
    return Record("", "", "", "", 0, (), (), 0, 0, MappingProxyType({}))
