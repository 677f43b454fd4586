"""Receptive field and jump of every row: the IR walked once, each layer by its op's ``receptive_field`` facet.

A layer's row gets the receptive field of one unit of its output; a group row (block, repeat, residual,
concat …) that of its output; a merge row (``add``, ``concat``, ``multiply``) that of the joined paths. Where
paths meet — the branches of a concat or a split, a residual's body and shortcut, a gate and the input it
multiplies — the largest path wins (``cnncost.ops.receptive.merge``), and ``join`` below is the one place the
engine joins paths: a new way for values to meet (a tensor saved by name and read later) joins through it too.

Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

from cnncost import ir
from cnncost.analysis.records import Record
from cnncost.ops import find_op, get_op
from cnncost.ops.receptive import RF, flattened, merge
from cnncost.ops.reshape import FLATTENED

__all__ = ["FLATTENED", "NOTE", "RF", "flattened", "join", "network_fields", "op_field", "row_field", "start"]

#: What every output that shows receptive fields says about them, once (the table's footer, the JSON note).
NOTE = (
    "RF = receptive field of one output unit in input pixels (H×W where they differ), jump = input pixels between "
    "neighbouring units (the product of the strides); where paths meet (concat, split, residual addition, gate) "
    "the largest path wins; 'global' = every input pixel reaches the unit"
)

def start(input_shape: ir.Shape) -> RF:
    """The receptive field of an input unit: one pixel of an image; the whole of a vector."""
    return RF.input() if len(input_shape) == 3 else RF.whole_input("the input is a vector")


def join(paths: Sequence[RF]) -> RF:
    """The receptive field where ``paths`` meet: the largest wins (``merge``). Every join goes through here."""
    return merge(list(paths))


def layer_field(layer: ir.Layer, rf: RF) -> RF:
    """The receptive field of one unit of ``layer``'s output, given that of a unit of its input."""
    rule = get_op(layer.op).implementation("receptive_field")
    return cast(RF, rule(layer.args, layer.in_shape, rf))


def network_fields(network: ir.Network) -> dict[str, RF]:
    """Every node's receptive field by path (layers, groups, and the merge rows ``PATH.add`` / ``.concat`` /
    ``.multiply``)."""
    fields: dict[str, RF] = {}
    _node(network.root, start(network.input_shape), fields, {})
    return fields


def _node(node: ir.Node, rf: RF, fields: dict[str, RF], kept: dict[str, RF]) -> RF:
    if isinstance(node, ir.Layer):
        out = layer_field(node, rf)
    elif isinstance(node, ir.Sequence):
        out = rf
        for child in node.children:
            out = _node(child, out, fields, kept)
    elif isinstance(node, ir.Concat):  # a split's branches see slices of the channels: the same positions
        out = join([_node(branch, rf, fields, kept) for branch in node.branches])
        fields[ir.join_path(node.path, "concat")] = out
    elif isinstance(node, ir.Residual):
        body = _node(node.body, rf, fields, kept)
        shortcut = rf if node.shortcut is None else _node(node.shortcut, rf, fields, kept)
        out = join([body, shortcut])
        fields[ir.join_path(node.path, "add")] = out
        if node.activation is not None:
            out = _node(node.activation, out, fields, kept)
    elif isinstance(node, ir.Save):
        kept[node.name] = rf  # a tensor kept by name: its units see what its producer's see
        return rf
    elif isinstance(node, ir.Join):  # the saved tensors (through their reads) meet the input
        reads = [_node(read, kept[name], fields, kept) for name, read in zip(node.saved, node.reads, strict=True)]
        out = join([*reads, rf])
        fields[ir.join_path(node.path, node.mode)] = out
    elif isinstance(node, ir.Aux):  # a side head: its row is its output's; the input passes on unchanged
        fields[node.path] = _node(node.head, rf, fields, kept)
        return rf
    else:  # ir.Scale: x · gate(x)
        out = join([rf, _node(node.gate, rf, fields, kept)])
        fields[ir.join_path(node.path, "multiply")] = out
    fields[node.path] = out  # written last: a transparent body or gate shares its parent's path
    return out


def with_fields(network: ir.Network, records: list[Record]) -> list[Record]:
    """``records`` — rows the engine has just made for ``network``, not yet shared with anyone — with each row's
    receptive field filled in, in place (``dataclasses.replace`` on every row would cost a tenth of a large
    network's analysis)."""
    fields = network_fields(network)
    for record in records:
        object.__setattr__(record, "receptive", fields.get(record.path))
    return records


# ------------------------------------------------------------------------------------ a --module model's tensors

#: Container calls that keep their input's receptive field (``F.relu(x)``): the activation ops' names.
ACTIVATION_CALLS = frozenset(
    {"relu", "relu6", "leaky_relu", "tanh", "sigmoid", "softmax", "silu", "hardswish", "hardsigmoid", "gelu"}
)

#: Container calls that join the paths of their operands (``out + identity``, ``torch.cat``, ``x * gate``).
JOIN_CALLS = frozenset({"add", "iadd", "concat", "cat", "multiply", "mul", "imul"})


def op_field(op: str, args: Mapping[str, Any], in_shape: ir.Shape, rf: RF) -> RF | None:
    """The receptive field after registry op ``op`` (a ``--module`` row a reverse mapping describes), or None when
    its rule cannot say (arguments it does not know)."""
    definition = find_op(op)
    if definition is None:
        return None
    if len(in_shape) == 1 and rf.jump is not None:
        rf = flattened(rf, FLATTENED)
    try:
        rule = definition.implementation("receptive_field")
        return cast(RF, rule(MappingProxyType(dict(args)), in_shape, rf))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def row_field(calls: Sequence[RF | None]) -> RF | None:
    """A ``--module`` row's receptive field: the one every call of it had; None when a call's is unknown or the
    calls differ (a module run on different tensors)."""
    if not calls or calls[0] is None or any(c != calls[0] for c in calls[1:]):
        return None
    return calls[0]
