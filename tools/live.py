"""Sphinx extension: the live book. A reader runs and edits a chapter's cells, and the book's own code, in the page.

* Every code cell of a chapter page gets Run and Edit buttons, and every chunk
  listing an Edit button. Python (Pyodide, served with the site from
  ``_build/vendor/pyodide``: ``make html`` fetches it, pinned and checked by
  hash) runs in a Web Worker, with the chapter's own package, tangled again in
  the page from the chunks as the reader edited them; the page's cells run in
  one shared namespace, as in a notebook, and the chapter's tests run on the
  page's package (tools/static/live.js, live_worker.mjs, live_runner.py).
* A cell that needs what the page's Python lacks (PyTorch, matplotlib, the
  build's tools) says so on its button instead, and so does a cell that uses a
  name such a cell defined (:func:`page_cells`).
* A cell tagged ``answer`` holds the reader's answer to the exercise above it:
  its Check button runs that exercise's test (:data:`CHECKS`) on what the cell defined.
* Each chapter with code offers its code to take away: a zip of the package as
  it stands at the end of the chapter, the chapter's tests, and a three-line
  README (:func:`takeaway`). The in-page Python unpacks the same zip.

Pages get their cells and the book's chunk blocks as a JSON script element; the PDF gets none of this.
"""
from __future__ import annotations

import ast
import io
import json
import re
import sys
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from myst_parser.parsers.directives import parse_directive_text
from sphinx.errors import ExtensionError
from sphinx.util.osutil import relative_uri

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import tangle  # noqa: E402

SETUP_MARKERS = ("# This chapter's code (filled in when the book is built)",
                 "# This chapter's code, and it reads the whole book (filled in when the book is built)")
PYODIDE = Path("_build/vendor/pyodide")  # relative to the book's root; `make html` fills it
OUT = "_live"  # the folder of the site that holds the chapters' zips

# What the page's Python lacks, by the name a cell imports or calls, as the button says it.
MISSING_MODULES = {"torch": "PyTorch", "matplotlib": "matplotlib", "numpy": "NumPy"}
# glue() is a no-op in the page, display() shows text or HTML (tools/static/live_runner.py); graphviz is
# the real package (a wheel, WHEELS), whose DOT the page draws; snapshots is the book's own (LIB), and so
# is the book's package.
AVAILABLE_MODULES = {"myst_nb", "IPython", "graphviz", "snapshots"}
BOOK_TOOLS = {path.stem for path in TOOLS.glob("*.py")} - AVAILABLE_MODULES


@dataclass
class Cell:
    source: str
    where: str  # "book/05-backprop.md:66"
    hidden: bool  # tagged remove-cell: not on the page, but run before the cells after it
    setup: bool  # the chapter's first cell: the page sets up its package instead
    raises: bool = False  # tagged raises-exception: the error is what the cell shows
    needs: str | None = None  # what the page's Python lacks to run this cell
    stepper: bool = False  # tagged stepper: the page steps through the backward() it calls (static/stepper.js)
    check: str | None = None  # tagged answer: the reader's answer to the exercise above, checked by this test


class CodeCell(Directive):
    optional_arguments = 1
    has_content = True
    option_spec = {"tags": directives.unchanged}


def page_cells(root: Path, chapter: str, packages: set[str] | None = None) -> list[Cell]:
    """The chapter's code cells in order, each with what it needs that the page's Python lacks.

    packages: the book's top-level packages (found from its file roots when not given).
    """
    md = tangle.markdown_parser(root)
    cells, exercise = [], None
    for token in md.parse(tangle.read_chapter(root, chapter)):
        info = token.info.strip()
        if token.type == "fence" and info.startswith("{exercise}"):
            exercise = re.search(r"^:label:\s*(\S+)", token.content, re.M)
        if token.type != "fence" or not info.startswith("{code-cell}"):
            continue
        parsed = parse_directive_text(CodeCell, info[len("{code-cell}"):].strip(), token.content,
                                      validate_options=False)
        tags = parsed.options.get("tags") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.strip("[]").split(",")]
        source = "\n".join(parsed.body)
        cells.append(Cell(source, f"{chapter}:{token.map[0] + 1}", "remove-cell" in tags,
                          any(marker in source for marker in SETUP_MARKERS), "raises-exception" in tags))
        cells[-1].stepper = "stepper" in tags
        if "answer" in tags and exercise:
            cells[-1].check = f"test_{exercise[1]}".replace("-", "_")
    if packages is None:
        packages = book_packages(root)
    mark_needs(cells, packages)
    return cells


