"""Resolve a checked spec into the IR: evaluate variables, expand blocks and repeats, infer every shape.

Shape rules come from the op registry (``cnncost.ops``); this module only walks the spec, keeps scopes
and names, and attaches locations to every error. Arguments are read through the table of readers
(``cnncost.spec.readers``); every located error is raised through one ``At`` (``cnncost.spec.located``).

The resolver is one object in layers, each a class that reads on its own:

    _Reading       the document, the work budget, evaluating expressions
    _Variables     the spec's variables, with the variant's and the caller's values
    _Items         layer lists, items, their arguments, ops and block calls
    _Combinators   sequence, repeat, concat, split, residual, scale, join (with ``save``), aux
    Resolver       the network: its input and its root
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any

from cnncost import ir, limits
from cnncost.errors import CnnCostError, LimitError, ShapeError, SpecError, UsageError, kind_of, shown, suggest
from cnncost.ops import Field, get_op
from cnncost.spec.expr import evaluate_counted, names_in
from cnncost.spec.located import At
from cnncost.spec.names import normal
from cnncost.spec.paths import layer_name, number_of
from cnncost.spec.readers import READERS, read_int
from cnncost.spec.schema import (
    BLOCK_VERB,
    COMBINATORS,
    SHAPE_NAMES,
    Item,
    check_document,
    fields_for,
    pos_of,
    split_item,
    unknown_verb,
)
from cnncost.spec.scope import Scope
from cnncost.spec.yamlsafe import Pos

_new_at = tuple.__new__  # At.of, inlined in _Reading._at


def _fmt(shape: ir.Shape) -> str:
    return "×".join(str(d) for d in shape)


def _whole_stride(shape: ir.Shape, out: ir.Shape) -> int | None:
    """The smallest stride s with ceil(H/s) = H_out and ceil(W/s) = W_out (what a strided 1×1 shortcut gives),
    or None. ceil(n/s) = o holds exactly for n/o ≤ s < n/(o − 1), so this is an intersection of two ranges."""
    low, high = 1, None
    for n, o in ((shape[0], out[0]), (shape[1], out[1])):
        if o < 1:
            return None
        low = max(low, -(-n // o))
        if o > 1:
            top = (n - 1) // (o - 1)
            high = top if high is None else min(high, top)
    return low if high is None or low <= high else None


def _spliced(node: ir.Node, path: str) -> tuple[ir.Node, ...]:
    """What a flat item adds to the list at ``path``: a group at that same path (a flat block, sequence or repeat)
    gives its children; anything else (a flat concat, which does the joining) is itself a node of the list."""
    if isinstance(node, ir.Sequence) and node.path == path:
        return node.children
    return (node,)


def _absurd(shape: ir.Shape) -> bool:
    """Whether an activation is too large to mean anything (``limits.MAX_DIMENSION``, ``MAX_ELEMENTS``)."""
    return any(d > limits.MAX_DIMENSION for d in shape) or math.prod(shape) > limits.MAX_ELEMENTS


def _absurd_error(shape: ir.Shape, at: At) -> CnnCostError:
    return at.error(
        f"the activation {_fmt(shape)} is absurdly large",
        hint=f"keep each dimension at most {limits.MAX_DIMENSION:,}",
        cls=LimitError,
    )


def _shortcut_advice(shape: ir.Shape, out: ir.Shape) -> str:
    """Which shortcut would make a residual of these shapes add up, in the course's terms (W_s)."""
    stride = _whole_stride(shape, out)
    if stride is None:
        return (
            f"no shortcut fits: {shape[0]}×{shape[1]} cannot become {out[0]}×{out[1]} by a whole stride; "
            "change the block's strides or padding"
        )
    strided = f" with stride {stride}" if stride > 1 else ""
    projection = f"'shortcut: projection' (a learned 1×1 conv{strided}, W_s)"
    if out[2] < shape[2]:
        return f"use {projection}; zero padding cannot remove channels ({shape[2]} → {out[2]})"
    if stride > 1:
        zero_pad = f"'shortcut: zero-pad' (fixed: subsample by {stride}, pad channels with zeros)"
    else:
        zero_pad = "'shortcut: zero-pad' (fixed: pad channels with zeros)"
    return f"use {projection} or {zero_pad}"


class _Later:
    """A location made only when an error needs it (``_Names.take`` runs once per layer item)."""

    __slots__ = ("make", "path", "pos")

    def __init__(self, make: Callable[[Pos | None, str | None], At], pos: Pos, path: str) -> None:
        self.make, self.pos, self.path = make, pos, path

    def __call__(self) -> At:
        return self.make(self.pos, self.path)


class _Names:
    """The names of one list's layers: explicit, automatic (``conv1``, ``relu2``: the op and its count) or, in a
    ``numbered`` list, 0, 1, 2, … (an explicit number moves the count on, as a gap in ``nn.Sequential`` would).
    Flat items share the list's names with what they hold, so the names stay unique across them."""

    def __init__(self, numbered: bool, reserved: tuple[str, ...] = ()) -> None:
        self.numbered = numbered
        self.used: set[str] = set(reserved)
        self.counts: dict[str, int] = {}
        self.next = 0

    def take(self, explicit: str | None, verb: str, at: Callable[[], At], *, what: str = "layers") -> str:
        """The next name (``explicit`` if given); ``at`` locates an error (called only then: this runs per item)."""
        if explicit is None:
            if self.numbered:
                name = str(self.next)
                self.next += 1
            else:
                count = self.counts[verb] = self.counts.get(verb, 0) + 1
                name = f"{verb}{count}"
            if name not in self.used:  # the common case, kept short: a spec may have 50,000 layers
                self.used.add(name)
                return name
        else:
            name = explicit
            number = number_of(name)
            if number is not None:
                self.next = max(self.next, number + 1)
            elif self.numbered:
                raise at().error(
                    f"this list is numbered (its layers are named 0, 1, 2, …), but a layer is named '{name}'",
                    hint="remove the name, give a number, or drop 'numbered' from the list",
                )
        if name in self.used:
            raise at().error(f"two {what} in the same list are named '{name}'", hint="give one of them another 'name'")
        self.used.add(name)
        return name


class _Ctx:
    """Where we are while resolving: the spec path, the module path, the variables in scope, and how the list
    resolved here names its layers: ``numbered``, or the ``names`` of an enclosing list (a flat item's)."""

    def __init__(
        self,
        spec_path: str,
        path: str,
        scope: Scope,
        depth: int,
        *,
        names: _Names | None = None,
        numbered: bool = False,
    ) -> None:
        self.spec_path = spec_path
        self.path = path
        self.scope = scope
        self.depth = depth
        self.names = names
        self.numbered = numbered

    def inner(
        self, spec_path: str, scope: Scope | None = None, *, depth: int | None = None, numbered: bool = False
    ) -> _Ctx:
        """The context of a list at this same path (a combinator's layers, a block's body): it inherits a flat
        item's names."""
        return _Ctx(
            spec_path,
            self.path,
            self.scope if scope is None else scope,
            self.depth if depth is None else depth,
            names=self.names,
            numbered=numbered,
        )


