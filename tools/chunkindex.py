"""Sphinx extension: the index of chunks and of names (directive ``{chunk-index}``), made at build.

* Every chunk: the listings that define, continue and replace it and the chunks it goes into, each a
  link (with its page in the PDF). Its entry, label ``entry-<slug>``, is where a listing's caption leads.
* Every function, class and method the package defines at the end of any chapter: the chunks that define
  it and those whose code uses it as a word (``Value``) or attribute (``.backward``); not a dunder's uses.
"""
from __future__ import annotations

import ast
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import chunks  # noqa: E402
import tangle  # noqa: E402


@dataclass
class Name:
    """A name the package defines, and the blocks that define and use it."""

    name: str  # "Value.backward"
    defined: list[tangle.Block] = field(default_factory=list)
    used: list[tangle.Block] = field(default_factory=list)

    @property
    def pattern(self) -> re.Pattern | None:
        last = self.name.rsplit(".", 1)[-1]
        if last.startswith("__") and last.endswith("__"):  # used through an operator: no uses to list
            return None
        return re.compile((r"\." if "." in self.name else r"(?<![\w.])") + rf"{re.escape(last)}\b")


def defined_names(root: Path, blocks: list[tangle.Block]) -> dict[str, Name]:
    """Every top-level function and class, and every method, of the package at the end of each chapter."""
    by_place = {f"{block.chapter}:{block.body_line + offset}": block for block in blocks
                for offset in range(len(block.body))}  # "chapter:line" -> block, for every line of every block
    names: dict[str, Name] = {}
    for tangled in {id(t): t for t in tangle.tangle_chapters(root).values()}.values():  # each distinct package
        for path, text in tangled.files.items():
            lines = tangled.lines[path]
            for qualname, line in _definitions(ast.parse(text)):
                block = by_place.get(lines[line - 1].origin)
                entry = names.setdefault(qualname, Name(qualname))
                if block is not None and block not in entry.defined:
                    entry.defined.append(block)
    for entry in names.values():
        entry.defined.sort(key=lambda b: b.order)
        if entry.pattern is not None:
            entry.used = [b for b in blocks if b not in entry.defined and _uses(b, entry.pattern)]
    return dict(sorted(names.items(), key=lambda item: item[0].lower()))


def _definitions(tree: ast.Module):
    """(qualified name, line of its def or class) for the module's functions, classes and methods."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name, node.lineno
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{item.name}", item.lineno


def _uses(block: tangle.Block, pattern: re.Pattern) -> bool:
    return any(pattern.search(line.split("#", 1)[0]) and not tangle.REFERENCE.match(line) for line in block.body)


class ChunkIndexDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        started = time.perf_counter()
        try:
            return self.index()
        finally:  # tools/live.py records the time the live book and this index add to the build
            self.env.app.live_seconds = getattr(self.env.app, "live_seconds", 0.0) + time.perf_counter() - started

    def index(self) -> list[nodes.Node]:
        app = self.env.app
        listings = sorted(app.chunk_listings.values(), key=lambda listing: listing.block.order)
        by_name: dict[str, list[chunks.Listing]] = {}
        for listing in listings:
            by_name.setdefault(listing.block.name, []).append(listing)
        self.env.note_dependency(str(Path(app.srcdir) / "_toc.yml"))
        for chapter in {listing.block.chapter for listing in listings}:
            self.env.note_dependency(str(Path(app.srcdir) / chapter))
        names = defined_names(Path(app.srcdir), [listing.block for listing in listings])
        return [self.section("Chunks", "index-chunks", self.chunk_entries(by_name)),
                self.section("Names", "index-names", self.name_entries(names))]

    def section(self, title: str, ident: str, items: list[nodes.Node]) -> nodes.section:
        return nodes.section("", nodes.title(title, title), nodes.bullet_list("", *items, classes=["chunk-index"]),
                             ids=[ident], names=[ident])

    def chunk_entries(self, by_name: dict[str, list[chunks.Listing]]) -> list[nodes.Node]:
        items = []
        for name in sorted(by_name, key=str.lower):
            group = by_name[name]
            parents = chunks._unique_parents([user for listing in group for user in listing.used_in])
            head: list[nodes.Node] = [nodes.strong("", f"«{name}»")]
            if group[0].file and group[0].block.file:
                head.append(nodes.Text(f" ({group[0].file})"))
            phrases = [(f"{kind} in", [self.link(li, self.title(li)) for li in group if li.kind == kind])
                       for kind in ("defined", "continued", "replaced")]
            phrases.append(("goes into", [self.link(p, f"«{p.block.name}»") for p in parents]))
            # An inline target, so that the PDF has the label too (a paragraph's ids are lost in LaTeX).
            label = f"entry-{chunks.slug(name)}"  # not "index-...": LaTeX drops such ids
            target = nodes.target("", "", ids=[label], names=[label])
            self.state.document.note_explicit_target(target)  # a label of Sphinx's std domain
            items.append(nodes.list_item("", nodes.paragraph("", "", target, *entry_parts(head, phrases))))
        return items

    def name_entries(self, names: dict[str, Name]) -> list[nodes.Node]:
        listing_of, items = self.env.app.chunk_listings, []
        for item in names.values():
            defined = [listing_of[(b.chapter, b.line)] for b in item.defined]
            used = [listing_of[(b.chapter, b.line)] for b in item.used]
            phrases = [("defined in", [self.link(li, f"«{li.block.name}» ({self.title(li)})") for li in defined])]
            if item.pattern is not None:
                repeated = {li.block.name for li in used if sum(u.block.name == li.block.name for u in used) > 1}
                phrases.append(("used in", [self.link(li, f"«{li.block.name}»" + (
                    f" ({self.title(li)})" if li.block.name in repeated else "")) for li in used]))
            parts = entry_parts([nodes.literal(item.name, item.name)], phrases)
            if item.pattern is None:
                parts.append(nodes.Text("; used through an operator or by Python itself"))
            items.append(nodes.list_item("", nodes.paragraph("", "", *parts)))
        return items

    def title(self, listing: chunks.Listing) -> str:
        return self.env.app.chunk_chapter_titles.get(listing.block.chapter, listing.docname)

    @staticmethod
    def link(listing: chunks.Listing, text: str) -> list[nodes.Node]:
        return [nodes.inline("", "", *chunks.chunk_xref(listing.docname, listing.label, text))]


def entry_parts(head: list[nodes.Node], phrases: list[tuple[str, list[list[nodes.Node]]]]) -> list[nodes.Node]:
    """head: phrase link, link; phrase link... (phrases without links are left out)."""
    parts = chunks.phrase_parts(phrases)
    return [*head, nodes.Text(": "), *parts] if parts else list(head)


def on_builder_inited(app) -> None:
    """Captions link to the index when the book has one (tools/chunks.py reads chunk_index_doc)."""
    doc = app.config.chunk_index_doc
    if doc and (Path(app.srcdir) / f"{doc}.md").is_file():
        app.chunk_index_doc = doc


def setup(app):
    app.add_config_value("chunk_index_doc", "book/a4-index", "env")
    app.add_directive("chunk-index", ChunkIndexDirective)
    app.connect("builder-inited", on_builder_inited)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
