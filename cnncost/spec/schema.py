"""What a spec may contain, checked before anything is computed.

A spec is a mapping with these top-level keys (unknown keys are errors, with the closest valid key suggested):

    name         the network's name (the family's name when the file has variants)
    description  one line
    source       where the architecture and its figures come from
    input        [H, W, C] (expressions allowed), or [N] for a vector input
    variables    name: default — numbers, words or lists; strings are expressions over earlier variables
                 (in_channels, in_height, in_width, index and stride are reserved: cnncost sets them itself)
    variants     name: {description, variables, documented} — several networks from one definition
    blocks       name: {args: {arg: default or null (required)}, layers: [...]}
    layers       the network, one item per layer
    documented   figures the sources document, checked by ``cnncost check``

A layer item is either a bare word (``- relu``) or a mapping with exactly one *verb* — an op (``conv``), a block
defined under ``blocks`` (``bottleneck``), ``block`` (a block chosen by an expression: ``use: kind``) or a
combinator (``sequence``, ``repeat``, ``concat``, ``split``, ``residual``, ``scale``, ``join``, ``aux``) — plus
optional ``name``, ``when``, ``save`` (keep the item's output under a name, for a later ``join``) and ``flat``.

Names (``cnncost.spec.paths``) are identifiers (``conv1``) or whole numbers (``0``, as ``nn.Sequential`` numbers
its children); a repeat's ``names`` pattern may join words with hyphens (``block1-0``, as torchvision's RegNet
names its blocks): module paths follow PyTorch's wherever the structure allows. A ``numbered`` sequence, block or
concat names its layers 0, 1, 2, …; an item with ``flat: true`` adds no path level: what it holds is named in the
list it stands in.

Names are read as Python's parser reads them, in Unicode NFKC form (``cnncost.spec.names``): keys that fold to
one name are refused as duplicates.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any

from cnncost.errors import SpecError, kind_of, shown, suggest
from cnncost.frozen import frozen
from cnncost.ops import Field, get_op, is_op
from cnncost.spec.names import normal
from cnncost.spec.paths import is_layer_name, layer_name
from cnncost.spec.yamlsafe import LocList, LocMap, Pos

TOP_LEVEL: Mapping[str, str] = {
    "name": "the network's name",
    "description": "one line saying what it is",
    "source": "where the architecture comes from",
    "input": "[H, W, C]",
    "variables": "spec variables with defaults",
    "variants": "named networks sharing this definition",
    "blocks": "reusable named blocks",
    "layers": "the network",
    "documented": "figures documented by the sources",
}
VARIANT_KEYS: Mapping[str, str] = {
    "description": "one line",
    "variables": "variable values for this variant",
    "documented": "figures documented for this variant",
    "source": "where this variant comes from",
}
BLOCK_KEYS: Mapping[str, str] = {
    "args": "arguments with defaults",
    "layers": "the block's layers",
    "description": "",
    "numbered": "true: the block's layers are named 0, 1, 2, … (as nn.Sequential numbers them)",
}
ITEM_KEYS = ("name", "when", "save", "flat")

#: Names the resolver binds itself: every layer sees its input's shape, every repeat copy its index and stride.
SHAPE_NAMES = ("in_channels", "in_height", "in_width")
REPEAT_NAMES = ("index", "stride")
RESERVED = SHAPE_NAMES + REPEAT_NAMES

SHORTCUTS = (
    "identity",
    "projection",
    "zero-pad",
    "identity-or-projection",
    "identity-or-zero-pad",
    "identity-or-none",
    "none",
)

#: Arguments of the combinators, in the same Field language as ops.
COMBINATORS: Mapping[str, Mapping[str, Field]] = {
    "sequence": {
        "layers": Field("layers"),
        "numbered": Field("bool", False, help="name the layers 0, 1, 2, … (as nn.Sequential numbers them)"),
    },
    "repeat": {
        "times": Field("int", minimum=0, help="number of copies"),
        "stride": Field(
            "pair", None, help="bound to the variable 'stride' in the first copy, 1 in the others"
        ),
        "layers": Field("layers"),
        "names": Field(
            "template",
            None,
            help="the copies' names, {expressions} over 'index' filled in (e.g. denselayer{index + 1}); "
            "default: 0, 1, …",
        ),
    },
    "concat": {
        "branches": Field("branches", help="name: [layers] for each parallel branch ([] = identity)"),
        "numbered": Field("bool", False, help="name each branch's layers 0, 1, 2, …"),
        "inline": Field("bool", False, help="the branches add no path level: their layers are named side by side"),
    },
    "split": {
        "branches": Field("branches", help="name: [layers] for each slice of the channels, in order ([] = identity)"),
        "sizes": Field("sizes", None, help="channels of each slice, summing to the input's; default: equal slices"),
        "numbered": Field("bool", False, help="name each branch's layers 0, 1, 2, …"),
        "inline": Field("bool", False, help="the branches add no path level: their layers are named side by side"),
    },
    "residual": {
        "layers": Field("layers"),
        "shortcut": Field("enum", "identity", help=" | ".join(SHORTCUTS)),
        "shortcut_bn": Field("bool", False, help="batchnorm after a projection shortcut"),
        "activation": Field("activation", None, help="activation after the addition, e.g. relu"),
        "shortcut_name": Field("name", "shortcut", help="the shortcut's name (torchvision: downsample, proj)"),
        "shortcut_numbered": Field(
            "bool", False, help="name the shortcut's layers 0, 1 (torchvision) rather than conv, bn (or pad)"
        ),
        "shortcut_first": Field(
            "bool", False, help="the shortcut's layers come before the body's (torchvision's RegNet: proj, then f)"
        ),
    },
    "scale": {"layers": Field("layers", help="the gate g: the output is x · g(x)")},
    "join": {
        "with": Field("names", help="the saved tensor(s) to join with the current one: a name or [names]"),
        "mode": Field("join_mode", "concat", help="concat (on channels, saved tensors first) | add"),
        "crop": Field("bool", False, help="centre-crop each saved tensor to the current height and width first"),
        "layers": Field("layers", None, help="layers applied to each saved tensor before the join (e.g. a 1×1 conv)"),
    },
    "aux": {"layers": Field("layers", help="the side head, run on the current tensor in training only")},
}
BLOCK_VERB = "block"

#: What each combinator does, for ``cnncost ops``.
COMBINATOR_SUMMARIES: Mapping[str, str] = {
    "sequence": "a named group of layers, one after another",
    "repeat": "copies of its layers; 'stride' applies to the first copy only, 'index' numbers the copies",
    "concat": "parallel branches on the same input, joined on channels (Inception)",
    "split": "the channels cut into consecutive slices, one branch on each, joined on channels (ShuffleNet V2)",
    "residual": "body(x) + shortcut(x), then the activation (ResNet)",
    "scale": "x · gate(x): squeeze-and-excitation",
    "join": "the current tensor joined with tensors kept by 'save: NAME' earlier: U-Net's skips, FPN's merges",
    "aux": "a side head that runs only in training (auxiliary classifier), left out of the inference totals",
}


@frozen
class Combinator:
    """A combinator as ``cnncost ops`` lists it beside the ops (the same name, category, summary and fields)."""

    name: str
    summary: str
    fields: Mapping[str, Field]
    category: str = "combinator"


def combinators() -> list[Combinator]:
    """Every combinator with its arguments, in the order a spec's reader would meet them."""
    return [Combinator(name, COMBINATOR_SUMMARIES[name], fields) for name, fields in COMBINATORS.items()]


