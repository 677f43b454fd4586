"""Small arithmetic over spec variables, evaluated by walking a whitelisted syntax tree — no Python runs.

Allowed: numbers, strings, booleans (``true``/``false`` as in YAML, or ``True``/``False``), lists, variable
names, ``+ - * / // % **``, comparisons, ``and/or/not``,
``a if c else b``, indexing (``depths[0]``), list building (``[w * 2 ** i for i in range(4)]``, with an optional
``if``) and a few functions: ``int``, ``round``, ``floor``, ``ceil``, ``min``, ``max``, ``abs``, ``len``,
``make_divisible``, ``log`` (natural, or ``log(x, base)``), ``log2``, ``exp``, ``sqrt``, ``sum``, ``range``,
``unique`` (distinct values in order) and ``count`` (how often a value occurs in a list) — enough to compute
RegNet's quantized widths and EfficientNet's depth and width multipliers from the papers' parameters. Lists an
expression builds hold at most ``MAX_LIST`` elements.

A string field is read as an expression over variables; a bare word that names no variable stands for itself
(``padding: same``, ``use: bottleneck``), and so does a hyphenated one (``shortcut: zero-pad``).
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from cnncost.errors import LimitError, SpecError, shown, suggest
from cnncost.limits import MAX_EXPR_CHARS, MAX_INT, MAX_LIST, MAX_WORK, decimal_digits
from cnncost.spec.names import normal


class ExprError(SpecError):
    """An expression that cannot be evaluated; the resolver adds the location."""


class ExprLimitError(ExprError, LimitError):
    """An expression that asks for absurdly much: too long, a number too large, a power or rounding too far."""


_MAX_NDIGITS = 64  # round(x, n): |n| at most this (as exponents of powers)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never going below 90 % of it (MobileNet's rule,
    as in torchvision's ``_make_divisible``)."""
    if divisor <= 0:
        raise ExprError(f"make_divisible needs a positive divisor, got {divisor}")
    floor_value = divisor if min_value is None else min_value
    new = max(floor_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def _round(x: float, nd: int | None = None) -> float | int:
    return round(x) if nd is None else round(x, nd)


def _whole(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExprError(f"{what} takes whole numbers, got {shown(value)}")
    return value


def _range(*args: Any) -> list[int]:
    """``range`` as a list (specs have no lazy sequences), refused beyond ``MAX_LIST`` elements."""
    bounds = [_whole(a, "range") for a in args]
    if not 1 <= len(bounds) <= 3:
        raise ExprError(f"range takes 1 to 3 whole numbers, got {len(bounds)}")
    span = range(*bounds)
    if len(span) > MAX_LIST:
        raise ExprLimitError(f"range of {len(span):,} numbers", hint=f"lists hold at most {MAX_LIST:,} elements")
    return list(span)


def _list_of(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ExprError(f"{what} takes a list, got {shown(value)}")
    return value


def _unique(values: Any) -> list[Any]:
    """The distinct values of a list, in the order they first occur: ``unique([64, 64, 128]) == [64, 128]``."""
    out: list[Any] = []
    for v in _list_of(values, "unique"):
        if v not in out:
            out.append(v)
    return out


def _count(values: Any, value: Any) -> int:
    """How often ``value`` occurs in a list: ``count([64, 64, 128], 64) == 2``."""
    return _list_of(values, "count").count(value)


def _sum(values: Any) -> Any:
    items = _list_of(values, "sum")
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in items):
        raise ExprError(f"sum takes a list of numbers, got {shown(values)}")
    return sum(items)


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "int": int,
    "round": _round,
    "floor": math.floor,
    "ceil": math.ceil,
    "min": min,
    "max": max,
    "abs": abs,
    "len": len,
    "make_divisible": make_divisible,
    "log": math.log,
    "log2": math.log2,
    "exp": math.exp,
    "sqrt": math.sqrt,
    "sum": _sum,
    "range": _range,
    "unique": _unique,
    "count": _count,
}

_BINOPS: Mapping[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS: Mapping[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Expression:
    # Specs repeat the same few expressions thousands of times (ResNet-1202); parse each text once.
    return ast.parse(text, mode="eval")


def parse_expr(text: str) -> ast.Expression:
    if len(text) > MAX_EXPR_CHARS:
        raise ExprLimitError(f"expression is longer than {MAX_EXPR_CHARS} characters")
    try:
        return _parse(text.strip())
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # CPython's parser gives up in these ways
        raise ExprError(
            f"cannot read '{text}' as an expression",
            hint="write arithmetic over variables, e.g. 'width * 64'",
        ) from None


def names_in(text: str) -> set[str]:
    """Variable names an expression refers to (empty for text that is not an expression)."""
    try:
        tree = parse_expr(text)
    except ExprError:
        return set()
    bound = {
        t.id for c in ast.walk(tree) if isinstance(c, ast.comprehension) for t in ast.walk(c.target)
        if isinstance(t, ast.Name)
    }  # a comprehension's own names are not variables
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(FUNCTIONS) - bound


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate ``text`` over ``scope``; a lone word naming no variable is returned as the string itself."""
    return evaluate_counted(text, scope)[0]


def evaluate_counted(text: str, scope: Mapping[str, Any]) -> tuple[Any, int]:
    """``evaluate``, and the steps of work it took: one per term evaluated, plus the elements of the lists that
    functions and comparisons go through (``max(depths)``). The resolver counts them against its work limit."""
    stripped = text.strip()
    if stripped.isidentifier():
        stripped = normal(stripped)  # a bare word is a name: folded as the parser folds names (NFKC)
    if stripped.isidentifier() and stripped not in scope and stripped not in FUNCTIONS:
        if stripped in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[stripped], 1
        return stripped, 1
    parts = [normal(p) for p in stripped.split("-")]
    if len(parts) > 1 and all(p.isidentifier() and p not in scope and p not in FUNCTIONS for p in parts):
        return "-".join(parts), 1  # so is a hyphenated word (zero-pad), unless one of its parts names a variable
    if not _looks_like_expression(stripped):
        return text, 1
    tree = parse_expr(stripped)
    walker = _Eval(scope)
    try:
        return walker.run(tree.body), walker.steps
    except RecursionError:
        raise ExprError("the expression nests too deeply", hint="simplify it") from None


def _looks_like_expression(text: str) -> bool:
    if len(text) > MAX_EXPR_CHARS:
        return True  # let parse_expr refuse it by its length, without parsing it
    try:
        _parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _check_number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise ExprLimitError(f"the result is too large ({decimal_digits(value)} digits)", hint="check the arithmetic")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError("the result is not a finite number", hint="check the arithmetic")
    if isinstance(value, complex):  # (-8) ** 0.5
        raise ExprError("the result is not a real number", hint="check the arithmetic")
    return value


class _Bound(Mapping[str, Any]):
    """A scope with one more name: a comprehension's variable over the spec's variables (no copy of them)."""

    def __init__(self, outer: Mapping[str, Any], name: str, value: Any) -> None:
        self.outer, self.name, self.value = outer, name, value

    def __getitem__(self, key: str) -> Any:
        return self.value if key == self.name else self.outer[key]

    def __contains__(self, key: object) -> bool:
        return key == self.name or key in self.outer

    def __iter__(self) -> Any:
        yield self.name
        yield from (k for k in self.outer if k != self.name)

    def __len__(self) -> int:
        return len(self.outer) + (self.name not in self.outer)


def _elements(value: Any) -> int:
    """Elements a function or comparison goes through in a list value (nested lists included); 0 for a number."""
    if not isinstance(value, list):
        return 0
    return len(value) + sum(_elements(v) for v in value if isinstance(v, list))


class _Eval:
    def __init__(self, scope: Mapping[str, Any]) -> None:
        self.scope = scope
        self.steps = 0

    def run(self, node: ast.AST) -> Any:
        self.steps += 1
        if self.steps > MAX_WORK:  # nested list building could take far longer than the resolver's budget
            raise ExprLimitError(
                f"the expression takes more than {MAX_WORK:,} steps to evaluate", hint="build smaller lists"
            )
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ExprError(
                f"'{ast.unparse(node)}' uses syntax that specs do not allow",
                hint="use numbers, variables, + - * / // % **, comparisons, if/else and "
                + ", ".join(sorted(FUNCTIONS)),
            )
        return _check_number(method(node))

    def _Constant(self, node: ast.Constant) -> Any:
        if not isinstance(node.value, (int, float, str, bool)) or node.value is None:
            raise ExprError(f"unsupported constant {shown(node.value)}")
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.scope:
            return self.scope[node.id]
        if node.id in ("true", "false"):  # YAML's booleans, as a spec writes them everywhere else
            return node.id == "true"
        if node.id in FUNCTIONS:
            raise ExprError(
                f"'{node.id}' is a function of the expression language, not a value",
                hint=f"call it with its arguments, {node.id}(…), or choose another word",
            )
        raise ExprError(
            f"'{node.id}' is not defined",
            hint=suggest(node.id, list(self.scope) + list(FUNCTIONS))
            or "define it under 'variables' (or as a block argument)",
        )

    def _List(self, node: ast.List) -> list[Any]:
        return [self.run(e) for e in node.elts]

    _Tuple = _List

    def _ListComp(self, node: ast.ListComp) -> list[Any]:
        """``[expr for name in values if condition]``: one ``for`` over a list, a plain name, optional ``if``s."""
        if len(node.generators) != 1:
            raise ExprError(f"'{ast.unparse(node)}': a list may be built with one 'for' only")
        (gen,) = node.generators
        if not isinstance(gen.target, ast.Name) or gen.is_async:
            raise ExprError(f"'{ast.unparse(node)}': write 'for NAME in LIST'")
        name = gen.target.id
        if name in FUNCTIONS:
            raise ExprError(f"'{ast.unparse(node)}': '{name}' is a function's name", hint="use another name")
        values = self.run(gen.iter)
        if not isinstance(values, list):
            raise ExprError(f"'{ast.unparse(node)}' goes through {shown(values)}, which is not a list")
        outer = self.scope
        out: list[Any] = []
        try:
            for value in values:
                self.scope = _Bound(outer, name, value)
                if all(self._test(cond, node) for cond in gen.ifs):
                    out.append(self.run(node.elt))
        finally:
            self.scope = outer
        return out

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.Not):
            return not self._test(node.operand, node)
        value = self.run(node.operand)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ExprError(f"'{ast.unparse(node)}' does arithmetic on {shown(value)}, which is not a number")
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        raise ExprError(f"operator in '{ast.unparse(node)}' is not allowed")

    def _BinOp(self, node: ast.BinOp) -> Any:
        fn = _BINOPS.get(type(node.op))
        if fn is None:
            raise ExprError(f"operator in '{ast.unparse(node)}' is not allowed")
        left, right = self.run(node.left), self.run(node.right)
        for side in (left, right):
            if not isinstance(side, (int, float)) or isinstance(side, bool):
                raise ExprError(f"'{ast.unparse(node)}' does arithmetic on {shown(side)}, which is not a number")
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > MAX_INT):
            raise ExprLimitError(f"'{ast.unparse(node)}' is too large a power", hint="keep exponents at most 64")
        try:
            return fn(left, right)
        except ZeroDivisionError:
            raise ExprError(
                f"'{ast.unparse(node)}' divides by zero", hint="check the variables it uses"
            ) from None
        except OverflowError:
            raise ExprError(f"'{ast.unparse(node)}' overflows", hint="check the arithmetic") from None

    def _Compare(self, node: ast.Compare) -> bool:
        left = self.run(node.left)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            fn = _CMPOPS.get(type(op))
            if fn is None:
                raise ExprError(f"comparison in '{ast.unparse(node)}' is not allowed")
            right = self.run(comp)
            self.steps += _elements(left) + _elements(right)
            try:
                if not fn(left, right):
                    return False
            except TypeError:
                raise ExprError(f"cannot compare {shown(left)} with {shown(right)}") from None
            left = right
        return True

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        # As in Python (``a or b`` is a when a holds), but every operand that decides must be a condition.
        stop_when = not isinstance(node.op, ast.And)
        for v in node.values[:-1]:
            value = self.run(v)
            if self._truth(value, node) is stop_when:
                return value
        return self.run(node.values[-1])

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.run(node.body) if self._test(node.test, node) else self.run(node.orelse)

    def _test(self, operand: ast.AST, node: ast.AST) -> bool:
        """A condition's truth: true/false, or a number (0 is false). Text and lists are refused rather than
        taken as true whenever they are not empty — the text 'false' is not a true condition."""
        return self._truth(self.run(operand), node)

    @staticmethod
    def _truth(value: Any, node: ast.AST) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        raise ExprError(
            f"'{ast.unparse(node)}' uses {shown(value)} as a condition, but a condition must be true or false",
            hint="write true or false without quotes, or compare, e.g. block == 'basic'",
        )

    def _Subscript(self, node: ast.Subscript) -> Any:
        seq = self.run(node.value)
        index = self.run(node.slice)
        if not isinstance(seq, list) or not isinstance(index, int) or isinstance(index, bool):
            raise ExprError(f"'{ast.unparse(node)}': only lists can be indexed, by whole numbers")
        if not -len(seq) <= index < len(seq):
            raise ExprError(f"'{ast.unparse(node)}': index {index} is outside the list of {len(seq)}")
        return seq[index]

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = ast.unparse(node.func)
            raise ExprError(
                f"'{name}' is not an allowed function",
                hint=suggest(name, FUNCTIONS) or "allowed: " + ", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            raise ExprError(f"'{ast.unparse(node)}': functions take positional arguments only")
        args = [self.run(a) for a in node.args]
        self.steps += sum(_elements(a) for a in args)
        if node.func.id == "round" and len(args) == 2 and isinstance(args[1], int) and abs(args[1]) > _MAX_NDIGITS:
            # round(1, -10**8) computes 10**(10**8) first: minutes of work for nothing
            raise ExprLimitError(
                f"'{ast.unparse(node)}' rounds to {args[1]} digits", hint=f"round to at most {_MAX_NDIGITS} digits"
            )
        try:
            return FUNCTIONS[node.func.id](*args)
        except ExprError:
            raise
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise ExprError(f"'{ast.unparse(node)}' fails: {exc}") from None
