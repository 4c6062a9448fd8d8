"""Run a chapter's cells, its package as the reader edited it, and its tests, in the page's own Python.

tools/static/live_worker.mjs loads this module into Pyodide, in a Web Worker; it uses the
standard library only, so the tests run it in CPython too. The cells of a page share one
namespace, as in a notebook. A cell's output is what it prints, then the repr of its last
line when that line is an expression with a value, or the traceback of the error it raised.
Output is text; only ``display(HTML(...))`` hands HTML to the page. Long output is cut.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import shutil
import sys
import tempfile
import traceback
import types
from pathlib import Path

namespace: dict = {"__name__": "__main__"}
MAX_LINES = 1000  # of a cell's output; the rest is counted, not kept
MAX_CHARS = 100_000


class Output(io.TextIOBase):
    """A cell's output as parts, [kind, text] with kind "text" or "html", cut after MAX_LINES lines."""

    def __init__(self):
        self.parts: list[list[str]] = []
        self.lines = self.chars = self.dropped = 0

    def write(self, text: str) -> int:
        if self.lines >= MAX_LINES or self.chars >= MAX_CHARS:
            self.dropped += text.count("\n")
            return len(text)
        self.lines += text.count("\n")
        self.chars += len(text)
        if not self.parts or self.parts[-1][0] != "text":
            self.parts.append(["text", ""])
        self.parts[-1][1] += text
        return len(text)

    def html(self, markup: str) -> None:
        self.parts.append(["html", markup])

    def finish(self) -> list[list[str]]:
        if self.dropped:
            self.parts.append(["note", f"… output cut here: {self.dropped:,} more lines not shown "
                                       f"(the page keeps the first {MAX_LINES:,})"])
        return self.parts


current: Output | None = None  # the running cell's output, for display()


def use_package(folder: str) -> None:
    """Put the chapter's package (unpacked in folder) first on the path, forgetting any other micrograd."""
    for name, module in list(sys.modules.items()):  # the package, and tests that imported it
        file = getattr(module, "__file__", None)
        if name.split(".")[0] == "micrograd" or (isinstance(file, str) and file.startswith(folder)):
            del sys.modules[name]
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    importlib.invalidate_caches()


def reset() -> None:
    """A fresh namespace: the package changed, so the cells run again from the top."""
    namespace.clear()
    namespace["__name__"] = "__main__"


def install_stubs() -> None:
    """glue() hands numbers to the prose, which was filled in at build; display() shows text or HTML, and a
    graphviz drawing as its DOT (the graphviz package is a wheel the page serves; live.js draws the DOT)."""
    if "myst_nb" not in sys.modules:
        module = types.ModuleType("myst_nb", "glue() does nothing in the page: the prose was filled in at build.")
        module.glue = lambda name, value, display=True: None
        sys.modules["myst_nb"] = module
    if "IPython" not in sys.modules:
        display = types.ModuleType("IPython.display", "display(), HTML and Markdown, as far as the page needs them.")
        display.display, display.HTML, display.Markdown = _display, HTML, Markdown
        ipython = types.ModuleType("IPython")
        ipython.display = display
        sys.modules["IPython"], sys.modules["IPython.display"] = ipython, display


class HTML:
    def __init__(self, data: str):
        self.data = data

    def _repr_html_(self) -> str:
        return self.data


class Markdown:
    """Shown as its text: the page does not render Markdown a cell makes."""

    def __init__(self, data: str):
        self.data = data

    def __repr__(self) -> str:
        return self.data


def _display(*objects) -> None:
    for obj in objects:
        if current is not None and isinstance(obj, HTML):
            current.html(obj.data)
        elif current is not None and type(obj).__module__.startswith("graphviz."):  # a Digraph: the page draws it
            current.parts.append(["dot", obj.source])
        else:
            print(repr(obj))


def run(source: str) -> tuple[str, bool]:
    """Run one cell in the page's namespace: (its text output, whether it finished without an error)."""
    parts, ok = run_parts(source)
    return "".join(text for kind, text in parts if kind != "html"), ok


def run_parts(source: str) -> tuple[list[list[str]], bool]:
    global current
    out = current = Output()
    ok = True
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            body, last = _split(source)
            exec(compile(body, "<cell>", "exec"), namespace)
            if last is not None:
                value = eval(compile(last, "<cell>", "eval"), namespace)
                if value is not None:
                    _display(value)
        except BaseException as err:  # noqa: BLE001 - a cell's error is its output, as in a notebook
            ok = False
            _print_error(err)
    current = None
    return out.finish(), ok


