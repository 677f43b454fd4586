"""Where a piece of a spec sits, and every located error raised there.

``At`` is built once per node the resolver reads — the file, the line and column in it, the spec or layer path —
and each error about that node goes through it: ``raise at.error("…", hint="…")`` (a ``SpecError`` unless
``cls=`` says otherwise), or ``raise at.locate(exc)`` to fill in what an inner error did not know. No call site
repeats the location keywords of ``cnncost.errors.CnnCostError``.
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

from cnncost.errors import CnnCostError, SpecError
from cnncost.spec.yamlsafe import Pos

E = TypeVar("E", bound=CnnCostError)
_new = tuple.__new__  # without the keyword handling of NamedTuple's own __new__ (the resolver builds many)


class At(NamedTuple):
    """A location: ``file:line:column`` and ``path`` (each None when unknown). A tuple: cheap to build."""

    file: str | None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    @classmethod
    def of(cls, file: str | None, pos: Pos | None, path: str | None) -> At:
        """The location of a YAML position ``(line, column)`` (None: no line and column)."""
        if pos:
            return _new(cls, (file, pos[0], pos[1], path))
        return _new(cls, (file, None, None, path))

    def error(self, message: str, *, hint: str | None = None, cls: type[CnnCostError] = SpecError) -> CnnCostError:
        """An error of class ``cls`` here (to raise)."""
        return cls(message, file=self.file, line=self.line, column=self.column, path=self.path, hint=hint)

    def locate(self, exc: E) -> E:
        """``exc`` with the location facts it still lacks taken from here (inner code knows less)."""
        exc.located(file=self.file, line=self.line, column=self.column, path=self.path)
        return exc

