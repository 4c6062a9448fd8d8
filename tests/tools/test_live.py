"""The live book: the in-page runner, what a cell needs, the code to take away, the index of names.
The browser itself is checked by `make book` (tests/reader/test_live.py)."""
from __future__ import annotations

import io
import json
import re
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tools" / "static")]
import live_runner  # noqa: E402

import chunkindex  # noqa: E402
import live  # noqa: E402
import tangle  # noqa: E402

FRONT = "---\nkernelspec:\n  name: python3\n---\n\n"


def write_book(root: Path, chapters: dict[str, str], tests: dict[str, str] | None = None) -> Path:
    (root / "book").mkdir(parents=True)
    toc = "format: jb-book\nroot: book/index\nchapters:\n" + "".join(f"  - file: book/{n}\n" for n in chapters)
    (root / "_toc.yml").write_text(toc)
    (root / "book" / "index.md").write_text("# Index\n")
    for name, text in chapters.items():
        (root / "book" / f"{name}.md").write_text(FRONT + textwrap.dedent(text))
    (root / "tests" / "chapters").mkdir(parents=True)
    for name, text in (tests or {}).items():
        (root / "tests" / "chapters" / name).write_text(textwrap.dedent(text))
    return root


ONE = """\
# One

```{code-cell} ipython3
:tags: [remove-cell]
# This chapter's code (filled in when the book is built)
```

```{chunk} module
:file: pkg/__init__.py
class Box:
    <<Box: methods>>
```

```{chunk} Box: methods
def __init__(self, x):
    self.x = x
```

```{code-cell} ipython3
import torch
t = torch.ones(2)
```

```{code-cell} ipython3
from pkg import Box
print(t, Box(1).x)
```

```{code-cell} ipython3
t = 3
print(t + 1)
```
"""

TWO = """\
# Two

```{chunk} Box: methods
def size(self):
    return abs(self.x)
```

```{chunk} Box: methods
:replace:
def __init__(self, x):
    self.x = float(x)

def size(self):
    return self.x * self.x
```

```{chunk} helpers
def area(box):
    return box.size() ** 2
```

```{chunk} module
<<helpers>>
```
"""

TESTS = {
    "test_01_one.py": """\
        import pytest
        from helper import double
        pytestmark = pytest.mark.since("01-one")
        def test_box(mg):
            assert mg.package.Box(double(2)).x == 4
        """,
    "test_02_two.py": """\
        import pytest
        pytestmark = pytest.mark.since("02-two")
        def test_size(mg):
            assert mg.package.Box(3).size() == 9
        """,
    "test_02_book.py": """\
        import pytest
        from conftest import snapshot_folder
        pytestmark = pytest.mark.since("01-one")
        """,
    "helper.py": "def double(x):\n    return 2 * x\n",
}


@pytest.fixture
def book(tmp_path) -> Path:
    return write_book(tmp_path, {"01-one": ONE, "02-two": TWO}, TESTS)


# ---------------------------------------------------------------- the runner in the page


def test_the_runner_keeps_state_between_cells_and_shows_the_last_value():
    assert live_runner.run("x = 20\nprint('set')") == ("set\n", True)
    assert live_runner.run("x + 1") == ("21\n", True)
    assert live_runner.run("y = x") == ("", True)


def test_a_failing_cell_shows_its_own_traceback_only():
    output, ok = live_runner.run("a = 1\n1 / 0")
    assert not ok
    assert "ZeroDivisionError: division by zero" in output
    assert 'File "<cell>", line 2' in output
    assert "live_runner" not in output
    output, ok = live_runner.run("def f(:\n  pass")
    assert not ok and "SyntaxError" in output