def run_json(source: str) -> str:
    parts, ok = run_parts(source)
    return json.dumps({"parts": parts, "ok": ok})


def _split(source: str) -> tuple[ast.Module, ast.Expression | None]:
    """The cell's statements, and its last line apart when it is an expression (a notebook shows its value)."""
    tree = ast.parse(source, "<cell>")
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        return tree, last
    return tree, None


def _print_error(err: BaseException) -> None:
    """The traceback from the cell's own code on: the frames of this module are not the reader's."""
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    print("".join(traceback.format_exception(type(err), err, tb)), end="")


# ---------------------------------------------------------------- the package as edited, and its tests


def retangle(request: str, folder: str) -> str:
    """Tangle the chapter's chunks as the reader edited them into folder's package, with the book's own tangle.

    request: JSON {"pieces": [...], "names": [...], "chapters": [...]}: the chunk blocks through this
    chapter, as tools/tangle.py's pieces() gives them, every chunk's name, the chapters (tools/live.py
    writes them). Answers JSON {"ok": true} or {"ok": false, "error": tangle's one-line error,
    "where": "book/x.md:LINE"}.
    """
    from literate.errors import TangleError
    from literate.expand import tangle_pieces

    data = json.loads(request)
    try:
        files = tangle_pieces(data["pieces"], data["chapters"], known=data["names"])
    except TangleError as err:
        return json.dumps({"ok": False, "error": str(err), "where": err.where})
    write_package(files, Path(folder))
    use_package(folder)
    reset()
    return json.dumps({"ok": True})


def write_package(files: dict[str, str], package: Path) -> Path:
    for top in {Path(path).parts[0] for path in files}:
        shutil.rmtree(package / top, ignore_errors=True)
    for path, text in files.items():
        (package / path).parent.mkdir(parents=True, exist_ok=True)
        (package / path).write_text(text, encoding="utf-8")
    return package


def install_snapshots(request: str) -> None:
    """tools/snapshots.py for the cells (chapter 8 loads chapter 7's package beside its own); in the page, its
    snapshot() tangles the book's chunks that the page has (request: as for retangle) through the chapter."""
    import snapshots
    from literate.expand import tangle_pieces

    book = json.loads(request)

    def snapshot(chapter: str, out: Path | None = None) -> Path:
        upto = book["chapters"][: book["chapters"].index(chapter) + 1]
        files = tangle_pieces([p for p in book["pieces"] if p["chapter"] in upto], book["chapters"],
                              known=book["names"])
        return write_package(files, Path(out or tempfile.mkdtemp(prefix="micrograd-snapshot-")))

    snapshots.snapshot = snapshot


def run_tests(folder: str) -> str:
    """The chapter's tests (its zip's) on folder's package: pytest's output, with book lines in tracebacks."""
    from hypothesis import Phase, settings

    # The page's Python is several times slower than the reader's own: no deadline per example, and no
    # shrinking of a failing one (it can take minutes there); the failure shows the example as found.
    settings.register_profile("page", deadline=None, database=None,
                              phases=[phase for phase in Phase if phase is not Phase.shrink])
    settings.load_profile("page")
    use_package(folder)
    # hypothesis is imported above (and by earlier runs): pytest cannot rewrite its asserts, not a test's warning
    parts, ok = _pytest(folder, ["--capture=sys", "-W", "ignore::pytest.PytestAssertRewriteWarning", folder])
    note = ["note", "In the page, hypothesis has no deadline and does not shrink a failing example."]
    return json.dumps({"parts": [*parts, note], "ok": ok})


def check(source: str, name: str) -> str:
    """An exercise's check, test `name` of source (tests/chapters/test_exercise_checks.py), run by pytest on
    the reader's answer: its fixture `answer` holds what the page's cells defined."""
    import pytest

    page = types.ModuleType("page_answer", "The answer: the names the page's cells defined.")
    page.answer = pytest.fixture(name="answer")(lambda: types.SimpleNamespace(**namespace))
    folder = Path(tempfile.gettempdir()) / "exercise-checks"
    folder.mkdir(exist_ok=True)
    (folder / "page_checks.py").write_text(source, encoding="utf-8")
    parts, ok = _pytest(str(folder), ["-p", "no:cacheprovider", f"page_checks.py::{name}"], page)
    return json.dumps({"parts": parts, "ok": ok})


def _pytest(folder: str, args: list[str], *plugins) -> tuple[list[list[str]], bool]:
    import pytest

    import book_tracebacks

    out = Output()
    with contextlib.chdir(folder), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(["-q", "--tb=short", *args], plugins=[book_tracebacks, *plugins])
    return out.finish(), code == 0
