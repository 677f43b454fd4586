"""The analytic engine: walk a resolved network and cost every layer with the registry's formulas.

Rows come out in pre-order — a group's subtotal row before its children — each with its nesting depth, so a
renderer can fold blocks at any depth and the rows it shows still sum to the totals. Merges get rows of their
own (``add`` for a residual addition, ``concat`` for a channel concatenation, ``multiply`` for a gate), because
they cost something (or, for concat, visibly nothing) and belong to no module. A ``join`` (saved tensors joined
with the current one) gets a row per tensor read, holding the layers run on it (a crop), then its merge row.

Training-only side heads (``aux``) are left out unless ``aux=True`` (the training view): with it, each gets a
group row ``aux`` holding its layers, counted in the totals; the row's output is the head's (its logits), while the
main path goes on with the input unchanged. A ``Save`` marker gets no row: it does no work.
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
    key = (layer.op, id(layer.args), layer.in_shape, layer.out_shape)
    known = _COSTS.get(key)
    if known is not None and known[0] is layer.args:
        return known[1]
    cost = get_op(layer.op).cost(layer.args, layer.in_shape, layer.out_shape)
    if len(_COSTS) >= _MAX_COSTS:
        _COSTS.clear()
    _COSTS[key] = (layer.args, cost)
    return cost


#: Costs of the layers costed last, by op, arguments and shapes. The arguments are keyed by the mapping object
#: itself (held here, so its id cannot pass to another while the entry lives; a layer's arguments are a read-only
#: view nothing can change): a repeat's copies share their layers' arguments (``cnncost.spec.resolve``), so a
#: layer that recurs in every copy (ResNet-1202: 200 copies per stage) is costed once. A formula is a pure function
#: of these four.
_COSTS: dict[tuple[str, int, ir.Shape, ir.Shape], tuple[Mapping[str, Any], Cost]] = {}
_MAX_COSTS = 4096
_NO_ARGS: Mapping[str, Any] = MappingProxyType({})


def analyze_network(network: ir.Network, *, batch: int = 1, aux: bool = False) -> Report:
    if isinstance(batch, bool) or not isinstance(batch, int):
        raise TypeError(f"batch must be a whole number, not {type(batch).__name__}")
    if not 1 <= batch <= MAX_BATCH:
        raise LimitError(f"batch {batch} is out of range", hint=f"use a batch of 1…{MAX_BATCH:,}")
    records: list[Record] = []
    for child in network.root.children:
        _walk(child, 0, batch, records, network.root.path, aux)
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
        aux_heads=tuple(r.path for r in records if r.kind == "aux"),
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


def _merge_record(node: ir.Residual | ir.Concat | ir.Scale | ir.Join, depth: int, batch: int) -> Record:
    op = node.mode if isinstance(node, ir.Join) else _MERGE_OPS[type(node)]
    layer = ir.Layer(op, ir.join_path(node.path, op), op, _NO_ARGS, node.out_shape, node.out_shape)
    return _layer_record(layer, depth, batch)


def _walk(node: ir.Node, depth: int, batch: int, out: list[Record], parent: str, aux: bool) -> None:
    if isinstance(node, ir.Layer):
        out.append(_layer_record(node, depth, batch))
        return
    if isinstance(node, ir.Save) or (isinstance(node, ir.Aux) and not aux):
        return
    if isinstance(node, ir.Concat) and node.path == parent:
        # a flat concat: no level of its own, so no row of its own; its layers and its merge belong to the parent
        for branch in node.branches:
            if branch.path != node.path:  # a branch with a name of its own is a level (ShuffleNet's branch2)
                _walk(branch, depth, batch, out, node.path, aux)
                continue
            for child in branch.children:
                _walk(child, depth, batch, out, branch.path, aux)
        out.append(_merge_record(node, depth, batch))
        return
    start = len(out)
    out.append(_placeholder())
    if isinstance(node, ir.Sequence):
        kind, label = node.kind, node.label
        for child in node.children:
            _walk(child, depth + 1, batch, out, node.path, aux)
    elif isinstance(node, ir.Aux):
        kind, label = "aux", "aux"
        for child in node.head.children:
            _walk(child, depth + 1, batch, out, node.path, aux)
    elif isinstance(node, ir.Join):
        kind, label = "join", "join"
        for read in node.reads:
            _walk(read, depth + 1, batch, out, node.path, aux)
        out.append(_merge_record(node, depth + 1, batch))
    else:
        kind, label = _GROUP_KINDS[type(node)], _GROUP_KINDS[type(node)]
        post = node.activation if isinstance(node, ir.Residual) else None
        for child in ir.children_of(node):
            if child is post:
                continue
            if isinstance(child, ir.Sequence) and child.path == node.path:
                # a transparent body or gate: its children belong to the node itself
                for grandchild in child.children:
                    _walk(grandchild, depth + 1, batch, out, node.path, aux)
            else:
                _walk(child, depth + 1, batch, out, node.path, aux)
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
        output_shape=node.head.out_shape if isinstance(node, ir.Aux) else node.out_shape,
        params=totals.params,
        macs=totals.macs,
        other=totals.other,
        args=_group_args(node),
    )


def _group_args(node: ir.Node) -> Mapping[str, Any]:
    if isinstance(node, ir.Residual):
        return MappingProxyType({"shortcut": node.shortcut_kind})
    if isinstance(node, ir.Join):
        return MappingProxyType({"with": list(node.saved), "mode": node.mode})
    if isinstance(node, ir.Sequence) and node.kind == "saved":
        return MappingProxyType({"saved": node.name})
    return MappingProxyType({})


def _placeholder() -> Record:
    return Record("", "", "", "", 0, (), (), 0, 0, MappingProxyType({}))