def test_use_package_switches_to_the_given_folder(tmp_path):
    for name, value in (("old", "'old'"), ("new", "'new'")):
        (tmp_path / name / "micrograd").mkdir(parents=True)
        (tmp_path / name / "micrograd" / "__init__.py").write_text(f"WHICH = {value}\n")
    saved_path, saved = list(sys.path), {k: v for k, v in sys.modules.items() if k.startswith("micrograd")}
    try:
        live_runner.use_package(str(tmp_path / "old"))
        assert live_runner.run("import micrograd; micrograd.WHICH") == ("'old'\n", True)
        live_runner.use_package(str(tmp_path / "new"))
        assert live_runner.run("import micrograd; micrograd.WHICH") == ("'new'\n", True)
    finally:
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n.startswith("micrograd")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_glue_is_a_no_op_and_display_shows_html_only_when_asked(monkeypatch):
    for name in ("myst_nb", "IPython", "IPython.display"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    live_runner.install_stubs()
    assert live_runner.run("from myst_nb import glue\nglue('n', 3)") == ("", True)
    parts, ok = live_runner.run_parts("from IPython.display import display, HTML\n"
                                      "print('<b>as text</b>')\ndisplay(HTML('<b>bold</b>'))")
    assert ok and parts == [["text", "<b>as text</b>\n"], ["html", "<b>bold</b>"]]


def test_a_million_lines_are_cut_with_a_note():
    parts, ok = live_runner.run_parts("for n in range(1_000_000):\n    print(n)")
    assert ok and parts[0][1].count("\n") == live_runner.MAX_LINES
    assert parts[-1][0] == "note" and f"{1_000_000 - live_runner.MAX_LINES:,} more lines" in parts[-1][1]


def test_a_cells_graphviz_drawing_goes_to_the_page_as_its_dot():
    parts, ok = live_runner.run_parts("import graphviz\nd = graphviz.Digraph()\nd.edge('a', 'b')\nd")
    assert ok and parts == [["dot", "digraph {\n\ta -> b\n}\n"]]


def test_the_pages_graphviz_is_the_one_the_build_draws_with():
    def pins(name):
        text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
        return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M))

    assert pins("live-wheels.txt")["graphviz"] == pins("constraints.txt")["graphviz"]


def test_an_exercises_check_fails_a_wrong_answer_and_passes_a_right_one(monkeypatch):
    checks = (ROOT / live.CHECKS).read_text(encoding="utf-8")
    monkeypatch.setattr(live_runner, "namespace", {"__name__": "__main__"})
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as in the page: no playwright, no xdist
    live_runner.run("from micrograd.engine import Value\ndef leaves(v):\n    return [v]")
    wrong = json.loads(live_runner.check(checks, "test_ex_value_leaves"))
    live_runner.run("def leaves(v):\n    return list({id(n): n for n in walk(v) if not n._prev}.values())\n"
                    "def walk(v):\n    yield v\n    for child in v._prev:\n        yield from walk(child)")
    right = json.loads(live_runner.check(checks, "test_ex_value_leaves"))
    text = ["".join(part[1] for part in reply["parts"]) for reply in (wrong, right)]
    assert not wrong["ok"] and "each leaf once" in text[0] and "1 failed" in text[0]
    assert right["ok"] and "1 passed" in text[1]


# ---------------------------------------------------------------- the package as edited in the page


def retangle(pieces: list[dict], names: list[str], chapters: list[str], folder: Path) -> dict:
    """live_runner.retangle into folder, then the files it wrote (the path put back as it was)."""
    saved_path, saved = list(sys.path), {k: v for k, v in sys.modules.items() if k.startswith("micrograd")}
    try:
        answer = json.loads(live_runner.retangle(json.dumps({"pieces": pieces, "names": names,
                                                             "chapters": chapters}), str(folder)))
    finally:
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n.startswith("micrograd")]:
            del sys.modules[name]
        sys.modules.update(saved)
    files = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*.py")}
    return answer, files


def pieces_through(chapter: str) -> tuple[list[dict], list[str], list[str]]:
    pieces, names, chapters = live.book_pieces(ROOT)
    upto = chapters[: chapters.index(chapter) + 1]
    return [p for p in pieces if p["chapter"] in upto], names, chapters


@pytest.mark.parametrize("chapter", ["book/05-backprop.md", "book/08-fast.md"])
def test_the_page_tangles_a_chapter_as_tangle_does(chapter, tmp_path):
    answer, files = retangle(*pieces_through(chapter), tmp_path)
    assert answer == {"ok": True} and files == tangle.tangle(ROOT, through=chapter).files


def test_an_edited_chunk_is_tangled_and_its_errors_point_at_its_line(tmp_path):
    pieces, names, chapters = pieces_through("book/05-backprop.md")
    piece = next(p for p in pieces if p["chapter"] == "book/05-backprop.md")

    def edited(text: str) -> list[dict]:
        return [dict(p, text=text) if p is piece else p for p in pieces]

    answer, files = retangle(edited(piece["text"] + "\n# edited"), names, chapters, tmp_path)
    assert answer == {"ok": True} and "# edited" in "".join(files.values())
    answer, _ = retangle(edited("def (:\n" + piece["text"]), names, chapters, tmp_path)
    assert answer["where"] == f"{piece['chapter']}:{piece['body_line']}" and "not be valid Python" in answer["error"]
    answer, _ = retangle(edited("<<no such chunk>>"), names, chapters, tmp_path)
    assert answer["error"].startswith(f"{piece['chapter']}:{piece['body_line']}: error: ")
    assert "undefined chunk «no such chunk»" in answer["error"]


