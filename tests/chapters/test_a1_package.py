"""Appendix 1, the complete package: every generated file is shown, from the file itself."""
import re
from pathlib import Path

import chunks

ROOT = Path(__file__).resolve().parent.parent.parent
APPENDIX = ROOT / "book" / "a1-package.md"


def included_files():
    text = APPENDIX.read_text(encoding="utf-8")
    return re.findall(r"^```\{literalinclude\}\s+\.\./(\S+)\s*$", text, re.M)


def test_every_package_file_is_in_the_appendix():
    package = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "micrograd").glob("*.py"))
    assert package, "no package files found"
    missing = sorted(set(package) - set(included_files()))
    assert not missing, f"add these files to {APPENDIX.relative_to(ROOT)}: {missing}"


def test_every_included_file_exists_once():
    files = included_files()
    assert len(files) == len(set(files))
    assert all((ROOT / f).is_file() for f in files)


# Appendix A prints the package; its lines, chunks indented as the package has them, keep
# to the book's one line limit too (tools/chunks.py sets the site's and the PDF's code for it).
PRINTED_WIDTH = chunks.LINE_LIMIT


def test_every_line_of_the_package_fits_a_printed_line():
    long_lines = [f"{path.relative_to(ROOT)}:{n}: {len(line)} characters"
                  for path in sorted((ROOT / "micrograd").glob("*.py"))
                  for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                  if len(line) > PRINTED_WIDTH]
    assert not long_lines, "\n".join(long_lines)
