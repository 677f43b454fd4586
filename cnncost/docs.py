"""Markdown that CI keeps true: ``cnncost docs FILE.md --check | --update``.

A block of a Markdown file between two marker lines carries the cnncost command that produces it::

    <!-- cnncost: table lenet5 -->
    ```text
    …the command's output…
    ```
    <!-- /cnncost -->

``--update`` runs every marker's command and puts its output between the markers; ``--check`` does the same in
memory and reports, as a unified diff, every block that is stale. Only the lines between markers change: the
rest of the file is kept byte for byte (line endings included), and the file is rewritten atomically.

How a block renders: ``--format markdown`` output goes in raw (between blank lines, so a table renders as a
table); JSON and CSV in a fenced ```json / ```csv block; every other output in a fenced ```text block. Trailing
spaces are dropped from every line. A ``plot`` marker (``plot vgg16 --kind costs -o docs/vgg16-costs.png``)
writes the image and puts its Markdown image link in the block.

Markers are commands, never shell: the first word must be one of cnncost's commands (``docs`` itself and
``bench``, whose timings change from run to run, are refused), and a shell operator (``|``, ``>``, ``;``, ``&&``,
``$(…)``, backticks) is refused rather than passed on. Commands run in-process, in the Markdown file's folder (so
paths in a marker are relative to the file), at a fixed width and without colour. Markers inside fenced code
blocks are text, not markers: a README can show the syntax.

This module knows nothing of the command line: the CLI hands it a ``run`` callable (arguments → output text) and
the names of its commands, so ``docs`` sits below ``cli`` in the layers.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cnncost.errors import CnnCostError, NotFoundError, suggest
from cnncost.frozen import frozen

__all__ = ["OUTPUT_OPTIONS", "Block", "FileResult", "Image", "output_path", "parse", "refresh"]

OPEN = re.compile(r"^<!-- cnncost: (?P<args>.*?) -->[ \t]*$")
CLOSE = re.compile(r"^<!-- /cnncost -->[ \t]*$")
#: Anything a writer may have meant as a marker (checked after OPEN and CLOSE): refused, never silently text.
LOOKS_LIKE = re.compile(r"^ {0,3}<!--\s*/?\s*cnncost\b", re.I)
FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")

#: Commands a marker may not run, and why.
REFUSED = {
    "docs": "a marker cannot run 'docs' itself",
    "bench": "timings change from run to run, so the block could never be up to date",
}
#: Words a shell would treat as operators; a marker runs one cnncost command, no shell.
SHELL_WORDS = frozenset({"|", "||", "&", "&&", ";", ";;", ">", ">>", "<", "<<", "<<<", "2>", "2>>", "&>", "2>&1"})
#: The options that name a file a command writes (``plot -o``): the block shows that file as an image link.
OUTPUT_OPTIONS = ("-o", "--output")
#: The most a Markdown file may hold; a bigger one is not documentation.
MAX_BYTES = 16 * 1024 * 1024

Run = Callable[[Sequence[str]], str]


@frozen
class Block:
    """One marked block: the opening marker's line (1-based), its command words, and the line indices (0-based)
    of the opening and closing markers."""

    line: int
    args: tuple[str, ...]
    start: int
    end: int

    @property
    def command(self) -> str:
        return "cnncost " + shlex.join(self.args)


@frozen
class Image:
    """A picture a plot marker writes that is missing or shows other data than it would now: where the marker
    is, the path as the marker names it, the file, and its new bytes."""

    line: int
    shown: str
    path: Path
    data: bytes


@frozen
class FileResult:
    """A Markdown file before and after its blocks were regenerated, and the pictures that are stale."""

    shown: str
    path: Path
    blocks: int
    old: str
    new: str
    images: tuple[Image, ...] = ()

    @property
    def stale(self) -> bool:
        return self.old != self.new or bool(self.images)

    def image_lines(self) -> str:
        """One line per stale picture (a diff cannot show an image)."""
        return "".join(
            f"{self.shown}:{image.line}: {image.shown} is stale (missing, or drawn from other figures)\n"
            for image in self.images
        )

    def diff(self) -> str:
        """The unified diff from the file as it is to the file with fresh blocks ('' when up to date)."""
        lines = difflib.unified_diff(
            self.old.splitlines(keepends=True),
            self.new.splitlines(keepends=True),
            fromfile=self.shown,
            tofile=f"{self.shown} (regenerated)",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _error(shown: str, line: int | None, message: str, hint: str | None = None) -> CnnCostError:
    return CnnCostError(message, file=shown, line=line, hint=hint)


def _closes(fence: str, body: str) -> bool:
    stripped = body.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence) and body.startswith(
        (" ", fence[0])
    )


def parse(text: str, shown: str, commands: Collection[str]) -> list[Block]:
    """Every marked block of a Markdown text, its command checked (a cnncost command, no shell). Unbalanced or
    nested markers, and marker-like lines that are not markers, are one-line errors naming the file and line."""
    lines = text.splitlines(keepends=True)
    blocks: list[Block] = []
    fence: str | None = None
    opened: tuple[int, tuple[str, ...]] | None = None
    for i, raw in enumerate(lines):
        body = raw.rstrip("\r\n")
        if opened is not None:
            if CLOSE.match(body):
                blocks.append(Block(line=opened[0] + 1, args=opened[1], start=opened[0], end=i))
                opened = None
            elif LOOKS_LIKE.match(body):
                raise _error(
                    shown,
                    i + 1,
                    f"a cnncost marker inside the block opened at line {opened[0] + 1}",
                    hint="blocks do not nest: close that one with '<!-- /cnncost -->' first",
                )
            continue
        if fence is not None:
            if _closes(fence, body):
                fence = None
            continue
        match = FENCE.match(body)
        if match and not (match["fence"][0] == "`" and "`" in match["info"]):
            fence = match["fence"]
            continue
        opening = OPEN.match(body)
        if opening:
            opened = (i, _command(opening["args"], shown, i + 1, commands))
        elif CLOSE.match(body):
            raise _error(shown, i + 1, "'<!-- /cnncost -->' closes no block", hint="open one with '<!-- cnncost: …'")
        elif LOOKS_LIKE.match(body):
            raise _error(
                shown,
                i + 1,
                f"not a cnncost marker: {body.strip()[:60]!r}",
                hint="write '<!-- cnncost: COMMAND ARGS -->' on a line of its own, and '<!-- /cnncost -->' after",
            )
    if opened is not None:
        raise _error(shown, opened[0] + 1, "this block has no closing marker", hint="add '<!-- /cnncost -->' after it")
    return blocks


def _command(text: str, shown: str, line: int, commands: Collection[str]) -> tuple[str, ...]:
    """A marker's words, refused unless they are one cnncost command with its arguments."""
    try:
        args = tuple(shlex.split(text))
    except ValueError as exc:
        raise _error(shown, line, f"cannot read the marker's command: {exc}", hint="close the quote") from None
    if not args:
        raise _error(shown, line, "the marker names no command", hint="e.g. '<!-- cnncost: table vgg16 -->'")
    first = args[0]
    if first not in commands:
        close = suggest(first, commands)
        raise _error(
            shown,
            line,
            f"{first!r} is not a cnncost command; a marker runs one cnncost command, nothing else",
            hint=close or "one of: " + ", ".join(sorted(commands)),
        )
    if first in REFUSED:
        raise _error(shown, line, f"'{first}' cannot be used in a marker: {REFUSED[first]}")
    for word in args:
        if word in SHELL_WORDS or "$(" in word or "`" in word:
            raise _error(
                shown,
                line,
                f"{word!r} is shell syntax; a marker runs one cnncost command, without a shell",
                hint="remove it (the block holds the command's whole output)",
            )
    return args


