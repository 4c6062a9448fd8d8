"""Sphinx extension: the book's ``{chunk}`` listings, their links, and each chapter's cells run on its own code.

* A listing (a std-domain label) has a caption (name, file) and a line of links (std-domain references,
  :numref: where numbered, with the page in the PDF): where the chunk goes, first defined, continued, replaced.
* A line ``<<name>>`` and a marker comment ``# <<name>> book/x.md:LINE`` link to that chunk in any listing.
* Code fits in LINE_LIMIT characters; the site's code size (static/chunks.css) and the PDF's follow it.
* A chapter's first code cell holds SETUP_MARKER (or WHOLE_BOOK_MARKER), which the build replaces by a line
  putting the chapter's snapshot first on the path, with the hash of its code and of tools/ (for the cache).
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from pygments.formatters.latex import escape_tex
from pygments.lexers import PythonLexer
from pygments.token import Generic, Text
from sphinx import addnodes
from sphinx.errors import ExtensionError
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective
from sphinx.writers.latex import LaTeXTranslator

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import snapshots  # noqa: E402
import tangle  # noqa: E402
from literate.expand import MARKER  # noqa: E402

# The widest line of code or output the book shows, in characters: on the site at 1280 px and in the PDF.
# Set once, as ruff's line length for the package (pyproject.toml), which `make lint` checks.
LINE_LIMIT = tomllib.loads((TOOLS.parent / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"]

SETUP_MARKER = "# This chapter's code (filled in when the book is built)"
# For a chapter whose cells read the whole book (counts of chunks, lines of the final package):
# its cells still import this chapter's code, but it re-runs whenever any chapter changes.
WHOLE_BOOK_MARKER = "# This chapter's code, and it reads the whole book (filled in when the book is built)"


@dataclass
class Listing:  # what the book shows around one chunk block
    block: tangle.Block
    label: str
    docname: str
    kind: str  # "defined", "continued" or "replaced"
    file: str | None  # the file the chunk ends up in
    first: Listing | None = None
    later: list[Listing] = field(default_factory=list)
    used_in: list[Listing] = field(default_factory=list)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "chunk"


def index_book(root: Path) -> dict[tuple[str, int], Listing]:
    """Every chunk block of the book, keyed by (chapter, line), with its relations."""
    blocks = tangle.parse_book(root)
    files = tangle.files_of(tangle.build_chunks(blocks))
    listings: dict[tuple[str, int], Listing] = {}
    by_name: dict[str, list[Listing]] = {}
    for block in blocks:
        same = by_name.setdefault(block.name, [])
        kind = "replaced" if block.replace else ("continued" if same else "defined")
        listing = Listing(block, f"chunk-{slug(block.name)}-{len(same) + 1}", block.chapter[: -len(".md")], kind,
                          files.get(block.name), first=same[0] if same else None)
        for earlier in same:
            earlier.later.append(listing)
        same.append(listing)
        listings[(block.chapter, block.line)] = listing
    for listing in listings.values():
        for _, _, name in tangle.references(listing.block):
            for target in by_name.get(name, []):
                target.used_in.append(listing)
    return listings


def chunk_xref(doc: str, label: str, text: str, numbered: bool = False, page: bool = True) -> list[nodes.Node]:
    """A std-domain reference to a listing or index entry (numbered: "Listing 6.2"), in the PDF with its page."""
    xref = addnodes.pending_xref("", nodes.inline(text, text), refdomain="std", reftype="ref", reftarget=label,
                                 refexplicit=True, refwarn=True, chunk_doc=doc, chunk_numbered=numbered)
    return [xref, chunk_page("", target=f"{doc}:{label}")] if page else [xref]


class chunk_page(nodes.Inline, nodes.Element):
    """In the PDF, the page a chunk link leads to: "(p. 45)"; nothing on the site."""


def visit_chunk_page_latex(translator, node: chunk_page) -> None:
    translator.body.append(r"~(p.\,\pageref*{%s})" % translator.idescape(node["target"]))
    raise nodes.SkipNode


def skip_node(translator, node) -> None:
    raise nodes.SkipNode


class NumberedListings(SphinxPostTransform):
    """A link to a numbered listing becomes :numref: ("Listing 6.2"); others keep their chapter's title."""

    default_priority = 5  # before Sphinx resolves references (10)

    def run(self, **kwargs) -> None:
        for node in self.document.findall(addnodes.pending_xref):
            numbers = self.env.toc_fignumbers.get(node.get("chunk_doc"), {}).get("code-block", {})
            if node.get("chunk_numbered") and numbers.get(node["reftarget"]):  # none where numfig is off
                node["reftype"], node["refexplicit"] = "numref", False


