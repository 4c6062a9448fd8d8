"""Every executed cell of every chapter runs on that chapter's snapshot of the package, once for tests and book.

The chapter is read into a notebook by myst-nb's reader, its first line of code is
filled in as tools/chunks.py fills it in at build (the snapshots under _build/snapshots,
the hash of their code), and myst-nb's cache client executes it, in book/, into the
cache the book build uses (jupyter-cache, _build/.jupyter_cache). The build then finds
every chapter there and executes nothing; a chapter whose text, snapshot or tools have not
changed is not executed again here either. A cell tagged ``raises-exception`` must
raise; any other cell must not.
"""
from __future__ import annotations

import ast
import fcntl
from pathlib import Path

import pytest
from jupyter_book.config import get_final_config
from jupyter_cache import get_cache
from myst_nb.core.config import NbParserConfig
from myst_nb.core.execute import ExecutionError, create_client
from myst_nb.core.read import create_nb_reader
from myst_parser.config.main import MdParserConfig

import chunks
import tangle

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"  # jupyter-book's output; myst-nb keeps its cache in .jupyter_cache there


def book_configs() -> tuple[MdParserConfig, NbParserConfig]:
    """myst's and myst-nb's settings as jupyter-book derives them from _config.yml."""
    sphinx, _ = get_final_config(user_yaml=ROOT / "_config.yml", sourcedir=ROOT,
                                 cli_config={"latex_individualpages": False})
    md = MdParserConfig(enable_extensions=set(sphinx["myst_enable_extensions"]))
    nb = NbParserConfig(**{name: sphinx[f"nb_{name}"] for name, _, _ in NbParserConfig().as_triple()
                           if f"nb_{name}" in sphinx})
    return md, nb.copy(execution_cache_path=nb.execution_cache_path or str(BUILD / ".jupyter_cache"))


MD, NB = book_configs()


def read_notebook(chapter: str, by_chapter: dict | None = None):
    """The chapter as myst-nb reads it (with its setup line filled in, given the snapshots), and its format."""
    text = (ROOT / chapter).read_text(encoding="utf-8")
    if by_chapter is not None:
        text, _ = chunks.fill_in_setup(ROOT, chapter, text, by_chapter)
    reader = create_nb_reader(str(ROOT / chapter), MD, NB, text)  # None: a page of text, not a notebook
    return (reader.read(text), reader.read_fmt) if reader else (None, None)


def code_cells(chapter: str) -> list[dict]:
    notebook, _ = read_notebook(chapter)
    if notebook is None:
        return []
    lines = notebook.metadata["source_map"]
    return [{"source": cell.source, "tags": cell.metadata.get("tags", []), "where": f"{chapter}:{lines[i] + 1}"}
            for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


CHAPTERS = [c for c in tangle.read_toc(ROOT) if code_cells(c)]


@pytest.fixture(scope="session")
def book_snapshots() -> dict:
    """The snapshots written where the build writes them, and the cache created; xdist workers take turns."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".cells.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        by_chapter = chunks.write_snapshots(ROOT, BUILD / "snapshots")  # writes only what changed
        get_cache(NB.execution_cache_path).list_cache_records()  # creates its database
    return by_chapter


class Log(list):
    """myst-nb's logger, keeping the lines it logs."""

    def info(self, msg, *args, **kwargs):
        self.append(msg % args if args else msg)

    warning = error = debug = info


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[Path(c).stem for c in CHAPTERS])
def test_every_cell_runs_on_the_chapters_own_code(chapter, book_snapshots, record_property):
    notebook, read_fmt = read_notebook(chapter, book_snapshots)
    log = Log()
    try:
        with create_client(notebook, str(ROOT / chapter), NB, log, read_fmt) as client:
            executed = client.notebook
    except ExecutionError:
        pytest.fail(f"{chapter}: a cell raised:\n" + "\n".join(log), pytrace=False)
    record_property("myst-nb", f"{chapter}: " + next(m for m in log if m.startswith(("Executed", "Using cached"))))
    lines = notebook.metadata["source_map"]
    wrong = [f"{chapter}:{lines[i] + 1}: the cell " + ("did not raise" if expected else "raised")
             for i, cell in enumerate(executed.cells) if cell.cell_type == "code"
             and "skip-execution" not in cell.metadata.get("tags", [])
             for expected in ["raises-exception" in cell.metadata.get("tags", [])]
             if expected != any(out.output_type == "error" for out in cell.outputs)]
    assert not wrong, "\n".join(wrong)


def test_the_cache_key_follows_the_chapters_snapshot(book_snapshots):
    # a change to the snapshot or to tools/ changes its hash (tools/chunks.py), so the cells run again
    cache = get_cache(NB.execution_cache_path)
    chapter = "book/05-backprop.md"
    folder, digest = book_snapshots[chapter]
    key = cache.create_hashed_notebook(read_notebook(chapter, book_snapshots)[0])[1]
    changed = dict(book_snapshots, **{chapter: (folder, digest[::-1])})
    assert cache.create_hashed_notebook(read_notebook(chapter, changed)[0])[1] != key


def shown_glue_calls(cell: dict) -> list[int]:
    """Lines of a cell that call glue() so that it also displays the value (the default)."""
    if {"remove-cell", "remove-output"} & set(cell["tags"]):
        return []
    return [
        node.lineno
        for node in ast.walk(ast.parse(cell["source"]))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "glue"
        and not any(k.arg == "display" for k in node.keywords)
    ]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[Path(c).stem for c in CHAPTERS])
def test_no_visible_cell_shows_a_glued_value_under_its_code(chapter):
    # glue(name, value) displays the value as an output of its cell unless display=False;
    # in a visible cell the reader would see a stray '53' or '40%' under the code.
    shown = [f"{cell['where']} (line {line} of the cell)" for cell in code_cells(chapter)
             for line in shown_glue_calls(cell)]
    assert not shown, "glue() shown under visible code at " + ", ".join(shown)


def test_the_glue_check_sees_a_shown_value():
    cell = {"source": "x = 2\nglue('x', x)\nglue('y', x, display=False)", "tags": []}
    assert shown_glue_calls(cell) == [2]
    assert shown_glue_calls(dict(cell, tags=["remove-cell"])) == []


# The book's one limit for a line of code, on the site and in the PDF (tools/chunks.py sets
# both from it). The package, with the indentation it adds to chunks: ruff (`make lint`).
PRINTED_WIDTH = chunks.LINE_LIMIT


def long_code_lines(chapter: str) -> list[str]:
    """Lines of the chapter's listings (chunks, code cells, plain code blocks) too long to print."""
    md = tangle.markdown_parser(ROOT)
    long_lines = []
    for token in md.parse(tangle.read_chapter(ROOT, chapter)):
        info = token.info.strip()
        if token.type != "fence" or (info.startswith("{") and not info.startswith(("{code-cell}", "{chunk}"))):
            continue
        for i, line in enumerate(token.content.splitlines()):
            if len(line) > PRINTED_WIDTH:
                long_lines.append(f"{chapter}:{token.map[0] + 2 + i}: {len(line)} characters")
    return long_lines


@pytest.mark.parametrize("chapter", tangle.read_toc(ROOT), ids=[Path(c).stem for c in tangle.read_toc(ROOT)])
def test_every_line_of_code_fits_a_printed_line(chapter):
    long_lines = long_code_lines(chapter)
    assert not long_lines, f"code lines over {PRINTED_WIDTH} characters:\n" + "\n".join(long_lines)
