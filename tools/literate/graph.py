"""The chunk graph: the blocks in reading order become named chunks, checked (standard library only).

The first block of a name defines its chunk, later ones append to it, one with ``replace``
discards what it held so far; one with ``file`` makes it a file root.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .errors import MAX_NESTING, Expansion, FileConflict, FilePath, Undefined, Unused

REFERENCE = re.compile(r"^(?P<indent>[ \t]*)<<(?P<name>[^<>]+)>>[ \t]*$")


@dataclass
class Block:
    """One ``{chunk}`` block as written in a chapter (a *piece* of its chunk)."""

    name: str
    chapter: str  # path relative to the repository root, e.g. "book/04-value.md"
    line: int  # 1-based line of the opening fence
    body_line: int  # 1-based line of the first body line
    body: list[str]
    file: str | None = None
    replace: bool = False
    order: int = 0  # position in the whole book

    @property
    def where(self) -> str:
        return f"{self.chapter}:{self.line}"

    def piece(self, mode: str) -> dict:
        """This block as JSON-serialisable data (see expand.tangle_pieces)."""
        return {"name": self.name, "chapter": self.chapter, "line": self.line, "body_line": self.body_line,
                "mode": "replace" if self.replace else mode, "file": self.file, "text": "\n".join(self.body)}

    @classmethod
    def from_piece(cls, piece: dict, order: int = 0) -> Block:
        return cls(piece["name"], piece["chapter"], piece["line"], piece.get("body_line", piece["line"] + 1),
                   piece["text"].split("\n") if piece["text"] else [], piece.get("file"),
                   piece.get("mode") == "replace", order)


@dataclass
class Chunk:
    name: str
    first: Block
    pieces: list[Block] = field(default_factory=list)  # what the chunk holds now
    file: str | None = None


def references(block: Block):
    """Yield (line number, indentation, chunk name) for each reference in a block."""
    for offset, text in enumerate(block.body):
        match = REFERENCE.match(text)
        if match:
            yield block.body_line + offset, match["indent"], " ".join(match["name"].split())


def build_chunks(blocks: list[Block]) -> dict[str, Chunk]:
    """Apply definitions, continuations and replacements in reading order."""
    chunks: dict[str, Chunk] = {}
    owners: dict[str, Chunk] = {}  # file path, case-folded -> the chunk that roots it
    for block in blocks:
        chunk = chunks.get(block.name)
        if chunk is None:
            if block.replace:
                raise Undefined(block.where, f"replace of chunk «{block.name}», which is not defined "
                                             "before this point")
            chunk = chunks[block.name] = Chunk(block.name, block)
        if block.file is not None:
            _claim_file(block, chunk, owners)
        chunk.pieces = [block] if block.replace else [*chunk.pieces, block]
    return chunks


def _claim_file(block: Block, chunk: Chunk, owners: dict[str, Chunk]) -> None:
    path = block.file
    normal = posixpath.normpath(path.replace("\\", "/"))
    if (not path.isprintable() or "\ufffd" in path or normal.startswith(("/", "../")) or normal == ".."
            or not normal.endswith(".py") or PurePosixPath(normal).name == ".py"):
        raise FilePath(block.where, f"file root {path!r} must be a relative path to a .py file inside "
                                    "the repository")
    if path != normal:
        raise FilePath(block.where, f"write the file root as {normal}, not {path}")
    if chunk.file is not None and chunk.file != path:
        raise FileConflict(block.where, f"chunk «{chunk.name}» already writes {chunk.file}; it cannot also "
                                        f"write {path}")
    owner = owners.get(path.casefold())
    if owner is not None and owner is not chunk:
        same = "is already" if owner.file == path else f"differs only in case from {owner.file}, which is"
        raise FileConflict(block.where, f"file {path} {same} the root of chunk «{owner.name}» "
                                        f"({owner.first.where})")
    for key, other in owners.items():
        inside, around = path.casefold().startswith(key + "/"), key.startswith(path.casefold() + "/")
        if other is not chunk and (inside or around):
            inner, outer = (path, other) if inside else (other.file, chunk)
            raise FileConflict(block.where, f"file {inner} would lie inside the file {outer.file or path}, the root "
                                            f"of chunk «{outer.name}»")
    owners[path.casefold()] = chunk
    chunk.file = path


def check_references(blocks: list[Block], defined_anywhere) -> None:
    """Every reference, in every block (even one a later :replace: discards), names a chunk of the book."""
    for block in blocks:
        for line, _, name in references(block):
            if name not in defined_anywhere:
                raise Undefined(f"{block.chapter}:{line}", f"reference to undefined chunk «{name}»")


def check_graph(chunks: dict[str, Chunk], defined_anywhere, final: bool, state: str = "") -> None:
    """Undefined references, cycles and too deep nesting are errors; so, in the whole book, are unused chunks."""
    check_references([block for chunk in chunks.values() for block in chunk.pieces], defined_anywhere)
    heights: dict[str, int] = {}
    for name in chunks:
        _visit(name, chunks, [], heights, chunks[name].first.where, state)
    if final:
        reached = files_of(chunks)
        for chunk in chunks.values():
            if chunk.name not in reached:
                raise Unused(chunk.first.where, f"chunk «{chunk.name}» is never used: no file root reaches it")


def children(chunk: Chunk, chunks: dict[str, Chunk]) -> list[tuple[str, str]]:
    """(chapter:line, name) of each reference of the chunk to a chunk that exists."""
    return [(f"{block.chapter}:{line}", name) for block in chunk.pieces
            for line, _, name in references(block) if name in chunks]


def _visit(name: str, chunks: dict[str, Chunk], path: list[str], heights: dict[str, int], where: str,
           state: str) -> None:
    """Depth-first: a name already on the path is a cycle, a path deeper than MAX_NESTING an error
    (heights: how many levels a finished chunk's expansion has, so each chunk is visited once)."""
    if name in path:
        cycle = " -> ".join(f"«{step}»" for step in path[path.index(name):] + [name])
        raise Expansion(where, f"chunk references form a cycle{state}: {cycle}")
    if len(path) + heights.get(name, 1) > MAX_NESTING:
        raise Expansion(where, f"chunks nest more than {MAX_NESTING} deep here{state}")
    if name not in heights:
        path.append(name)
        for child_where, child in children(chunks[name], chunks):
            _visit(child, chunks, path, heights, child_where, state)
        path.pop()
        heights[name] = 1 + max((heights[child] for _, child in children(chunks[name], chunks)), default=0)


def files_of(chunks: dict[str, Chunk]) -> dict[str, str]:
    """For each chunk a file root reaches, the file its text ends up in."""
    files: dict[str, str] = {}

    def visit(name: str, path: str) -> None:
        if name not in files:
            files[name] = path
            for _, child in children(chunks[name], chunks):
                visit(child, path)

    for chunk in chunks.values():
        if chunk.file:
            visit(chunk.name, chunk.file)
    return files
