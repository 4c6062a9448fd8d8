"""Each measure of the reader-level checks, on small made-up pages and PDF text: it finds what it should."""
import urllib.error
import urllib.request
from pathlib import Path

import measure
import pytest
from measure import DESKTOP, PHONE, PdfLine


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fresh_page_cache():
    measure.parse_page.cache_clear()
    yield
    measure.parse_page.cache_clear()


def test_links_must_reach_an_existing_id(tmp_path):
    write(tmp_path / "book/a.html", '<a href="b.html#chunk-x-1">ok</a> <a href="b.html#chunk-y-1">bad</a>'
                                    '<a href="#chunk-z-1">here</a><div id="chunk-z-1"></div>'
                                    '<a href="b.html#entry-x">ok</a> <a href="b.html#entry-%C2%ABy">bad</a>')
    write(tmp_path / "book/b.html", '<div id="chunk-x-1"></div><p id="entry-x"></p>')
    problems, count = measure.check_links(tmp_path, ["book/a.html", "book/b.html"])
    assert count == 3
    assert problems == ["book/a.html: link b.html#chunk-y-1: no id 'chunk-y-1' in book/b.html",
                        "book/a.html: link b.html#entry-%C2%ABy: no id 'entry-%C2%ABy' in book/b.html"]


def test_links_to_missing_pages_are_reported_and_external_ones_ignored(tmp_path):
    write(tmp_path / "book/a.html", '<a href="gone.html">x</a> <a href="https://example.org/">y</a>'
                                    '<a href="mailto:a@b.c">z</a> <a href="../index.html#top">i</a>')
    write(tmp_path / "index.html", '<p id="top"></p>')
    problems, _ = measure.check_links(tmp_path, ["book/a.html"])
    assert problems == ["book/a.html: link gone.html leads to a missing file"]


def test_images_must_exist_and_not_be_empty(tmp_path):
    write(tmp_path / "_images/good.svg", "<svg/>")
    write(tmp_path / "_images/empty.svg", b"")
    write(tmp_path / "book/a.html", '<img src="../_images/good.svg"><img src="../_images/empty.svg">'
                                    '<img src="../_images/missing.png"><img src="data:image/png;base64,AA==">')
    problems, images = measure.check_images(tmp_path, ["book/a.html"])
    assert sorted(problems) == ["book/a.html: image ../_images/empty.svg is empty",
                                "book/a.html: image ../_images/missing.png is missing"]
    assert images == {(tmp_path / "_images/good.svg").resolve()}


def test_compact_survives_line_breaks_and_hyphenation():
    assert measure.compact("«Value: multipli-\ncation»") == measure.compact("Value: multiplication")
    assert measure.compact("Fan\u2011out,  accumulation") == "fanoutaccumulation"


def test_external_failures_are_told_apart_from_the_book_s_own():
    base = "http://127.0.0.1:8000/"
    assert measure.external("net::ERR_NAME_NOT_RESOLVED https://cdn.example.org/x.js", base)
    assert not measure.external("404 http://127.0.0.1:8000/_static/x.js", base)
    assert not measure.external("uncaught exception: SyntaxError", base)


@pytest.fixture
def made_up(tmp_path):
    server, base = measure.serve(tmp_path)
    yield tmp_path, base, server
    server.shutdown()
    server.server_close()


def test_the_server_serves_as_a_host_would_and_remembers_what_it_could_not_answer(made_up):
    folder, base, server = made_up
    write(folder / "page.html", "<p>fine</p>")
    write(folder / "python.wasm", b"\0asm")
    with urllib.request.urlopen(base + "python.wasm") as response:
        assert response.headers["Content-Type"] == "application/wasm"
        assert response.headers["Cache-Control"] == "max-age=3600"
    urllib.request.urlopen(base + "page.html").close()
    for missing in ("nothing.png", "favicon.ico"):
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + missing)
    assert server.failures == ["404 /nothing.png"]  # the browser's own favicon.ico request is no failure