def _misspelt_variable(exc: SpecError, raw: Any, scope: Mapping[str, Any]) -> SpecError:
    """A bare word a reader could not use, that is close to a variable's name (``out: widht``), is most likely
    that variable misspelt: say so, rather than only what kind of value was expected."""
    word = raw.strip() if isinstance(raw, str) else ""
    if exc.hint is None and word.isidentifier() and word not in scope:
        close = suggest(word, scope)
        if close is not None:
            exc.message += f" ('{word}' is not a variable)"
            exc.hint = close
            exc.args = (exc.one_line(),)
    return exc


class _Watched(dict[str, Any]):
    """A repeat copy's own variables (``index``, ``stride``), remembering which of them were read."""

    def __init__(self, **names: Any) -> None:
        super().__init__(names)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


class _Reading:
    """The document, the work it costs to expand, and expressions evaluated over a scope."""

    #: Copies 2… of a repeat whose copies are alike are copy 1 under another path (``_copies_alike``); the tests
    #: switch it off to hold the two ways to the same network.
    reuse_copies = True

    def __init__(self, doc: Mapping[str, Any], *, file: str | None, variant: str | None = None) -> None:
        check_document(doc, file=file)
        self.doc = doc
        self.file = file
        self.blocks: Mapping[str, Any] = doc.get("blocks") or {}
        variants: Mapping[str, Any] = doc.get("variants") or {}
        if variant is not None and variant not in variants:
            raise At(file).error(
                f"no variant '{variant}' in this spec",
                hint=suggest(variant, variants) or ("variants: " + ", ".join(variants) if variants else None),
            )
        self.variant = variant
        self.variant_doc: Mapping[str, Any] = variants.get(variant, {}) if variant else {}
        self.layer_count = 0
        self.variable_names = frozenset(doc.get("variables") or {})
        self.work = 0  # items expanded, copies, calls, argument bindings, expression nodes (limits.MAX_WORK)
        self._items: dict[int, Item] = {}
        self._index_use: dict[int, bool] = {}
        self.saved: dict[str, ir.Save] = {}  # tensors kept so far by 'save: NAME', in execution order
        self.aux_depth = 0  # > 0 while resolving a training-only head

    def _at(self, pos: Pos | None, path: str | None) -> At:
        """The location of a YAML position in this file (``At.of``, without its call: one per argument read)."""
        if pos:
            return _new_at(At, (self.file, pos[0], pos[1], path))
        return _new_at(At, (self.file, None, None, path))

    def _at_node(self, where: ir.Where, path: str) -> At:
        """The location of a node being built: its item's line and column, its module path."""
        return At(self.file, where.line, where.column, path)

    def _spend(self, steps: int, at: At) -> None:
        """Count expansion work against ``limits.MAX_WORK``: what is switched off or empty costs time too."""
        self.work += steps
        if self.work > limits.MAX_WORK:
            raise self._too_much_work(at)

    @staticmethod
    def _too_much_work(at: At) -> CnnCostError:
        return at.error(
            f"the network expands to more than {limits.MAX_WORK:,} steps of work (layer items, also those "
            "switched off by 'when', repeat copies, block calls, arguments and expression terms)",
            hint="check 'times' of repeats, the depth variables and blocks that call blocks",
            cls=LimitError,
        )

    def _eval(self, text: str, scope: Mapping[str, Any], at: At) -> Any:
        try:
            value, steps = evaluate_counted(text, scope)
            self._spend(steps, at)
            return value
        except CnnCostError as exc:
            raise at.locate(exc) from None

    def _value(self, scope: Mapping[str, Any], at: At, raw: Any) -> Any:
        """A literal as is; a string evaluated as an expression over ``scope``; lists element by element.
        ``partial(self._value, scope, at)`` is what a reader gets to evaluate with (``readers.Evaluate``)."""
        if isinstance(raw, str):
            return self._eval(raw, scope, at)
        if isinstance(raw, list):
            return [self._value(scope, at, v) for v in raw]
        return raw

    def _check_shape(self, shape: ir.Shape, at: At) -> None:
        if _absurd(shape):
            raise _absurd_error(shape, at)


