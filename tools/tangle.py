#!/usr/bin/env python3
"""Tangle the book's ``{chunk}`` blocks into the micrograd package: the command line of tools/literate/.

A chunk with ``:file: PATH`` is a file root; a line ``<<name>>`` is replaced by that chunk,
indented like it; a later block of a name appends to it, or with ``:replace:`` replaces it.

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
from pathlib import Path

from literate.errors import REFUSALS, BadArgument, NotProduced, TangleError, refusals_table
from literate.expand import HEADER_WIDTH, Line, Tangled, header, tangle_state
from literate.files import check, generated_status, on_disk, write
from literate.graph import REFERENCE, Block, Chunk, build_chunks, check_graph, check_references, files_of, references
from literate.parse import ChunkOptions, chapter_titles, markdown_parser, parse_book, read_chapter, read_toc

ROOT = Path(__file__).resolve().parent.parent
# The names other tools import from here (import tangle; tangle.NAME).
__all__ = ["REFERENCE", "REFUSALS", "HEADER_WIDTH", "Block", "Chunk", "ChunkOptions", "Line", "Tangled",
           "TangleError", "build_chunks", "chapter_titles", "check", "files_of", "generated_status", "header", "locate",
           "markdown_parser", "parse_book", "read_chapter", "read_toc", "references", "refusals_table",
           "tangle", "tangle_chapters", "write"]


_BOOKS: dict[tuple[Path, str], tuple] = {}  # (root, hash of its sources) -> (chapters, blocks, states so far)


def read_book(root: Path = ROOT) -> tuple[list[str], list[Block], dict]:
    """The book parsed once (again only when a source changed); every reference names a chunk of it."""
    chapters = read_toc(root)
    digest = hashlib.sha256()
    for name in ["_toc.yml", "_config.yml", *chapters]:
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    key = (root.resolve(), digest.hexdigest())
    if key not in _BOOKS:
        blocks = parse_book(root)
        check_references(blocks, {block.name for block in blocks})
        _BOOKS[key] = (chapters, blocks, {})
    return _BOOKS[key]


def tangle_chapters(root: Path = ROOT, through: str | None = None) -> dict[str, Tangled]:
    """The package as it stands at the end of each chapter (up to `through`), each checked, from one parse.

    Chapters that change no code share one Tangled object.
    """
    chapters, blocks, states = read_book(root)
    if through is not None and through not in chapters:
        raise BadArgument("_toc.yml:1", f"--through {through}: no such chapter in the table of contents")
    defined = {block.name for block in blocks}
    for number, chapter in enumerate(chapters[: chapters.index(through) + 1 if through else None]):
        if chapter in states:
            continue
        if number and not any(block.chapter == chapter for block in blocks):  # no code in this chapter
            states[chapter] = states[chapters[number - 1]]
            continue
        at_end = f" (in the code as it stands at the end of {chapter})"
        chunks = build_chunks([block for block in blocks if chapters.index(block.chapter) <= number])
        check_graph(chunks, defined, False, at_end)
        states[chapter] = (tangle_state(chunks, chapters, at_end), chunks)
    if through is None:
        check_graph(states[chapters[-1]][1], defined, final=True)
    return {chapter: states[chapter][0] for chapter in chapters[: chapters.index(through) + 1 if through else None]}


def tangle(root: Path = ROOT, through: str | None = None) -> Tangled:
    """Parse, build the graph and expand: the package as the book defines it (at the end of `through`)."""
    return list(tangle_chapters(root, through).values())[-1]


def pieces(root: Path = ROOT) -> list[dict]:
    """Every chunk block of the book as data for literate.expand.tangle_pieces (the page's re-tangle)."""
    blocks = read_book(root)[1]
    first = {block.name: block for block in reversed(blocks)}
    return [block.piece("define" if first[block.name] is block else "append") for block in blocks]


def _file_line(spec: str) -> tuple[str, str]:
    path, _, number = spec.rpartition(":")
    if not path or not number.isdigit():
        raise BadArgument("--locate", f"expected FILE:LINE, e.g. micrograd/engine.py:42, not {spec!r}")
    return path, number


def locate(tangled: Tangled, spec: str) -> str:
    """The chapter line a line of a generated file comes from: 'micrograd/engine.py:42' -> 'book/...md:N'."""
    rel, number = _file_line(spec)
    rel = posixpath.normpath(rel)
    if rel not in tangled.lines:
        raise BadArgument("--locate", f"{rel} is not generated by the book (roots: {', '.join(sorted(tangled.lines))})")
    lines = tangled.lines[rel]
    if not 0 < int(number) <= len(lines):
        raise BadArgument("--locate", f"{rel} has {len(lines)} lines; there is no line {number}")
    line = lines[int(number) - 1]
    if line.origin is None:
        what = "part of the generated header" if not line.text else "a blank line the tool adds (PEP 8)"
        raise BadArgument("--locate", f"{rel}:{number} is {what}")
    return line.origin


def locate_on_disk(root: Path, out: Path, spec: str, states: dict[str, Tangled]) -> str:
    """locate() for a file on disk as a traceback names it: it must be what some chapter produces."""
    path, number = _file_line(spec)
    target = Path(os.path.normpath(out / path))  # an absolute path stays as it is
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
    for state in [final, *reversed(states.values())]:
        if state.files.get(rel) == on_disk(target):
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
        through = chapter_arg(read_toc(root), root, args.through) if args.through else None
        states = tangle_chapters(root, through)
        tangled = list(states.values())[-1]
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