CHECKS = "tests/chapters/test_exercise_checks.py"  # an exercise's check: test_<its label>, given its answer


def book_packages(root: Path) -> set[str]:
    return {Path(block.file).parts[0] for block in tangle.parse_book(root) if block.file}


def mark_needs(cells: list[Cell], packages: set[str] = frozenset({"micrograd"})) -> None:
    """Set each cell's needs: from what it imports or calls, or from a name an unrunnable cell defined."""
    tainted: dict[str, str] = {}  # name -> what the cell that last bound it needed
    for cell in cells:
        if cell.setup:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            cell.needs = "IPython" if re.search(r"^\s*[%!]", cell.source, re.M) else None
            continue
        cell.needs = _own_needs(tree, packages) or _inherited_needs(tree, tainted)
        for name in _bound_names(tree):
            if cell.needs:
                tainted[name] = cell.needs
            else:
                tainted.pop(name, None)


def _inherited_needs(tree: ast.Module, tainted: dict[str, str]) -> str | None:
    """What a name the cell reads needs, unless the cell bound that name itself before reading it."""
    bound_here: set[str] = set()
    for statement in tree.body:
        for name in _loaded_names(statement):
            if name in tainted and name not in bound_here:
                return tainted[name]
        bound_here.update(_bound_names(statement))
    return None


def _own_needs(tree: ast.AST, packages: set[str]) -> str | None:
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        for module in modules:
            top = module.split(".")[0]
            if top in MISSING_MODULES:
                return MISSING_MODULES[top]
            if top in BOOK_TOOLS:
                return "the book's build tools"
            if top not in packages and top not in AVAILABLE_MODULES and top not in sys.stdlib_module_names:
                return f"the module {top}"
    return None


def _loaded_names(tree: ast.AST) -> list[str]:
    return [node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)]


def _bound_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    return names


# ---------------------------------------------------------------- the code to take away

TAKEAWAY_FILES = TOOLS / "takeaway"  # the download's conftest.py and pytest.ini
BOOK_ONLY_IMPORTS = {"conftest", "snapshots", "tangle", "bench"}  # tests that need the book's repository
SINCE = re.compile(r"""pytest\.mark\.since\(\s*["']([^"']+)["']\s*\)""")


