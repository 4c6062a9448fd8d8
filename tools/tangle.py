#!/usr/bin/env python3
"""Tangle the book's code chunks into the micrograd package.

The chapters listed in _toc.yml hold named code chunks, written as MyST
directives::

    ```{chunk} Value: addition and multiplication
    def __add__(self, other):
        ...
    ```

A chunk with ``:file: micrograd/engine.py`` is a *file root*. A line of a chunk
that holds only ``<<other chunk>>`` is replaced by that chunk, indented like
the reference. A later block with the same name appends to the chunk; with
``:replace:`` it replaces everything the chunk held so far.

The program runs in four steps, one module of tools/literate/ each: parse the
chapters (parse.py), build the chunk graph (graph.py), expand every file root
for the package as it stands at the end of every chapter, and compile each file
(expand.py), write the files (files.py). Any problem with the input stops it
before anything is written, with one line ``book/<chapter>.md:LINE: error: ...``;
errors.py has one class for each kind of problem (REFUSALS).

Usage::

    python tools/tangle.py                      # write the package
    python tools/tangle.py --check              # exit 1 and a diff if it is stale
    python tools/tangle.py --through book/05-backprop.md --out DIR
    python tools/tangle.py --locate micrograd/engine.py:42
"""
from __future__ import annotations

import argparse
import hashlib
import os
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path

from literate.errors import REFUSALS, BadArgument, NotProduced, TangleError, refusals_table
from literate.expand import HEADER_WIDTH, Line, Tangled, header, tangle_state
from literate.files import _on_disk, check, generated_status, write
from literate.graph import REFERENCE, Block, Chunk, build_chunks, check_graph, check_references, references
from literate.parse import ChunkOptions, chapter_titles, markdown_parser, parse_book, read_chapter, read_toc

ROOT = Path(__file__).resolve().parent.parent
# The names other tools import from here (import tangle; tangle.NAME).
__all__ = ["REFERENCE", "REFUSALS", "HEADER_WIDTH", "Block", "Chunk", "ChunkOptions", "Line", "Tangled",
           "TangleError", "build_chunks", "chapter_titles", "check", "generated_status", "header", "locate",
           "markdown_parser", "parse_book", "read_chapter", "read_toc", "references", "refusals_table",
           "tangle", "tangle_chapters", "write"]


@dataclass
class Book:
    """The book parsed once: its chapters in order and every chunk block."""

    root: Path
    chapters: list[str]
    blocks: list[Block]
    defined: dict[str, Block]  # chunk name -> its first block
    states: dict[str, tuple[Tangled, dict[str, Chunk]]] = field(default_factory=dict)  # chapters done so far


_BOOKS: dict[tuple[Path, str], Book] = {}  # parsed books, by the content of their sources


def read_book(root: Path = ROOT) -> Book:
    """Parse every chapter once; check what holds for the whole book (references to defined chunks).

    A book whose sources have not changed is not parsed again, so calling tangle()
    once per chapter costs one parse.
    """
    chapters = read_toc(root)
    digest = hashlib.sha256()
    for name in ["_toc.yml", "_config.yml", *chapters]:
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    key = (root.resolve(), digest.hexdigest())
    if key not in _BOOKS:
        blocks = parse_book(root)
        defined: dict[str, Block] = {}
        for block in blocks:
            defined.setdefault(block.name, block)
        check_references(blocks, defined)
        _BOOKS[key] = Book(root, chapters, blocks, defined)
    return _BOOKS[key]


def tangle_chapters(root: Path = ROOT, through: str | None = None, book: Book | None = None) -> dict[str, Tangled]:
    """The package as it stands at the end of each chapter (up to `through`), from one parse.

    Every chapter's package is checked (graph, Python syntax): a mistake in code that a
    later chapter replaces still breaks that chapter. Chapters that change no code
    share one Tangled object, so `a is b` tells identical snapshots apart cheaply.
    """
    book = book or read_book(root)
    if through is not None and through not in book.chapters:
        raise BadArgument("_toc.yml:1", f"--through {through}: no such chapter in the table of contents")
    last = book.chapters.index(through) if through is not None else len(book.chapters) - 1
    states: dict[str, Tangled] = {}
    for number, chapter in enumerate(book.chapters[: last + 1]):
        if chapter not in book.states:
            blocks = [b for b in book.blocks if book.chapters.index(b.chapter) <= number]
            if number and not any(b.chapter == chapter for b in blocks):  # no code in this chapter
                book.states[chapter] = book.states[book.chapters[number - 1]]
            else:
                at_end = f" (in the code as it stands at the end of {chapter})"
                chunks = build_chunks(blocks)
                check_graph(chunks, book.defined, False, at_end)
                book.states[chapter] = (tangle_state(chunks, book.chapters, at_end), chunks)
        states[chapter] = book.states[chapter][0]
    if through is None:
        check_graph(book.states[book.chapters[-1]][1], book.defined, final=True)
    return states


def tangle(root: Path = ROOT, through: str | None = None) -> Tangled:
    """Parse, build the graph and expand: the package as the book defines it (at the end of `through`)."""
    states = tangle_chapters(root, through)
    return states[through] if through is not None else list(states.values())[-1]