@frozen
class Item:
    """One layer item, taken apart: its verb, its argument mapping and where each piece is."""

    verb: str
    body: Mapping[str, Any]
    name: str | None
    when: Any
    pos: Pos
    body_pos: Pos
    arg_pos: Mapping[str, Pos]
    save: str | None = None
    flat: bool = False


#: Combinators that cannot be flat (a residual's and a scale's body is transparent already: its layers sit directly
#: under the combinator's own name).
OPS_WITHOUT_LEVEL = ("residual", "scale")


def pos_of(container: Any, key: Any, default: Pos) -> Pos:
    if isinstance(container, LocMap):
        return container.value_pos.get(key, default)
    if isinstance(container, LocList) and isinstance(key, int) and 0 <= key < len(container.item_pos):
        return container.item_pos[key]
    return default


def key_pos(container: Any, key: str, default: Pos) -> Pos:
    if isinstance(container, LocMap):
        return container.key_pos.get(key, default)
    return default


def fail(
    message: str, *, file: str | None, pos: Pos | None, path: str | None = None, hint: str | None = None
) -> SpecError:
    line, col = pos if pos else (None, None)
    return SpecError(message, file=file, line=line, column=col, path=path, hint=hint)


def check_keys(
    mapping: Mapping[str, Any],
    allowed: Mapping[str, Any] | tuple[str, ...],
    *,
    what: str,
    file: str | None,
    spec_path: str,
) -> None:
    for key in mapping:
        if key not in allowed:
            pos = key_pos(mapping, key, getattr(mapping, "pos", (0, 0)))
            split = _split_expression(mapping, key)
            message = f"unknown key '{key}' in {what}"
            hint = suggest(key, allowed) or "allowed: " + ", ".join(allowed)
            if split:
                message += ": YAML split an unquoted expression at its comma"
                hint = f"quote the expression: {split}"
            raise fail(message, file=file, pos=pos, path=spec_path or None, hint=hint)


