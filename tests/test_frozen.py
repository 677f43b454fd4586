"""``cnncost.frozen.frozen`` behaves as ``dataclass(frozen=True)`` does, for everything cnncost's records use."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnncost.frozen import field, frozen

PACKAGE = Path(__file__).resolve().parent.parent / "cnncost"


def _pair() -> tuple[Any, Any]:
    """The same class body made by each decorator."""

    def body() -> type:
        class Row:
            """A row."""

            path: str
            shape: tuple[int, ...]
            params: int = 0
            extra: dict[str, int] = dataclasses.field(default_factory=dict)

            @property
            def big(self) -> bool:
                return self.params > 10

        return Row

    return frozen(body()), dataclasses.dataclass(frozen=True)(body())


ARGS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("a", (1, 2)), {}),
    (("a", (1, 2), 5), {}),
    (("a",), {"shape": (3,), "params": 11}),
    ((), {"path": "b", "shape": (), "params": 1, "extra": {"x": 1}}),
    (("a", (1, 2), 5, {"y": 2}), {}),
]


@pytest.mark.parametrize(("args", "kwargs"), ARGS)
def test_it_constructs_compares_hashes_and_prints_as_a_frozen_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    ours, theirs = _pair()
    a, b = ours(*args, **kwargs), theirs(*args, **kwargs)
    assert repr(a) == repr(b)
    assert [getattr(a, f.name) for f in dataclasses.fields(a)] == [getattr(b, f.name) for f in dataclasses.fields(b)]
    assert a == ours(*args, **kwargs)
    assert not a != ours(*args, **kwargs)  # noqa: SIM202 (__ne__ comes from __eq__)
    assert a != b  # another class, even with the same fields: NotImplemented both ways, so unequal
    assert a.big == b.big
    try:
        expected = hash(b)
    except TypeError:  # a dict among the fields: neither is hashable
        with pytest.raises(TypeError):
            hash(a)
    else:
        assert hash(a) == hash(ours(*args, **kwargs)) == expected


def test_a_default_factory_is_called_for_every_instance() -> None:
    ours, _ = _pair()
    first, second = ours("a", ()), ours("a", ())
    assert first.extra == {} and first.extra is not second.extra


def test_fields_differ_means_unequal() -> None:
    ours, _ = _pair()
    assert ours("a", (1,)) != ours("a", (2,))
    assert ours("a", (1,), 1) != ours("a", (1,), 2)
    assert ours("a", (1,)).__eq__(("a", (1,), 0, {})) is NotImplemented


@pytest.mark.parametrize(
    ("args", "kwargs", "words"),
    [
        ((), {}, "missing required argument: 'path'"),
        (("a",), {}, "missing required argument: 'shape'"),
        (("a", (), 1, {}, 5), {}, "takes 4 positional argument(s) but 5 were given"),
        (("a", ()), {"size": 1}, "unexpected keyword argument 'size'"),
        (("a", ()), {"path": "b"}, "multiple values for argument 'path'"),
    ],
)
def test_bad_arguments_are_a_type_error_as_with_a_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any], words: str
) -> None:
    ours, theirs = _pair()
    with pytest.raises(TypeError, match=re.escape(words)):
        ours(*args, **kwargs)
    with pytest.raises(TypeError):
        theirs(*args, **kwargs)


def test_it_cannot_be_changed_but_object_setattr_still_fills_a_field() -> None:
    ours, _ = _pair()
    row = ours("a", (1,))
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'params'"):
        row.params = 3
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'new'"):
        row.new = 3
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'path'"):
        del row.path
    object.__setattr__(row, "params", 7)  # what a walker filling a field after construction does
    assert row.params == 7


def test_it_is_a_dataclass_for_fields_replace_asdict_copy_and_pickle() -> None:
    ours, _ = _pair()
    row = ours("a", (1, 2), 3, {"k": 1})
    assert dataclasses.is_dataclass(row)
    assert [f.name for f in dataclasses.fields(ours)] == ["path", "shape", "params", "extra"]
    assert ours.__match_args__ == ("path", "shape", "params", "extra")
    changed = dataclasses.replace(row, params=4)
    assert changed == ours("a", (1, 2), 4, {"k": 1}) and row.params == 3
    assert dataclasses.asdict(row) == {"path": "a", "shape": (1, 2), "params": 3, "extra": {"k": 1}}
    assert copy.deepcopy(row) == row and copy.copy(row) == row


def test_pickle_round_trip_and_the_hash_a_dataclass_gives() -> None:
    assert pickle.loads(pickle.dumps(Point(1, 2))) == Point(1, 2)
    twin = dataclasses.dataclass(frozen=True)(type("Twin", (), {"__annotations__": {"x": "int", "y": "int"}}))
    assert hash(Point(1, 2)) == hash(twin(1, 2)) and {Point(1, 2): 1}[Point(1, 2)] == 1


def test_a_missing_argument_is_named_after_a_factory_field() -> None:
    @frozen
    class Later:
        extra: dict[str, int] = dataclasses.field(default_factory=dict)
        needed: int = dataclasses.field(default=0)
        last: str = dataclasses.field(default_factory=str)

    @frozen
    class Required:
        extra: list[int]
        made: list[int] = dataclasses.field(default_factory=list)
        needed: int = 3

    assert Later() == Later({}, 0, "")
    with pytest.raises(TypeError, match="missing required argument: 'extra'"):
        Required()
    assert Required([1]).made == [] and Required([1], needed=4).needed == 4


def test_post_init_runs_after_the_fields_are_set() -> None:
    @frozen
    class Checked:
        low: int
        high: int = 10

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError(f"{self.low} > {self.high}")

    assert Checked(1).high == 10
    with pytest.raises(ValueError, match="5 > 2"):
        Checked(5, high=2)


def test_one_field_and_no_field() -> None:
    @frozen
    class One:
        value: int

    @frozen
    class Empty:
        pass

    assert One(3) == One(3) and One(3) != One(4) and repr(One(3)) == "test_one_field_and_no_field.<locals>.One(value=3)"
    assert hash(One(3)) == hash((3,))
    assert Empty() == Empty() and hash(Empty()) == hash(()) and "Empty()" in repr(Empty())


def test_a_base_class_and_special_annotations_are_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Base:
        a: int

    with pytest.raises(TypeError, match="derive from object only"):

        @frozen
        class Child(Base):
            b: int

    for annotation in ("ClassVar[int]", "InitVar[int]", "KW_ONLY"):
        with pytest.raises(TypeError, match=annotation.split("[")[0]):
            frozen(type("Odd", (), {"__annotations__": {"a": annotation}}))


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        frozen(type("Odd", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 1}))


def test_a_mutable_default_is_refused_as_dataclasses_refuses_it() -> None:
    with pytest.raises(ValueError, match="mutable default <class 'list'> for field a is not allowed"):
        frozen(type("Odd", (), {"__annotations__": {"a": "list[int]"}, "a": []}))


def test_field_gives_a_default_or_a_factory_and_not_both() -> None:
    @frozen
    class Both:
        plain: int = field(default=2)
        made: list[int] = field(default_factory=list)
        theirs: list[int] = dataclasses.field(default_factory=lambda: [1])
        their_default: int = dataclasses.field(default=5)

    assert Both() == Both(2, [], [1], 5) and Both().made is not Both().made
    assert Both.plain == 2 and not hasattr(Both, "made")  # as a dataclass leaves its class attributes
    assert [(f.name, f.default) for f in dataclasses.fields(Both)][::3] == [("plain", 2), ("their_default", 5)]
    assert dataclasses.fields(Both)[1].default_factory is list
    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=list)


def test_dataclasses_is_not_imported_until_asked() -> None:
    """What the start-up gains rests on: making and using records needs no dataclasses module."""
    code = (
        "import sys\n"
        "from cnncost.frozen import field, frozen\n"
        "@frozen\n"
        "class R:\n"
        "    a: int\n"
        "    b: list[int] = field(default_factory=list)\n"
        "r = R(1)\n"
        "assert r == R(1) and r != R(2)\n"
        "assert repr(r) == 'R(a=1, b=[])'\n"
        "assert 'dataclasses' not in sys.modules, 'imported'\n"
        "import dataclasses\n"
        "assert [f.name for f in dataclasses.fields(r)] == ['a', 'b']\n"
        "assert dataclasses.replace(r, a=3) == R(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_every_frozen_record_of_the_package_uses_it() -> None:
    """The rule the startup figures rest on: a frozen record is made by @frozen unless it subclasses a dataclass."""
    plain = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.strip() == "@dataclass(frozen=True)" and i + 1 < len(lines):
                header = lines[i + 1].strip()
                if not re.match(r"class \w+\(.+\):", header):  # a dataclass's subclass may keep @dataclass
                    plain.append(f"{path.relative_to(PACKAGE)}:{i + 1}: {header}")
    assert plain == []


@frozen
class Point:
    """A module-level record (pickle finds classes by their qualified name)."""

    x: int
    y: int
