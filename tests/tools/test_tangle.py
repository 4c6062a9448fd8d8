"""tools/tangle.py: every rule of the chunk model, every bad input, and nothing lost."""
from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from myst_parser.parsers.docutils_ import Parser as MystParser

import tangle  # tools/tangle.py (pyproject.toml puts tools/ on the path)
from literate import expand

ROOT = Path(__file__).resolve().parents[2]

EXTENSIONS = ["colon_fence", "dollarmath", "amsmath", "deflist"]  # as the book's _config.yml has them
CONFIG = f"parse:\n  myst_enable_extensions: [{', '.join(EXTENSIONS)}]\n"


def chunk(name: str, body: str, *options: str) -> str:
    """A {chunk} block as a chapter holds it."""
    opts = "".join(f"{o}\n" for o in options)
    return f"```{{chunk}} {name}\n{opts}{textwrap.dedent(body).strip(chr(10))}\n```\n"


def make_book(folder: Path, chapters: dict[str, str]) -> Path:
    """A mini book: _toc.yml listing the chapters in order, and their text."""
    names = list(chapters)
    folder.mkdir(parents=True, exist_ok=True)
    toc = "format: jb-book\nroot: " + names[0] + "\nchapters:\n" + "".join(f"  - file: {n}\n" for n in names[1:])
    (folder / "_toc.yml").write_text(toc)
    (folder / "_config.yml").write_text(CONFIG)
    for name, text in chapters.items():
        path = folder / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@contextlib.contextmanager