class ChunkDirective(SphinxDirective, tangle.ChunkOptions):  # the arguments and options tangle.py reads

    def run(self) -> list[nodes.Node]:
        chapter = Path(self.env.doc2path(self.env.docname, False)).as_posix()
        listing = self.env.app.chunk_listings.get((chapter, self.lineno))
        if listing is None:
            raise self.error("this chunk is not read by tools/tangle.py: chunks must stand at the top level "
                             "of a chapter listed in _toc.yml, not inside another directive")
        code = "\n".join(listing.block.body)
        literal = nodes.literal_block(code, code, language="chunk", classes=["chunk-code"])
        literal["linenos"] = False
        self.set_source_info(literal)
        caption = nodes.caption("", "", *self.caption_parts(listing))
        self.set_source_info(caption)
        wrapper = nodes.container("", caption, literal, literal_block=True, ids=[listing.label], names=[listing.label],
                                  classes=["literal-block-wrapper", "chunk", f"chunk-{listing.kind}"])
        self.set_source_info(wrapper)
        self.state.document.note_explicit_target(wrapper)  # a label of Sphinx's std domain
        links = self.link_parts(listing)
        return [wrapper, nodes.paragraph("", "", *links, classes=["chunk-links"])] if links else [wrapper]

    def caption_parts(self, listing: Listing) -> list[nodes.Node]:
        name = f"«{listing.block.name}» {dict(defined='≡', continued='+≡', replaced=':=')[listing.kind]}"
        index = getattr(self.env.app, "chunk_index_doc", None)  # the chunk's entry in the index (tools/chunkindex.py)
        head = chunk_xref(index, f"entry-{slug(listing.block.name)}", name, page=False) if index else [nodes.Text(name)]
        where = listing.file if listing.block.file else (f"in {listing.file}" if listing.file else "")
        return [nodes.strong("", "", *head), *([nodes.Text(f"  {where}")] if where else [])]

    def link_parts(self, listing: Listing) -> list[nodes.Node]:
        title = self.env.app.chunk_chapter_titles.get

        def links(targets: list[Listing], parent: bool = False) -> list[list[nodes.Node]]:
            # a parent by its name; a listing by its number where it has one, else its chapter's title
            return [chunk_xref(t.docname, t.label, f"«{t.block.name}» ({title(t.block.chapter, t.docname)})"
                               if parent else title(t.block.chapter, t.docname), numbered=not parent)
                    for t in targets]

        parts = phrase_parts([("goes into", links(_unique_parents(listing.used_in), parent=True)),
                              ("first defined in", links([listing.first] if listing.first else [])),
                              ("continued in", links([t for t in listing.later if t.kind == "continued"])),
                              ("replaced in", links([t for t in listing.later if t.kind == "replaced"]))])
        return [nodes.Text(parts[0].astext().capitalize()), *parts[1:], nodes.Text(".")] if parts else []


def phrase_parts(phrases: list[tuple[str, list[list[nodes.Node]]]]) -> list[nodes.Node]:
    """phrase link, link; phrase link... (a phrase without links is left out)."""
    parts: list[nodes.Node] = []
    for phrase, links in phrases:
        for n, link in enumerate(links):
            parts += [nodes.Text(", " if n else f"{'; ' if parts else ''}{phrase} "), *link]
    return parts


def _unique_parents(listings: list[Listing]) -> list[Listing]:
    """One link per parent chunk: the first block that refers to this one."""
    first: dict[str, Listing] = {}
    for listing in listings:
        first.setdefault(listing.block.name, listing)
    return list(first.values())


REFERENCE_TOKEN = Generic.Reference  # class "g-Reference" in HTML, "g+gReference" in LaTeX


class ChunkLexer(PythonLexer):
    """Python, except that a line ``<<name>>`` is one token: a reference to a chunk, not code."""

    name = "chunk"
    aliases = ["chunk"]

    def get_tokens_unprocessed(self, text):
        offset = 0
        for piece in re.split(r"(^[ \t]*<<[^<>\n]+>>[ \t]*$)", text, flags=re.M):
            match = tangle.REFERENCE.match(piece)
            if match:
                yield offset, Text, match["indent"]
                yield offset + len(match["indent"]), REFERENCE_TOKEN, piece.strip()
            elif piece:
                for index, token, value in super().get_tokens_unprocessed(piece):
                    yield offset + index, token, value
            offset += len(piece)


