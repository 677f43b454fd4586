"""Variables in scope while a spec resolves: a few names over the scope around them, never a copy.

Every layer sees its input's ``in_channels``, ``in_height`` and ``in_width``; every repeat copy its ``index`` and
``stride``; every block call its arguments. Copying the whole scope for each of them made a spec of 35,500
variables take half a minute. A ``Scope`` adds its own names over its parent's and looks a name up through the
chain, whose length is the nesting of the spec (bounded by the YAML depth and the block call depth), not its size.

``globals`` is what a block body sees of the spec's variables: the spec's own values, or an enclosing block's
argument of the same name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class Scope(Mapping[str, Any]):
    """Immutable to its users: ``names`` over ``parent`` (the mapping given is kept, not copied)."""

    __slots__ = ("_names", "_parent", "globals")

    def __init__(self, names: Mapping[str, Any], parent: Scope | None = None, *, globals_: Scope | None = None) -> None:
        self._names = names
        self._parent = parent
        self.globals: Scope = globals_ if globals_ is not None else parent.globals if parent is not None else self

    def __getitem__(self, key: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            names = scope._names
            if key in names:
                return names[key]
            scope = scope._parent
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        scope: Scope | None = self
        while scope is not None:
            if key in scope._names:
                return True
            scope = scope._parent
        return False

    def __iter__(self) -> Iterator[str]:
        """Every visible name once (for hints: "did you mean …?"); lookups never iterate."""
        seen: set[str] = set()
        scope: Scope | None = self
        while scope is not None:
            for key in scope._names:
                if key not in seen:
                    seen.add(key)
                    yield key
            scope = scope._parent

    def __len__(self) -> int:
        return sum(1 for _ in self)
