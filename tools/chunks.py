"""Sphinx extension: render the book's code chunks and run each chapter on its own code.

* ``{chunk}`` blocks become highlighted listings with a caption (name, and file
  for a root) and a line of cross-links: where the chunk is used, where it was
  first defined, where it is continued or replaced.
* Each chapter's code cells run against the package *as it stands at the end of
  that chapter* (``tangle.py --through``). A chapter's first code cell holds the
  line ``SETUP_MARKER`` (or ``WHOLE_BOOK_MARKER``); the build fills it in with
  that snapshot's path and the hash of its code (or of the whole book) and of
  tools/ (which the cells can import, e.g. the benchmark), so the execution
  cache notices when the chapters or tools it depends on change.

The chunk graph comes from tools/tangle.py, so the book and the package read
the same structure, and a tangle error stops the build at its file:line.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_refnode

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import tangle  # noqa: E402

SETUP_MARKER = "# This chapter's code (filled in when the book is built)"
# For a chapter whose cells read the whole book (counts of chunks, lines of the final package):
# its cells still import this chapter's code, but it re-runs whenever any chapter changes.
WHOLE_BOOK_MARKER = "# This chapter's code, and it reads the whole book (filled in when the book is built)"


@dataclass
class Listing:
    """What the book shows around one chunk block."""

    block: tangle.Block
    label: str
    docname: str
    kind: str  # "defined", "continued" or "replaced"
    file: str | None  # the file the chunk ends up in
    first: "Listing | None" = None
    later: list["Listing"] = field(default_factory=list)
    used_in: list["Listing"] = field(default_factory=list)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "chunk"


def index_book(root: Path) -> dict[tuple[str, int], Listing]:
    """Every chunk block of the book, keyed by (chapter, line), with its relations."""
    blocks = tangle.parse_book(root)
    chunks = tangle.build_chunks(blocks)
    files = _files_of(chunks)
    listings: dict[tuple[str, int], Listing] = {}
    by_name: dict[str, list[Listing]] = {}
    for block in blocks:
        same = by_name.setdefault(block.name, [])
        kind = "replaced" if block.replace else ("continued" if same else "defined")
        listing = Listing(block, f"chunk-{slug(block.name)}-{len(same) + 1}",
                          block.chapter[: -len(".md")], kind, files.get(block.name))
        listing.first = same[0] if same else None
        for earlier in same:
            earlier.later.append(listing)
        same.append(listing)
        listings[(block.chapter, block.line)] = listing
    for listing in listings.values():
        for _, _, name in tangle.references(listing.block):
            for target in by_name.get(name, []):
                target.used_in.append(listing)
    return listings


def _files_of(chunks: dict[str, tangle.Chunk]) -> dict[str, str]:
    """For each chunk name, the file its text ends up in."""
    files: dict[str, str] = {}

    def visit(name: str, path: str) -> None:
        if name in files or name not in chunks:
            return
        files[name] = path
        for block in chunks[name].pieces:
            for _, _, child in tangle.references(block):
                visit(child, path)

    for chunk in chunks.values():
        if chunk.file:
            visit(chunk.name, chunk.file)
    return files


class chunk_link(nodes.Inline, nodes.TextElement):
    """A link to a listing, resolved to a real reference once documents are known."""


class ChunkDirective(SphinxDirective):
    required_arguments = tangle.ChunkOptions.required_arguments
    final_argument_whitespace = tangle.ChunkOptions.final_argument_whitespace
    has_content = tangle.ChunkOptions.has_content
    option_spec = tangle.ChunkOptions.option_spec

    def run(self) -> list[nodes.Node]:
        chapter = self.env.doc2path(self.env.docname, False)
        chapter = Path(chapter).as_posix()
        listing = self.env.app.chunk_listings.get((chapter, self.lineno))
        if listing is None:
            raise self.error("this chunk is not read by tools/tangle.py: chunks must stand at the top level "
                             "of a chapter listed in _toc.yml, not inside another directive")
        block = listing.block
        code = "\n".join(block.body)
        literal = nodes.literal_block(code, code, language="python", classes=["chunk-code"])
        literal["linenos"] = False
        self.set_source_info(literal)
        caption = nodes.caption("", "", *self.caption_parts(listing))
        self.set_source_info(caption)
        wrapper = nodes.container("", caption, literal, literal_block=True,
                                  classes=["literal-block-wrapper", "chunk", f"chunk-{listing.kind}"])
        wrapper["ids"].append(listing.label)
        self.set_source_info(wrapper)
        links = self.link_parts(listing)
        result: list[nodes.Node] = [wrapper]
        if links:
            result.append(nodes.paragraph("", "", *links, classes=["chunk-links"]))
        return result

    def caption_parts(self, listing: Listing) -> list[nodes.Node]:
        symbol = {"defined": "≡", "continued": "+≡", "replaced": ":="}[listing.kind]
        parts: list[nodes.Node] = [nodes.strong("", f"«{listing.block.name}» {symbol}")]
        index = getattr(self.env.app, "chunk_index_doc", None)  # the chunk's entry in the index (tools/chunkindex.py)
        if index:
            parts[0] = chunk_link("", "", parts[0], refdoc=index, reflabel=f"entry-{slug(listing.block.name)}")
        where = listing.file if listing.block.file else (f"in {listing.file}" if listing.file else "")
        if where:
            parts.append(nodes.Text(f"  {where}"))
        return parts

    def link_parts(self, listing: Listing) -> list[nodes.Node]:
        phrases: list[tuple[str, list[Listing]]] = [
            ("goes into", _unique_parents(listing.used_in)),
            ("first defined in", [listing.first] if listing.first else []),
            ("continued in", [later for later in listing.later if later.kind == "continued"]),
            ("replaced in", [later for later in listing.later if later.kind == "replaced"]),
        ]
        parts: list[nodes.Node] = []
        for phrase, targets in phrases:
            if not targets:
                continue
            if parts:
                parts.append(nodes.Text("; "))
            parts.append(nodes.Text(f"{phrase} " if parts else f"{phrase[0].upper()}{phrase[1:]} "))
            for n, target in enumerate(targets):
                if n:
                    parts.append(nodes.Text(", "))
                text = self.describe(target, phrase)
                parts.append(chunk_link("", text, refdoc=target.docname, reflabel=target.label))
        if parts:
            parts.append(nodes.Text("."))
        return parts

    def describe(self, target: Listing, phrase: str) -> str:
        title = self.env.app.chunk_chapter_titles.get(target.block.chapter, target.docname)
        if phrase == "goes into":
            return f"«{target.block.name}» ({title})"
        return title


def _unique_parents(listings: list[Listing]) -> list[Listing]:
    """One link per parent chunk: the first block that refers to this one."""
    seen, parents = set(), []
    for listing in listings:
        if listing.block.name not in seen:
            seen.add(listing.block.name)
            parents.append(listing)
    return parents


# ---------------------------------------------------------------- events


def on_builder_inited(app) -> None:
    # The extension brings its own stylesheet (tools/static/chunks.css).
    app.config.html_static_path.append(str(Path(__file__).resolve().parent / "static"))
    root = Path(app.srcdir)
    try:
        app.chunk_listings = index_book(root)
        app.chunk_chapter_titles = tangle.chapter_titles(root)
        app.chunk_snapshots = write_snapshots(root, Path(app.doctreedir).parent / "snapshots")
    except tangle.TangleError as err:
        raise ExtensionError(str(err)) from None


def tools_digest(tools: Path = TOOLS):
    """A running sha256 of the tools' code: tools/ is on the cells' path, so they can import any of it."""
    digest = hashlib.sha256()
    for path in sorted(tools.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest


def write_snapshots(root: Path, folder: Path, tools: Path = TOOLS) -> dict[str, tuple[Path, str]]:
    """For each chapter: the package as it stands at its end, and a hash of that code and of the tools."""
    snapshots = {}
    of_tools = tools_digest(tools)
    for chapter in tangle.read_toc(root):
        tangled = tangle.tangle(root, through=chapter)
        digest = of_tools.copy()
        for path, text in sorted(tangled.files.items()):
            digest.update(path.encode() + b"\0" + text.encode() + b"\0")
        target = folder / Path(chapter).stem
        if target.exists():
            shutil.rmtree(target)
        for path, text in tangled.files.items():
            tangle.write_atomically(target / path, text)
        snapshots[chapter] = (target, digest.hexdigest()[:16])
    return snapshots


def setup_line(chapter_dir: Path, snapshot: Path, digest: str) -> str:
    """The chapter's first line of code: its snapshot first on the path, figures set up for both builders."""
    code = Path(os.path.relpath(snapshot, chapter_dir)).as_posix()
    tools = Path(os.path.relpath(Path(__file__).parent, chapter_dir)).as_posix()
    return (f"import sys; sys.path[:0] = [{code!r}, {tools!r}]; import bookdisplay; bookdisplay.setup()"
            f"  # this chapter's code, sha256 {digest}")