def code_links(app, code: str) -> list[tuple[str, Listing]]:
    """(line, listing it leads to) for each ``<<name>>`` (its first definition) and marker comment (its listing)."""
    links = []
    for line in code.splitlines():
        reference, marker = tangle.REFERENCE.match(line), MARKER.match(line)
        if reference:
            name = " ".join(reference["name"].split())
            target = next((li for li in app.chunk_listings.values() if li.block.name == name), None)
        elif marker:
            number = int(marker["line"])
            target = next((li for li in app.chunk_listings.values() if li.block.chapter == marker["chapter"]
                           and li.block.body_line <= number < li.block.body_line + len(li.block.body)), None)
        if (reference or marker) and target is not None:
            links.append((line.strip(), target))
    return links


class CodeLinks(SphinxPostTransform):
    """Note, on each listing, where its chunk names lead: a URI on the site, a label in the PDF."""

    default_priority = 5

    def run(self, **kwargs) -> None:
        builder = self.app.builder
        for node in self.document.findall(nodes.literal_block):
            links = code_links(self.app, node.astext()) if "<<" in node.astext() else []
            if links:
                node["chunk_links"] = [(text, f"{builder.get_relative_uri(self.env.docname, li.docname)}#{li.label}"
                                        if builder.format == "html" else f"{li.docname}:{li.label}")
                                       for text, li in links]


def linking(highlighter, link):
    """Sphinx's highlighter, made to also turn the chunk names a listing holds (CodeLinks) into links."""
    highlight = highlighter.highlight_block

    def highlight_block(source, lang, *args, location=None, **kwargs) -> str:
        code = highlight(source, lang, *args, location=location, **kwargs)
        links = location.get("chunk_links", []) if isinstance(location, nodes.Element) else []
        for text, target in dict(links).items():
            code = link(code, text, target)
        return code

    highlighter.highlight_block = highlight_block
    return highlighter


def link_html(code: str, text: str, uri: str) -> str:
    """Wrap each token that is `text` (a reference, or a whole comment) in a link."""
    link = f'<a class="chunk-ref reference internal" href="{html.escape(uri)}">\\g<0></a>'
    return re.sub(r'<span class="[^"]*">%s</span>' % re.escape(html.escape(text, quote=False)), link, code)


