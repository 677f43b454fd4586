"""Read a spec file safely and remember where every value came from.

Only YAML's safe schema is used (no Python objects, no tags that run code). The result is plain data whose
mappings and sequences are ``LocMap`` and ``LocList``: a dict and a list that also know the line and column of
themselves and of each of their entries, so that any later error can point at the exact spot in the file.

Hostile input is refused with one line: files that are missing, directories, binary, not UTF-8, too large;
YAML that is broken, has duplicate keys, nests too deep or expands (through aliases) into too many nodes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from cnncost.errors import LimitError, SpecError
from cnncost.limits import MAX_FILE_BYTES, MAX_INT, MAX_YAML_DEPTH, MAX_YAML_NODES, decimal_digits
from cnncost.spec.names import normal

try:  # the C composer is much faster where libyaml is available
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

Pos = tuple[int, int]  # 1-based line and column


class LocMap(dict[str, Any]):
    """A mapping that knows its own position and those of its keys and values."""

    pos: Pos
    key_pos: dict[str, Pos]
    value_pos: dict[str, Pos]


class LocList(list[Any]):
    """A sequence that knows its own position and those of its items."""

    pos: Pos
    item_pos: list[Pos]


def _pos(node: yaml.Node) -> Pos:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_text(path: Path) -> str:
    """The file's text, or a one-line SpecError saying why it cannot be read as a spec."""
    name = str(path)
    try:
        if not path.exists():
            raise SpecError(
                "no such file", file=name, hint="check the path, or run 'cnncost list' for bundled networks"
            )
        if path.is_dir():
            raise SpecError("is a directory, not a spec file", file=name, hint="name a .yaml file inside it")
        if not path.is_file():
            # a FIFO would block forever, a device such as /dev/zero would never end
            raise SpecError("is not a regular file", file=name, hint="name a .yaml text file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(size, name)
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat()
        if len(raw) > MAX_FILE_BYTES:
            raise _too_big(len(raw), name)
    except PermissionError:
        raise SpecError(
            "cannot read the file (permission denied)", file=name, hint="check its permissions"
        ) from None
    except ValueError:  # e.g. a NUL character in the path
        raise SpecError(
            "is not a usable file name", file=repr(name), hint="check the path for stray characters"
        ) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file ({exc.strerror or exc})", file=name) from None
    if not raw.strip():
        raise SpecError(
            "the file is empty", file=name, hint="a spec needs at least 'name', 'input' and 'layers'"
        )
    if b"\x00" in raw:
        raise SpecError("this is a binary file, not a YAML spec", file=name, hint="name a .yaml text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            file=name,
            line=line,
            hint="save the file as UTF-8",
        ) from None


def _too_big(size: int, name: str) -> LimitError:
    return LimitError(
        f"the file is over {MAX_FILE_BYTES:,} bytes ({size:,}), the limit for a spec",
        file=name,
        hint="a network description should be a few kilobytes; check that this is the right file",
    )


def parse(text: str, *, file: str | None) -> Any:
    """Parse YAML text into located plain data (see module doc)."""
    try:
        try:
            _check_depth(text, file)  # before composing: libyaml's composer recurses and can crash on deep input
        except yaml.YAMLError:
            # Some libyaml releases (PyYAML 6.0.4's) refuse deep flow nesting themselves while scanning ahead,
            # before the first event reaches us, each in its own words. Whatever the parser says, a text that
            # nests deeper than our limit is refused by our limit, so the answer never depends on its version.
            _refuse_deep_flow(text, file)
            raise
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(
            f"invalid YAML: {problem}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint=_unquoted_expression(text, mark.line if mark else None)
            or "check indentation, colons and brackets near this spot",
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise LimitError(
            "the YAML nests too deeply to read", file=file, hint=f"specs nest at most {MAX_YAML_DEPTH} levels"
        ) from None
    if node is None:
        raise SpecError(
            "the file holds no YAML document", file=file, hint="a spec needs at least 'name', 'input' and 'layers'"
        )
    _check_size(node, file)
    return _Converter(file).convert(node, 0)


#: ``key: word[…]`` or ``key: word(…, …)`` inside a flow mapping: an expression YAML reads as a flow sequence or
#: splits at its comma.
_BRACKETED = re.compile(r"([A-Za-z_]\w*)\s*:\s*([A-Za-z_]\w*\s*[\[(][^{}\n]*?[\])])\s*[,}]")


def _unquoted_expression(text: str, line: int | None) -> str | None:
    """The hint for a parse error caused by an unquoted expression with brackets or a comma in ``{ … }`` (``{times:
    depths[0]}``, ``{out: max(1, n)}``): the expression written back quoted."""
    if line is None:
        return None
    lines = text.splitlines()
    for candidate in lines[max(0, line - 1) : line + 1]:
        if "{" in candidate:
            match = _BRACKETED.search(candidate)
            if match:
                return f"quote the expression: {match.group(1)}: '{match.group(2)}'"
    return None


def load(path: Path) -> tuple[Any, str]:
    """Read and parse a spec file: (located data, text)."""
    text = read_text(path)
    return parse(text, file=os.fspath(path)), text


def _check_depth(text: str, file: str | None) -> None:
    """Refuse deep nesting from the event stream, which the parser produces without recursion."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                mark = event.start_mark
                raise LimitError(
                    f"the YAML nests more than {MAX_YAML_DEPTH} levels deep",
                    file=file,
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                    hint="flatten the structure; use blocks for reuse",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


_FLOW_TOKENS = re.compile(r"[\[\]{}'\"#\n]")
_QUOTE_OPENERS = frozenset(" \t\n[{,:-?")


def too_deep_flow(text: str, limit: int) -> int | None:
    """The offset of the first YAML flow bracket (``[``, ``{``) that nests deeper than ``limit`` in ``text``, or
    None; brackets inside quoted strings and comments do not count. A plain scalar may hold an unbalanced bracket
    (``note: see [1``), so this bounds the nesting from above: it is consulted only once the parser has refused the
    text."""
    depth = pos = 0
    end = len(text)
    while pos < end:
        match = _FLOW_TOKENS.search(text, pos)
        if match is None:
            return None
        char, pos = match.group(), match.end()
        if char in "[{":
            depth += 1
            if depth > limit:
                return match.start()
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "#":
            if match.start() == 0 or text[match.start() - 1] in " \t\n":
                newline = text.find("\n", pos)
                pos = end if newline < 0 else newline
        elif char in "'\"" and (match.start() == 0 or text[match.start() - 1] in _QUOTE_OPENERS):
            pos = _string_end(text, pos, char)
    return None


def _string_end(text: str, pos: int, quote: str) -> int:
    """The offset just past a quoted string that opened before ``pos`` ('' and \\" escape their quote)."""
    while True:
        close = text.find(quote, pos)
        if close < 0:
            return len(text)
        if quote == "'" and text.startswith("''", close):
            pos = close + 2
        elif quote == '"' and _escaped(text, close):
            pos = close + 1
        else:
            return close + 1


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _refuse_deep_flow(text: str, file: str | None) -> None:
    offset = too_deep_flow(text, MAX_YAML_DEPTH)
    if offset is not None:
        raise LimitError(
            f"the YAML nests more than {MAX_YAML_DEPTH} levels deep",
            file=file,
            line=text.count("\n", 0, offset) + 1,
            column=offset - (text.rfind("\n", 0, offset) + 1) + 1,
            hint="flatten the structure; use blocks for reuse",
        ) from None


def _check_size(root: yaml.Node, file: str | None) -> None:
    """Refuse alias bombs: count nodes as if every alias were expanded, with memoization over shared nodes."""
    memo: dict[int, int] = {}
    depth_memo: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in memo:
            if depth + depth_memo[key] > MAX_YAML_DEPTH:
                _too_deep(node)
            return memo[key]
        if depth > MAX_YAML_DEPTH:
            _too_deep(node)
        total, deepest = 1, 0
        memo[key] = 1  # a cycle (recursive alias) counts once here and is refused by the converter
        depth_memo[key] = 0
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                children += [k, v]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        for child in children:
            total += size(child, depth + 1)
            deepest = max(deepest, depth_memo.get(id(child), 0) + 1)
            if total > MAX_YAML_NODES:
                line, col = _pos(node)
                raise LimitError(
                    f"the YAML expands to more than {MAX_YAML_NODES:,} values (through aliases or sheer size)",
                    file=file,
                    line=line,
                    column=col,
                    hint="specs are small; remove the repeated aliases ('billion laughs')",
                )
        memo[key], depth_memo[key] = total, deepest
        return total

    def _too_deep(node: yaml.Node) -> None:
        line, col = _pos(node)
        raise LimitError(
            f"the YAML nests more than {MAX_YAML_DEPTH} levels deep",
            file=file,
            line=line,
            column=col,
            hint="flatten the structure; use blocks for reuse",
        )

    size(root, 0)


_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
#: what the keys of a mapping are, by the key it sits under (for messages)
_KEYS_OF = {".variables": "variables", ".blocks": "blocks", ".args": "arguments", ".branches": "branches"}


class _Converter:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.scalars = yaml.constructor.SafeConstructor()
        self.active: set[int] = set()
        self.trail: list[str] = []  # where the converter is: keys and [indices], for the error's path

    def _path(self) -> str | None:
        return "".join(self.trail).lstrip(".") or None

    def convert(self, node: yaml.Node, depth: int) -> Any:
        if id(node) in self.active:
            line, col = _pos(node)
            raise SpecError("a YAML alias refers to itself", file=self.file, path=self._path(), line=line, column=col)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_COLLECTION_TAGS:
            line, col = _pos(node)
            raise SpecError(
                f"the YAML tag '{node.tag}' is not allowed in specs",
                file=self.file,
                path=self._path(),
                line=line,
                column=col,
                hint="remove the tag: specs hold plain numbers, strings, lists and mappings",
            )
        if isinstance(node, yaml.MappingNode):
            self.active.add(id(node))
            try:
                return self._mapping(node, depth)
            finally:
                self.active.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self.active.add(id(node))
            try:
                out = LocList()
                for index, item in enumerate(node.value):
                    self.trail.append(f"[{index}]")
                    out.append(self.convert(item, depth + 1))
                    self.trail.pop()
            finally:
                self.active.discard(id(node))
            out.pos = _pos(node)
            out.item_pos = [_pos(item) for item in node.value]
            return out
        value = self.scalar(node)
        if not isinstance(value, (str, int, float, bool, type(None))):
            line, col = _pos(node)
            raise SpecError(
                f"unsupported YAML value of type {type(value).__name__}",
                file=self.file,
                path=self._path(),
                line=line,
                column=col,
                hint="use numbers, strings, lists and mappings only",
            )
        return value

    def scalar(self, node: yaml.Node) -> Any:
        """A scalar's value; a one-line SpecError for a tag it does not fit (``!!int abc``) or an absurd number."""
        line, col = _pos(node)
        try:
            value = self.scalars.construct_object(node)
        except yaml.MarkedYAMLError as exc:
            raise SpecError(
                f"cannot read this value: {exc.problem or exc.context or 'invalid value'}",
                file=self.file,
                path=self._path(),
                line=line,
                column=col,
                hint="use numbers, strings, lists and mappings only",
            ) from None
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, yaml.YAMLError):
            # PyYAML's constructors fail with plain exceptions on a tagged scalar that is not what its tag says
            # (``!!int abc``, ``!!bool maybe``) and on integers of thousands of digits.
            digits = str(node.value).lstrip("+-").replace("_", "")
            if node.tag == "tag:yaml.org,2002:int" and digits.isdigit():
                raise LimitError(
                    f"a number of {len(digits)} digits is absurdly large",
                    file=self.file,
                    path=self._path(),
                    line=line,
                    column=col,
                    hint="no network has sizes or counts anywhere near this",
                ) from None
            shown = str(node.value)
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            tag = str(node.tag).rsplit(":", 1)[-1]
            raise SpecError(
                f"cannot read {shown!r} as {tag}",
                file=self.file,
                path=self._path(),
                line=line,
                column=col,
                hint="remove the tag, or write a plain number or word",
            ) from None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise LimitError(
                f"a number of {decimal_digits(value)} digits is absurdly large",
                file=self.file,
                path=self._path(),
                line=line,
                column=col,
                hint="no network has sizes or counts anywhere near this",
            )
        return value

    def _mapping(self, node: yaml.MappingNode, depth: int) -> LocMap:
        out = LocMap()
        out.pos = _pos(node)
        out.key_pos, out.value_pos = {}, {}
        spelled: dict[str, str] = {}  # each key as written, before Unicode normalization
        for key_node, value_node in node.value:
            line, col = _pos(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError(
                    "mapping keys must be plain words", file=self.file, path=self._path(), line=line, column=col
                )
            key = "<<" if key_node.tag == "tag:yaml.org,2002:merge" else self.scalar(key_node)
            if key == "<<":
                raise SpecError(
                    "YAML merge keys ('<<') are not supported in specs",
                    file=self.file,
                    path=self._path(),
                    line=line,
                    column=col,
                    hint="define a block and call it with arguments instead",
                )
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            written, key = key, normal(key)
            if key in out and spelled[key] != written:
                what = _KEYS_OF.get(self.trail[-1] if self.trail else "", "keys")
                raise SpecError(
                    f"{what} '{spelled[key]}' and '{written}' are the same name after Unicode normalization "
                    f"(first at line {out.key_pos[key][0]})",
                    file=self.file,
                    path=self._path(),
                    line=line,
                    column=col,
                    hint="expressions read both as one name (NFKC); rename one of them",
                )
            spelled[key] = written
            if key in out:
                first = out.key_pos[key]
                raise SpecError(
                    f"duplicate key '{key}' (first at line {first[0]})",
                    file=self.file,
                    path=self._path(),
                    line=line,
                    column=col,
                    hint="remove one of them",
                )
            self.trail.append(f".{key}")
            out[key] = self.convert(value_node, depth + 1)
            self.trail.pop()
            out.key_pos[key] = (line, col)
            out.value_pos[key] = _pos(value_node)
        return out