def on_source_read(app, docname: str, source: list[str]) -> None:
    """Point the chapter's code cells at its snapshot; re-read it when a chapter it depends on changes."""
    chapter = Path(app.env.doc2path(docname, False)).as_posix()
    if chapter not in app.chunk_snapshots:
        return
    chapters = list(app.chunk_snapshots)
    text = source[0]
    snapshot, digest = app.chunk_snapshots[chapter]
    marker, depends_on = SETUP_MARKER, chapters[: chapters.index(chapter)]
    if WHOLE_BOOK_MARKER in text:
        marker, depends_on, digest = WHOLE_BOOK_MARKER, chapters, whole_book_digest(Path(app.srcdir), chapters)
    for other in depends_on:
        app.env.note_dependency(str(Path(app.srcdir) / other))
    for tool in sorted(TOOLS.glob("*.py")):
        app.env.note_dependency(str(tool))
    if marker in text:
        chapter_dir = (Path(app.srcdir) / chapter).parent
        source[0] = text.replace(marker, setup_line(chapter_dir, snapshot, digest), 1)
    elif "```{code-cell}" in text:
        line = text[: text.index("```{code-cell}")].count("\n") + 1
        raise ExtensionError(f"{chapter}:{line}: error: the first code cell of a chapter must hold the line "
                             f"{SETUP_MARKER!r} (tagged remove-cell), so its cells run on this chapter's code")


def whole_book_digest(root: Path, chapters: list[str], tools: Path = TOOLS) -> str:
    digest = tools_digest(tools)
    for chapter in chapters:
        digest.update(chapter.encode() + b"\0" + (root / chapter).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def on_doctree_resolved(app, doctree, docname: str) -> None:
    for node in list(doctree.findall(chunk_link)):
        reference = make_refnode(app.builder, docname, node["refdoc"], node["reflabel"],
                                 [child.deepcopy() for child in node.children], node.astext())
        node.replace_self(reference)


def setup(app):
    app.add_directive("chunk", ChunkDirective)
    app.add_node(chunk_link)
    app.connect("builder-inited", on_builder_inited)
    app.connect("source-read", on_source_read)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.add_css_file("chunks.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
