"""What the reader-level checks measure: the book's pages as files, in the browser, and its PDF's text.

The tests beside this module apply these measures to the built book (test_site.py, test_live.py,
test_pdf.py) and to small made-up inputs (test_measures.py), so that each check is seen to fail when it should.
The site is served as a web host would serve it (serve) to the system's Chromium (CHROMIUM_ARGS).
"""
from __future__ import annotations

import ast
import functools
import http.server
import re
import subprocess
import threading
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

import tangle  # tools/tangle.py (pyproject.toml puts tools/ on the path)

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
DESKTOP, PHONE = 1280, 390  # viewport widths, CSS px
PAGE_TIMEOUT = 60_000  # ms for one page to load (a busy machine is slow)
QUIET_TIMEOUT = 15_000  # ms for its last request to be answered: a local server answers in far less
MIN_GRAPH_TEXT_PX = 9  # on the site at 1280 px
MIN_GRAPH_TEXT_PT = 7  # in the PDF
FACTS: dict[str, str | int] = {}  # what the checks counted, printed at the end of the run (conftest.py)
NEW_FACTS: list[tuple[str, str | int]] = []  # the running test's, sent with its report (from a pytest-xdist worker)
# Debian's chromium runs as root only without its sandbox; the rest keeps it from calling home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def no_problems(problems: list[str], limit: int = 8) -> None:
    """Fail the test with the problems one a line (the first `limit` of them), if there are any."""
    if problems:
        more = [f"... and {len(problems) - limit} more"] if len(problems) > limit else []
        pytest.fail("\n".join(problems[:limit] + more), pytrace=False)


def fact(key: str, value: str | int) -> None:
    """Tell a fact at the end of the run: text replaces the key's value, a number adds to it."""
    NEW_FACTS.append((key, value))


def add_fact(key: str, value: str | int) -> None:
    FACTS[key] = FACTS.get(key, 0) + value if isinstance(value, int) else value


# ---------------------------------------------------------------- the book's structure


def chapter_pages() -> list[str]:
    """The HTML page of every entry of _toc.yml, relative to _build/html ('book/04-value.html')."""
    return [str(Path(chapter).with_suffix(".html")) for chapter in tangle.read_toc(ROOT)]


def toc_parts() -> list[dict]:
    """The parts of _toc.yml, each with its caption, chapters and whether it is numbered."""
    return yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")).get("parts", [])


# ---------------------------------------------------------------- the server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site as a web host would (Pyodide's types, cacheable); remembers what it could not answer."""

    failures: list[str] = []
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm", ".js": "text/javascript"}

    def end_headers(self) -> None:
        # Cacheable, as a web host serves static files: the browser then keeps Pyodide's compiled
        # WebAssembly between pages instead of compiling it again for each chapter (test_live.py).
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def send_error(self, code, message=None, explain=None):
        if self.path != "/favicon.ico":  # the browser asks for it on its own; the book has none
            self.failures.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve folder on 127.0.0.1 (a free port) in a thread; server.failures lists what it could not answer."""
    handler_class = type("Handler", (QuietHandler,), {"failures": []})
    handler = functools.partial(handler_class, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.failures = handler_class.failures
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


# ---------------------------------------------------------------- the pages as files


class PageParser(HTMLParser):
    """The ids, links and images of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "object" and attrs.get("data"):
            self.images.append(attrs["data"])


@functools.cache
def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return not parsed.scheme and not parsed.netloc and not url.startswith("//")


def check_links(html: Path, pages: list[str]) -> tuple[list[str], int]:
    """Internal links lead to existing pages, and #fragments to existing ids. Returns (problems, chunk links)."""
    problems, chunk_links = [], 0
    for page in pages:
        for href in parse_page(html / page).links:
            if not is_local(href) or href.startswith("mailto:"):
                continue
            target, _, fragment = href.partition("#")
            target_path = ((html / page).parent / unquote(target) if target else html / page).resolve()
            if target_path.is_dir():
                target_path = target_path / "index.html"
            where = f"{page}: link {href}"
            if not target_path.is_file():
                problems.append(f"{where} leads to a missing file")
            elif fragment and unquote(fragment) not in parse_page(target_path).ids:
                problems.append(f"{where}: no id {fragment!r} in {target_path.relative_to(html)}")
            chunk_links += fragment.startswith("chunk-")
    return problems, chunk_links


def check_images(html: Path, pages: list[str]) -> tuple[list[str], set[Path]]:
    """Every image a page shows exists and is not empty. Returns (problems, the image files)."""
    problems, images = [], set()
    for page in pages:
        for src in parse_page(html / page).images:
            if src.startswith("data:") or not is_local(src):
                continue
            path = ((html / page).parent / unquote(src.partition("#")[0])).resolve()
            if not path.is_file():
                problems.append(f"{page}: image {src} is missing")
            elif path.stat().st_size == 0:
                problems.append(f"{page}: image {src} is empty")
            else:
                images.add(path)
    return problems, images


