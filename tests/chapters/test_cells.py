"""Every executed cell of every chapter runs on that chapter's snapshot of the package.

The book build executes the cells too (myst-nb), but this test needs no Sphinx:
it runs a chapter's cells in order in one IPython shell, in a fresh process
whose working directory is book/, with the chapter's first line of code filled
in exactly as tools/chunks.py fills it in at build. A cell tagged
``raises-exception`` must raise; any other cell must not.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from docutils.parsers.rst import Directive, directives
from myst_parser.parsers.directives import parse_directive_text

import bench
import chunks
import tangle

ROOT = Path(__file__).resolve().parents[2]

DRIVER = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance(colors="nocolor")
for cell in json.load(open(sys.argv[1], encoding="utf-8")):
    if "skip-execution" in cell["tags"]:
        continue
    result = shell.run_cell(cell["source"], store_history=True)
    expected = "raises-exception" in cell["tags"]
    if result.success == expected:
        what = "did not raise" if expected else "raised"
        print(f"\n{cell['where']}: the cell {what}", file=sys.stderr)
        sys.exit(1)
"""


class CodeCell(Directive):
    optional_arguments = 1
    has_content = True
    option_spec = {"tags": directives.unchanged}


def code_cells(chapter: str) -> list[dict]:
    md = tangle.markdown_parser(ROOT)
    cells = []
    for token in md.parse(tangle.read_chapter(ROOT, chapter)):
        if token.type == "fence" and token.info.strip().startswith("{code-cell}"):
            first = token.info.strip()[len("{code-cell}"):].strip()
            parsed = parse_directive_text(CodeCell, first, token.content, validate_options=False)
            tags = parsed.options.get("tags") or []
            cells.append({"source": "\n".join(parsed.body), "tags": list(tags),
                          "where": f"{chapter}:{token.map[0] + 1}"})
    return cells


CHAPTERS = [c for c in tangle.read_toc(ROOT) if code_cells(c)]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[Path(c).stem for c in CHAPTERS])
def test_every_cell_runs_on_the_chapters_own_code(chapter, tmp_path, snapshot_folder):
    snapshot = snapshot_folder(chapter)
    cells = code_cells(chapter)
    first = cells[0]["source"]
    marker = next((m for m in (chunks.WHOLE_BOOK_MARKER, chunks.SETUP_MARKER) if m in first), None)
    assert marker, f"{cells[0]['where']}: the first cell lacks the setup line"
    chapter_dir = (ROOT / chapter).parent
    cells[0]["source"] = first.replace(marker, chunks.setup_line(chapter_dir, snapshot, "test"))
    script = tmp_path / "cells.json"
    script.write_text(json.dumps(cells), encoding="utf-8")
    # The benchmark's smallest run (tools/bench.py): the cells' code is what is tested here, not timings.
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0", **{bench.SMALLEST: "1"})
    result = subprocess.run([sys.executable, "-c", DRIVER, str(script)], cwd=chapter_dir, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


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
