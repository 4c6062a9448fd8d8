"""tools/snapshots.py: every chapter's package from one parse, identical ones grouped, imported side by side."""
from __future__ import annotations

import sys
from pathlib import Path

import snapshots
import tangle
from literate import expand

ROOT = Path(__file__).resolve().parents[2]


def fence(name: str, body: str, *options: str) -> str:
    return "```{chunk} " + name + "\n" + "".join(o + "\n" for o in options) + body + "\n```\n"


def mini_book(folder: Path) -> Path:
    """Four chapters: no code; a module; prose only; a replacement. And a second file from chapter d."""
    chapters = {
        "a": "# A\n\nNo code yet.\n",
        "b": "# B\n\n" + fence("mod", "X = 1", ":file: pkg/mod.py") + "\n"
             + fence("other", "Y = 1", ":file: pkg/other.py"),
        "c": "# C\n\nOnly prose.\n",
        "d": "# D\n\n" + fence("other", "Y = 2", ":replace:"),
    }
    toc = "format: jb-book\nroot: a\nchapters:\n" + "".join(f"  - file: {name}\n" for name in "bcd")
    (folder / "_toc.yml").write_text(toc)
    for name, text in chapters.items():
        (folder / f"{name}.md").write_text(text)
    return folder


def test_byte_identical_packages_are_one_snapshot_named_after_its_chapters(tmp_path):
    groups = snapshots.distinct(mini_book(tmp_path))
    assert [g.chapters for g in groups] == [["a.md"], ["b.md", "c.md"], ["d.md"]]
    assert [g.name for g in groups] == ["a", "b..c", "d"]
    assert groups[0].files == {}


def through(root: Path, chapter: str) -> dict[str, str]:
    """The package at the end of chapter, tangled on its own: the chunk pieces up to that chapter alone,
    expanded without the parsed book's cache or the states of the chapters before it."""
    chapters = tangle.read_toc(root)
    pieces = tangle.pieces(root)
    upto = [p for p in pieces if chapters.index(p["chapter"]) <= chapters.index(chapter)]
    return expand.tangle_pieces(upto, chapters, known={p["name"] for p in pieces})


def test_each_snapshot_is_what_its_chapters_alone_give(tmp_path):
    root = mini_book(tmp_path)
    groups = snapshots.distinct(root)
    for group in groups:
        for chapter in group.chapters:
            assert group.files == through(root, chapter), chapter
    # by hand: chapter b writes both files, d replaces other.py's one line
    assert groups[1].files["pkg/other.py"].endswith("# <<other>> b.md:10\nY = 1\n")
    assert groups[2].files["pkg/other.py"].endswith("# <<other>> d.md:5\nY = 2\n")
    assert groups[2].files["pkg/mod.py"] == groups[1].files["pkg/mod.py"]


def test_the_books_snapshots_are_what_each_chapter_alone_gives():
    groups = snapshots.distinct(ROOT)
    assert [c for g in groups for c in g.chapters] == tangle.read_toc(ROOT)
    for group in groups:
        assert all(group.files == through(ROOT, c) for c in group.chapters), group.name
    assert all(a.files != b.files for a, b in zip(groups, groups[1:]))  # neighbours differ, or they would be one


def test_sharing_groups_by_the_named_files_only(tmp_path):
    groups = snapshots.distinct(mini_book(tmp_path))
    by_mod = snapshots.sharing(groups, ("pkg/mod.py",))
    assert [g.name for g in by_mod] == ["a", "b..d"]  # d changes pkg/other.py only
    assert by_mod[1].files["pkg/other.py"].endswith("Y = 1\n")  # the first package of the group
    assert [g.name for g in snapshots.sharing(groups, ("pkg/other.py",))] == ["a", "b..c", "d"]
    assert [g.chapters for g in groups] == [["a.md"], ["b.md", "c.md"], ["d.md"]]  # left as they were


def test_write_and_load_side_by_side_leave_sys_modules_alone(tmp_path):
    (tmp_path / "mini").mkdir()
    groups = snapshots.distinct(mini_book(tmp_path / "mini"))
    older = groups[1].write(tmp_path / "older")
    assert (older / "pkg" / "mod.py").read_text() == groups[1].files["pkg/mod.py"]
    seven = snapshots.snapshot("book/07-operations.md", tmp_path / "seven")
    before = dict(sys.modules)
    simple, final = snapshots.load_package(seven), snapshots.load_package(ROOT)
    assert dict(sys.modules) == before
    assert Path(simple.engine.__file__).is_relative_to(seven.resolve())
    assert not hasattr(simple.engine.Value, "weighted_sum") and hasattr(final.engine.Value, "weighted_sum")
    assert simple.engine.Value is not final.engine.Value


def test_the_command_line_module_is_loaded_without_running_it(tmp_path, capsys):
    final = snapshots.load_package(ROOT)
    assert final.command_line.__name__ == "micrograd.__main__"
    assert capsys.readouterr().out == ""  # its `if __name__ == "__main__"` did not run
    assert final.command_line.main(["demo", "--epochs", "1"]) == 0
    assert capsys.readouterr().out.count("\n") == 1
    assert not hasattr(snapshots.load_package(snapshots.snapshot("book/05-backprop.md", tmp_path)), "command_line")


def test_written_again_the_snapshots_keep_their_files_and_lose_stale_folders(tmp_path):
    # the tests and the book build both write them (tools/chunks.py): a second writer changes nothing
    import os

    import chunks

    folder = tmp_path / "snapshots"
    first = chunks.write_snapshots(ROOT, folder)
    engine = first["book/04-value.md"][0] / "micrograd" / "engine.py"
    os.utime(engine, (0, 0))
    (folder / "00-gone").mkdir()
    assert chunks.write_snapshots(ROOT, folder) == first
    assert engine.stat().st_mtime == 0 and not (folder / "00-gone").exists()