def test_the_browser_reports_console_errors_and_broken_images(browser, made_up):
    folder, base, server = made_up
    write(folder / "bad.html", '<img src="nothing.png"><script>console.error("boom"); undefinedName();</script>')
    write(folder / "good.html", "<p>fine</p>")
    tab = measure.Tab(browser, DESKTOP)
    errors = tab.open(base + "bad.html")
    broken = tab.page.evaluate(measure.BROKEN_IMAGES)
    clean = tab.open(base + "good.html")
    tab.close()
    text = "\n".join(errors)
    assert "console.error: boom" in text
    assert "undefinedName" in text
    assert "nothing.png" in text
    assert broken == ["nothing.png"]
    assert clean == []
    assert list(server.failures) == ["404 /nothing.png"]


def test_the_browser_measures_cut_off_code_and_sideways_scrolling(browser, made_up):
    folder, base, _ = made_up
    write(folder / "wide.html", '<div style="width:300px"><pre style="overflow:auto">' + "x" * 200 + "</pre></div>"
                                '<div style="width:300px"><pre style="overflow:auto">short</pre></div>'
                                '<p style="width:600px">a paragraph wider than a phone</p>')
    phone = measure.Tab(browser, PHONE)
    phone.open(base + "wide.html")
    cut = phone.page.evaluate(measure.CODE_OVERFLOW)
    wider = phone.page.evaluate(measure.SIDEWAYS)
    phone.close()
    assert len(cut) == 1 and cut[0][1] == "x" * 200 and cut[0][0] > 1000
    assert wider == 8 + 600 - PHONE  # the paragraph ends 8 px (the body's margin) + 600 px in


def test_chunk_references_must_be_links(browser, made_up):
    folder, base, _ = made_up
    write(folder / "refs.html", '<div class="chunk"><pre>def f():\n    <a href="#chunk-a-1">&lt;&lt;a&gt;&gt;</a>\n'
                                "    &lt;&lt;b: and pass&gt;&gt;\n</pre></div>")
    tab = measure.Tab(browser, DESKTOP)
    tab.open(base + "refs.html")
    found = tab.page.evaluate(measure.CHUNK_REFERENCES)
    tab.close()
    assert found == [["<<a>>", True], ["<<b: and pass>>", False]]


def test_axe_reports_low_contrast_and_an_unnamed_button(browser, made_up):
    folder, base, _ = made_up
    write(folder / "a11y.html", '<html lang="en"><head><title>t</title></head><body><main>'
                                '<p style="color:#999;background:#fff">grey on white, 2.8:1</p>'
                                '<p style="color:#595959;background:#fff">dark grey on white, 7:1</p>'
                                '<button></button></main></body></html>')
    tab = measure.Tab(browser, DESKTOP)
    tab.open(base + "a11y.html")
    tab.page.add_script_tag(path=str(measure.ROOT / "_build/axe-core/axe.min.js"))
    found = {rule: (count, target) for rule, _, count, target, _ in tab.page.evaluate(measure.AXE_SERIOUS)}
    tab.close()
    assert found == {"color-contrast": (1, "p:nth-child(1)"), "button-name": (1, "button")}


GRAPHVIZ_SVG = """<!-- Generated by graphviz version 2.43.0 -->
<svg width="150pt" height="100pt" viewBox="0.00 0.00 300.00 200.00" xmlns="http://www.w3.org/2000/svg">
<g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 196)">
<text text-anchor="middle" x="10" y="10" font-family="Times,serif" font-size="12.00">data = 1.0</text>
<text text-anchor="middle" x="10" y="30" font-family="Times,serif" font-size="9.00">+</text>
</g></svg>"""


def test_graph_text_size_reads_the_smallest_font_at_natural_size():
    # 9 user units, drawn at 150 pt for 300 units: 4.5 pt, which is 6 CSS px.
    assert measure.graph_text_size(GRAPHVIZ_SVG) == pytest.approx(6.0)
    assert measure.graph_text_size(GRAPHVIZ_SVG.replace("graphviz", "matplotlib")) is None


def test_graph_text_is_measured_at_the_size_the_page_shows_it(browser, made_up):
    folder, base, _ = made_up
    write(folder / "g.svg", GRAPHVIZ_SVG)
    write(folder / "g.html", '<img src="g.svg" style="width:100px"><img src="g.svg">')
    tab = measure.Tab(browser, DESKTOP)
    tab.open(base + "g.html")
    shown = tab.page.evaluate(measure.GRAPH_TEXT, {"g.svg": 6.0})
    tab.close()
    # natural width 150 pt = 200 px: the first is shown at half size, the second as it is
    assert [size for _, size in shown] == [pytest.approx(3.0, rel=1e-3), pytest.approx(6.0, rel=1e-3)]