def pieces(root: Path = ROOT) -> list[dict]:
    """Every chunk block of the book as data for literate.expand.tangle_pieces (the page's re-tangle)."""
    seen: set[str] = set()
    out = []
    for block in read_book(root).blocks:
        out.append(block.piece("append" if block.name in seen else "define"))
        seen.add(block.name)
    return out


def locate(tangled: Tangled, spec: str) -> str:
    """The chapter line a line of a generated file comes from: 'micrograd/engine.py:42' -> 'book/...md:N'."""
    rel, _, number = spec.rpartition(":")
    if not rel or not number.isdigit():
        raise BadArgument("--locate", f"expected FILE:LINE, e.g. micrograd/engine.py:42, not {spec!r}")
    rel = posixpath.normpath(rel)
    if rel not in tangled.lines:
        raise BadArgument("--locate", f"{rel} is not generated by the book (roots: {', '.join(sorted(tangled.lines))})")
    lines = tangled.lines[rel]
    index = int(number) - 1
    if not 0 <= index < len(lines):
        raise BadArgument("--locate", f"{rel} has {len(lines)} lines; there is no line {number}")
    if lines[index].origin is None:
        what = "part of the generated header" if not lines[index].text else "a blank line the tool adds (PEP 8)"
        raise BadArgument("--locate", f"{rel}:{number} is {what}")
    return lines[index].origin


def locate_on_disk(root: Path, out: Path, spec: str, states: dict[str, Tangled]) -> str:
    """Like locate(), for a file on disk as a traceback names it (relative to the repository, or absolute).

    The file must be what the chapters produce: the package, or the snapshot of some
    chapter (found by its content). A stale or edited file is refused, not guessed at.
    """
    path, _, number = spec.rpartition(":")
    if not path or not number.isdigit():
        raise BadArgument("--locate", f"expected FILE:LINE, e.g. micrograd/engine.py:42, not {spec!r}")
    target = Path(path) if Path(path).is_absolute() else out / path
    target = Path(os.path.normpath(target))
    known = sorted({rel for state in states.values() for rel in state.files}, key=len, reverse=True)
    rel = next((r for r in known if target.as_posix().endswith("/" + r)), None)
    if rel is None:
        raise BadArgument("--locate", f"{path} is not generated by the book (it generates "
                                      f"{', '.join(sorted(known))})")
    final = list(states.values())[-1]
    if not target.exists():
        if target != out / rel:
            raise BadArgument("--locate", f"{path} does not exist")
        return locate(final, f"{rel}:{number}")  # not written yet: nothing on disk to disagree with
    text = _on_disk(target)
    for state in [final, *reversed(list(states.values()))]:
        if state.files.get(rel) == text:
            return locate(state, f"{rel}:{number}")
    raise NotProduced(f"{path}:{number}", f"{path} is not what the chapters produce (it is stale or was edited by "
                                          "hand); run `make tangle`, or --locate in a fresh copy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tangle the book's chunks into the micrograd package.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff if the files are stale")
    parser.add_argument("--through", metavar="CHAPTER", help="the package as it stands at the end of CHAPTER")
    parser.add_argument("--out", metavar="DIR", help="write into DIR instead of the repository")
    parser.add_argument("--locate", metavar="FILE:LINE", help="print the chapter line a generated line came from")
    parser.add_argument("--force", action="store_true", help="overwrite files edited by hand")
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    if args.through and not args.out and not args.check and not args.locate:
        parser.error("--through needs --out DIR: a snapshot must not overwrite the package")
    out = Path(args.out).resolve() if args.out else root
    try:
        book = read_book(root)
        through = chapter_arg(book.chapters, root, args.through) if args.through else None
        states = tangle_chapters(root, through, book)
        tangled = states[through] if through else list(states.values())[-1]
        if args.locate:
            print(locate_on_disk(root, out, args.locate, {through: tangled} if through else states))
        elif args.check:
            diff = check(out, tangled)
            if diff:
                sys.stdout.write(diff)
                print("tangle: the package differs from the chapters; run `make tangle`", file=sys.stderr)
                return 1
        else:
            for rel in write(out, tangled, args.force):
                print(f"wrote {rel}")
    except TangleError as err:
        print(err, file=sys.stderr)
        return 2
    return 0


def chapter_arg(chapters: list[str], root: Path, value: str) -> str:
    """A chapter as people paste it: book/05-backprop.md, ./book/05-backprop, 05-backprop, an absolute path."""
    path = Path(value)
    if path.is_absolute():
        try:
            value = Path(os.path.normpath(path)).relative_to(root).as_posix()
        except ValueError:
            raise BadArgument("--through", f"{value} is not inside the repository {root}") from None
    value = posixpath.normpath(value)
    found = [c for c in chapters if value in (c, c[: -len(".md")], Path(c).stem, Path(c).name)]
    if len(found) != 1:
        raise BadArgument("--through", f"{value}: {'no' if not found else 'more than one'} chapter of _toc.yml "
                                       "has that name")
    return found[0]


if __name__ == "__main__":
    sys.exit(main())