def _split_expression(mapping: Mapping[str, Any], key: str) -> str | None:
    """``{out: max(1, 16 // 4)}`` reads in YAML as ``out: 'max(1'`` and a key ``16 // 4)``: when an unknown key
    closes a bracket that the value before it opened, the two pieces are one expression, written back quoted."""
    keys = list(mapping)
    at = keys.index(key)
    if at == 0 or not any(c in key for c in ")]"):
        return None
    before, value = keys[at - 1], mapping[keys[at - 1]]
    if not isinstance(value, str):
        return None
    opened = value.count("(") + value.count("[") - value.count(")") - value.count("]")
    return f"{before}: '{value}, {key}'" if opened > 0 else None


def split_item(raw: Any, pos: Pos, *, file: str | None, spec_path: str) -> Item:
    """Take a layer item apart, or say in one line what is wrong with it."""
    if isinstance(raw, str):
        return Item(normal(raw), {}, None, None, pos, pos, {})
    if not isinstance(raw, Mapping):
        raise fail(
            f"a layer must be an op name or a mapping, not {kind_of(raw)} ({shown(raw)})",
            file=file,
            pos=pos,
            path=spec_path,
            hint="write e.g. '- relu' or '- conv: {out: 64, kernel: 3}'",
        )
    verbs = [k for k in raw if k not in ITEM_KEYS]
    if len(verbs) != 1:
        found = ", ".join(f"'{v}'" for v in verbs) or "none"
        raise fail(
            f"a layer needs exactly one op, block or combinator, found {found}",
            file=file,
            pos=pos,
            path=spec_path,
            hint="put each op in its own list item ('- conv: …' then '- relu')",
        )
    verb = verbs[0]
    body = raw[verb]
    body_pos = pos_of(raw, verb, pos)
    if body is None:
        body = {}
    if verb == "sequence" and isinstance(body, list):
        wrapped = LocMap(layers=body)
        wrapped.pos, wrapped.key_pos, wrapped.value_pos = body_pos, {"layers": body_pos}, {"layers": body_pos}
        body = wrapped
    if not isinstance(body, Mapping):
        raise fail(
            f"the arguments of '{verb}' must be a mapping, not {shown(body)}",
            file=file,
            pos=body_pos,
            path=spec_path,
            hint=f"write '{verb}: {{arg: value, …}}'",
        )
    name = raw.get("name")
    if name is not None:
        name = layer_name(name)
        if name is None:
            raise fail(
                f"layer name {shown(raw.get('name'))} is not a plain identifier (nor a whole number)",
                file=file,
                pos=pos_of(raw, "name", pos),
                path=spec_path,
                hint="use letters, digits and underscores, starting with a letter (e.g. conv1), or a number (e.g. 0)",
            )
    flat = raw.get("flat", False)
    if not isinstance(flat, bool):
        raise fail(
            f"'flat' must be true or false, got {shown(flat)}",
            file=file,
            pos=pos_of(raw, "flat", pos),
            path=spec_path,
            hint="write flat: true (the item adds no path level) or leave it out",
        )
    if flat and name is not None:
        raise fail(
            f"a flat item has no name of its own, but this one is named '{name}'",
            file=file,
            pos=pos_of(raw, "name", pos),
            path=spec_path,
            hint="remove 'name' (its layers are named in the list it stands in) or remove 'flat: true'",
        )
    if flat and (verb in OPS_WITHOUT_LEVEL or is_op(verb)):
        raise fail(
            f"'flat' applies to a block, sequence, repeat or concat, not to '{verb}'",
            file=file,
            pos=pos_of(raw, "flat", pos),
            path=spec_path,
            hint="a single layer is one name in its list already: remove 'flat: true'",
        )
    save = raw.get("save")
    if save is not None and (not isinstance(save, str) or not save.isidentifier()):
        raise fail(
            f"'save' needs a plain name for the tensor, not {shown(save)}",
            file=file,
            pos=pos_of(raw, "save", pos),
            path=spec_path,
            hint="e.g. save: enc1 (letters, digits and underscores, starting with a letter)",
        )
    arg_pos = dict(body.value_pos) if isinstance(body, LocMap) else {}
    return Item(
        verb, body, name, raw.get("when"), pos, body_pos, arg_pos, save=normal(save) if save else None, flat=flat
    )


