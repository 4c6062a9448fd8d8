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

A listing of generated code: its marker comments lead to their chunks.

```python
class A:
    # <<A: methods>> two.md:4
    def g(self):
        return 2
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


def link_texts(html: str) -> list[str]:
    """The text of each link, without the markup inside it."""
    return [re.sub(r"<[^>]+>", "", text) for text in re.findall(r"<a [^>]*>(.*?)</a>", html, re.S)]


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
    assert "Second chapter" in link_texts(methods_links)  # without numfig, a listing is named by its chapter
    assert "(p." not in index  # page numbers are for the PDF
    for target in targets:
        page, _, anchor = target.partition("#")
        html = (out / page).read_text() if page else index
        assert f'id="{anchor}"' in html, target


def test_with_numbered_listings_links_name_the_listing(mini_book):
    (mini_book / "conf.py").write_text(CONF + "numfig = True\n")
    index = (build(mini_book, "html") / "index.html").read_text()
    methods_links = next(link for link in re.findall(r'<p class="chunk-links">(.*?)</p>', index, re.S)
                         if "continued in" in link)
    assert {"Listing 1", "Listing 2"} <= set(link_texts(methods_links)), methods_links


def test_latex_listing_has_caption_and_hyperrefs(mini_book):
    out = build(mini_book, "latex")
    tex = next(out.glob("*.tex")).read_text()
    assert "«A: methods» +≡" in tex
    assert r"\label{\detokenize{two:chunk-a-methods-2}}" in tex
    assert r"\hyperref[\detokenize{two:chunk-a-methods-2}]" in tex


def test_in_the_pdf_every_link_to_a_listing_gives_its_page(mini_book):
    tex = next(build(mini_book, "latex").glob("*.tex")).read_text()
    pages = re.findall(r"~\(p\.\\,\\pageref\*\{\\detokenize\{(\w+:chunk-[\w-]+)\}\}\)", tex)
    # by hand: the three «A: methods» listings go into «module»; the first is continued and replaced
    # in two; the other two say where it was first defined
    assert set(pages) == {"index:chunk-module-1", "index:chunk-a-methods-1", "two:chunk-a-methods-2",
                          "two:chunk-a-methods-3"}


def test_a_marker_comment_in_generated_code_links_to_its_chunk(mini_book):
    two = (build(mini_book, "html") / "two.html").read_text()
    assert re.search(r'<a class="chunk-ref reference internal" href="#chunk-a-methods-2"><span class="c1">'
                     r"# &lt;&lt;A: methods&gt;&gt; two.md:4</span></a>", two)
    tex = next(build(mini_book, "latex").glob("*.tex")).read_text()
    assert r"{\hyperref[\detokenize{two:chunk-a-methods-2}]{\PYGZsh{} \PYGZlt{}\PYGZlt{}A: methods" in tex


def test_a_chunk_inside_another_directive_is_an_error(tmp_path):
    (tmp_path / "conf.py").write_text(CONF)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    nested = "\n````{note}\n```{chunk} hidden\nx = 1\n```\n````\n"
    (tmp_path / "index.md").write_text(INDEX.replace("```{toctree}\ntwo\n```\n", "") + nested)
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


def test_a_reference_inside_a_listing_is_a_link_to_its_chunk_in_html(mini_book):
    out = build(mini_book, "html")
    index = (out / "index.html").read_text()
    link = re.search(r'<a class="chunk-ref reference internal" href="([^"]*)">(.*?)</a>', index)
    assert link is not None
    assert link[1] == "#chunk-a-methods-1"
    assert "&lt;&lt;A: methods&gt;&gt;" in link[2] and 'class="g g-Reference"' in link[2]


def test_a_reference_inside_a_listing_is_a_hyperlink_in_latex(mini_book):
    out = build(mini_book, "latex")
    tex = next(out.glob("*.tex")).read_text()
    assert (r"\PYG{g+gReference}{{\hyperref[\detokenize{index:chunk-a-methods-1}]"
            r"{\PYGZlt{}\PYGZlt{}A: methods\PYGZgt{}\PYGZgt{}}}}") in tex


def test_the_lexer_keeps_keywords_in_a_reference_out_of_the_code():
    from pygments.token import Keyword

    import chunks

    code = "class A:\n    <<Value: and pass sum>>\n    def f(self):\n        pass\n"
    tokens = list(chunks.ChunkLexer().get_tokens_unprocessed(code))
    assert (13, chunks.REFERENCE_TOKEN, "<<Value: and pass sum>>") in tokens  # after "class A:\n    "
    assert [v for _, t, v in tokens if t in Keyword] == ["class", "def", "pass"]
    assert "".join(v for _, _, v in tokens) == code


def test_the_site_and_the_pdf_set_code_for_the_one_line_limit():
    # One limit for the site (static/chunks.css) and the PDF (latex_code_size). That every line
    # fits it is checked per chapter (tests/chapters/test_cells.py) and for the package
    # (tests/chapters/test_a1_package.py).
    import chunks

    css = (ROOT / "tools/static/chunks.css").read_text()
    assert re.search(r"--book-line-limit:\s*(\d+)", css)[1] == str(chunks.LINE_LIMIT)
    assert f"/{602 * chunks.LINE_LIMIT}" in chunks.latex_code_size()
