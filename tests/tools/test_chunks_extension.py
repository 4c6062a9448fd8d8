"""tools/chunks.py: chunks render with captions and cross-links, in HTML and in LaTeX, warning-free."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The mini books' Sphinx runs find the extension on PYTHONPATH, as the book's build finds it in tools/.
SPHINX_ENV = dict(os.environ, PYTHONPATH=str(ROOT / "tools"))
CONF = """
extensions = ["myst_parser", "chunks"]
root_doc = "index"
exclude_patterns = ["_build"]
"""

INDEX = """# Mini book

```{toctree}
two
```

A module that holds a class.

```{chunk} module
:file: pkg/mod.py
class A:
    <<A: methods>>
```

```{chunk} A: methods
def f(self):
    return 1
```
"""

TWO = """# Second chapter

```{chunk} A: methods
def g(self):
    return 2
```

```{chunk} A: methods
:replace:
def h(self):
    return 3
```
"""


@pytest.fixture(scope="module")
def mini_book(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("minibook")
    (src / "conf.py").write_text(CONF)
    (src / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: two\n")
    (src / "index.md").write_text(INDEX)
    (src / "two.md").write_text(TWO)
    return src


def build(src: Path, builder: str) -> Path:
    out = src / "_build" / builder
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", builder, "-n", "-W", "--keep-going", "-q",
                             str(src), str(out)], capture_output=True, text=True, env=SPHINX_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return out


def test_html_listing_has_caption_and_links_that_resolve(mini_book):
    out = build(mini_book, "html")
    index = (out / "index.html").read_text()
    two = (out / "two.html").read_text()
    assert "«module» ≡" in index and "pkg/mod.py" in index
    assert "«A: methods» ≡" in index
    assert "«A: methods» +≡" in two and "«A: methods» :=" in two
    # The first definition links forward to where it is continued and replaced, in the other page.
    links = re.findall(r'<p class="chunk-links">(.*?)</p>', index, re.S)
    methods_links = next(link for link in links if "continued in" in link)
    targets = re.findall(r'href="([^"]+)"', methods_links)
    assert "two.html#chunk-a-methods-2" in targets and "two.html#chunk-a-methods-3" in targets
    for target in targets:
        page, _, anchor = target.partition("#")
        html = (out / page).read_text() if page else index
        assert f'id="{anchor}"' in html, target


def test_latex_listing_has_caption_and_hyperrefs(mini_book):
    out = build(mini_book, "latex")
    tex = next(out.glob("*.tex")).read_text()
    assert "«A: methods» +≡" in tex
    assert r"\label{\detokenize{two:chunk-a-methods-2}}" in tex
    assert r"\hyperref[\detokenize{two:chunk-a-methods-2}]" in tex


def test_a_chunk_inside_another_directive_is_an_error(tmp_path):
    (tmp_path / "conf.py").write_text(CONF)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (tmp_path / "index.md").write_text(INDEX.replace("```{toctree}\ntwo\n```\n", "") + "\n````{note}\n```{chunk} hidden\nx = 1\n```\n````\n")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", str(tmp_path),
                             str(tmp_path / "_build")], capture_output=True, text=True, env=SPHINX_ENV)
    assert result.returncode != 0
    assert "not read by tools/tangle.py" in result.stderr


def test_a_tangle_error_stops_the_build_with_its_location(tmp_path):
    (tmp_path / "conf.py").write_text(CONF)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (tmp_path / "index.md").write_text("# Broken\n\n```{chunk} m\n:file: pkg/m.py\n<<missing>>\n```\n")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(tmp_path),
                             str(tmp_path / "_build")], capture_output=True, text=True, env=SPHINX_ENV)
    assert result.returncode != 0
    assert "index.md:5: error: reference to undefined chunk «missing»" in result.stderr


def test_a_change_to_a_tool_changes_every_chapters_code_hash(tmp_path):
    # The cells can import tools/ (chapter 8 runs the benchmark), so a tool change must re-run them.
    import shutil

    import chunks

    tools = tmp_path / "tools"
    shutil.copytree(ROOT / "tools", tools, ignore=shutil.ignore_patterns("__pycache__"))
    before = chunks.write_snapshots(ROOT, tmp_path / "a", tools)
    again = chunks.write_snapshots(ROOT, tmp_path / "b", tools)
    chapters = list(before)
    whole_before = chunks.whole_book_digest(ROOT, chapters, tools)
    (tools / "bench.py").write_text((tools / "bench.py").read_text() + "\n# a change\n")
    after = chunks.write_snapshots(ROOT, tmp_path / "c", tools)
    assert {c: d for c, (_, d) in before.items()} == {c: d for c, (_, d) in again.items()}
    assert all(before[c][1] != after[c][1] for c in chapters)
    assert chunks.whole_book_digest(ROOT, chapters, tools) != whole_before