def fields_for(verb: str, blocks: Mapping[str, Any]) -> Mapping[str, Field] | None:
    """The argument fields of an op or combinator; None for block calls (checked against the block's args)."""
    if verb in COMBINATORS:
        return COMBINATORS[verb]
    if is_op(verb):
        return get_op(verb).fields
    return None


def unknown_verb(
    verb: str, blocks: Mapping[str, Any], *, file: str | None, pos: Pos, spec_path: str
) -> SpecError:
    from cnncost.ops import op_names

    choices = [*op_names(), *COMBINATORS, *blocks, BLOCK_VERB]
    return fail(
        f"unknown op or block '{verb}'",
        file=file,
        pos=pos,
        path=spec_path,
        hint=suggest(verb, choices) or "see 'cnncost ops' for the ops, or define it under 'blocks'",
    )


def check_document(doc: Any, *, file: str | None) -> None:
    """Structural checks over the whole document, including blocks no layer uses and block cycles."""
    if not isinstance(doc, Mapping):
        raise fail(
            f"the top level of a spec must be a mapping, not {kind_of(doc)}",
            file=file,
            pos=getattr(doc, "pos", (1, 1)),
            hint="start with 'name: …', 'input: […]', 'layers: […]'",
        )
    check_keys(doc, TOP_LEVEL, what="the spec", file=file, spec_path="")
    for required in ("name", "input", "layers"):
        if required not in doc:
            raise fail(
                f"the spec has no '{required}'",
                file=file,
                pos=doc.pos if isinstance(doc, LocMap) else None,
                hint=f"add '{required}: …' ({TOP_LEVEL[required]})",
            )
    for key in ("name", "description", "source"):
        if key in doc and not isinstance(doc[key], str):
            raise fail(
                f"'{key}' must be text, not {kind_of(doc[key])}",
                file=file,
                pos=pos_of(doc, key, (1, 1)),
                path=key,
                hint=f'quote it: {key}: "…"',
            )
    for key in ("variables", "variants", "blocks"):
        if key in doc and not isinstance(doc[key], Mapping):
            raise fail(
                f"'{key}' must be a mapping of name: value", file=file, pos=pos_of(doc, key, (1, 1)), path=key
            )
    for name in doc.get("variables") or {}:
        if name in RESERVED or keyword.iskeyword(name):
            what = "a word of the expression language" if keyword.iskeyword(name) else "set by cnncost itself"
            raise fail(
                f"variable '{name}' is a reserved name ({what}), which would silently replace it",
                file=file,
                pos=key_pos(doc["variables"], name, (1, 1)),
                path="variables",
                hint="rename it; reserved: " + ", ".join(RESERVED) + " (the layer's input shape, a repeat copy's "
                "index and stride) and Python's keywords",
            )
    blocks: Mapping[str, Any] = doc.get("blocks") or {}
    for name, variant in (doc.get("variants") or {}).items():
        spec_path = f"variants.{name}"
        if not isinstance(variant, Mapping):
            raise fail(
                "a variant must be a mapping",
                file=file,
                pos=pos_of(doc["variants"], name, (1, 1)),
                path=spec_path,
            )
        check_keys(variant, VARIANT_KEYS, what=f"variant '{name}'", file=file, spec_path=spec_path)
        if "variables" in variant and not isinstance(variant["variables"], Mapping):
            raise fail(
                "'variables' must be a mapping",
                file=file,
                pos=pos_of(variant, "variables", (1, 1)),
                path=spec_path,
            )
    for name, block in blocks.items():
        spec_path = f"blocks.{name}"
        bpos = pos_of(blocks, name, (1, 1))
        if not name.isidentifier():
            raise fail(f"block name '{name}' is not a plain identifier", file=file, pos=bpos, path=spec_path)
        if is_op(name) or name in COMBINATORS or name == BLOCK_VERB:
            raise fail(
                f"block name '{name}' is already the name of an op or combinator",
                file=file,
                pos=bpos,
                path=spec_path,
                hint="choose another name",
            )
        if not isinstance(block, Mapping):
            raise fail(
                "a block must be a mapping with 'args' and 'layers'", file=file, pos=bpos, path=spec_path
            )
        check_keys(block, BLOCK_KEYS, what=f"block '{name}'", file=file, spec_path=spec_path)
        if "layers" not in block:
            raise fail(
                f"block '{name}' has no 'layers'",
                file=file,
                pos=bpos,
                path=spec_path,
                hint="add 'layers: […]'",
            )
        if "args" in block and not isinstance(block["args"], Mapping):
            raise fail(
                "'args' must be a mapping of argument: default (null when required)",
                file=file,
                pos=pos_of(block, "args", bpos),
                path=spec_path,
            )
        for arg in block.get("args") or {}:
            if arg in SHAPE_NAMES:
                # a repeat inside the block may rebind 'index' and 'stride' (that is how it passes them on), but
                # the input's shape is rebound at every layer: such an argument would never be seen
                raise fail(
                    f"argument '{arg}' of block '{name}' is a reserved name: every layer sets it to its input's "
                    "shape",
                    file=file,
                    pos=key_pos(block["args"], arg, bpos),
                    path=f"{spec_path}.args",
                    hint=f"rename it; reserved: {', '.join(SHAPE_NAMES)} (read them, don't pass them)",
                )
        check_layers(block["layers"], blocks, file=file, spec_path=f"{spec_path}.layers", pos=bpos)
    check_layers(doc["layers"], blocks, file=file, spec_path="layers", pos=pos_of(doc, "layers", (1, 1)))
    _check_cycles(blocks, file=file)


