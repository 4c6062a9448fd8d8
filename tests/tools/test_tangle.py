"""tools/tangle.py: every rule of the chunk model, every bad input, and nothing lost."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tangle  # tools/tangle.py (pyproject.toml puts tools/ on the path)

ROOT = Path(__file__).resolve().parents[2]
TANGLE = ROOT / "tools" / "tangle.py"

FRONT = "---\nkernelspec:\n  name: python3\n---\n\n"


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
    for name, text in chapters.items():
        path = folder / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TANGLE), "--root", str(folder), *args],
                          capture_output=True, text=True, cwd=folder)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


SIMPLE = {
    "book/one": "# One\n\n" + chunk("module", """
        class A:
            <<A: methods>>
        """, ":file: pkg/mod.py") + "\nSome prose.\n\n" + chunk("A: methods", """
        def f(self):
            <<f: body>>
        """),
    "book/two": "# Two\n\n" + chunk("f: body", "return 1") + "\n" + chunk("A: methods", """
        def g(self):
            return 2
        """),
}


def body_lines(text: str) -> list[str]:
    """The generated lines that are code, not the header or chunk comments."""
    return [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]


# ---------------------------------------------------------------- the chunk model


def test_expansion_prefixes_the_reference_indentation_to_every_line(tmp_path):
    make_book(tmp_path, SIMPLE)
    text = tangle.tangle(tmp_path).files["pkg/mod.py"]
    assert body_lines(text) == ["class A:", "    def f(self):", "        return 1",
                                "    def g(self):", "        return 2"]
    namespace: dict = {}
    exec(text, namespace)
    assert namespace["A"]().f() == 1 and namespace["A"]().g() == 2


def test_each_piece_is_preceded_by_one_comment_naming_chunk_and_source(tmp_path):
    make_book(tmp_path, SIMPLE)
    lines = tangle.tangle(tmp_path).files["pkg/mod.py"].splitlines()
    comments = [line.strip() for line in lines[3:] if line.lstrip().startswith("# <<")]
    # one.md: line 3 is the root's fence; the A: methods fence follows the 4-line root block,
    # a blank line, the prose and another blank line (line 11).
    assert comments == ["# <<module>> book/one.md:3", "# <<A: methods>> book/one.md:11",
                        "# <<f: body>> book/two.md:3", "# <<A: methods>> book/two.md:7"]


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
    assert body_lines(text) == ["class A:", "    def f(self):"]


def test_through_and_out_write_the_snapshot_elsewhere(tmp_path):
    book = make_book(tmp_path / "b", SIMPLE)
    out = tmp_path / "snap"
    result = run(book, "--through", "book/one.md", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "def g" not in (out / "pkg/mod.py").read_text()
    assert not (book / "pkg").exists()


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
        if number <= 3:
            continue  # the header
        result = run(tmp_path, "--locate", f"pkg/mod.py:{number}")
        assert result.returncode == 0, result.stderr
        chapter, _, source_line = result.stdout.strip().rpartition(":")
        source = (tmp_path / chapter).read_text().splitlines()[int(source_line) - 1]
        if line.lstrip().startswith("# <<"):
            assert source.startswith("```{chunk}")
        else:
            assert source.strip() == line.strip()


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


def test_the_real_book_is_tangled(tmp_path):
    result = subprocess.run([sys.executable, str(TANGLE), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


# ---------------------------------------------------------------- bad input


def assert_refused(folder: Path, location: str, message: str) -> None:
    """Exit 2, one located line on stderr, no traceback, nothing written."""
    before = tree(folder)
    result = run(folder)
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
    assert_refused(tmp_path, "book/one.md:12", "cycle: «a» -> «b» -> «a»")


def test_two_chunks_rooting_the_same_file(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py") + "\n" +
                         chunk("n", "y = 1", ":file: pkg/m.py")})
    assert_refused(tmp_path, "book/one.md:6", "already the root of chunk «m» (book/one.md:1)")


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


def test_an_unknown_option_on_a_chunk(tmp_path):
    make_book(tmp_path, {"book/one": chunk("m", "x = 1", ":file: pkg/m.py", ":colour: red")})
    assert_refused(tmp_path, "book/one.md:1", "colour")


def test_a_chunk_without_a_name(tmp_path):
    make_book(tmp_path, {"book/one": "```{chunk}\nx = 1\n```\n"})
    assert_refused(tmp_path, "book/one.md:1", "needs a name")


def test_a_chapter_listed_in_the_toc_that_does_not_exist(tmp_path):
    make_book(tmp_path, SIMPLE)
    (tmp_path / "_toc.yml").write_text((tmp_path / "_toc.yml").read_text() + "  - file: book/missing\n")
    assert_refused(tmp_path, "_toc.yml:5", "book/missing.md does not exist")


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
    assert_refused(tmp_path, "pkg/mod.py:1", "edited by hand")
    assert "return 111" in generated.read_text()
    result = run(tmp_path, "--force")
    assert result.returncode == 0
    assert "return 22" in generated.read_text() and "return 111" not in generated.read_text()


def test_a_file_the_book_did_not_generate_is_not_overwritten(tmp_path):
    make_book(tmp_path, SIMPLE)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/mod.py").write_text("# my own work\n")
    assert_refused(tmp_path, "pkg/mod.py:1", "not generated by the book")


def test_a_file_whose_root_disappeared_is_removed_only_if_untouched(tmp_path):
    chapters = dict(SIMPLE)
    chapters["book/one"] += "\n" + chunk("extra", "z = 0", ":file: pkg/extra.py")
    make_book(tmp_path, chapters)
    assert run(tmp_path).returncode == 0
    extra = tmp_path / "pkg/extra.py"
    (tmp_path / "pkg/notes.py").write_text("# someone's own file\n")
    make_book(tmp_path, SIMPLE)  # the root is gone
    extra.write_text(extra.read_text() + "w = 1\n")
    assert_refused(tmp_path, "pkg/extra.py:1", "edited by hand")
    extra.write_text(extra.read_text().replace("w = 1\n", ""))
    assert run(tmp_path).returncode == 0
    assert not extra.exists()
    assert (tmp_path / "pkg/notes.py").exists()  # not ours: left alone


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    make_book(tmp_path, SIMPLE)
    assert run(tmp_path).returncode == 0
    generated = tmp_path / "pkg/mod.py"
    old = generated.read_bytes()
    chapter = tmp_path / "book/two.md"
    chapter.write_text(chapter.read_text().replace("return 2", "return 22"))

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(tangle.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tangle.write(tmp_path, tangle.tangle(tmp_path))
    assert generated.read_bytes() == old
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == ["mod.py"]  # no temporary left


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
        assert "<<" not in content.replace("# <<", "")  # every reference was expanded


MARKDOWN_PIECES = st.sampled_from([
    "```", "````", "~~~", "```{chunk} a", "```{chunk} b", "```{chunk}", "```python", ":file: pkg/m.py",
    ":replace:", ":bogus: 1", "<<a>>", "<<b>>", "    <<a>>", "x = 1", "# Title", "> quote", "- item",
    ":::{note}", ":::", "", "\t", "é", "---", "$$", "<<", ">>",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(MARKDOWN_PIECES, max_size=25), tail=st.binary(max_size=4))
def test_random_markdown_never_crashes_the_tool(tmp_path_factory, lines, tail):
    folder = make_book(tmp_path_factory.mktemp("m"), {"book/one": ""})
    (folder / "book/one.md").write_bytes("\n".join(lines).encode() + tail)
    try:
        tangle.tangle(folder)
    except tangle.TangleError as err:
        assert str(err).startswith(("book/one.md:", "_toc.yml:")), str(err)


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