class _Variables(_Reading):
    """The spec's variables, in order, with the variant's and the caller's values substituted."""

    def variables(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Evaluate the spec's variables in order, with the variant's and the caller's values substituted."""
        declared: Mapping[str, Any] = self.doc.get("variables") or {}
        chosen: dict[str, tuple[Any, Pos | None, str]] = {}
        for name, value in declared.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise self._at(pos_of(declared, name, (1, 1)), "variables").error(
                    f"variable name {shown(name)} is not a plain identifier"
                )
            chosen[name] = (value, pos_of(declared, name, (1, 1)), f"variables.{name}")
        variant_vars: Mapping[str, Any] = self.variant_doc.get("variables") or {}
        for name, value in variant_vars.items():
            if name not in chosen:
                raise self._at(pos_of(variant_vars, name, (1, 1)), f"variants.{self.variant}.variables").error(
                    f"variant '{self.variant}' sets '{name}', which the spec does not declare",
                    hint=suggest(name, chosen) or "declare it under 'variables' with a default",
                )
            chosen[name] = (
                value,
                pos_of(variant_vars, name, (1, 1)),
                f"variants.{self.variant}.variables.{name}",
            )
        if overrides is not None and not isinstance(overrides, Mapping):
            raise TypeError(f"variables must be a mapping of name to value, not {type(overrides).__name__}")
        given: dict[str, str] = {}  # each override's name as the caller wrote it
        in_file = At(self.file)
        for written, value in (overrides or {}).items():
            if not isinstance(written, str):
                raise TypeError(f"variable names are strings, not {written!r}")
            name = normal(written)
            if name in given:
                raise in_file.error(
                    f"--set {given[name]} and --set {written} are the same name after Unicode normalization",
                    hint="set it once",
                    cls=UsageError,
                )
            given[name] = written
            if name not in chosen:
                raise in_file.error(
                    f"--set {written}: this network has no variable '{written}'",
                    hint=suggest(name, chosen) or ("its variables: " + ", ".join(chosen) if chosen else "it has none"),
                    cls=UsageError,
                )
            chosen[name] = (value, None, f"--set {name}")
        scope: dict[str, Any] = {}
        for name, (value, pos, where) in chosen.items():
            try:
                scope[name] = self._variable(name, value, self._at(pos, where), scope, declared=chosen)
            except CnnCostError as exc:
                if where.startswith("--set") and not isinstance(exc, UsageError):
                    # the value came from the command line: bad usage (exit 2), said in the same words
                    message = f"{where}={shown(value)}: {exc.message}"
                    raise in_file.error(message, hint=exc.hint, cls=UsageError) from None
                raise
        return scope

    def _variable(self, name: str, value: Any, at: At, scope: Mapping[str, Any], *, declared: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            # names declared but not yet defined: this one and the ones after it (each check costs its names only)
            used_later = {n for n in names_in(value) if n in declared and n not in scope}
            if used_later:
                raise at.error(
                    f"variable '{name}' uses '{sorted(used_later)[0]}' before it is defined",
                    hint="define variables before the ones that use them",
                )
            text = value
            value = self._eval(value, scope, at)
            if value == text and at.line is None and not text.strip().replace("-", "_").isidentifier():
                raise at.error(
                    f"cannot read {shown(text)} as a number, a word or an expression",
                    hint="e.g. --set width=0.5, --set block=basic, --set 'depths=[2, 2, 2, 2]'",
                )
        return self._plain(value, at)

    def _plain(self, value: Any, at: At) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                raise at.error("a variable must be a finite number")
            if isinstance(value, int) and abs(value) > limits.MAX_INT:
                raise at.error("the value is absurdly large")
            return value
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self._plain(v, at) for v in value]
        raise at.error(f"a variable must be a number, a word or a list, not {kind_of(value)}")


class _Items(_Variables):
    """Layer lists, their items and arguments, the ops they name and the blocks they call."""

    def _layers(
        self, raw: Any, shape: ir.Shape, ctx: _Ctx, pos: Pos, *, reserved: tuple[str, ...] = ()
    ) -> tuple[tuple[ir.Node, ...], ir.Shape]:
        nodes: list[ir.Node] = []
        names = ctx.names if ctx.names is not None else _Names(ctx.numbered)
        names.used.update(reserved)
        for i, entry in enumerate(raw):
            spec_path = f"{ctx.spec_path}[{i}]"
            item_pos = pos_of(raw, i, pos)
            self.work += 1  # what _spend does, without building a location for every item
            if self.work > limits.MAX_WORK:
                raise self._too_much_work(self._at(item_pos, spec_path))
            item = self._split_item(entry, item_pos, spec_path)
            scope = self._scope_with_shape(ctx.scope, shape)
            if not self._when(item, scope, spec_path):
                continue
            verb, body, block_name = self._verb(item, scope, spec_path)
            if item.flat:
                # no level of its own: what it holds is named in this list, at this list's path
                child = _Ctx(f"{spec_path}.{verb}", ctx.path, scope, ctx.depth, names=names)
                node = self._item(item, verb, body, block_name, "", shape, child)
                spliced = _spliced(node, ctx.path)
                nodes.extend(spliced)
                produced = spliced[-1] if spliced else node
            else:
                if item.name is None and not names.numbered:  # take()'s common case, inline: it runs per item
                    count = names.counts[verb] = names.counts.get(verb, 0) + 1
                    name = f"{verb}{count}"
                    if name in names.used:
                        raise self._at(item.pos, spec_path).error(
                            f"two layers in the same list are named '{name}'", hint="give one of them another 'name'"
                        )
                    names.used.add(name)
                else:
                    name = names.take(item.name, verb, _Later(self._at, item.pos, spec_path))
                child = _Ctx(f"{spec_path}.{verb}", ir.join_path(ctx.path, name), scope, ctx.depth)
                node = self._item(item, verb, body, block_name, name, shape, child)
                nodes.append(node)
                produced = node
            if item.save is not None:
                nodes.append(self._save(item, produced, spec_path))
            shape = node.out_shape
        return tuple(nodes), shape

    def _save(self, item: Item, node: ir.Node, spec_path: str) -> ir.Save:
        """Keep ``node``'s output under the item's ``save`` name: once per network, never inside an aux head."""
        assert item.save is not None
        name = item.save
        at = self._at(item.pos, f"{spec_path}.save")
        if self.aux_depth:
            raise at.error(
                f"'{name}' is saved inside a training-only aux head, which does not run at inference",
                hint="save the tensor on the main path, before the aux head branches off",
            )
        earlier = self.saved.get(name)
        if earlier is not None:
            first = f"line {earlier.where.line}" if earlier.where.line else earlier.where.spec_path
            raise at.error(
                f"the tensor name '{name}' is saved twice: first by '{earlier.source}' ({first}), again by "
                f"'{node.path}'",
                hint="save each tensor under its own name (a block or repeat that saves runs once per name)",
            )
        marker = ir.Save(name, node.path, node.out_shape, ir.Where(self.file, at.line, at.column, f"{spec_path}.save"))
        self.saved[name] = marker
        return marker

    def _when(self, item: Item, scope: Mapping[str, Any], spec_path: str) -> bool:
        """Whether an item is present: its ``when`` condition, which must be true or false."""
        if item.when is None:
            return True
        cond = self._value(scope, self._at(item.pos, f"{spec_path}.when"), item.when)
        if not isinstance(cond, bool):
            raise self._at(item.pos, spec_path).error(
                f"'when' must be true or false, got {shown(cond)}",
                hint="write a comparison, e.g. when: stride == 1",
            )
        return cond

    def _split_item(self, entry: Any, pos: Pos, spec_path: str) -> Item:
        """``split_item``, once per mapping of the document: repeats and blocks resolve the same items again and
        again (ResNet-1202 has 600 copies of one block)."""
        if not isinstance(entry, Mapping):
            return split_item(entry, pos, file=self.file, spec_path=spec_path)
        key = id(entry)
        if key not in self._items:
            self._items[key] = split_item(entry, pos, file=self.file, spec_path=spec_path)
        return self._items[key]

    def _scope_with_shape(self, scope: Scope, shape: ir.Shape) -> Scope:
        extra = (
            dict(zip(SHAPE_NAMES, (shape[2], shape[0], shape[1]), strict=True))
            if len(shape) == 3
            else {"in_channels": shape[0]}
        )
        return Scope(extra, scope)

    def _verb(self, item: Item, scope: Mapping[str, Any], spec_path: str) -> tuple[str, Mapping[str, Any], str | None]:
        """The effective verb: for ``block: {use: …}`` the block the expression names."""
        if item.verb != BLOCK_VERB:
            return item.verb, item.body, (item.verb if item.verb in self.blocks else None)
        use_pos = item.arg_pos.get("use", item.body_pos)
        target = self._value(scope, self._at(use_pos, f"{spec_path}.block.use"), item.body["use"])
        if not isinstance(target, str) or target not in self.blocks:
            raise self._at(use_pos, f"{spec_path}.block").error(
                f"'use' names no block: {shown(target)}",
                hint=suggest(str(target), self.blocks) or "define it under 'blocks'",
            )
        body = {k: v for k, v in item.body.items() if k != "use"}
        return target, body, target

    def _item(
        self,
        item: Item,
        verb: str,
        body: Mapping[str, Any],
        block_name: str | None,
        name: str,
        shape: ir.Shape,
        ctx: _Ctx,
    ) -> ir.Node:
        where = ir.Where(self.file, item.pos[0], item.pos[1], ctx.spec_path)
        if block_name is not None:
            return self._block(item, block_name, body, name, shape, ctx, where)
        fields = fields_for(verb, self.blocks)
        if fields is None:
            raise unknown_verb(verb, self.blocks, file=self.file, pos=item.pos, spec_path=ctx.spec_path)
        args = self._args(fields, body, item, ctx)
        if verb in COMBINATORS:
            combine: Any = getattr(self, "_" + verb)
            node: ir.Node = combine(args, item, name, shape, ctx, where)
            return node
        return self._layer(verb, args, name, shape, ctx, where, item.body_pos)

    def _args(self, fields: Mapping[str, Field], body: Mapping[str, Any], item: Item, ctx: _Ctx) -> dict[str, Any]:
        """Each field's value: its default, or what its kind's reader makes of the value written."""
        args: dict[str, Any] = {}
        for key, field in fields.items():
            if key not in body:
                default = field.default
                if field.kind in ("pair", "padding") and isinstance(default, int):
                    default = (default, default)
                args[key] = default
                continue
            at = self._at(item.arg_pos.get(key, item.body_pos), f"{ctx.spec_path}.{key}")
            try:
                args[key] = READERS[field.kind](body[key], at, field, key, partial(self._value, ctx.scope, at))
            except SpecError as exc:
                raise _misspelt_variable(exc, body[key], ctx.scope) from None
        return args

    def _layer(
        self, op: str, args: dict[str, Any], name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where, pos: Pos
    ) -> ir.Layer:
        self.layer_count += 1
        if self.layer_count > limits.MAX_LAYERS:
            raise self._at_node(where, ctx.path).error(
                f"the network expands to more than {limits.MAX_LAYERS:,} layers",
                hint="check 'times' of repeats and the depth variables",
                cls=LimitError,
            )
        opdef = get_op(op)
        try:
            final = opdef.prepare(args, shape) if opdef.prepare else args
            out = opdef.shape(final, shape)
        except ShapeError as exc:
            raise self._at_node(where, ctx.path).locate(exc) from None
        if _absurd(out):
            raise _absurd_error(out, At(self.file, where.line or 1, where.column or 1, ctx.path))
        return ir.Layer(name, ctx.path, op, MappingProxyType(dict(final)), shape, out, where)

    def _seq(
        self,
        raw: Any,
        shape: ir.Shape,
        ctx: _Ctx,
        pos: Pos,
        *,
        name: str,
        kind: str,
        label: str,
        where: ir.Where,
        path: str | None = None,
        reserved: tuple[str, ...] = (),
    ) -> ir.Sequence:
        children, out = self._layers(raw, shape, ctx, pos, reserved=reserved)
        return ir.Sequence(name, ctx.path if path is None else path, kind, label, children, shape, out, where)

    def _single(self, item: Item, name: str, shape: ir.Shape, ctx: _Ctx) -> ir.Node | None:
        scope = self._scope_with_shape(ctx.scope, shape)
        if not self._when(item, scope, ctx.spec_path):
            return None
        verb, body, block_name = self._verb(item, scope, ctx.spec_path)
        inner = _Ctx(f"{ctx.spec_path}[0].{verb}", ctx.path, scope, ctx.depth, names=ctx.names)
        return self._item(item, verb, body, block_name, name, shape, inner)

    def _block(
        self,
        item: Item,
        block_name: str,
        body: Mapping[str, Any],
        name: str,
        shape: ir.Shape,
        ctx: _Ctx,
        where: ir.Where,
    ) -> ir.Node:
        if ctx.depth >= limits.MAX_CALL_DEPTH:
            raise self._at_node(where, ctx.path).error(
                f"blocks call blocks more than {limits.MAX_CALL_DEPTH} levels deep (at block '{block_name}')",
                hint="a block probably calls itself through 'block: {use: …}'",
                cls=LimitError,
            )
        block = self.blocks[block_name]
        declared: Mapping[str, Any] = block.get("args") or {}
        unknown = [k for k in body if k not in declared]
        if unknown:
            raise self._at(item.arg_pos.get(unknown[0], item.body_pos), ctx.spec_path).error(
                f"block '{block_name}' has no argument '{unknown[0]}'",
                hint=suggest(unknown[0], declared) or "its arguments: " + (", ".join(declared) or "none"),
            )
        self._spend(1 + len(declared), self._at(item.pos, ctx.spec_path))  # the call and each argument it binds
        # Inside the block: its arguments over the spec's variables as the caller sees them (``globals``).
        bound: dict[str, Any] = {}
        inner = Scope(bound, ctx.scope.globals)
        for arg, default in declared.items():
            if arg in body:
                at = self._at(item.arg_pos.get(arg, item.body_pos), f"{ctx.spec_path}.{arg}")
                bound[arg] = self._value(ctx.scope, at, body[arg])
            elif default is None:
                raise self._at(item.body_pos, ctx.spec_path).error(
                    f"block '{block_name}' needs argument '{arg}'", hint=f"add {arg}: …"
                )
            else:
                at = self._at(pos_of(declared, arg, item.pos), f"blocks.{block_name}.args.{arg}")
                bound[arg] = self._value(inner, at, default)
        shadowing = {k: v for k, v in bound.items() if k in self.variable_names}
        if shadowing:  # an argument named like a spec variable is that variable for blocks called from here
            inner = Scope(bound, ctx.scope.globals, globals_=Scope(shadowing, ctx.scope.globals))
        bpos = pos_of(self.blocks, block_name, item.pos)
        numbered = block.get("numbered", False)
        if not isinstance(numbered, bool):
            raise self._at(pos_of(block, "numbered", bpos), f"blocks.{block_name}.numbered").error(
                f"'numbered' must be true or false, got {shown(numbered)}"
            )
        inner_ctx = ctx.inner(f"blocks.{block_name}.layers", inner, depth=ctx.depth + 1, numbered=numbered)
        raw_layers = block["layers"]
        if len(raw_layers) == 1 and ctx.names is None and not (
            isinstance(raw_layers[0], Mapping)
            and ("when" in raw_layers[0] or "save" in raw_layers[0] or raw_layers[0].get("flat"))
        ):
            # A block of one item is that item: layer1.0.conv1, not layer1.0.residual1.conv1. (Not when the block
            # is called flat, nor when its item is flat: then the item's layers are named in a list.)
            only = self._split_item(raw_layers[0], pos_of(raw_layers, 0, bpos), f"blocks.{block_name}.layers[0]")
            node = self._single(only, name, shape, inner_ctx)
            assert node is not None
            return node
        return self._seq(
            block["layers"], shape, inner_ctx, bpos, name=name, kind="block", label=block_name, where=where
        )


class _Combinators(_Items):
    """The combinators, each resolved at its own item: ``_item`` calls ``_<verb>`` with the read arguments."""

    def _sequence(
        self, args: Mapping[str, Any], item: Item, name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where
    ) -> ir.Node:
        if args["numbered"] and ctx.names is not None:
            raise self._at(item.arg_pos.get("numbered", item.body_pos), ctx.spec_path).error(
                "a flat sequence takes its names from the list it stands in, so it cannot be numbered itself",
                hint="make the list around it numbered, or remove 'flat: true'",
            )
        return self._layers_arg(
            args, item, name, shape, ctx, where, kind="sequence", label="sequence", numbered=args["numbered"]
        )

    def _layers_arg(
        self,
        args: Mapping[str, Any],
        item: Item,
        name: str,
        shape: ir.Shape,
        ctx: _Ctx,
        where: ir.Where,
        *,
        kind: str,
        label: str,
        reserved: tuple[str, ...] = (),
        numbered: bool = False,
    ) -> ir.Sequence:
        """The ``layers`` argument of a combinator, resolved at the combinator's own path (``sequence`` groups;
        the transparent body of a ``residual`` and gate of a ``scale``)."""
        inner = ctx.inner(f"{ctx.spec_path}.layers", numbered=numbered)
        pos = item.arg_pos.get("layers", item.body_pos)
        return self._seq(
            args["layers"], shape, inner, pos, name=name, kind=kind, label=label, where=where, reserved=reserved
        )

    def _repeat(
        self, args: Mapping[str, Any], item: Item, name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where
    ) -> ir.Node:
        times = int(args["times"])
        if times > limits.MAX_REPEAT:
            raise self._at_node(where, ctx.path).error(
                f"repeat {times:,} times is absurd", hint=f"repeat at most {limits.MAX_REPEAT:,} times", cls=LimitError
            )
        if times == 0:
            return ir.Sequence(name, ctx.path, "repeat", "repeat", (), shape, shape, where)
        raw = args["layers"]
        lpos = item.arg_pos.get("layers", item.body_pos)
        copies: list[ir.Node] = []
        current = shape
        second: tuple[ir.Node | None, int, int] | None = None  # copy 1, and the layers and work it took
        alike = False  # copies 2… are copy 1 under another path (``_copies_alike``)
        # The copies' names: 0, 1, 2, … (or the 'names' pattern); in a flat repeat, names of the list around it.
        names = ctx.names if ctx.names is not None else _Names(args["names"] is None)
        flat_copy = len(raw) == 1 and isinstance(raw[0], Mapping) and raw[0].get("flat") is True
        # copies named 0, 1, 2, … by their index, each a level of its own, may be copy 1 moved (``_copy_again``)
        by_index = ctx.names is None and args["names"] is None and not flat_copy
        for i in range(times):
            if i == 2 and second is not None:
                self._project_repeat(times, raw, *second, where, ctx)
                alike = by_index and self.reuse_copies and self._copies_alike(raw, second[0])
            if alike:
                assert second is not None
                again = self._copy_again(second, i, ctx, multiple=len(raw) != 1)
                if again is not None:
                    copies.append(again)
                continue
            before = (self.layer_count, self.work)
            self._spend(1, At(self.file, where.line or 1, where.column or 1, ir.join_path(ctx.path, str(i))))
            local: dict[str, Any] = _Watched(index=i)
            if args["stride"] is not None:
                local["stride"] = list(args["stride"]) if args["stride"][0] != args["stride"][1] else args["stride"][0]
                if i:
                    local["stride"] = 1
            copy_scope = Scope(local, ctx.scope)
            if flat_copy:
                # A copy of one flat item adds no level: its layers are named in the repeat's list (VGG's features).
                copy_name = ""
                copy_ctx = _Ctx(f"{ctx.spec_path}.layers", ctx.path, copy_scope, ctx.depth, names=names)
            else:
                copy_name = self._copy_name(args["names"], names, i, copy_scope, where, ctx)
                copy_ctx = _Ctx(f"{ctx.spec_path}.layers", ir.join_path(ctx.path, copy_name), copy_scope, ctx.depth)
            if len(raw) == 1 and not (isinstance(raw[0], Mapping) and "save" in raw[0]):
                # A single item per copy becomes the copy itself: layer1.0.conv1, not layer1.0.bottleneck1.conv1.
                inner = self._split_item(raw[0], pos_of(raw, 0, lpos), f"{ctx.spec_path}.layers[0]")
                single = self._single(inner, copy_name, current, copy_ctx)
                if i == 1:
                    second = (single, self.layer_count - before[0], self.work - before[1])
                if single is None:  # switched off by 'when'
                    continue
                node: ir.Node = single
            else:
                node = self._seq(
                    raw, current, copy_ctx, lpos, name=copy_name, kind="copy", label=f"copy {i}", where=where
                )
                if i == 1:
                    second = (node, self.layer_count - before[0], self.work - before[1])
            copies.extend(_spliced(node, ctx.path) if flat_copy else (node,))
            current = node.out_shape
            if i == 0:
                self._stride_used(args["stride"], local, ctx, where)
        return ir.Sequence(name, ctx.path, "repeat", "repeat", tuple(copies), shape, current, where)

    def _copies_alike(self, raw: Any, second: ir.Node | None) -> bool:
        """Whether copies 2… of a repeat resolve exactly as copy 1 did, but for their paths: they share its
        stride of 1 and, when copy 1 keeps the shape it is given, its input shape; no expression in the copy
        names ``index``, the one variable that differs; and resolving is a function of those alone (the same
        conditions under which ``_project_repeat`` lets copy 1 stand for the rest)."""
        if second is not None and any(isinstance(n, (ir.Save, ir.Join)) for n in ir.iter_nodes(second)):
            return False  # a copy that keeps or reads named tensors is resolved afresh, so each copy's are its own
        return (second is None or second.in_shape == second.out_shape) and not self._uses_index(raw)

    def _copy_again(
        self, second: tuple[ir.Node | None, int, int], i: int, ctx: _Ctx, *, multiple: bool
    ) -> ir.Node | None:
        """Copy ``i`` of a repeat whose copies are alike: copy 1 moved to its path, the layers and work it took
        counted again (``_project_repeat`` has already refused a repeat whose copies would exceed a limit)."""
        node, layers, work = second
        self.layer_count += layers
        self.work += work
        if node is None:  # switched off by 'when', as copy 1 was
            return None
        copy = ir.moved(node, ir.join_path(ctx.path, "1"), ir.join_path(ctx.path, str(i)))
        if multiple:  # a sequence of kind 'copy', labelled by its index
            assert isinstance(copy, ir.Sequence)
            return ir.changed(copy, label=f"copy {i}")
        return copy

    def _copy_name(
        self, pattern: str | None, names: _Names, index: int, scope: Mapping[str, Any], where: ir.Where, ctx: _Ctx
    ) -> str:
        """Copy ``index``'s name: the next in its list, or the ``names`` pattern with its ``{expressions}`` filled
        in over the copy's scope (``denselayer{index + 1}`` → ``denselayer1``)."""
        at = self._at_node(where, ctx.path)
        if pattern is None:
            return names.take(None if names.numbered else str(index), "copy", lambda: at, what="copies")
        parts = re.split(r"\{([^{}]*)\}", pattern)
        filled = []
        for k, part in enumerate(parts):
            if k % 2 == 0:
                filled.append(part)
                continue
            word = part.strip()
            if word.isidentifier() and word not in scope:
                # a bare word evaluates to itself, so braces around it can only mean a variable, misspelt
                raise at.error(
                    f"'{{{part}}}' in the copies' names: '{word}' is not a variable",
                    hint=suggest(word, scope) or "write a word outside the braces, e.g. names: block{index}",
                )
            value = self._eval(part, scope, at)
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise at.error(
                    f"'{{{part}}}' in the copies' names gives {shown(value)}, not a whole number or a word",
                    hint="e.g. names: denselayer{index + 1}",
                )
            filled.append(str(value))
        name = layer_name("".join(filled), hyphens=True)
        if name is None:
            raise at.error(
                f"the names pattern {shown(pattern)} gives {shown(''.join(filled))} for copy {index}, which is not a "
                "name",
                hint="use letters, digits, underscores and hyphens, e.g. names: block1-{index}",
            )
        return names.take(name, "copy", lambda: at, what="copies")

    def _stride_used(self, stride: Any, first_copy: Mapping[str, Any], ctx: _Ctx, where: ir.Where) -> None:
        """A repeat's stride that no layer of its first copy reads would silently do nothing: refuse it."""
        if stride is None or tuple(stride) == (1, 1) or "stride" in getattr(first_copy, "read", ()):
            return
        shown_stride = stride[0] if stride[0] == stride[1] else list(stride)
        raise self._at_node(where, ctx.path).error(
            f"the repeat's stride {shown_stride} is never used: no layer of its first copy reads 'stride'",
            hint="pass it on where the copy downsamples (e.g. conv: {stride: stride} or a block's "
            "'stride: stride'), or remove it from the repeat",
        )

    def _project_repeat(
        self, times: int, raw: Any, second: ir.Node | None, per_copy: int, work: int, where: ir.Where, ctx: _Ctx
    ) -> None:
        """Refuse at once a repeat whose remaining copies, each the size of the second, exceed the layer or work
        limit (rather than expanding copies for seconds first). The second copy stands for the rest exactly when
        they are the same: they share its stride of 1, its input shape (when it keeps the shape it is given) and
        everything else but ``index``, so a repeat whose layers mention ``index`` is expanded copy by copy."""
        if second is not None and second.in_shape != second.out_shape:
            return
        if self._uses_index(raw):
            return
        here = self._at_node(where, ctx.path)
        projected = self.layer_count + per_copy * (times - 2)
        if projected > limits.MAX_LAYERS:
            raise here.error(
                f"repeating {times:,} copies of {per_copy:,} layers expands the network to more than "
                f"{limits.MAX_LAYERS:,} layers",
                hint="check 'times' of repeats and the depth variables",
                cls=LimitError,
            )
        projected_work = self.work + work * (times - 2)
        if projected_work > limits.MAX_WORK:
            raise here.error(
                f"repeating {times:,} copies of {work:,} steps of work expands the network to more than "
                f"{limits.MAX_WORK:,} steps (layer items, also those switched off by 'when', repeat copies, "
                "block calls, arguments and expression terms)",
                hint="check 'times' of repeats and the depth variables",
                cls=LimitError,
            )

    def _uses_index(self, raw: Any) -> bool:
        """Whether any expression inside a repeat's layers names ``index`` (blocks called from there cannot see it
        unless it is passed to them, which is an expression in the layers)."""
        key = id(raw)
        if key not in self._index_use:
            found = False
            stack = [raw]
            while stack and not found:
                value = stack.pop()
                if isinstance(value, str):
                    text = normal(value)
                    found = "index" in text and "index" in names_in(text)
                elif isinstance(value, Mapping):
                    stack.extend(value.values())
                elif isinstance(value, list):
                    stack.extend(value)
            self._index_use[key] = found
        return self._index_use[key]

    def _concat(
        self, args: Mapping[str, Any], item: Item, name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where
    ) -> ir.Node:
        return self._branches(args, item, name, shape, ctx, where, None)

    def _split(
        self, args: Mapping[str, Any], item: Item, name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where
    ) -> ir.Node:
        """``split``: the input's channels cut into consecutive slices, one per branch (equal ones unless
        ``sizes`` says otherwise); each branch runs on its slice, the outputs are joined on channels."""
        here = self._at_node(where, ctx.path)
        count = len(args["branches"])
        if len(shape) != 3:
            raise here.error(
                f"split cuts a feature map's channels, but its input is the flat vector {_fmt(shape)}",
                hint="split before flattening",
                cls=ShapeError,
            )
        channels = shape[2]
        sizes: tuple[int, ...] | None = args["sizes"]
        if sizes is None:
            if channels % count:
                raise here.error(
                    f"split cuts {channels} channels into {count} equal slices, but {channels} is not divisible by "
                    f"{count}",
                    hint="give the slices' channel counts with sizes: [a, b, …]",
                    cls=ShapeError,
                )
            sizes = (channels // count,) * count
        elif len(sizes) != count:
            raise self._at(item.arg_pos.get("sizes", item.body_pos), f"{ctx.spec_path}.sizes").error(
                f"'sizes' gives {len(sizes)} slices for {count} branches",
                hint="give one channel count per branch, in the branches' order",
            )
        elif sum(sizes) != channels:
            raise self._at(item.arg_pos.get("sizes", item.body_pos), f"{ctx.spec_path}.sizes").error(
                f"'sizes' {list(sizes)} add up to {sum(sizes)}, but the input has {channels} channels",
                hint="the slices must cover the input's channels exactly",
                cls=ShapeError,
            )
        return self._branches(args, item, name, shape, ctx, where, sizes)

    def _branches(
        self,
        args: Mapping[str, Any],
        item: Item,
        name: str,
        shape: ir.Shape,
        ctx: _Ctx,
        where: ir.Where,
        split: tuple[int, ...] | None,
    ) -> ir.Node:
        """``concat`` (every branch on the whole input) and ``split`` (branch ``i`` on the slice ``split[i]``).

        A flat one stands at the path of the list around it and names its branches there; with ``inline`` the
        branches add no level either: their layers are named side by side in one list (the concat's own, or, flat,
        the list around it), numbered with ``numbered``; without, each branch is a list of its own."""
        branches_raw: Mapping[str, Any] = args["branches"]
        bpos = item.arg_pos.get("branches", item.body_pos)
        branches: list[ir.Sequence] = []
        flat, inline, numbered = ctx.names is not None, args["inline"], args["numbered"]
        if flat and inline and numbered:
            raise self._at(item.arg_pos.get("numbered", item.body_pos), ctx.spec_path).error(
                "a flat, inline concat names its layers in the list it stands in, so it cannot be numbered itself",
                hint="make the list around it numbered, or remove 'numbered'",
            )
        shared = (ctx.names or _Names(numbered)) if inline else None
        for i, (bname, raw) in enumerate(branches_raw.items()):
            spec_path = f"{ctx.spec_path}.branches.{bname}"
            if inline:
                bpath = ctx.path
            elif flat:
                assert ctx.names is not None
                bpath = ir.join_path(ctx.path, ctx.names.take(bname, "branch", partial(self._at, bpos, spec_path)))
            else:
                bpath = ir.join_path(ctx.path, bname)
            bctx = _Ctx(spec_path, bpath, ctx.scope, ctx.depth, names=shared, numbered=numbered)
            branches.append(
                self._seq(
                    raw,
                    shape if split is None else (shape[0], shape[1], split[i]),
                    bctx,
                    pos_of(branches_raw, bname, bpos),
                    name=bname,
                    kind="branch",
                    label=bname,
                    where=where,
                )
            )
        outs = [b.out_shape for b in branches]
        verb = "concat" if split is None else "split"
        here = self._at_node(where, ctx.path)
        if any(len(o) != 3 for o in outs):
            raise here.error(
                f"{verb} joins feature maps along channels, but a branch ends in a flat vector",
                hint="flatten after the concat, not inside a branch",
                cls=ShapeError,
            )
        sizes = {(o[0], o[1]) for o in outs}
        if len(sizes) > 1:
            listed = ", ".join(f"{b.name} {b.out_shape[0]}×{b.out_shape[1]}" for b in branches)
            raise here.error(
                f"concatenated branches must have the same height and width, but give {listed}",
                hint="use the same stride in every branch and 'same' padding (pad pooling branches too)",
                cls=ShapeError,
            )
        out = (outs[0][0], outs[0][1], sum(o[2] for o in outs))
        self._check_shape(out, At(self.file, where.line or 1, where.column or 1, ctx.path))
        return ir.Concat(name, ctx.path, tuple(branches), shape, out, where, split)

    def _residual(
        self, args: Mapping[str, Any], item: Item, name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where
    ) -> ir.Node:
        act = args["activation"]
        sname: str = args["shortcut_name"]
        reserved = (sname, "add") + ((act,) if act else ())
        body = self._layers_arg(
            args, item, name, shape, ctx, where, kind="residual-body", label="body", reserved=reserved
        )
        out = body.out_shape
        kind = str(args["shortcut"])
        same = out == shape
        if kind.startswith("identity-or-"):
            kind = "identity" if same else kind.removeprefix("identity-or-")
        here = self._at_node(where, ctx.path)
        if kind == "none":
            post = self._post_activation(act, out, ctx, where, item)
            children = body.children + ((post,) if post else ())
            return ir.Sequence(name, ctx.path, "sequence", "residual without shortcut", children, shape, out, where)
        if len(shape) != 3 or len(out) != 3:
            raise here.error(
                f"a residual block needs feature maps on both ends, but goes from {_fmt(shape)} to {_fmt(out)}",
                hint="keep flatten and linear layers outside residual blocks",
                cls=ShapeError,
            )
        if kind == "identity":
            if not same:
                raise here.error(
                    f"cannot add the block's output {_fmt(out)} to its input {_fmt(shape)} "
                    "through an identity shortcut",
                    hint=_shortcut_advice(shape, out),
                    cls=ShapeError,
                )
            return ir.Residual(
                name,
                ctx.path,
                body,
                None,
                "identity",
                shape,
                out,
                where,
                self._post_activation(act, out, ctx, where, item),
            )
        stride = self._shortcut_stride(shape, out, here)
        spath = ir.join_path(ctx.path, sname)
        numbered = args["shortcut_numbered"]
        swhere = ir.Where(self.file, where.line, where.column, f"{ctx.spec_path}.shortcut")
        sctx = _Ctx(swhere.spec_path, spath, ctx.scope, ctx.depth)
        layers: list[ir.Node] = []
        if kind == "projection":
            conv_args = {
                "out": out[2],
                "kernel": (1, 1),
                "stride": (stride, stride),
                "padding": (0, 0),
                "dilation": (1, 1),
                "groups": 1,
                "bias": not args["shortcut_bn"],
                "connections": None,
            }
            conv = self._layer(
                "conv",
                conv_args,
                "conv",
                shape,
                _Ctx(sctx.spec_path, ir.join_path(spath, "0" if numbered else "conv"), ctx.scope, ctx.depth),
                swhere,
                item.pos,
            )
            layers.append(conv)
            if args["shortcut_bn"]:
                layers.append(
                    self._layer(
                        "bn",
                        {"eps": 1e-5},
                        "bn",
                        conv.out_shape,
                        _Ctx(sctx.spec_path, ir.join_path(spath, "1" if numbered else "bn"), ctx.scope, ctx.depth),
                        swhere,
                        item.pos,
                    )
                )
        else:  # zero-pad
            if out[2] < shape[2]:
                raise here.error(
                    f"a zero-padding shortcut can only add channels, but the block goes from {shape[2]} to {out[2]}",
                    hint="use 'shortcut: projection'",
                    cls=ShapeError,
                )
            layers.append(
                self._layer(
                    "zero_pad",
                    {"stride": stride, "out": out[2]},
                    "pad",
                    shape,
                    _Ctx(sctx.spec_path, ir.join_path(spath, "0" if numbered else "pad"), ctx.scope, ctx.depth),
                    swhere,
                    item.pos,
                )
            )
        if layers[-1].out_shape != out:
            raise here.error(
                f"the {kind} shortcut gives {_fmt(layers[-1].out_shape)} but the block gives {_fmt(out)}",
                hint="make the block's spatial size an exact division of its input",
                cls=ShapeError,
            )
        shortcut = ir.Sequence(sname, spath, "shortcut", kind, tuple(layers), shape, out, swhere)
        return ir.Residual(
            name,
            ctx.path,
            body,
            shortcut,
            kind,
            shape,
            out,
            where,
            self._post_activation(act, out, ctx, where, item),
            shortcut_first=args["shortcut_first"],
        )

    def _post_activation(
        self, act: str | None, shape: ir.Shape, ctx: _Ctx, where: ir.Where, item: Item
    ) -> ir.Layer | None:
        if not act:
            return None
        actx = _Ctx(f"{ctx.spec_path}.activation", ir.join_path(ctx.path, act), ctx.scope, ctx.depth)
        return self._layer(act, {}, act, shape, actx, where, item.pos)

    @staticmethod
    def _shortcut_stride(shape: ir.Shape, out: ir.Shape, here: At) -> int:
        stride = _whole_stride(shape, out)
        if stride is not None:
            return stride
        raise here.error(
            f"no shortcut stride maps the input {shape[0]}×{shape[1]} onto the block's output {out[0]}×{out[1]}",
            hint="a residual block may only shrink height and width by a whole stride",
            cls=ShapeError,
        )

    def _scale(
        self, args: Mapping[str, Any], item: Item, name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where
    ) -> ir.Node:
        gate = self._layers_arg(args, item, name, shape, ctx, where, kind="scale-gate", label="gate")
        g = gate.out_shape
        if len(shape) != 3 or len(g) != 3 or g[2] != shape[2] or (g[0], g[1]) not in ((1, 1), (shape[0], shape[1])):
            raise self._at_node(where, ctx.path).error(
                f"the gate gives {_fmt(g)}, which cannot multiply the input {_fmt(shape)}",
                hint="end the gate with 1×1×C (as in squeeze-and-excitation) or the input's own shape",
                cls=ShapeError,
            )
        return ir.Scale(name, ctx.path, gate, shape, shape, where)


class _Graph(_Combinators):
    """What makes a network more than a chain: ``join`` (read tensors kept by ``save``) and ``aux`` heads."""

    def _join(
        self, args: Mapping[str, Any], item: Item, name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where
    ) -> ir.Node:
        """The current tensor joined with saved ones, each first run through ``layers`` and, with ``crop``,
        centre-cropped to the current height and width (U-Net's crop-and-concatenate)."""
        here = self._at_node(where, ctx.path)
        wpos = item.arg_pos.get("with", item.body_pos)
        reads: list[ir.Sequence] = []
        sources: list[str] = []
        for saved_name in (normal(n) for n in args["with"]):
            saved = self.saved.get(saved_name)
            if saved is None:
                raise self._unsaved(saved_name, self._at(wpos, f"{ctx.spec_path}.with"))
            rctx = _Ctx(f"{ctx.spec_path}.with.{saved_name}", ir.join_path(ctx.path, saved_name), ctx.scope, ctx.depth)
            children: tuple[ir.Node, ...] = ()
            out = saved.shape
            if args["layers"] is not None:
                lpos = item.arg_pos.get("layers", item.body_pos)
                reserved = ("crop",) if args["crop"] else ()
                children, out = self._layers(args["layers"], saved.shape, rctx, lpos, reserved=reserved)
            if args["crop"]:
                if len(out) != 3 or len(shape) != 3:
                    raise here.error(
                        f"crop cuts feature maps, but joins {_fmt(out)} ('{saved_name}') with {_fmt(shape)}",
                        hint="join before flattening",
                        cls=ShapeError,
                    )
                cctx = _Ctx(f"{ctx.spec_path}.crop", ir.join_path(rctx.path, "crop"), ctx.scope, ctx.depth)
                crop = self._layer("crop", {"size": (shape[0], shape[1])}, "crop", out, cctx, where, item.pos)
                children, out = (*children, crop), crop.out_shape
            reads.append(ir.Sequence(saved_name, rctx.path, "saved", saved_name, children, saved.shape, out, where))
            sources.append(saved.source)
        out = self._joined(args["mode"], shape, reads, bool(args["crop"]), here)
        self._check_shape(out, here)
        names = tuple(r.name for r in reads)
        return ir.Join(name, ctx.path, args["mode"], names, tuple(sources), tuple(reads), shape, out, where)

    @staticmethod
    def _joined(mode: str, shape: ir.Shape, reads: list[ir.Sequence], cropped: bool, here: At) -> ir.Shape:
        """The joined shape, or a one-line error saying which shapes differ and how to make them fit."""
        for read in reads:
            got = read.out_shape
            what = f"the saved '{read.name}' is {_fmt(got)} and the current tensor {_fmt(shape)}"
            if mode == "concat" and (len(got) != 3 or len(shape) != 3):
                raise here.error(
                    f"join concatenates feature maps on channels, but {what}",
                    hint="join before flattening",
                    cls=ShapeError,
                )
            if (mode == "concat" and got[:2] == shape[:2]) or got == shape:
                continue
            if len(got) == 3 and len(shape) == 3 and got[:2] != shape[:2]:
                if got[0] >= shape[0] and got[1] >= shape[1] and not cropped:
                    hint = "crop it: add 'crop: true' to the join (centre-crop to the current height and width)"
                else:
                    hint = "upsample or pad the smaller one first, so the heights and widths match"
            else:
                hint = ""
            if mode == "add" and got[-1] != shape[-1]:
                project = f"project it to {shape[-1]} channels first: layers: [conv: {{out: {shape[-1]}, kernel: 1}}]"
                hint = f"{hint}; and {project}" if hint else project
            merge = "concatenate" if mode == "concat" else "add"
            need = "height and width" if mode == "concat" else "shape"
            raise here.error(f"join cannot {merge} tensors of different {need}: {what}", hint=hint, cls=ShapeError)
        if mode == "add":
            return shape
        return (shape[0], shape[1], shape[2] + sum(r.out_shape[2] for r in reads))

    def _unsaved(self, name: str, at: At) -> CnnCostError:
        later = _saved_anywhere(self.doc, name)
        if later is not None:
            return at.error(
                f"join reads '{name}' before any layer has saved it (it is saved later, at line {later[0]})",
                hint="a join can only read a tensor saved earlier on the way from the input",
            )
        saved = list(self.saved)
        return at.error(
            f"join reads '{name}', but no layer saves a tensor of that name",
            hint=suggest(name, saved)
            or ("tensors saved so far: " + ", ".join(saved) if saved else "add 'save: NAME' to an earlier layer"),
        )

    def _aux(
        self, args: Mapping[str, Any], item: Item, name: str, shape: ir.Shape, ctx: _Ctx, where: ir.Where
    ) -> ir.Node:
        self.aux_depth += 1
        try:
            head = self._layers_arg(args, item, name, shape, ctx, where, kind="aux-head", label="head")
        finally:
            self.aux_depth -= 1
        return ir.Aux(name, ctx.path, head, shape, shape, where)


def _saved_anywhere(doc: Mapping[str, Any], name: str) -> Pos | None:
    """The position of an item anywhere in the document that saves ``name`` (for "saved later" errors)."""
    stack: list[Any] = [doc.get("layers"), *((b or {}).get("layers") for b in (doc.get("blocks") or {}).values())]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            for i, entry in enumerate(value):
                if isinstance(entry, Mapping) and entry.get("save") == name:
                    return pos_of(value, i, (0, 0))
            stack.extend(value)
        elif isinstance(value, Mapping):
            stack.extend(value.values())
    return None


class Resolver(_Graph):
    """A spec document (and a variant of it) resolved into networks: ``Resolver(doc, file=…).network(…)``."""

    def network(
        self,
        *,
        variables: Mapping[str, Any] | None = None,
        size: tuple[int, int] | None = None,
    ) -> ir.Network:
        scope = self.variables(self._size_variable(variables, size))
        input_shape = self._input_shape(scope, size)
        root_ctx = _Ctx("layers", "", Scope(scope), 0)
        children, out = self._layers(self.doc["layers"], input_shape, root_ctx, pos_of(self.doc, "layers", (1, 1)))
        name = self.variant or str(self.doc["name"])
        description = str(self.variant_doc.get("description") or self.doc.get("description") or "")
        root = ir.Sequence(
            name="",
            path="",
            kind="network",
            label=name,
            children=children,
            in_shape=input_shape,
            out_shape=out,
            where=ir.Where(self.file, 1, 1, ""),
        )
        meta = {
            "source": self.variant_doc.get("source") or self.doc.get("source"),
            "family": self.doc.get("name"),
            "variant": self.variant,
        }
        return ir.Network(
            name=name,
            description=description,
            root=root,
            input_shape=input_shape,
            variables=MappingProxyType(dict(scope)),
            file=self.file,
            meta=MappingProxyType(meta),
        )

    def _size_variable(
        self, variables: Mapping[str, Any] | None, size: tuple[int, int] | None
    ) -> Mapping[str, Any] | None:
        """``--size N`` on a spec whose input is ``[size, size, C]`` sets that variable too, so the variables
        shown beside the table (and any layer that uses them) agree with the input actually analyzed."""
        raw = self.doc.get("input")
        declared = self.doc.get("variables") or {}
        if size is None or size[0] != size[1] or not isinstance(raw, list) or len(raw) != 3:
            return variables
        name = raw[0]
        if not (isinstance(name, str) and name == raw[1] and name in declared) or name in (variables or {}):
            return variables
        return {**(variables or {}), name: size[0]}

    def _input_shape(self, scope: Mapping[str, Any], size: tuple[int, int] | None) -> ir.Shape:
        raw = self.doc["input"]
        pos = pos_of(self.doc, "input", (1, 1))
        at = self._at(pos, "input")
        if not isinstance(raw, list) or len(raw) not in (1, 3):
            raise at.error("'input' must be [H, W, C] (or [N] for a vector)", hint="e.g. input: [224, 224, 3]")
        dims = []
        for i, v in enumerate(raw):
            dim_at = self._at(pos_of(raw, i, pos), "input")
            dims.append(read_int(v, dim_at, partial(self._value, scope, dim_at), minimum=1))
        if size is not None:
            if len(dims) != 3:
                raise At(self.file).error(
                    "--size applies to image inputs, but this network takes a vector", cls=UsageError
                )
            for s in size:
                if not 1 <= s <= limits.MAX_DIMENSION:
                    raise UsageError(f"--size {s} is out of range", hint=f"use 1…{limits.MAX_DIMENSION:,}")
            dims[0], dims[1] = size
        shape = tuple(dims)
        self._check_shape(shape, at)
        return shape


def resolve_document(
    doc: Mapping[str, Any],
    *,
    file: str | None,
    variant: str | None = None,
    variables: Mapping[str, Any] | None = None,
    size: tuple[int, int] | None = None,
) -> ir.Network:
    """Resolve a parsed spec document into an IR network."""
    return Resolver(doc, file=file, variant=variant).network(variables=variables, size=size)