def check_layers(raw: Any, blocks: Mapping[str, Any], *, file: str | None, spec_path: str, pos: Pos) -> None:
    if not isinstance(raw, list) or not raw:
        raise fail(
            "'layers' must be a non-empty list of layers",
            file=file,
            pos=pos,
            path=spec_path,
            hint="write one '- op: {…}' line per layer",
        )
    for i, entry in enumerate(raw):
        item_path = f"{spec_path}[{i}]"
        item = split_item(entry, pos_of(raw, i, pos), file=file, spec_path=item_path)
        here = f"{item_path}.{item.verb}"
        if item.verb == BLOCK_VERB:
            if "use" not in item.body:
                raise fail(
                    "'block' needs 'use: <block name or variable>'",
                    file=file,
                    pos=item.body_pos,
                    path=here,
                )
            continue
        fields = fields_for(item.verb, blocks)
        if fields is None:
            if item.verb not in blocks:
                raise unknown_verb(item.verb, blocks, file=file, pos=item.pos, spec_path=item_path)
            block = blocks[item.verb]
            args = block.get("args") or {} if isinstance(block, Mapping) else {}
            check_keys(item.body, args, what=f"the call of block '{item.verb}'", file=file, spec_path=here)
            continue
        check_keys(item.body, fields, what=f"'{item.verb}'", file=file, spec_path=here)
        for key, field in fields.items():
            if field.required and key not in item.body:
                raise fail(
                    f"'{item.verb}' needs '{key}'",
                    file=file,
                    pos=item.body_pos,
                    path=here,
                    hint=f"add {key}: … ({field.help})" if field.help else f"add {key}: …",
                )
        for key, field in fields.items():
            if key not in item.body:
                continue
            value = item.body[key]
            vpos = item.arg_pos.get(key, item.body_pos)
            if field.kind == "layers":
                check_layers(value, blocks, file=file, spec_path=f"{here}.{key}", pos=vpos)
            elif field.kind == "branches":
                if not isinstance(value, Mapping) or not value:
                    raise fail(
                        "'branches' must be a mapping of branch name: [layers]",
                        file=file,
                        pos=vpos,
                        path=f"{here}.branches",
                        hint="e.g. branches: {b1x1: [conv: {out: 64, kernel: 1}], …}",
                    )
                for bname, branch in value.items():
                    if not is_layer_name(bname):
                        raise fail(
                            f"branch name '{bname}' is not a plain identifier (nor a whole number)",
                            file=file,
                            pos=key_pos(value, bname, vpos),
                            path=f"{here}.branches",
                        )
                    if isinstance(branch, list) and not branch:
                        continue  # an empty branch is the identity (on its slice, for a split)
                    check_layers(
                        branch,
                        blocks,
                        file=file,
                        spec_path=f"{here}.branches.{bname}",
                        pos=pos_of(value, bname, vpos),
                    )


