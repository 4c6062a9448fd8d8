"""Appendix 1, the complete package: every generated file is shown, from the file itself."""
import re
from pathlib import Path

import chunks

ROOT = Path(__file__).resolve().parent.parent.parent
APPENDIX = ROOT / "book" / "a1-package.md"


# The readable engine is not a package file: the build writes it with the snapshot of chapter 7
# (tools/chunks.py, write_snapshots, under _build/snapshots/), and the appendix includes it from there.
BUILD = "_build/"
READABLE_CHAPTER = "book/07-operations.md"


def included_files():
    text = APPENDIX.read_text(encoding="utf-8")
    return re.findall(r"^```\{literalinclude\}\s+\.\./(\S+)\s*$", text, re.M)


def test_every_package_file_is_in_the_appendix():
    package = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "micrograd").glob("*.py"))
    assert package, "no package files found"
    missing = sorted(set(package) - set(included_files()))
    assert not missing, f"add these files to {APPENDIX.relative_to(ROOT)}: {missing}"


def test_every_included_package_file_exists_once():
    files = [f for f in included_files() if not f.startswith(BUILD)]
    assert len(files) == len(set(files))
    assert all((ROOT / f).is_file() for f in files)


def test_the_readable_engine_is_the_one_chapter_7_leaves(tmp_path):
    written = chunks.write_snapshots(ROOT, tmp_path / "snapshots")  # as the build does, under _build
    folder, _ = written[READABLE_CHAPTER]
    expected = f"{BUILD}{folder.relative_to(tmp_path).as_posix()}/micrograd/engine.py"
    assert [f for f in included_files() if f.startswith(BUILD)] == [expected]
    readable = (folder / "micrograd" / "engine.py").read_text(encoding="utf-8")
    assert "07-operations.md" in readable.split("# sha256")[0]  # written up to chapter 7
    assert readable != (ROOT / "micrograd" / "engine.py").read_text(encoding="utf-8")  # two engines
    long_lines = [n for n, line in enumerate(readable.splitlines(), start=1)
                  if len(line) > chunks.LINE_LIMIT]
    assert not long_lines, f"lines of chapter 7's engine.py wider than the page: {long_lines}"