def cwd(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(folder: Path, *args: str, where: Path | None = None) -> Result:
    """The command line, run in this process (fast); `where` is the working directory (default: folder)."""
    out, err = io.StringIO(), io.StringIO()
    with cwd(where or folder), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = tangle.main(["--root", str(folder), *args])
        except SystemExit as exit:  # argparse
            code = exit.code
    return Result(code, out.getvalue(), err.getvalue())


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


SIMPLE = {
    "book/one": "# One\n\n" + chunk("module", """
        class A:
            <<A: methods>>
        """, ":file: pkg/mod.py") + "\nSome prose.\n\n" + chunk("A: methods", '''
        def f(self):
            """F."""
            <<f: body>>
        '''),
    "book/two": "# Two\n\n" + chunk("f: body", "return 1") + "\n" + chunk("A: methods", """
        def g(self):
            return 2
        """),
}


def body_lines(text: str) -> list[str]:
    """The generated lines that are code, not the header or chunk comments."""
    return [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]


def chapter_line(folder: Path, origin: str) -> str:
    """The text of a chapter line, counting lines as markdown-it does (only \\n, \\r\\n and \\r end one)."""
    chapter, _, number = origin.rpartition(":")
    text = (folder / chapter).read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")[int(number) - 1]


# ---------------------------------------------------------------- the chunk model


def test_expansion_prefixes_the_reference_indentation_to_every_line(tmp_path):
    make_book(tmp_path, SIMPLE)
    text = tangle.tangle(tmp_path).files["pkg/mod.py"]
    assert body_lines(text) == ["class A:", "    def f(self):", '        """F."""', "        return 1",
                                "    def g(self):", "        return 2"]
    namespace: dict = {}
    exec(text, namespace)
    assert namespace["A"]().f() == 1 and namespace["A"]().g() == 2


def test_each_piece_is_preceded_by_a_comment_naming_chunk_and_the_line_below_it(tmp_path):
    make_book(tmp_path, SIMPLE)
    lines = tangle.tangle(tmp_path).files["pkg/mod.py"].splitlines()
    comments = [line.strip() for line in lines[3:] if line.lstrip().startswith("# <<")]
    # one.md: the root's fence is line 3 and its :file: option line 4, so its code starts on
    # line 5; the A: methods fence follows the 4-line root block, a blank line, the prose and
    # another blank line (line 11), its code on line 12.
    assert comments == ["# <<module>> book/one.md:5", "# <<A: methods>> book/one.md:12",
                        "# <<f: body>> book/two.md:4", "# <<A: methods>> book/two.md:8"]


def test_generated_file_starts_with_a_header_naming_the_chapters(tmp_path):
    make_book(tmp_path, SIMPLE)
    text = tangle.tangle(tmp_path).files["pkg/mod.py"]
    head = text.splitlines()[:3]
    assert "Do not edit" in head[0]
    assert "book/one.md, book/two.md" in head[1]
    assert tangle.generated_status(text) == "clean"


def test_a_later_block_with_the_same_name_appends(tmp_path):
    make_book(tmp_path, SIMPLE)
    text = tangle.tangle(tmp_path).files["pkg/mod.py"]
    assert text.index("def f(self)") < text.index("def g(self)")


def test_replace_rewrites_the_chunk_but_earlier_snapshots_keep_the_old_text(tmp_path):
    chapters = dict(SIMPLE)
    chapters["book/three"] = "# Three\n\n" + chunk("f: body", "return 3", ":replace:")
    make_book(tmp_path, chapters)
    final = tangle.tangle(tmp_path).files["pkg/mod.py"]
    assert "return 3" in final and "return 1" not in final
    earlier = tangle.tangle(tmp_path, through="book/two.md").files["pkg/mod.py"]
    assert "return 1" in earlier and "return 3" not in earlier


def test_replace_then_append_keeps_both_in_order(tmp_path):
    chapters = dict(SIMPLE)
    chapters["book/three"] = "# Three\n\n" + chunk("A: methods", "def h(self):\n    <<f: body>>", ":replace:") + \
        "\n" + chunk("A: methods", "def k(self):\n    return 5")
    make_book(tmp_path, chapters)
    assert body_lines(tangle.tangle(tmp_path).files["pkg/mod.py"]) == [
        "class A:", "    def h(self):", "        return 1", "    def k(self):", "        return 5"]


def test_snapshot_has_only_the_chunks_of_that_chapter_and_earlier(tmp_path):
    make_book(tmp_path, SIMPLE)
    text = tangle.tangle(tmp_path, through="book/one.md").files["pkg/mod.py"]
    # «f: body» is defined only in chapter two: the reader has not written it yet.
    assert body_lines(text) == ["class A:", "    def f(self):", '        """F."""']


def test_one_parse_gives_every_chapters_code_and_shares_identical_ones(tmp_path):
    chapters = dict(SIMPLE)
    chapters["book/prose"] = "# Only prose\n"
    make_book(tmp_path, chapters)
    states = tangle.tangle_chapters(tmp_path)
    assert list(states) == ["book/one.md", "book/two.md", "book/prose.md"]
    assert states["book/prose.md"] is states["book/two.md"]
    assert states["book/one.md"].files == tangle.tangle(tmp_path, through="book/one.md").files
    assert states["book/prose.md"].files == tangle.tangle(tmp_path).files


def test_through_and_out_write_the_snapshot_elsewhere(tmp_path):
    book = make_book(tmp_path / "b", SIMPLE)
    out = tmp_path / "snap"
    result = run(book, "--through", "book/one.md", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "def g" not in (out / "pkg/mod.py").read_text()
    assert not (book / "pkg").exists()


@pytest.mark.parametrize("spelling", ["book/one.md", "./book/one.md", "book/one", "one", "one.md", "ABSOLUTE"])
def test_through_accepts_the_ways_people_write_a_chapter_from_any_folder(tmp_path, spelling):
    book = make_book(tmp_path / "b", SIMPLE)
    spelling = str(book / "book/one.md") if spelling == "ABSOLUTE" else spelling
    result = run(book, "--through", spelling, "--out", str(tmp_path / "snap"), where=book / "book")
    assert result.returncode == 0, result.stderr
    assert "def g" not in (tmp_path / "snap/pkg/mod.py").read_text()


def test_through_without_out_is_refused(tmp_path):
    make_book(tmp_path, SIMPLE)
    result = run(tmp_path, "--through", "book/one.md")
    assert result.returncode == 2 and "--out" in result.stderr
    assert not (tmp_path / "pkg").exists()


def test_locate_points_at_the_chapter_line_holding_the_same_text(tmp_path):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    generated = (tmp_path / "pkg/mod.py").read_text().splitlines()
    for number, line in enumerate(generated, start=1):
        if number <= 3 or not line:
            continue  # the header, blank lines
        result = run(tmp_path, "--locate", f"pkg/mod.py:{number}")
        assert result.returncode == 0, result.stderr
        source = chapter_line(tmp_path, result.stdout.strip())
        if line.lstrip().startswith("# <<"):  # a marker names the line below it
            assert line.endswith(result.stdout.strip())
            assert source.strip() == generated[number].strip()
        else:
            assert source.strip() == line.strip()


@pytest.mark.parametrize("spelling", ["./pkg/mod.py", "ABSOLUTE"])
def test_locate_accepts_the_paths_tracebacks_print(tmp_path, spelling):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    number = tangle.tangle(tmp_path).files["pkg/mod.py"].splitlines().index("        return 1") + 1
    path = str(tmp_path / "pkg/mod.py") if spelling == "ABSOLUTE" else spelling
    result = run(tmp_path, "--locate", f"{path}:{number}", where=tmp_path / "book")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "book/two.md:4"


def test_locate_finds_a_line_of_any_chapters_snapshot_by_its_content(tmp_path):
    book = make_book(tmp_path / "b", SIMPLE)
    assert run(book, "--through", "book/one.md", "--out", str(tmp_path / "snap")).returncode == 0
    lines = (tmp_path / "snap/pkg/mod.py").read_text().splitlines()
    number = lines.index('        """F."""') + 1
    result = run(book, "--locate", f"{tmp_path / 'snap/pkg/mod.py'}:{number}")
    assert result.returncode == 0, result.stderr
    assert chapter_line(book, result.stdout.strip()).strip() == '"""F."""'


def test_locate_refuses_a_stale_or_hand_edited_file(tmp_path):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    chapter = tmp_path / "book/two.md"
    chapter.write_text(chapter.read_text().replace("# Two\n", "# Two\n\nA new paragraph.\n"))
    result = run(tmp_path, "--locate", "pkg/mod.py:8")
    assert result.returncode == 2 and "not what the chapters produce" in result.stderr
    assert run(tmp_path).returncode == 0
    generated = tmp_path / "pkg/mod.py"
    generated.write_text(generated.read_text().replace("class A:", "import os\nclass A:"))
    result = run(tmp_path, "--locate", "pkg/mod.py:8")
    assert result.returncode == 2 and result.stderr.startswith("pkg/mod.py:8: error: ")


def test_locate_rejects_header_lines_and_unknown_files(tmp_path):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path, "--locate", "pkg/mod.py:1").returncode == 2
    assert "not generated by the book" in run(tmp_path, "--locate", "pkg/other.py:4").stderr
    assert "no line 999" in run(tmp_path, "--locate", "pkg/mod.py:999").stderr


def test_tangling_is_deterministic(tmp_path):
    make_book(tmp_path, SIMPLE)
    first = tangle.tangle(tmp_path).files
    assert tangle.tangle(tmp_path).files == first
    assert run(tmp_path).returncode == 0
    before = tree(tmp_path)
    assert run(tmp_path).stdout == ""  # nothing to rewrite
    assert tree(tmp_path) == before


def test_check_is_clean_after_tangle_and_shows_a_diff_after_a_chapter_changes(tmp_path):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    assert run(tmp_path, "--check").returncode == 0
    chapter = tmp_path / "book/two.md"
    chapter.write_text(chapter.read_text().replace("return 2", "return 22"))
    before = tree(tmp_path)
    result = run(tmp_path, "--check")
    assert result.returncode == 1
    assert "-        return 2\n+        return 22" in result.stdout
    assert tree(tmp_path) == before


# ---------------------------------------------------------------- PEP 8 where pieces meet


def test_top_level_definitions_get_two_blank_lines_where_pieces_meet(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", '"""Doc."""\nimport os\n<<defs>>\nX = 1', ":file: pkg/m.py")
                         + chunk("defs", "def f():\n    return os.sep") + chunk("defs", "class B:\n    pass")
                         + chunk("m", "<<method>>") + chunk("method", "Y = 2")})
    text = tangle.tangle(tmp_path).files["pkg/m.py"]
    body = text.split("\n", 3)[3]
    assert "import os\n\n\n# <<defs>>" in body  # before a def (E302)
    assert "return os.sep\n\n\n# <<defs>>" in body  # between two definitions
    assert "pass\n\n\n# (back in <<m>>)" in body  # after a definition (E305)
    assert "X = 1\n# <<m>>" in body  # plain statements: left as written


def test_methods_get_one_blank_line_where_pieces_meet(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "class A:\n    <<A>>", ":file: pkg/m.py")
                         + chunk("A", "def f(self):\n    pass") + chunk("A", "def g(self):\n    pass")})
    assert "        pass\n\n    # <<A>>" in tangle.tangle(tmp_path).files["pkg/m.py"]


# ---------------------------------------------------------------- bad input


def assert_refused(folder: Path, location: str, message: str, check: bool = True) -> None:
    """Exit 2, one located line on stderr, no traceback, nothing written, for the plain run (and --check)."""
    before = tree(folder)
    for extra in ((), ("--check",)) if check else ((),):
        result = run(folder, *extra)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"{location}: error: "), lines[0]
        assert message in lines[0]
        assert "Traceback" not in result.stderr
        assert tree(folder) == before


def test_reference_to_an_undefined_chunk(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1\n<<nowhere>>", ":file: pkg/m.py")})
    assert_refused(tmp_path, "book/one.md:4", "undefined chunk «nowhere»")


def test_a_cycle_of_references(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "<<a>>", ":file: pkg/m.py") + "\n" +
                         chunk("a", "<<b>>") + "\n" + chunk("b", "x = 1\n<<a>>")})
    assert_refused(tmp_path, "book/one.md:12", "cycle")


@pytest.mark.parametrize("mistake, location, message", [
    ("x = 1\n<<nowhere>>", "book/one.md:12", "undefined chunk «nowhere»"),
    ("x = 1\n<<a>>", "book/one.md:12", "cycle (in the code as it stands at the end of book/one.md)"),
    ("x = (", "book/one.md:11", "would not be valid Python (in the code as it stands at the end of book/one.md)"),
])
def test_a_mistake_in_code_a_later_chapter_replaces_still_breaks_its_chapter(tmp_path, mistake, location, message):
    make_book(tmp_path, {"book/one": chunk("m", "<<a>>", ":file: pkg/m.py") + "\n" + chunk("a", "<<b>>") +
                         "\n" + chunk("b", mistake),
                         "book/two": chunk("b", "x = 2", ":replace:")})
    assert_refused(tmp_path, location, message)


def test_a_chunk_nested_too_deep_is_a_located_error_not_a_crash(tmp_path):
    names = [f"c{n}" for n in range(1000)]
    text = chunk("m", "<<c0>>", ":file: pkg/m.py") + "".join(
        chunk(name, f"<<{after}>>") for name, after in zip(names, names[1:])) + chunk(names[-1], "x = 1")
    make_book(tmp_path, {"book/one": text})
    assert_refused(tmp_path, "book/one.md:300", "nest more than 100 deep")


def test_generated_code_that_is_not_python_is_reported_at_its_chapter_line(tmp_path):
    # A fence that is one backtick short of closing swallows the prose and the next chunk.
    make_book(tmp_path, {"book/one": chunk("m", "x = 1\n<<n>>", ":file: pkg/m.py") +
                         "\n```{chunk} n\ny = 2\n``\n\nSome prose, now code.\n```\n"})
    assert_refused(tmp_path, "book/one.md:9", "pkg/m.py would not be valid Python")


def test_two_chunks_rooting_the_same_file(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py") + "\n" +
                         chunk("n", "y = 1", ":file: pkg/m.py")})
    assert_refused(tmp_path, "book/one.md:6", "already the root of chunk «m» (book/one.md:1)")


@pytest.mark.parametrize("second, message", [
    ("./pkg/m.py", "write the file root as pkg/m.py"),
    ("pkg//m.py", "write the file root as pkg/m.py"),
    ("pkg/./m.py", "write the file root as pkg/m.py"),
    ("pkg/M.py", "differs only in case from pkg/m.py"),
])
def test_two_spellings_of_one_path_are_one_file(tmp_path, second, message):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py") + "\n" +
                         chunk("n", "y = 1", f":file: {second}")})
    assert_refused(tmp_path, "book/one.md:6", message)


def test_a_lone_root_spelled_with_dot_slash_is_refused_not_written_then_deleted(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: ./pkg/m.py")})
    assert_refused(tmp_path, "book/one.md:1", "write the file root as pkg/m.py")


def test_a_root_inside_another_roots_file_is_refused_before_anything_is_written(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/a.py") + "\n" +
                         chunk("n", "y = 1", ":file: pkg/a.py/x.py")})
    assert_refused(tmp_path, "book/one.md:6", "would lie inside the file pkg/a.py")


def test_a_root_whose_folder_is_a_file_on_disk_is_refused_before_anything_is_written(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/a.py") + "\n" +
                         chunk("n", "y = 1", ":file: pkg/sub/x.py")})
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/sub").write_text("a file, not a folder\n")
    assert_refused(tmp_path, "pkg/sub:1", "pkg/sub is a file, not a folder", check=False)


def test_a_chunk_rooting_two_files(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py") + "\n" +
                         chunk("m", "y = 1", ":file: pkg/n.py")})
    assert_refused(tmp_path, "book/one.md:6", "already writes pkg/m.py")


def test_replace_of_a_chunk_that_does_not_exist(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py") + "\n" +
                         chunk("ghost", "y = 1", ":replace:")})
    assert_refused(tmp_path, "book/one.md:6", "replace of chunk «ghost»")


def test_a_code_fence_that_is_never_closed(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py") + "\nprose\n\n```python\nx = 2\n"})
    assert_refused(tmp_path, "book/one.md:8", "never closed")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e"])
def test_characters_python_splits_lines_on_but_markdown_does_not(tmp_path, separator):
    text = (f"# One{separator}still the title\n\nProse{separator}prose.\n\n" +
            chunk("m", f's = "a{separator}b"\nt = 1', ":file: pkg/m.py") + f"\nAfter{separator}.\n\n" +
            chunk("m", "u = 2"))
    make_book(tmp_path, {"book/one": ""})
    (tmp_path / "book/one.md").write_text(text, encoding="utf-8")
    tangled = tangle.tangle(tmp_path)
    namespace: dict = {}
    exec(tangled.files["pkg/m.py"], namespace)
    assert namespace["s"] == f"a{separator}b" and namespace["u"] == 2
    for line in tangled.lines["pkg/m.py"]:
        if line.origin and line.text and not line.marker:
            assert chapter_line(tmp_path, line.origin).strip() == line.text.strip()


def test_windows_line_endings_and_a_byte_order_mark(tmp_path):
    make_book(tmp_path, {"book/one": ""})
    text = "\ufeff" + chunk("m", "x = 1\n<<n>>", ":file: pkg/m.py") + "\n" + chunk("n", "y = 2")
    (tmp_path / "book/one.md").write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    tangled = tangle.tangle(tmp_path)
    assert body_lines(tangled.files["pkg/m.py"]) == ["x = 1", "y = 2"]
    assert [line.origin for line in tangled.lines["pkg/m.py"] if line.text in ("x = 1", "y = 2")] == \
        ["book/one.md:3", "book/one.md:8"]


def test_an_unknown_option_on_a_chunk(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py", ":colour: red")})
    assert_refused(tmp_path, "book/one.md:1", "colour")


@pytest.mark.parametrize("options, location, message", [
    ((":file: pkg/m.py", ":replace: false"), "book/one.md:7", ":replace: is a flag and takes no value"),
    ((":file: pkg/m.py", ":replace:", ":replace:"), "book/one.md:8", "the option :replace: is given twice"),
    ((":file: pkg/m.py", ":file: pkg/n.py"), "book/one.md:3", "the option :file: is given twice"),
    ((":file: pkg/m\u2028.py",), "book/one.md:2", "not a chunk option"),
    ((":file: pkg/m\0.py",), "book/one.md:2", "a NUL character"),
    ((":file: pkg/m\x7f.py",), "book/one.md:1", "must be a relative path to a .py file"),
    ((":file: pkg\\m.py",), "book/one.md:1", "write the file root as pkg/m.py"),
])
def test_chunk_options_are_read_strictly(tmp_path, options, location, message):
    first = chunk("m", "x = 1", ":file: pkg/m.py") + "\n" if ":replace:" in "".join(options) else ""
    make_book(tmp_path, {"book/one": ""})
    text = first + chunk("m", "y = 1", *[o for o in options if not (first and o.startswith(":file:"))])
    (tmp_path / "book/one.md").write_text(text, encoding="utf-8")
    assert_refused(tmp_path, location, message)


def test_a_chunk_without_a_name(tmp_path):
    make_book(tmp_path, {"book/one": "```{chunk}\nx = 1\n```\n"})
    assert_refused(tmp_path, "book/one.md:1", "needs a name")


@pytest.mark.parametrize("text, location, message", [
    (":::{chunk} m\n:file: pkg/m.py\nx = 1\n:::\n", "book/one.md:1", "not a colon fence"),
    (":::{note}\n" + chunk("m", "x = 1", ":file: pkg/m.py") + ":::\n", "book/one.md:2", "inside a {note} directive"),
    ("````{admonition} Look\n" + chunk("m", "x = 1", ":file: pkg/m.py") + "````\n", "book/one.md:2",
     "inside a {admonition} directive"),
    ("```{eval-rst}\n.. chunk:: m\n   :file: pkg/m.py\n\n   x = 1\n```\n", "book/one.md:1", "reStructuredText"),
    ("> ```{chunk} m\n> :file: pkg/m.py\n> x = 1\n> ```\n", "book/one.md:1", "inside a block quote or a list"),
    ("- ```{chunk} m\n  :file: pkg/m.py\n  x = 1\n  ```\n", "book/one.md:1", "inside a block quote or a list"),
])
def test_a_chunk_the_book_would_show_but_the_tool_cannot_read_is_refused(tmp_path, text, location, message):
    make_book(tmp_path, {"book/one": text})
    assert_refused(tmp_path, location, message)


def test_a_chunk_shown_inside_a_code_cell_is_only_text(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py") +
                         "\n````{code-cell} ipython3\ntext = '''\n```{chunk} other\ny = 2\n```\n'''\n````\n"})
    assert list(tangle.tangle(tmp_path).files) == ["pkg/m.py"]


def test_a_chunk_directive_spelled_in_capitals_is_still_a_chunk(tmp_path):
    make_book(tmp_path, {"book/one": "```{Chunk} m\n:file: pkg/m.py\nx = 1\n```\n"})
    assert body_lines(tangle.tangle(tmp_path).files["pkg/m.py"]) == ["x = 1"]


def test_a_chapter_listed_in_the_toc_that_does_not_exist(tmp_path):
    make_book(tmp_path, SIMPLE)
    (tmp_path / "_toc.yml").write_text((tmp_path / "_toc.yml").read_text() + "  - file: book/missing\n")
    assert_refused(tmp_path, "_toc.yml:5", "book/missing.md does not exist")


def test_a_chapter_listed_twice(tmp_path):
    make_book(tmp_path, SIMPLE)
    (tmp_path / "_toc.yml").write_text((tmp_path / "_toc.yml").read_text() + "  - file: ./book/one.md\n")
    assert_refused(tmp_path, "_toc.yml:5", "book/one.md is listed twice")


@pytest.mark.parametrize("name, content, location, message", [
    ("_toc.yml", b"format: jb-book\nroot: book/one\n# caf\xe9\n", "_toc.yml:3", "not valid UTF-8"),
    ("_toc.yml", b"format: [jb-book\n", "_toc.yml:2", "not valid YAML"),
    ("_toc.yml", b"- book/one\n", "_toc.yml:1", "must be a mapping"),
    ("_toc.yml", b"format: jb-book\nroot: book/one\nchapters:\n  - glob: book/*\n", "_toc.yml:4", "glob"),
    ("_config.yml", b"title: caf\xe9\n", "_config.yml:1", "not valid UTF-8"),
    ("_config.yml", b"title: x\nparse: [\n", "_config.yml:3", "not valid YAML"),
    ("_config.yml", b"parse: 3\n", "_config.yml:1", "expected a mapping"),
    ("_config.yml", b"parse:\n  myst_enable_extensions: colon_fence\n", "_config.yml:2", "must be a list"),
    ("_config.yml", b"parse:\n  myst_enable_extensions: [bogus]\n", "_config.yml:2", "not recognised"),
])
def test_a_broken_table_of_contents_or_configuration(tmp_path, name, content, location, message):
    make_book(tmp_path, SIMPLE)
    (tmp_path / name).write_bytes(content)
    assert_refused(tmp_path, location, message)


def test_a_chapter_that_is_not_utf8(tmp_path):
    make_book(tmp_path, SIMPLE)
    chapter = tmp_path / "book/two.md"
    chapter.write_bytes(chapter.read_bytes() + b"\nna\xefve\n")
    assert_refused(tmp_path, "book/two.md:12", "not valid UTF-8")


def test_a_chunk_no_file_root_reaches(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py") + "\n" + chunk("orphan", "y = 1")})
    assert_refused(tmp_path, "book/one.md:6", "never used")


def test_a_file_root_outside_the_repository(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: ../evil.py")})
    assert_refused(tmp_path, "book/one.md:1", "relative path")


# ---------------------------------------------------------------- nothing lost


def test_a_file_edited_by_hand_is_not_overwritten(tmp_path):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    generated = tmp_path / "pkg/mod.py"
    generated.write_text(generated.read_text().replace("return 1", "return 111"))
    chapter = tmp_path / "book/two.md"
    chapter.write_text(chapter.read_text().replace("return 2", "return 22"))
    before = tree(tmp_path)
    result = run(tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("pkg/mod.py:1: error: ")
    assert "edited by hand" in result.stderr and tree(tmp_path) == before
    result = run(tmp_path, "--force")
    assert result.returncode == 0
    assert "return 22" in generated.read_text() and "return 111" not in generated.read_text()


def test_an_edit_in_the_header_is_caught(tmp_path):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    generated = tmp_path / "pkg/mod.py"
    lines = generated.read_text().split("\n")
    for edit in (lines[:1] + ["import os"] + lines[1:],  # a line inserted into the header
                 lines[:1] + [lines[1].replace("book/one.md", "book/three.md")] + lines[2:]):
        assert tangle.generated_status("\n".join(edit)) == "edited"
    generated.write_text("\n".join(lines[:1] + ["import os"] + lines[1:]))
    chapter = tmp_path / "book/two.md"
    chapter.write_text(chapter.read_text().replace("return 2", "return 22"))
    result = run(tmp_path)
    assert result.returncode == 2 and "edited by hand" in result.stderr


def test_a_file_the_book_did_not_generate_is_not_overwritten(tmp_path):
    make_book(tmp_path, SIMPLE)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/mod.py").write_text("# my own work\n")
    assert_refused(tmp_path, "pkg/mod.py:1", "not generated by the book", check=False)


def test_a_file_whose_root_disappeared_is_removed_only_if_untouched(tmp_path):
    chapters = dict(SIMPLE)
    chapters["book/one"] += "\n" + chunk("extra", "z = 0", ":file: pkg/extra.py")
    make_book(tmp_path, chapters)
    assert run(tmp_path).returncode == 0
    extra = tmp_path / "pkg/extra.py"
    (tmp_path / "pkg/notes.py").write_text("# someone's own file\n")
    make_book(tmp_path, SIMPLE)  # the root is gone
    extra.write_text(extra.read_text() + "w = 1\n")
    result = run(tmp_path)
    assert result.returncode == 2 and "edited by hand" in result.stderr
    extra.write_text(extra.read_text().replace("w = 1\n", ""))
    assert run(tmp_path).returncode == 0
    assert not extra.exists()
    assert (tmp_path / "pkg/notes.py").exists()  # not ours: left alone


def test_stale_files_are_found_anywhere_and_the_folders_they_leave_empty_go_too(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: old/deep/m.py") + chunk("t", "y = 1", ":file: t.py")})
    assert run(tmp_path).returncode == 0
    (tmp_path / "old/keep.txt").write_text("not generated\n")
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py")})
    assert run(tmp_path, "--check").returncode == 1
    assert run(tmp_path).returncode == 0
    assert not (tmp_path / "old/deep").exists() and not (tmp_path / "t.py").exists()
    assert (tmp_path / "old/keep.txt").exists() and (tmp_path / "pkg/m.py").exists()


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    generated = tmp_path / "pkg/mod.py"
    old = generated.read_bytes()
    chapter = tmp_path / "book/two.md"
    chapter.write_text(chapter.read_text().replace("return 2", "return 22"))

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tangle.write(tmp_path, tangle.tangle(tmp_path))
    assert generated.read_bytes() == old
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == ["mod.py"]  # no temporary left


def test_a_temporary_file_a_killed_run_left_is_reported_and_cleaned_up(tmp_path):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    leftover = tmp_path / "pkg/.mod.py.k3j4x9a2.tmp"
    leftover.write_text("half a fi")
    result = run(tmp_path, "--check")
    assert result.returncode == 1 and "pkg/.mod.py.k3j4x9a2.tmp" in result.stdout
    assert run(tmp_path).returncode == 0
    assert not leftover.exists()
    assert run(tmp_path, "--check").returncode == 0


def test_a_broken_link_in_the_package_is_left_alone(tmp_path):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    lock = tmp_path / "pkg/.#mod.py"  # what an editor leaves while a file is open
    lock.symlink_to("someone@host.1234")
    for args in ((), ("--check",)):
        result = run(tmp_path, *args)
        assert result.returncode == 0, result.stderr
    assert lock.is_symlink()


def test_a_link_where_a_file_goes_is_refused(tmp_path):
    make_book(tmp_path, SIMPLE)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/mod.py").symlink_to(tmp_path / "elsewhere.py")
    result = run(tmp_path)
    assert result.returncode == 2 and "symbolic link" in result.stderr


def test_written_files_get_the_mode_of_a_normal_write_and_keep_their_own(tmp_path):
    make_book(tmp_path, SIMPLE)
    umask = os.umask(0o022)
    try:
        assert run(tmp_path).returncode == 0
        generated = tmp_path / "pkg/mod.py"
        assert stat.S_IMODE(generated.stat().st_mode) == 0o644
        generated.chmod(0o664)
        chapter = tmp_path / "book/two.md"
        chapter.write_text(chapter.read_text().replace("return 2", "return 22"))
        assert run(tmp_path).returncode == 0
        assert "return 22" in generated.read_text()
        assert stat.S_IMODE(generated.stat().st_mode) == 0o664
    finally:
        os.umask(umask)


# ---------------------------------------------------------------- every refusal, with an example


def _refusal_of(action) -> str:
    with pytest.raises(tangle.TangleError) as caught:
        action()
    return caught.value.refusal


def _book(tmp_path, text):
    return make_book(tmp_path, {"book/one": text})


EXAMPLES = {
    "toc": lambda p: (make_book(p, {"book/one": "# One\n"}), (p / "_toc.yml").write_text("root: nowhere"),
                      tangle.tangle(p)),
    "config": lambda p: (make_book(p, {"book/one": "# One\n"}), (p / "_config.yml").write_text("parse: 3"),
                         tangle.tangle(p)),
    "encoding": lambda p: (make_book(p, {"book/one": ""}), (p / "book/one.md").write_bytes(b"\xff"), tangle.tangle(p)),
    "unclosed-fence": lambda p: tangle.tangle(_book(p, "```python\nx = 1\n")),
    "hidden-chunk": lambda p: tangle.tangle(_book(p, ":::{chunk} m\nx = 1\n:::\n")),
    "chunk-header": lambda p: tangle.tangle(_book(p, chunk("m", "x = 1", ":file: a.py", ":replace: no"))),
    "file-path": lambda p: tangle.tangle(_book(p, chunk("m", "x = 1", ":file: ./a.py"))),
    "file-conflict": lambda p: tangle.tangle(_book(p, chunk("m", "x = 1", ":file: a.py") +
                                                   chunk("n", "x = 1", ":file: A.py"))),
    "undefined": lambda p: tangle.tangle(_book(p, chunk("m", "<<n>>", ":file: a.py"))),
    "expansion": lambda p: tangle.tangle(_book(p, chunk("m", "<<m>>", ":file: a.py"))),
    "unused": lambda p: tangle.tangle(_book(p, chunk("m", "x = 1", ":file: a.py") + chunk("n", "y = 1"))),
    "syntax": lambda p: tangle.tangle(_book(p, chunk("m", "x = = 1", ":file: a.py"))),
    "overwrite": lambda p: ((p / "a.py").parent.mkdir(parents=True, exist_ok=True), (p / "a.py").write_text("mine"),
                            tangle.write(p, tangle.tangle(_book(p, chunk("m", "x = 1", ":file: a.py"))))),
    "locate": lambda p: (_book(p, chunk("m", "x = 1", ":file: a.py")), (p / "a.py").write_text("x = 2\n"),
                         tangle.locate_on_disk(p, "a.py:1", tangle.tangle_chapters(p))),
    "argument": lambda p: tangle.chapter_arg(["book/one.md"], p, "book/two.md"),
}


def test_every_refusal_has_an_example():
    assert set(EXAMPLES) == set(tangle.REFUSALS)


@pytest.mark.parametrize("refusal", sorted(EXAMPLES))
def test_each_example_is_refused_for_its_reason(tmp_path, refusal):
    assert _refusal_of(lambda: EXAMPLES[refusal](tmp_path)) == refusal


def test_the_refusals_table_renders_one_row_of_two_cells_per_example():
    """As the book's Markdown parser renders it: a stray | or line break in a reason would split a row."""
    html = tangle.markdown_parser(ROOT).render(tangle.refusals_table())
    rows = html.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == len(EXAMPLES)  # the examples above are written by hand, one per refusal
    for row in rows:
        cells = [cell.split("</td>")[0].strip() for cell in row.split("<td>")[1:]]
        assert len(cells) == 2 and all(len(cell) > 20 for cell in cells), row


# ---------------------------------------------------------------- robustness

NAMES = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def chunk_books(draw):
    """A random one-chapter book: chunks with random references, maybe cycles or undefined ones."""
    blocks = []
    for _ in range(draw(st.integers(1, 6))):
        name = draw(NAMES)
        refs = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=3))
        body = "\n".join([f"{name}_{len(blocks)} = 1"] + [f"{' ' * draw(st.integers(0, 8))}<<{r}>>" for r in refs])
        options = []
        if draw(st.booleans()) and not blocks:
            options.append(":file: pkg/m.py")
        if draw(st.integers(0, 4)) == 0:
            options.append(":replace:")
        blocks.append(chunk(name, body, *options))
    return "# Random\n\n" + "\n".join(blocks)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=chunk_books())
