"""``@frozen``: an immutable record, as ``@dataclass(frozen=True)`` makes it, at a fraction of the start-up cost.

On Python 3.11, ``dataclass(frozen=True)`` writes the source of six functions for each class (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``) and compiles each one: about 0.8 ms a
class. ``cnncost table NAME`` imports about thirty records (the resolved network, the report, the op registry,
the spec schema, the table layout), so a quarter of its run went to compiling them — more than the analysis —
and importing ``dataclasses`` (with ``inspect``, ``dis`` and ``tokenize``) cost another 6 ms.

``frozen`` reads the class's annotations and defaults itself and gives the class methods made from closures over
its field list. What they do is what the generated ones do:

- ``__init__`` takes the fields in order, positionally or by keyword, fills defaults, calls each
  ``default_factory`` anew, then calls ``__post_init__`` when the class has one; a missing, unknown or repeated
  argument is a ``TypeError``, as is a field without a default after one with a default (and an unhashable
  default, a list shared by every record, a ``ValueError``);
- ``__eq__`` compares the fields as a tuple with an object of the very same class (``NotImplemented`` otherwise),
  ``__hash__`` hashes that tuple, ``__repr__`` is ``Name(field=value, …)``; ``__match_args__`` lists the fields;
- assigning or deleting an attribute raises ``dataclasses.FrozenInstanceError`` (code that fills a field after
  construction on purpose uses ``object.__setattr__``, as with a frozen dataclass).

The class is still a dataclass to the standard library: ``dataclasses.fields``, ``replace``, ``asdict`` and
``is_dataclass`` work. Its ``__dataclass_fields__`` is made on first use, by ``dataclasses`` itself, so a command
that never asks never imports it. ``field(default=…, default_factory=…)`` is this module's (``dataclasses.field``
works too). Type checkers see a frozen dataclass (``typing.dataclass_transform``).

Kept simple on purpose: a record derives from ``object`` only (no base classes, so no inherited fields), and
``ClassVar`` / ``InitVar`` / ``KW_ONLY`` annotations are refused. ``tests/test_frozen.py`` holds the behaviour
equal to ``dataclass(frozen=True)``'s; ``benchmarks/startup.py`` shows what it saves.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """A field's default or default factory, as ``field()`` declares it in a class body."""

    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Any) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.default = default
        self.default_factory = default_factory


@overload
def field(*, default: T) -> T: ...
@overload
def field(*, default_factory: Callable[[], T]) -> T: ...
def field(*, default: Any = MISSING, default_factory: Any = MISSING) -> Any:
    """A field with a default value, or with a factory called for every new record."""
    return Field(default, default_factory)


def _frozen_error(message: str) -> Exception:
    import dataclasses  # the exception a frozen dataclass raises, so that callers catch the same type

    return dataclasses.FrozenInstanceError(message)


def _setattr(self: object, name: str, value: object) -> None:
    raise _frozen_error(f"cannot assign to field {name!r}")


def _delattr(self: object, name: str) -> None:
    raise _frozen_error(f"cannot delete field {name!r}")


class _DataclassFields:
    """``__dataclass_fields__`` made on first use: ``dataclasses`` processes the class then (its methods are ours
    already and are kept: it is told to make none), and its own mapping replaces this descriptor."""

    def __init__(self, factories: tuple[tuple[str, Callable[[], Any]], ...]) -> None:
        self.factories = factories

    def __get__(self, instance: object, owner: type) -> Any:
        import dataclasses

        for name, factory in self.factories:  # declared as dataclasses declares them; it takes them off again
            setattr(owner, name, dataclasses.field(default_factory=factory))
        dataclasses.dataclass(init=False, repr=False, eq=False)(owner)
        return owner.__dict__["__dataclass_fields__"]


def _annotation_kind(annotation: object) -> str | None:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    for kind in ("ClassVar", "InitVar", "KW_ONLY"):
        if text.startswith((kind, f"typing.{kind}", f"dataclasses.{kind}")):
            return kind
    return None