def graph_text_size(svg: str) -> float | None:
    """The smallest text of a Graphviz SVG, in CSS px at the image's natural size; None if not Graphviz's."""
    if "Generated by graphviz" not in svg:
        return None
    sizes = [float(size) for size in re.findall(r'font-size="([\d.]+)"', svg)]
    width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"[^>]*viewBox="[\d.-]+ [\d.-]+ ([\d.]+)', svg, re.S)
    scale = re.search(r'transform="scale\(([\d.]+)', svg)
    if not sizes or not width:
        return None
    to_pt = float(width.group(1)) / float(width.group(2)) * (float(scale.group(1)) if scale else 1.0)
    return min(sizes) * to_pt * 4 / 3  # 1 pt = 4/3 CSS px


def graph_images(images: set[Path]) -> dict[str, float]:
    """The site's Graphviz drawings: image file name -> smallest text in px at natural size."""
    sizes = {path.name: graph_text_size(path.read_text(encoding="utf-8", errors="replace"))
             for path in images if path.suffix == ".svg"}
    return {name: size for name, size in sizes.items() if size is not None}


# ---------------------------------------------------------------- the pages in the browser

BROKEN_IMAGES = ("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                 ".map(i => i.getAttribute('src'))")
SEARCH_RESULTS = ("() => [...document.querySelectorAll('#search-results a, ul.search a')]"
                  ".map(a => a.getAttribute('href'))")
# Opens every dropdown (solutions, toggled cells) so that their code is measured too.
OPEN_EVERYTHING = """async () => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  await new Promise(requestAnimationFrame);  // then let the folds' fade-in end, so colours are final
  const ending = document.getAnimations().filter(a => a.effect?.getComputedTiming().endTime !== Infinity);
  await Promise.all(ending.map(a => a.finished.catch(() => null)));
}"""
CODE_OVERFLOW = """() => [...document.querySelectorAll('pre')]
  .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
  .map(p => [p.scrollWidth - p.clientWidth,
             p.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '')])"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# For each shown image whose file is in `sizes`: that text size times the image's displayed/natural width.
GRAPH_TEXT = """sizes => [...document.images]
  .filter(i => i.naturalWidth > 0 && i.offsetParent !== null)
  .map(i => [i.getAttribute('src'), sizes[i.src.split('/').pop()], i.getBoundingClientRect().width / i.naturalWidth])
  .filter(([src, size]) => size !== undefined).map(([src, size, scale]) => [src, size * scale])"""
# Every line `<<name>>` of a listing, and whether a link inside the listing carries that text.
CHUNK_REFERENCES = """() => [...document.querySelectorAll('div.chunk pre')].flatMap(pre => {
  const links = new Set([...pre.querySelectorAll('a[href]')].map(a => a.textContent.trim()));
  return pre.textContent.split('\\n').map(l => l.trim()).filter(l => /^<<[^<>]+>>$/.test(l))
            .map(l => [l, links.has(l)]);
})"""
# axe-core's serious and critical violations: [rule, what it asks, how many elements, the first element and why].
AXE_SERIOUS = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => [v.id, v.help, v.nodes.length, v.nodes[0].target.join(' '),
             (v.nodes[0].any[0] || v.nodes[0].all[0] || {message: ''}).message])"""
BACKGROUND = "() => getComputedStyle(document.body).backgroundColor"
# The element the keyboard is on: [what it is, its text], and whether it shows an outline or a ring.
FOCUS = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return [e === document.body ? 'body' : e.tagName.toLowerCase() + [...e.classList].map(c => '.' + c).join(''),
          (e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 40),
          (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'];
}"""


def external(message: str, base: str) -> bool:
    """A failure that concerns another host (a CDN the offline build cannot reach), not the book."""
    urls = re.findall(r"https?://[^\s)]+", message)
    return bool(urls) and not any(url.startswith(base) for url in urls)


class Tab:
    """One page of the browser at one width and colour scheme; it records what went wrong while loading."""

    def __init__(self, browser, width: int, dark: bool = False):
        self.context = browser.new_context(viewport={"width": width, "height": 900},
                                           color_scheme="dark" if dark else "light")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.pending: set[str] = set()  # requests sent and not yet answered
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught exception: {error.message}"))
        self.page.on("request", lambda request: self.pending.add(request.url))
        self.page.on("requestfinished", lambda request: self.pending.discard(request.url))
        self.page.on("requestfailed", self._request_failed)

    def _console(self, message) -> None:
        url = message.location.get("url", "")
        if message.type in ("error", "assert") and not url.endswith("/favicon.ico"):
            self.errors.append(f"console.{message.type}: {message.text} {url}".strip())

    def _request_failed(self, request) -> None:
        self.pending.discard(request.url)
        if not request.url.endswith("/favicon.ico"):
            self.errors.append(f"request failed: {request.failure} {request.url}")

    def open(self, url: str) -> list[str]:
        """Load a page and wait until its network is quiet; return its console errors and failures."""
        from playwright.sync_api import Error

        self.errors.clear()
        self.pending.clear()
        try:
            self.page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT)
        except Error as err:
            return [f"navigation failed (load): {err.message.splitlines()[0]}"]
        try:
            self.page.wait_for_load_state("networkidle", timeout=QUIET_TIMEOUT)
        except Error:  # on a loaded machine Playwright may wait on for requests that have been answered
            self.errors += [f"no answer within {QUIET_TIMEOUT // 1000} s: {url}" for url in sorted(self.pending)]
        return list(self.errors)

    def close(self) -> None:
        self.context.close()


# ---------------------------------------------------------------- the gradient check, derived independently


def _assigned(node: ast.AST) -> list[tuple[str, ast.expr]]:
    """(name, value) for each name an assignment statement binds: `a = ...` or `a, b = ..., ...`."""
    if not isinstance(node, ast.Assign):
        return []
    target = node.targets[0]
    if isinstance(target, ast.Name):
        return [(target.id, node.value)]
    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
        return [(t.id, v) for t, v in zip(target.elts, node.value.elts) if isinstance(t, ast.Name)]
    return []


def _leaf(node: ast.expr) -> float | None:
    """The number of `Value(<number>)`, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Value" and len(
            node.args) == 1:
        try:
            return float(ast.literal_eval(node.args[0]))
        except ValueError:
            return None
    return None


def is_gradient_cell(cell: dict) -> bool:
    """A shown cell the page can run that makes Value leaves of numbers and prints gradients."""
    if cell["needs"] or cell["hidden"] or cell["setup"] or not all(s in cell["source"] for s in (".grad", "print(")):
        return False
    try:
        tree = ast.parse(cell["source"])
    except SyntaxError:
        return False
    return any(_leaf(value) is not None for node in tree.body for _, value in _assigned(node))


def change_a_number(source: str) -> tuple[str, str, float]:
    """The cell with its first leaf's number changed: (new source, the leaf's name, its new value)."""
    for node in ast.walk(ast.parse(source)):
        for name, value in _assigned(node):
            number = _leaf(value)
            if number is not None:
                lines = source.splitlines()
                line = lines[value.lineno - 1]
                lines[value.lineno - 1] = line[:value.col_offset] + f"Value({number + 1.5!r})" + line[
                    value.end_col_offset:]
                return "\n".join(lines), name, number + 1.5
    raise ValueError("no leaf Value(<number>) in the cell")


def gradients_by_finite_differences(source: str) -> dict[str, float]:
    """The gradients the cell prints, from its arithmetic run on plain floats (no engine), by central differences."""
    tree = ast.parse(source)
    leaves = [name for node in tree.body for name, value in _assigned(node) if _leaf(value) is not None]
    root = next(node.func.value.id for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("backward", "_backward") and isinstance(node.func.value, ast.Name))
    arithmetic = [node for node in tree.body if isinstance(node, ast.Assign)
                  and all(isinstance(t, (ast.Name, ast.Tuple)) for t in node.targets)]
    after_leaves = [compile(ast.Module([node], []), "<floats>", "exec") for node in arithmetic
                    if not any(_leaf(value) is not None for _, value in _assigned(node))]

    def evaluate(changed: str, delta: float) -> float:
        scope = {"Value": float}
        exec(compile(ast.Module(arithmetic, []), "<floats>", "exec"), scope)
        scope[changed] += delta
        for program in after_leaves:  # the assignments after the leaves again, with the nudged leaf
            exec(program, scope)
        return scope[root]

    h = 1e-6
    return {leaf: (evaluate(leaf, h) - evaluate(leaf, -h)) / (2 * h) for leaf in leaves}


def printed_gradients(source: str, output: str) -> dict[str, float]:
    """The values of the x.grad arguments of the cell's print calls, read from its output."""
    numbers = {}
    prints = sorted((node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
                     and isinstance(node.func, ast.Name) and node.func.id == "print"), key=lambda call: call.lineno)
    for call, line in zip(prints, output.strip().splitlines()):
        grads = [arg.value.id for arg in call.args if isinstance(arg, ast.Attribute) and arg.attr == "grad"
                 and isinstance(arg.value, ast.Name)]
        if grads:
            numbers.update({name: float(value) for name, value in zip(grads, line.split()[-len(grads):])})
    return numbers


# ---------------------------------------------------------------- the PDF


def compact(text: str) -> str:
    """Letters and digits only, lower case: survives line breaks, hyphenation and typography."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


@dataclass
class PdfLine:
    page: int
    text: str
    size: float  # font size in pt


def pdf_lines(pdf: Path) -> list[PdfLine]:
    """Every line of text of the PDF with its page and font size (poppler's pdftohtml -xml)."""
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-q", "-stdout", "-zoom", "1", str(pdf)],
                         capture_output=True, text=True, check=True).stdout
    tree = ElementTree.fromstring(xml)
    sizes = {spec.get("id"): float(spec.get("size")) for spec in tree.iter("fontspec")}
    return [PdfLine(int(page.get("number")), "".join(text.itertext()).strip(), sizes.get(text.get("font"), 0.0))
            for page in tree.iter("page") for text in page.iter("text")]


# Sphinx marks where a listing's line goes on after a break with a small hooked arrow,
# which pdftotext reads as these two characters at the start of the next line.
CONTINUATION = ",\u2192"


def wrapped_lines(pdf_text: str) -> list[str]:
    """The lines of code or output that the PDF had to break, each as printed before its break."""
    lines = pdf_text.splitlines()
    return [before for before, line in zip(lines, lines[1:]) if line.startswith(CONTINUATION)]


def hyphenated_paths(pdf_text: str, paths) -> list[str]:
    """Each file path that the PDF breaks with a hyphen at the end of a line ('micro-' / 'grad/nn.py')."""
    found = []
    for path in sorted(paths):
        for cut in range(1, len(path)):
            broken = re.escape(path[:cut]) + r"-\s*\n\s*" + re.escape(path[cut:])
            if re.search(broken, pdf_text):
                found.append(f"{path[:cut]}- {path[cut:]}")
    return found


def unlettered_listings(pdf_text: str, appendix_part: str) -> list[str]:
    """Listings after the appendices' part page whose number does not start with a letter (A.1)."""
    lines = pdf_text.splitlines()
    starts = [n for n, line in enumerate(lines) if line.strip() == appendix_part]
    if not starts:
        return [f"no part page {appendix_part!r}"]
    numbers = re.findall(r"^Listing\s+(\S+?):", "\n".join(lines[starts[-1]:]), re.M)
    if not numbers:
        return ["no listing in the appendices"]
    return [f"Listing {number}" for number in numbers if not number[0].isalpha()]


def contents_title(lines: list[PdfLine]) -> list[str]:
    first = [line for line in lines if line.page <= 8]
    if any(line.text.lower() == "contents" and line.size > 12 for line in first):
        return []
    return ["no heading 'Contents' on the first pages"]


def missing_parts(lines: list[PdfLine], captions: list[str]) -> list[str]:
    big = {compact(line.text) for line in lines if line.size > 14}
    return [f"part {caption!r} has no title page" for caption in captions if compact(caption) not in big]


def sparse_pages(lines: list[PdfLine]) -> list[str]:
    """Pages with fewer than three lines of text, except those with a title (chapter, part) or a figure."""
    pages: dict[int, list[PdfLine]] = {}
    for line in lines:
        if line.text:
            pages.setdefault(line.page, []).append(line)
    problems = []
    for number in range(1, max(pages, default=0) + 1):
        on_page = pages.get(number, [])
        opener = any(line.size > 14 for line in on_page)
        figure = any(line.text.startswith(("Fig.", "Figure")) for line in on_page)
        if len(on_page) < 3 and not opener and not figure:
            problems.append(f"page {number}: {' / '.join(line.text[:30] for line in on_page) or 'blank'}")
    return problems


def graph_label_sizes(lines: list[PdfLine]) -> list[tuple[int, float]]:
    """(page, smallest label) for each page with a graph drawing (its labels read 'data = ...')."""
    smallest: dict[int, float] = {}
    for line in lines:
        if re.match(r"^(data|grad) = ", line.text):
            smallest[line.page] = min(smallest.get(line.page, line.size), line.size)
    return sorted(smallest.items())


def first_line(block: tangle.Block) -> str:
    """The first line of code of a chunk that is not a reference to another chunk, without its comment.

    pdftotext reads a comment aligned in a column of its own after the code of the lines beside it.
    """
    for line in block.body:
        if line.strip() and not tangle.REFERENCE.match(line):
            return re.sub(r"\s+#.*$", "", line.strip())
    return ""


# ---------------------------------------------------------------- acting on a live page as a reader would

RUN_TIMEOUT = 120_000  # ms for a page's Python to start and run its cells


def type_into(edit, box, source: str) -> None:
    """Press Edit (when it shows) to open box's editor, as a reader would, and replace its text with source."""
    if edit.is_visible():
        edit.click()
    content = box.locator(".cm-content")
    content.wait_for(timeout=RUN_TIMEOUT)
    content.fill(source)