def test_random_chunk_graphs_tangle_or_give_a_located_error(tmp_path_factory, text):
    folder = make_book(tmp_path_factory.mktemp("g"), {"book/one": text})
    try:
        files = tangle.tangle(folder).files
    except tangle.TangleError as err:
        assert str(err).startswith(("book/one.md:", "_toc.yml:"))
        return
    for path, content in files.items():
        compile(content, path, "exec")  # every expansion is valid Python
        assert "<<" not in content.replace("# <<", "").replace("# (back in <<", "")  # every reference expanded


class RecordChunk(Directive):
    """Stands in for the book's chunk directive: records where MyST runs one."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = tangle.ChunkOptions.option_spec
    seen: list[int] = []

    def run(self):
        RecordChunk.seen.append(self.lineno)
        return []


def chunks_myst_renders(text: str) -> list[int]:
    """The lines of the chunk directives MyST runs in a chapter (as Sphinx reads it, without a BOM)."""
    directives.register_directive("chunk", RecordChunk)
    RecordChunk.seen = []
    publish_doctree(text.removeprefix("\ufeff"), parser=MystParser(),
                    settings_overrides={"myst_enable_extensions": ["colon_fence"], "report_level": 5,
                                        "halt_level": 5, "warning_stream": False})
    return sorted(RecordChunk.seen)


ODD = ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\0", "\t", "é", "\ufeff"]
ODDITY = st.sampled_from(ODD + [""] * 6)
RAW_LINES = st.sampled_from([
    "```", "````", "~~~", "```{chunk}", "```{Chunk} a", "```python", ":::", ":::{note}", ":::{chunk} a", "> quote",
    "- item", "# Title", "---", "$$", "<<", ">>", "<<a>>", ":replace: false", ":file: ./pkg/m.py", "x = (", "",
])


@st.composite
def code_lines(draw, references=False):
    odd = draw(ODDITY)
    lines = ["x = 1", f's = "{odd}"', "def f():\n    return 1", f"y = 2  # {odd}", "", f"z = 3{odd}"]
    return draw(st.sampled_from(lines + ["<<a>>", "<<b>>", "class C:\n    <<b>>"] * references))


@st.composite
def chunk_blocks(draw, name=None, options=()):
    """A chunk as an author (or a careless editor) might write it, odd options and forms included."""
    name = name or draw(st.sampled_from(["a", "b"]))
    directive = draw(st.sampled_from(["{chunk}"] * 9 + ["{Chunk}"]))
    options = list(options) + draw(st.lists(st.sampled_from([":replace:"] + [""] * 3), max_size=1))
    if draw(st.integers(0, 9)) == 0:
        options.append(draw(st.sampled_from([":replace: false", ":file: ./pkg/m.py", ":file: pkg/M.py",
                                             ":file: pkg/m.py/x.py", ":bogus: 1", ":file: pkg/n.py"])))
    body = "\n".join(draw(st.lists(code_lines(references=name == "m"), min_size=1, max_size=4)) +
                     ["<<a>>", "<<b>>"] * (name == "m"))
    text = f"```{directive} {name}\n" + "".join(f"{o}\n" for o in options if o) + body + "\n```\n"
    form = draw(st.sampled_from(["top"] * 40 + ["quote", "list", "note", "colon", "admonition"]))
    if form == "quote":
        return "".join(f"> {line}\n" for line in text.splitlines())
    if form == "list":
        return "- " + text.replace("\n", "\n  ").rstrip() + "\n"
    if form == "note":
        return ":::{note}\n" + text + ":::\n"
    if form == "colon":
        return text.replace("```", ":::")
    if form == "admonition":
        return "````{admonition} Look\n" + text + "````\n"
    return text


@st.composite
def odd_chapters(draw) -> bytes:
    """A chapter of chunks, prose and stray lines, with the characters that split lines in some readers."""
    parts = [draw(chunk_blocks("m", [":file: pkg/m.py"])), draw(chunk_blocks("a")), draw(chunk_blocks("b"))]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["chunk"] * 2 + ["prose"] * 2 + ["raw"]))
        if kind == "chunk":
            parts.insert(draw(st.integers(1, len(parts))), draw(chunk_blocks()))
        elif kind == "prose":
            parts.insert(draw(st.integers(0, len(parts))), f"Some{draw(ODDITY)}prose{draw(ODDITY)}.\n")
        else:
            parts.insert(draw(st.integers(0, len(parts))), draw(RAW_LINES) + "\n")
    text = "\n".join(parts)
    if draw(st.integers(0, 3)) == 0:
        text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r"])))
    if draw(st.integers(0, 4)) == 0:
        text = "\ufeff" + text
    tail = draw(st.sampled_from([b""] * 12 + [b"\xff", b"\xc3"]))
    return text.encode("utf-8") + tail


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chapter=odd_chapters())
def test_random_markdown_tangles_as_myst_reads_it_or_is_refused(tmp_path_factory, chapter):
    folder = make_book(tmp_path_factory.mktemp("m"), {"book/one": ""})
    (folder / "book/one.md").write_bytes(chapter)
    try:
        tangled = tangle.tangle(folder)
        blocks = tangle.parse_book(folder)
    except tangle.TangleError as err:
        assert str(err).startswith(("book/one.md:", "_toc.yml:")), str(err)
        return
    # The book renders exactly the chunks the tool reads, no more, no fewer.
    assert [block.line for block in blocks] == chunks_myst_renders(chapter.decode("utf-8"))
    for path, content in tangled.files.items():
        compile(content, path, "exec")
        for line in tangled.lines[path]:  # every line maps to the chapter line it came from
            if line.origin and line.text and not line.marker:
                assert chapter_line(folder, line.origin).strip() == line.text.strip()


def test_a_header_naming_many_chapters_wraps_and_still_guards_the_file(tmp_path):
    chapters = [f"book/{n:02d}-a-chapter-with-a-long-name.md" for n in range(1, 7)]
    body = "x = 1\n"
    head = tangle.header(chapters, body)
    assert len(head) > 3 and all(len(line) <= tangle.HEADER_WIDTH for line in head[:-1])
    assert " ".join(line.lstrip("# ") for line in head[1:-1]).count("a-chapter-with-a-long-name") == 6
    text = "\n".join(head) + "\n" + body
    assert tangle.generated_status(text) == "clean"
    assert tangle.generated_status(text.replace("x = 1", "x = 2")) == "edited"
    assert tangle.generated_status("\n".join(head[:-1]) + "\n" + body) == "foreign"  # no hash line


def test_the_core_the_page_uses_needs_only_the_standard_library():
    """graph.py, expand.py and errors.py run in the browser's Python: no site-packages (-S), and the
    pieces the build parses tangle into the package. (That the package on disk is this tangle is
    `make check-tangle`'s job, once per run, before the tests.)"""
    code = ("import json, sys; sys.path.insert(0, 'tools'); from literate import expand; "
            "print(json.dumps(expand.tangle_pieces(json.load(sys.stdin), final=True)))")
    pieces = json.dumps(tangle.pieces(ROOT))
    result = subprocess.run([sys.executable, "-S", "-c", code], input=pieces, capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == tangle.tangle(ROOT).files


def test_the_core_raises_the_tools_own_located_error():
    pieces = [{"name": "m", "chapter": "book/one.md", "line": 3, "body_line": 5, "mode": "define",
               "file": "pkg/m.py", "text": "x = 1\n<<m>>"}]
    with pytest.raises(tangle.TangleError) as caught:
        expand.tangle_pieces(pieces)
    assert str(caught.value) == "book/one.md:6: error: chunk references form a cycle: «m» -> «m»"
    assert caught.value.refusal == "expansion"