def _calls(raw: Any) -> set[str]:
    """Block names called (statically) anywhere inside a layer list."""
    found: set[str] = set()
    if isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, str):
                found.add(normal(entry))
            elif isinstance(entry, Mapping):
                for key, value in entry.items():
                    if key in ITEM_KEYS:
                        continue
                    found.add(key)
                    if isinstance(value, Mapping):
                        for inner in value.values():
                            found |= _calls(inner)
                            if isinstance(inner, Mapping):
                                for branch in inner.values():
                                    found |= _calls(branch)
                    elif isinstance(value, list):
                        found |= _calls(value)
    return found


def _check_cycles(blocks: Mapping[str, Any], *, file: str | None) -> None:
    graph = {name: _calls(block.get("layers")) & set(blocks) for name, block in blocks.items()}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " → ".join([*trail[trail.index(name) :], name])
            raise fail(
                f"blocks call each other in a cycle: {cycle}",
                file=file,
                pos=pos_of(blocks, name, (1, 1)),
                path=f"blocks.{name}",
                hint="a block cannot contain itself; use 'repeat' for repetition",
            )
        state[name] = 1
        for callee in sorted(graph[name]):
            visit(callee, [*trail, name])
        state[name] = 2

    for name in sorted(graph):
        visit(name, [])