def _declared(value: Any) -> tuple[Any, Any]:
    """(default, factory) of a class attribute: a plain default, ``field(…)``'s, or ``dataclasses.field(…)``'s."""
    if isinstance(value, Field):
        return value.default, value.default_factory
    dataclasses = sys.modules.get("dataclasses")  # a dataclasses.Field exists only once it is imported
    if dataclasses is not None and isinstance(value, dataclasses.Field):
        missing = dataclasses.MISSING
        return (
            MISSING if value.default is missing else value.default,
            MISSING if value.default_factory is missing else value.default_factory,
        )
    return value, MISSING


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def frozen(cls: type[T]) -> type[T]:
    """Make ``cls`` an immutable record (see the module doc)."""
    if cls.__bases__ != (object,):
        raise TypeError(f"{cls.__qualname__}: @frozen makes records that derive from object only")
    # the class's own annotations (not inspect.get_annotations: importing inspect is what this module avoids)
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    names: list[str] = []
    defaults: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, annotation in annotations.items():
        kind = _annotation_kind(annotation)
        if kind is not None:
            raise TypeError(f"{cls.__qualname__}.{name}: @frozen records have no {kind} fields")
        default, factory = _declared(cls.__dict__.get(name, MISSING))
        if default is not MISSING:
            if type(default).__hash__ is None:  # a list, dict or set shared by every record: dataclasses' rule
                raise ValueError(
                    f"mutable default {type(default)} for field {name} is not allowed: use default_factory"
                )
            defaults[name] = default
            setattr(cls, name, default)
        elif factory is not MISSING:
            factories.append((name, factory))
            delattr(cls, name)
        elif defaults or factories:
            raise TypeError(f"{cls.__qualname__}: non-default argument {name!r} follows default argument")
        names.append(name)
    _methods(cls, tuple(names), defaults, tuple(factories))
    if cls.__doc__ is None:
        cls.__doc__ = f"{cls.__name__}({', '.join(names)})"
    setattr(cls, "__match_args__", tuple(names))  # noqa: B010 (read-only to type checkers)
    setattr(cls, "__dataclass_fields__", _DataclassFields(tuple(factories)))  # noqa: B010
    return cls


def _methods(
    cls: type,
    names: tuple[str, ...],
    defaults: dict[str, Any],
    factories: tuple[tuple[str, Callable[[], Any]], ...],
) -> None:
    """Give ``cls`` its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``."""
    known = frozenset(names)
    count = len(names)
    title = cls.__qualname__
    post_init = cls.__dict__.get("__post_init__")
    # the fields' values as a tuple (attrgetter of one name gives the bare value)
    values_of: Callable[[Any], tuple[Any, ...]] = (
        attrgetter(*names) if count > 1 else lambda self: tuple(getattr(self, name) for name in names)
    )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        values = self.__dict__  # a new object's: empty; filled by C-level updates, checked after
        if defaults:
            values.update(defaults)
        if args:
            if len(args) > count:
                raise TypeError(f"{title}() takes {count} positional argument(s) but {len(args)} were given")
            values.update(zip(names, args, strict=False))  # the first len(args) fields
        if kwargs:
            if not known.issuperset(kwargs):
                key = next(k for k in kwargs if k not in known)
                raise TypeError(f"{title}() got an unexpected keyword argument {key!r}")
            if args and not kwargs.keys().isdisjoint(names[: len(args)]):
                key = next(k for k in names[: len(args)] if k in kwargs)
                raise TypeError(f"{title}() got multiple values for argument {key!r}")
            values.update(kwargs)
        for name, factory in factories:
            if name not in values:
                values[name] = factory()
        if len(values) != count:
            name = next(n for n in names if n not in values)
            values.clear()
            raise TypeError(f"{title}() missing required argument: {name!r}")
        if post_init is not None:
            post_init(self)

    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(names, values_of(self), strict=True))
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return bool(values_of(self) == values_of(other))

    def __hash__(self: Any) -> int:
        return hash(values_of(self))

    for function in (__init__, __repr__, __eq__, __hash__):
        function.__qualname__ = f"{title}.{function.__name__}"
        setattr(cls, function.__name__, function)
    cls.__setattr__ = _setattr  # type: ignore[assignment]
    cls.__delattr__ = _delattr  # type: ignore[assignment]
