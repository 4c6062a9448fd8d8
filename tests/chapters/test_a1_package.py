"""Appendix 1, the complete package: every generated file is shown, from the file itself."""
import re
from pathlib import Path

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