# ---------------------------------------------------------------- what a cell needs


def test_cells_say_what_they_need_and_names_carry_it(book):
    cells = live.page_cells(book, "book/01-one.md")
    assert [(c.hidden, c.setup) for c in cells] == [(True, True), (False, False), (False, False), (False, False)]
    assert [c.needs for c in cells] == [None, "PyTorch", "PyTorch", None]  # t came from torch; then t = 3


@pytest.mark.parametrize("source, needs", [
    ("import math\nprint(math.pi)", None),
    ("from micrograd.engine import Value", None),
    ("import matplotlib.pyplot as plt", "matplotlib"),
    ("draw_dot(x)", None),
    ("import graphviz", None),
    ("import bench", "the book's build tools"),
    ("import requests", "the module requests"),
    ("%timeit 1 + 1", "IPython"),
])
def test_what_a_single_cell_needs(source, needs):
    cell = live.Cell(source, "x.md:1", hidden=False, setup=False)
    live.mark_needs([cell])
    assert cell.needs == needs


# ---------------------------------------------------------------- the code to take away


def test_a_chapter_takes_away_its_package_and_its_own_tests(book):
    assert live.takeaway(book, "book/index.md", "Index") is None  # no package yet
    archive = zipfile.ZipFile(io.BytesIO(live.takeaway(book, "book/01-one.md", "One")))
    names = sorted(archive.namelist())
    assert names == sorted(f"micrograd-01-one/{n}" for n in (
        "pkg/__init__.py", "test_01_one.py", "helper.py", "conftest.py", "pytest.ini", "README.txt"))
    readme = archive.read("micrograd-01-one/README.txt").decode()
    assert len(readme.splitlines()) == 3 and "«One»" in readme and "python -m pytest" in readme
    # Chapter two's own tests, not chapter one's again; the module that needs the book's tools stays out.
    assert live.chapter_tests(book, "book/02-two.md").keys() == {"test_02_two.py"}


# ---------------------------------------------------------------- the index of names


def test_names_are_found_with_the_chunks_that_define_and_use_them(book):
    blocks = tangle.parse_book(book)
    names = chunkindex.defined_names(book, blocks)
    assert list(names) == ["area", "Box", "Box.__init__", "Box.size"]
    where = {name: [f"{b.name}@{b.chapter}" for b in entry.defined] for name, entry in names.items()}
    assert where["Box.__init__"] == ["Box: methods@book/01-one.md", "Box: methods@book/02-two.md"]
    assert where["Box.size"] == ["Box: methods@book/02-two.md"]  # the replacement: no chapter ends with the first
    assert [b.name for b in names["Box.size"].used] == ["helpers"]
    assert [b.name for b in names["Box"].used] == []
    assert names["Box.__init__"].pattern is None


def test_the_pages_snapshot_of_an_earlier_chapter_is_that_chapters_package(monkeypatch, tmp_path):
    import snapshots

    def files(folder: Path) -> dict[str, str]:
        return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*.py")}

    real = files(snapshots.snapshot("book/07-operations.md", tmp_path / "real"))
    monkeypatch.setattr(snapshots, "snapshot", snapshots.snapshot)  # the page's replaces it until the test ends
    pieces, names, chapters = pieces_through("book/08-fast.md")
    live_runner.install_snapshots(json.dumps({"pieces": pieces, "names": names, "chapters": chapters}))
    assert files(snapshots.snapshot("book/07-operations.md", tmp_path / "page")) == real
    assert "micrograd/nn.py" in real


def test_every_answer_cell_has_its_exercises_check():
    checks = (ROOT / live.CHECKS).read_text(encoding="utf-8")
    chapters = tangle.read_toc(ROOT)
    answers = [cell for chapter in chapters for cell in live.page_cells(ROOT, chapter) if cell.check]
    tagged = sum((ROOT / chapter).read_text(encoding="utf-8").count(":tags: [answer]") for chapter in chapters)
    assert len(answers) == tagged > 0  # each under an exercise with a label
    assert all(re.search(rf"^def {cell.check}\(answer\):", checks, re.M) for cell in answers)