class LinkingLaTeXTranslator(LaTeXTranslator):
    """The LaTeX writer, with a highlighter that makes chunk names hyperlinks (to \\label{doc:label})."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.highlighter = linking(self.highlighter, self.link_latex)

    def link_latex(self, code: str, text: str, target: str) -> str:
        token = r"(\\PYG\{[^{}]*\})\{(%s)\}" % re.escape(escape_tex(text, "PYG"))
        return re.sub(token, lambda m: "%s{%s%s}}}" % (m[1], self.hyperlink(target), m[2]), code)


# In the PDF a reference reads as a name, in the text's italic, not as code.
LATEX_REFERENCE_STYLE = r"""
\makeatletter
\@namedef{PYG@tok@gReference}{\def\PYG@ff##1{\textrm{\textit{##1}}}\def\PYG@tc##1{\textcolor[rgb]{0.1,0.3,0.6}{##1}}}
\makeatother
"""


def latex_code_size() -> str:
    """fancyvrb's font size for code in the PDF: LINE_LIMIT characters of 0.602 em (DejaVu Sans Mono) fill a line."""
    return (r"\newdimen\bookcodesize \bookcodesize=\dimexpr(\textwidth-12pt)*1000/%d\relax"
            r"\fvset{fontsize=\fontsize{\bookcodesize}{1.2\bookcodesize}\selectfont}" % (602 * LINE_LIMIT))


def on_config_inited(app, config) -> None:  # the PDF's code size, and the style of references in listings
    config.latex_elements["fvset"] = latex_code_size()
    config.latex_elements["preamble"] = config.latex_elements.get("preamble", "") + LATEX_REFERENCE_STYLE


def on_builder_inited(app) -> None:
    # The extension brings its own stylesheet (tools/static/chunks.css).
    app.config.html_static_path.append(str(Path(__file__).resolve().parent / "static"))
    if app.builder.format == "html":  # the LaTeX writer gets its highlighter from LinkingLaTeXTranslator
        linking(app.builder.highlighter, link_html)
    else:  # registered for LaTeX builds only: the site's theme adds to the HTML translator only
        app.set_translator("latex", LinkingLaTeXTranslator, override=True)  # when none is registered
    root = Path(app.srcdir)
    try:
        app.chunk_listings = index_book(root)
        app.chunk_chapter_titles = tangle.chapter_titles(root)
        app.chunk_snapshots = write_snapshots(root, Path(app.doctreedir).parent / "snapshots")
    except tangle.TangleError as err:
        raise ExtensionError(str(err)) from None


def tools_digest(tools: Path = TOOLS):
    """A running sha256 of the tools' code (tools/literate/ too): tools/ is on the cells' path."""
    digest = hashlib.sha256()
    for path in sorted(tools.rglob("*.py")):
        digest.update(path.relative_to(tools).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest


def write_snapshots(root: Path, folder: Path, tools: Path = TOOLS) -> dict[str, tuple[Path, str]]:
    """For each chapter: the folder of its package (shared with chapters that end alike), and its hash."""
    by_chapter = {}
    of_tools = tools_digest(tools)
    distinct = snapshots.distinct(root)
    for stale in {p for p in folder.glob("*") if p.is_dir()} - {folder / s.name for s in distinct}:
        shutil.rmtree(stale)
    for snapshot in distinct:
        digest = of_tools.copy()
        for path, text in sorted(snapshot.files.items()):
            digest.update(path.encode() + b"\0" + text.encode() + b"\0")
        target = snapshot.write(folder / snapshot.name)  # unchanged files are left as they are
        for chapter in snapshot.chapters:
            by_chapter[chapter] = (target, digest.hexdigest()[:16])
    return by_chapter


def setup_line(chapter_dir: Path, snapshot: Path, digest: str) -> str:
    """The chapter's first line of code: its snapshot first on the path, figures and tracebacks set up."""
    code = Path(os.path.relpath(snapshot, chapter_dir)).as_posix()
    tools = Path(os.path.relpath(Path(__file__).parent, chapter_dir)).as_posix()
    return (f"import sys; sys.path[:0] = [{code!r}, {tools!r}]; "
            f"import book_tracebacks; book_tracebacks.setup()  # this chapter's code, sha256 {digest}")


def on_source_read(app, docname: str, source: list[str]) -> None:
    """Point the chapter's code cells at its snapshot; re-read it when a chapter it depends on changes."""
    chapter = Path(app.env.doc2path(docname, False)).as_posix()
    if chapter not in app.chunk_snapshots:
        return
    source[0], depends_on = fill_in_setup(Path(app.srcdir), chapter, source[0], app.chunk_snapshots)
    for other in depends_on:
        app.env.note_dependency(str(Path(app.srcdir) / other))
    for tool in sorted(TOOLS.rglob("*.py")):
        app.env.note_dependency(str(tool))


def fill_in_setup(root: Path, chapter: str, text: str, by_chapter: dict) -> tuple[str, list[str]]:
    """The chapter's text with its setup line filled in (by_chapter: write_snapshots), and the chapters it reads."""
    chapters = list(by_chapter)
    snapshot, digest = by_chapter[chapter]
    marker, depends_on = SETUP_MARKER, chapters[: chapters.index(chapter)]
    if WHOLE_BOOK_MARKER in text:
        marker, depends_on, digest = WHOLE_BOOK_MARKER, chapters, whole_book_digest(root, chapters)
    if marker in text:
        return text.replace(marker, setup_line((root / chapter).parent, snapshot, digest), 1), depends_on
    if "```{code-cell}" in text:
        line = text[: text.index("```{code-cell}")].count("\n") + 1
        raise ExtensionError(f"{chapter}:{line}: error: the first code cell of a chapter must hold the line "
                             f"{SETUP_MARKER!r} (tagged remove-cell), so its cells run on this chapter's code")
    return text, depends_on


def whole_book_digest(root: Path, chapters: list[str], tools: Path = TOOLS) -> str:
    digest = tools_digest(tools)
    for chapter in chapters:
        digest.update(chapter.encode() + b"\0" + (root / chapter).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def setup(app):
    app.add_directive("chunk", ChunkDirective)
    app.add_node(chunk_page, latex=(visit_chunk_page_latex, None),
                 **{builder: (skip_node, None) for builder in ("html", "text", "man", "texinfo")})
    app.add_post_transform(NumberedListings)
    app.add_post_transform(CodeLinks)
    app.connect("config-inited", on_config_inited)
    app.connect("builder-inited", on_builder_inited)
    app.connect("source-read", on_source_read)
    app.add_lexer("chunk", ChunkLexer)
    app.add_css_file("chunks.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 2}  # 2: links are std-domain references (a build cached before is read again)