def test_lines_the_pdf_broke_are_found_by_their_continuation_arrow():
    text = ("def f(x):\n    return x  # a comment too long for the␣\n,\u2192page\n"
            "a sentence, \u2192 with an arrow inside\n,\u2192second\n")
    assert measure.wrapped_lines(text) == [
        "    return x  # a comment too long for the␣",
        "a sentence, \u2192 with an arrow inside",
    ]
    assert measure.wrapped_lines("no breaks here\n, \u2192 not a continuation") == []


def test_a_file_path_broken_with_a_hyphen_is_found():
    text = "Listing 4.1: «main» ≡ micro-\ngrad/__main__.py\nthe micro-\nscopic world\n"
    assert measure.hyphenated_paths(text, ["micrograd/__main__.py", "micrograd/nn.py"]) == [
        "micro- grad/__main__.py"]
    assert measure.hyphenated_paths("micrograd/__main__.py\n", ["micrograd/__main__.py"]) == []


def test_appendix_listings_must_be_lettered_and_present():
    body = "Appendices\n"  # the contents list it too; the last one is the part page
    lettered = body + "A.1 x\nAppendices\nListing A.1: micrograd/nn.py\nListing A.2: «x» ≡\n"
    assert measure.unlettered_listings(lettered, "Appendices") == []
    numbered = "Listing 4.1: «y»\nAppendices\nListing 1.1: micrograd/nn.py\n"
    assert measure.unlettered_listings(numbered, "Appendices") == ["Listing 1.1"]
    assert measure.unlettered_listings("Appendices\nno listing here\n", "Appendices") == [
        "no listing in the appendices"]


def test_contents_title_and_part_pages():
    assert measure.contents_title([PdfLine(2, "CONTENTS", 14.3)]) == []
    assert measure.contents_title([PdfLine(2, "FOUNDATIONS", 14.3)]) != []
    lines = [PdfLine(6, "Part I", 20.7), PdfLine(6, "Foundations", 24.8), PdfLine(9, "The engine", 10)]
    assert measure.missing_parts(lines, ["Foundations", "The engine"]) == ["part 'The engine' has no title page"]


def test_sparse_pages_spare_openers_and_figures():
    lines = [PdfLine(1, "a", 10), PdfLine(1, "b", 10), PdfLine(1, "c", 10),  # a full page
             PdfLine(2, "}", 10),  # a stranded line
             PdfLine(3, "Part II", 20.7),  # a part page
             PdfLine(4, "Fig. 3.1: a picture", 10)]  # a figure
    full = [PdfLine(6, "x", 10), PdfLine(6, "y", 10), PdfLine(6, "z", 10)]
    assert measure.sparse_pages(lines + full) == ["page 2: }", "page 5: blank"]


def test_graph_label_sizes_are_read_per_page():
    lines = [PdfLine(20, "data = 2.0", 11.0), PdfLine(20, "grad = 0.0", 6.5), PdfLine(20, "text", 5.0),
             PdfLine(31, "data = -8.0", 9.0)]
    assert measure.graph_label_sizes(lines) == [(20, 6.5), (31, 9.0)]


GRADIENT_CELL = """\
from micrograd.engine import Value

a, b = Value(2.0), Value(-3.0)
c = a * b + a
c.backward()
print("grads:", a.grad, b.grad)
"""


def test_the_gradient_check_changes_a_number_and_derives_the_gradients_by_hand():
    cell = {"source": GRADIENT_CELL, "needs": None, "hidden": False, "setup": False}
    assert measure.is_gradient_cell(cell) and not measure.is_gradient_cell(dict(cell, needs="PyTorch"))
    source, leaf, value = measure.change_a_number(GRADIENT_CELL)
    assert (leaf, value) == ("a", 3.5) and "a, b = Value(3.5), Value(-3.0)" in source
    # c = a*b + a: dc/da = b + 1 = -2, dc/db = a = 3.5 (by hand).
    assert measure.gradients_by_finite_differences(source) == pytest.approx({"a": -2.0, "b": 3.5}, rel=1e-6)
    assert measure.printed_gradients(source, "grads: -2.0 3.5\n") == {"a": -2.0, "b": 3.5}