def chapter_tests(root: Path, chapter: str) -> dict[str, str]:
    """The chapter's own test modules, and the helpers they import.

    A module counts when it needs nothing but the package (not the book's tools). A chapter
    without such a module of its own (one that only explains, say) takes the latest earlier
    chapter's: its code is that chapter's code.
    """
    chapters = [Path(c).stem for c in tangle.read_toc(root)]
    last = chapters.index(Path(chapter).stem)
    candidates = {}  # module name -> (index of its chapter, text, what it imports)
    for path in sorted((root / "tests" / "chapters").glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        since = SINCE.search(text)
        if since is None or since[1] not in chapters or chapters.index(since[1]) > last:
            continue
        imports = _imported_modules(text)
        if not imports & BOOK_ONLY_IMPORTS:
            candidates[path.name] = (chapters.index(since[1]), text, imports)
    if not candidates:
        return {}
    latest = max(index for index, _, _ in candidates.values())
    tests, helpers = {}, set()
    for name, (index, text, imports) in candidates.items():
        if index == latest:
            tests[name] = text
            helpers |= {module for module in imports if (root / "tests" / "chapters" / f"{module}.py").is_file()}
    for module in sorted(helpers):
        tests[f"{module}.py"] = (root / "tests" / "chapters" / f"{module}.py").read_text(encoding="utf-8")
    return tests


def _imported_modules(text: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def takeaway_name(chapter: str) -> str:
    return f"micrograd-{Path(chapter).stem}"


def takeaway(root: Path, chapter: str, title: str, snapshot: Path | None = None) -> bytes | None:
    """The zip a reader takes away from chapter, or None when the chapter has no package yet.

    snapshot: a folder that already holds the chapter's package (tools/chunks.py writes one per chapter).
    """
    if snapshot is None:
        files = tangle.tangle(root, through=chapter).files
    else:
        files = {path.relative_to(snapshot).as_posix(): path.read_text(encoding="utf-8")
                 for path in sorted(snapshot.rglob("*.py")) if "__pycache__" not in path.parts}
    if not files:
        return None
    folder = takeaway_name(chapter)
    contents = dict(sorted(files.items()))
    contents.update(chapter_tests(root, chapter))
    for extra in sorted(TAKEAWAY_FILES.glob("*.*")):
        contents[extra.name] = extra.read_text(encoding="utf-8")
    contents["README.txt"] = (
        f"The micrograd package as it stands at the end of the chapter «{title}», with that chapter's tests.\n"
        "The tests need pytest and hypothesis (and use PyTorch if it is installed): "
        "pip install pytest hypothesis\n"
        "Run them in this folder: python -m pytest\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in contents.items():
            info = zipfile.ZipInfo(f"{folder}/{path}", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text)
    return buffer.getvalue()


# ---------------------------------------------------------------- Sphinx

# The files the page's Python gets from the book, by where it puts them: the runner, and the tangle, the
# traceback plugin and the snapshots the book's own build uses (tools/static/live_worker.mjs).
LIB = {f"tools/{name}": f"tools/{name}" for name in (
    "literate/__init__.py", "literate/errors.py", "literate/graph.py", "literate/expand.py", "book_tracebacks.py",
    "snapshots.py")}
LIB.update({"tools/live_runner.py": "tools/static/live_runner.py", "micrograd/booktrace.py": "micrograd/booktrace.py"})
LIB["tools/stepper.py"] = "tools/static/stepper.py"  # the backward stepper's recording
WHEELS = Path("_build/vendor/live/wheels")  # graphviz, pytest and hypothesis for the page (Makefile)
START_WHEELS = ("graphviz-",)  # unpacked when the page's Python starts; the others when tests first run


def book_pieces(root: Path, listings: dict | None = None) -> tuple[list[dict], list[str], list[str]]:
    """Every chunk block as the page's tangle takes it (with its listing's id), every chunk's name, the chapters."""
    import chunks

    listings = listings or chunks.index_book(root)
    pieces = [dict(piece, id=listings[(piece["chapter"], piece["line"])].label) for piece in tangle.pieces(root)]
    return pieces, sorted({piece["name"] for piece in pieces}), tangle.read_toc(root)


def timed(handler):
    """Add the handler's time to app.live_seconds: the reader checks report what the live book adds to the build."""
    def run(app, *args):
        started = time.perf_counter()
        try:
            return handler(app, *args)
        finally:
            app.live_seconds = getattr(app, "live_seconds", 0.0) + time.perf_counter() - started
    return run


@timed
def on_builder_inited(app) -> None:
    if app.builder.format != "html":
        return
    root = Path(app.srcdir)
    pyodide = root / PYODIDE
    if not (pyodide / "pyodide.mjs").is_file():
        raise ExtensionError(f"{PYODIDE}/pyodide.mjs is missing: `make html` fetches Pyodide (tools/live.py)")
    static = str(TOOLS / "static")
    if static not in app.config.html_static_path:
        app.config.html_static_path.append(static)
    titles = tangle.chapter_titles(root)
    out = Path(app.outdir) / OUT
    out.mkdir(parents=True, exist_ok=True)
    app.live_pages = {}
    snapshots = getattr(app, "chunk_snapshots", {})  # tools/chunks.py's snapshots, when it has written them
    for name, source in LIB.items():  # what the page's Python needs from the book's tools
        (out / "lib" / name).parent.mkdir(parents=True, exist_ok=True)
        (out / "lib" / name).write_bytes((root / source).read_bytes())
    try:
        app.live_book = book_pieces(root, getattr(app, "chunk_listings", None))
        packages = book_packages(root)
        for chapter in tangle.read_toc(root):
            cells = page_cells(root, chapter, packages)
            if not cells:
                continue
            snapshot = snapshots[chapter][0] if chapter in snapshots else None
            archive = takeaway(root, chapter, titles.get(chapter, chapter), snapshot)
            if archive is not None:
                (out / f"{takeaway_name(chapter)}.zip").write_bytes(archive)
            app.live_pages[chapter[: -len(".md")]] = (cells, archive is not None, chapter)
    except tangle.TangleError as err:
        raise ExtensionError(str(err)) from None


@timed
def on_doctree_resolved(app, doctree, docname: str) -> None:
    page = getattr(app, "live_pages", {}).get(docname)
    if page is None or app.builder.format != "html":
        return
    cells, has_package, chapter = page
    shown = [n for n, cell in enumerate(cells) if not cell.hidden]
    containers = [node for node in doctree.findall(nodes.container) if "cell" in node["classes"]]
    if len(containers) != len(shown):
        raise ExtensionError(f"{chapter}:1: error: the page shows {len(containers)} code cells but the chapter "
                             f"has {len(shown)} not tagged remove-cell; tools/live.py cannot pair them")
    for container, n in zip(containers, shown):
        container["classes"].append(f"live-cell-{n}")
    here = app.builder.get_target_uri(docname)
    zip_uri = relative_uri(here, f"{OUT}/{takeaway_name(chapter)}.zip") if has_package else None
    pieces, names, chapters = app.live_book
    upto = chapters.index(chapter) + 1
    wheels = sorted(path.name for path in (Path(app.srcdir) / WHEELS).glob("*.whl"))
    data = {"pyodide": relative_uri(here, "pyodide/"), "package": zip_uri, "folder": takeaway_name(chapter),
            "worker": relative_uri(here, "_static/live_worker.mjs"), "editor": relative_uri(here, "live/editor.mjs"),
            "viz": relative_uri(here, "live/viz.mjs"),
            "modules": {name: relative_uri(here, f"{OUT}/lib/{name}") for name in LIB},
            "wheels": {when: [relative_uri(here, f"live/wheels/{name}") for name in wheels
                              if name.startswith(START_WHEELS) == (when == "start")] for when in ("start", "tests")},
            "cells": [asdict(cell) for cell in cells], "chapter": chapter,
            "checks": (Path(app.srcdir) / CHECKS).read_text(encoding="utf-8") if any(c.check for c in cells) else None,
            "pieces": [p for p in pieces if p["chapter"] in chapters[:upto]], "names": names, "chapters": chapters}
    data["stepper"] = relative_uri(here, "_static/stepper.js")  # the backward stepper, for cells tagged stepper
    script = json.dumps(data).replace("</", "<\\/")
    doctree.append(nodes.raw("", f'<script type="application/json" id="live-data">{script}</script>',
                             format="html"))
    if zip_uri:
        link = (f'<p class="live-takeaway"><a href="{zip_uri}" download>This chapter\'s code to take away'
                f"</a> (zip): the package as it stands at the end of this chapter, with its tests. "
                "Here in the page, a code cell can be changed and run (its Edit and Run buttons), and so can "
                "the book's own code: each listing's Edit button changes the package the cells and this "
                "chapter's tests run on. Your edits stay in this browser until you press Reset.</p>")
        section = next(doctree.findall(nodes.section), None)
        target = section if section is not None else doctree
        title = next(iter(target.findall(nodes.title)), None)
        at = target.index(title) + 1 if title is not None and title.parent is target else 0
        target.insert(at, nodes.raw("", link, format="html"))


def on_build_finished(app, exception) -> None:
    """Record the seconds the live book and the index took, by builder, in _build/live-seconds.json."""
    if exception is not None:
        return
    stats = Path(app.outdir).parent / "live-seconds.json"
    seconds = json.loads(stats.read_text()) if stats.is_file() else {}
    seconds[app.builder.name] = round(getattr(app, "live_seconds", 0.0), 2)
    stats.write_text(json.dumps(seconds, sort_keys=True) + "\n")


def setup(app):
    app.setup_extension("chunkindex")  # the index of chunks and names, an appendix
    app.connect("builder-inited", on_builder_inited)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("build-finished", on_build_finished)
    app.add_js_file("live.js", defer="defer")
    app.add_css_file("live.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