def _option(args: Sequence[str], names: Sequence[str]) -> str | None:
    """The value of an option given as ``-o X``, ``--output X``, ``--output=X`` or ``-oX`` (the last one wins)."""
    value: str | None = None
    for i, word in enumerate(args):
        for name in names:
            if word == name and i + 1 < len(args):
                value = args[i + 1]
            elif name.startswith("--") and word.startswith(name + "="):
                value = word[len(name) + 1 :]
            elif not name.startswith("--") and word.startswith(name) and len(word) > len(name):
                value = word[len(name) :]
    return value


def output_path(args: Sequence[str]) -> str | None:
    """The file a marker's command writes (``plot … -o FILE``), or None."""
    return _option(args, OUTPUT_OPTIONS)


def render_block(args: Sequence[str], output: str, newline: str = "\n") -> str:
    """The lines between a block's markers for a command's output (see the module doc)."""
    image = output_path(args)
    if args and args[0] == "plot" and image is not None:
        alt = "cnncost " + " ".join(a for a in args if a not in OUTPUT_OPTIONS and a != image)
        return f"![{alt.replace('[', '(').replace(']', ')')}]({image}){newline}"
    lines = [line.rstrip() for line in output.rstrip("\n").splitlines()]
    fmt = (_option(args, ("-f", "--format")) or "table").lower()
    if fmt == "markdown":
        return newline + newline.join(lines) + newline + newline
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    lang = fmt if fmt in ("json", "csv") else "text"
    return newline.join([fence + lang, *lines, fence]) + newline


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def read(path: Path, shown: str) -> str:
    """A Markdown file's text (UTF-8), or one line saying why it cannot be read."""
    try:
        if path.is_dir():
            raise _error(shown, None, "is a directory", hint="name a Markdown file")
        if path.stat().st_size > MAX_BYTES:
            raise _error(shown, None, f"is over {MAX_BYTES // 2**20} MiB", hint="name a Markdown file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError("no such file", file=shown, hint="check the path") from None
    except OSError as exc:
        raise _error(shown, None, f"cannot read it: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(shown, None, f"is not UTF-8 text (byte {exc.start})", hint="save it as UTF-8") from None


def refresh(path: str | os.PathLike[str], *, run: Run, commands: Collection[str]) -> FileResult:
    """The file with every block regenerated by running its command (in the file's folder). Nothing is written:
    the caller compares (``--check``) or writes ``result.new`` (``--update``)."""
    shown = os.fspath(path)
    target = Path(shown)
    old = read(target, shown)
    blocks = parse(old, shown, commands)
    lines = old.splitlines(keepends=True)
    pieces: list[str] = []
    images: list[Image] = []
    done = 0
    with _working_directory(target.resolve().parent):
        for block in blocks:
            opening = lines[block.start]
            newline = opening[len(opening.rstrip("\r\n")) :] or "\n"
            image = output_path(block.args) if block.args[0] == "plot" else None
            try:
                if image is None:
                    output = run(block.args)
                else:
                    output = ""
                    fresh = _picture(block, image, run)
                    if fresh is not None:
                        images.append(fresh)
            except CnnCostError as exc:
                raise _error(shown, block.line, f"'{block.command}' failed: {exc.one_line()}") from None
            body = render_block(block.args, output, newline)
            if any(OPEN.match(b) or CLOSE.match(b) or LOOKS_LIKE.match(b) for b in body.splitlines()):
                raise _error(shown, block.line, f"the output of '{block.command}' holds a cnncost marker line")
            pieces += [*lines[done : block.start + 1], body]
            done = block.end
    pieces += lines[done:]
    return FileResult(
        shown=shown, path=target, blocks=len(blocks), old=old, new="".join(pieces), images=tuple(images)
    )


def _picture(block: Block, image: str, run: Run) -> Image | None:
    """Draw a plot marker's picture into a temporary file; the new picture when the one the marker names is
    missing or carries another data fingerprint (``cnncost.render.plot``), else None. Runs in the file's folder."""
    import tempfile

    from cnncost.atomic import check_writable
    from cnncost.render.plot import fingerprint_of

    check_writable(image)
    target = Path(image).resolve()
    with tempfile.TemporaryDirectory(prefix="cnncost-docs-") as folder:
        scratch = Path(folder) / ("picture" + Path(image).suffix)
        run(_with_output(block.args, str(scratch)))
        data = scratch.read_bytes()
        fresh = fingerprint_of(scratch)
    if fresh is not None and fresh == fingerprint_of(target):
        return None
    return Image(line=block.line, shown=image, path=target, data=data)


def _with_output(args: Sequence[str], path: str) -> list[str]:
    """The marker's words with the file its ``-o``/``--output`` names replaced by ``path``."""
    out: list[str] = []
    skip = False
    for i, word in enumerate(args):
        if skip:
            skip = False
            continue
        if word in OUTPUT_OPTIONS and i + 1 < len(args):
            out += [word, path]
            skip = True
        elif word.startswith("--output="):
            out.append("--output=" + path)
        elif word.startswith("-o") and len(word) > 2:
            out.append("-o" + path)
        else:
            out.append(word)
    return out
