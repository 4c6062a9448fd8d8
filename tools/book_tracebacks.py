"""The book line next to every frame of micrograd in a traceback: for pytest, and for the book's cells.

A pytest plugin (tests/conftest.py) and, through setup() in each chapter's first cell, IPython's
traceback handler, both using micrograd/booktrace.py, which appendix B writes. setup() also
offers the cells' figures as SVG (for the site) and PDF (for the LaTeX builder).
"""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")
IPYTHON_FRAME = re.compile(r"^File (?P<file>.+):(?P<line>\d+), in ")

_spec = importlib.util.spec_from_file_location("_booktrace", ROOT / "micrograd" / "booktrace.py")
booktrace = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(booktrace)


def pytest_runtest_logreport(report) -> None:
    """Add the book line to every frame of a failure in a tangled file (pytest prints reports at the end)."""
    longrepr = report.longrepr
    chain = getattr(longrepr, "chain", None) or [(getattr(longrepr, "reprtraceback", None), None, None)]
    for traceback_repr, _, _ in chain:
        for entry in getattr(traceback_repr, "reprentries", []):
            location = getattr(entry, "reprfileloc", None)
            if location is not None:  # --tb=long, short, auto
                where = booktrace.book_line(str(Path(location.path).resolve()), location.lineno)
                if where and not location.message.endswith(where):
                    location.message += f" -> {where}"
            elif hasattr(entry, "lines"):  # --tb=native: Python's own format
                entry.lines = [booktrace.annotate(line) for line in entry.lines]


def annotate_ipython(stb: list[str]) -> list[str]:
    """IPython's traceback with the book line under each frame's first line (which is already long), and
    a tangled file named by its path in the package (micrograd/engine.py), not its snapshot's."""
    out = []
    for entry in stb:
        first, newline, rest = entry.partition("\n")
        frame = IPYTHON_FRAME.match(ANSI.sub("", first))
        path = Path(os.path.normpath(Path(frame["file"]).expanduser().absolute())) if frame else None
        where = frame and booktrace.book_line(str(path), int(frame["line"]))
        if where:
            first = first.replace(frame["file"], in_package(path), 1)
            entry = f"{first}\n-> {where}{newline}{rest}"
        out.append(entry)
    return out


def in_package(path: Path) -> str:
    """micrograd/engine.py for .../snapshots/05-backprop/micrograd/engine.py: the path Python imports it by."""
    top = path.parent
    while (top.parent / "__init__.py").exists():
        top = top.parent
    return path.relative_to(top.parent if (top / "__init__.py").exists() else path.parent).as_posix()


def _show_with_book_lines(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for an exception in a cell: what showtraceback shows, plus the book lines."""
    stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, annotate_ipython(stb))  # the kernel sends it as the cell's error


def setup() -> None:
    """In IPython: every traceback with book lines, figures as SVG and PDF (plain Python: nothing to do)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.set_custom_exc((Exception,), _show_with_book_lines)
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg", "pdf")  # the LaTeX builder takes the PDF (myst-nb's mime priority)
    pdf = shell.display_formatter.formatters["application/pdf"]
    pdf.enabled = True
    for graph in ("Digraph", "Graph"):
        pdf.for_type_by_name("graphviz.graphs", graph, lambda drawing: drawing.pipe(format="pdf"))
