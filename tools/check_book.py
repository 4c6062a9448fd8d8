#!/usr/bin/env python3
"""Reader-level checks of the built book, run after `make book`.

The website (_build/html) is served on 127.0.0.1 and opened in the system's
headless Chromium, driven by Playwright (no browser download), at a desktop
width (1280 px) and a phone width (390 px):

* every page of the table of contents loads without console errors,
  uncaught exceptions or failed requests to the book's own server;
* the search page finds the backpropagation chapter for "backward";
* chunk cross-links (``href="...#chunk-..."``) point at ids that exist in the
  target page, every internal link points at a page that exists, and every
  ``<<name>>`` line inside a listing is a link;
* every image exists, is not empty, and the browser could decode it;
* at 1280 px no block of code or output is cut off at the right, and the text
  of every graph drawing is at least 9 px high; at 390 px no page scrolls sideways;
* screenshots of one chapter, at both widths in light and dark mode, are saved.

The PDF (_build/latex/micrograd-book.pdf) is checked with poppler and its log:

* page count (pdfinfo); the contents are titled "Contents" and every part of
  _toc.yml has its title page;
* every chapter title, every chunk name and the first line of every chunk is
  in the text (pdftotext);
* no line of a listing or of a cell's output was too long for the page (the
  PDF breaks such a line and marks the rest with an arrow);
* appendix listings are numbered A.1, B.1, ...; no file path is hyphenated;
* no page holds fewer than three lines of text, except part and chapter openers
  and figures; the labels of graph drawings print at 7 pt or more (pdftohtml);
* the LaTeX log has no "Missing character" line (a glyph the font lacks is
  silently dropped from the PDF); overfull boxes are counted and reported.

Usage::

    python tools/check_book.py                 # both, after `make book`
    python tools/check_book.py --html-only     # or --pdf-only

Exit status 0 when every check passes, 1 otherwise, with one line per problem
and a short summary.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import tangle  # noqa: E402

# Debian's chromium runs as root only without its sandbox; the rest keeps it from calling home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP, PHONE = 1280, 390  # viewport widths, CSS px
PAGE_TIMEOUT = 60_000  # ms for one page to load, and again to go quiet (a busy machine is slow)
MIN_GRAPH_TEXT_PX = 9  # on the site at 1280 px
MIN_GRAPH_TEXT_PT = 7  # in the PDF


@dataclass
class Report:
    """What the checks found: problems fail the run, notes and facts are printed."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)

    def check(self, name: str, problems: list[str], limit: int = 8) -> None:
        if problems:
            shown = problems[:limit] + ([f"... and {len(problems) - limit} more"] if len(problems) > limit else [])
            self.problems += [f"{name}: {p}" for p in shown]
        else:
            self.passed.append(name)


# ---------------------------------------------------------------- the book's structure


def chapter_pages() -> list[str]:
    """The HTML page of every entry of _toc.yml, relative to _build/html ('book/04-value.html')."""
    return [str(Path(chapter).with_suffix(".html")) for chapter in tangle.read_toc(ROOT)]


def chapter_titles() -> dict[str, str]:
    """The H1 title of every chapter, by its page."""
    return {str(Path(chapter).with_suffix(".html")): title for chapter, title in tangle.chapter_titles(ROOT).items()}


def toc_parts(root: Path = ROOT) -> list[dict]:
    """The parts of _toc.yml, each with its caption, chapters and whether it is numbered."""
    return yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")).get("parts", [])


# ---------------------------------------------------------------- static HTML checks


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
    """Internal links lead to existing pages; #chunk-... fragments to existing ids."""
    problems, chunk_links = [], 0
    for page in pages:
        for href in parse_page(html / page).links:
            if not is_local(href) or href.startswith("mailto:"):
                continue
            target, _, fragment = href.partition("#")
            target_path = (html / page).parent / unquote(target) if target else html / page
            target_path = target_path.resolve()
            if target_path.is_dir():
                target_path = target_path / "index.html"
            where = f"{page}: link {href}"
            if not target_path.is_file():
                problems.append(f"{where} leads to a missing file")
                continue
            if fragment.startswith("chunk-"):
                chunk_links += 1
                if fragment not in parse_page(target_path).ids:
                    problems.append(f"{where}: no id {fragment!r} in {target_path.relative_to(html)}")
    return problems, chunk_links


def check_images(html: Path, pages: list[str]) -> tuple[list[str], set[Path]]:
    """Every image a page shows exists and is not empty."""
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


def graph_images(html: Path, images: set[Path]) -> dict[str, float]:
    """The site's Graphviz drawings: image file name -> smallest text in px at natural size."""
    found = {}
    for path in images:
        if path.suffix == ".svg":
            size = graph_text_size(path.read_text(encoding="utf-8", errors="replace"))
            if size is not None:
                found[path.name] = size
    return found


# ---------------------------------------------------------------- serving the site


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site as a web host would (Pyodide's types, cacheable); remembers what it could not answer."""

    failures: list[str] = []
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm", ".js": "text/javascript"}

    def end_headers(self) -> None:
        # Cacheable, as a web host serves static files: the browser then keeps Pyodide's compiled
        # WebAssembly between pages instead of compiling it again for each chapter (check_live.py).
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def log_error(self, format, *args):  # noqa: A002
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


# ---------------------------------------------------------------- the browser


def find_chromium(name: str = "chromium") -> str | None:
    """The browser to drive: a path, or a name looked up on PATH (Debian's package installs `chromium`)."""
    return shutil.which(name)


def launch(playwright, executable: str):
    """Headless Chromium from the system, driven by Playwright."""
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)


class Tab:
    """One page of the browser at one width and colour scheme; it records what went wrong while loading."""

    def __init__(self, browser, width: int, dark: bool = False):
        self.context = browser.new_context(viewport={"width": width, "height": 900},
                                           color_scheme="dark" if dark else "light")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught exception: {error.message}"))
        self.page.on("requestfailed", self._request_failed)

    def _console(self, message) -> None:
        url = message.location.get("url", "")
        if message.type in ("error", "assert") and not url.endswith("/favicon.ico"):
            self.errors.append(f"console.{message.type}: {message.text} {url}".strip())

    def _request_failed(self, request) -> None:
        if not request.url.endswith("/favicon.ico"):
            self.errors.append(f"request failed: {request.failure} {request.url}")

    def open(self, url: str) -> list[str]:
        """Load a page and wait until its network is quiet; return its console errors and failures."""
        from playwright.sync_api import Error

        self.errors.clear()
        for stage in ("load", "networkidle"):
            try:
                if stage == "load":
                    self.page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT)
                else:
                    self.page.wait_for_load_state(stage, timeout=PAGE_TIMEOUT)
            except Error as err:
                return [f"navigation failed ({stage}): {err.message.splitlines()[0]}"]
        return list(self.errors)

    def evaluate(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def close(self) -> None:
        self.context.close()


BROKEN_IMAGES = ("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                 ".map(i => i.getAttribute('src'))")
SEARCH_RESULTS = ("() => [...document.querySelectorAll('#search-results a, ul.search a')]"
                  ".map(a => a.getAttribute('href'))")
# Opens every dropdown (solutions, toggled cells) so that their code is measured too.
OPEN_EVERYTHING = """() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
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


def external(message: str, base: str) -> bool:
    """A failure that concerns another host (a CDN the offline build cannot reach), not the book."""
    urls = re.findall(r"https?://[^\s)]+", message)
    return bool(urls) and not any(url.startswith(base) for url in urls)


def check_site(html: Path, args, report: Report) -> None:
    pages = [page for page in chapter_pages() if (html / page).is_file()]
    missing = sorted(set(chapter_pages()) - set(pages))
    report.check("every chapter has a page", [f"{page} was not built" for page in missing])

    problems, chunk_links = check_links(html, pages)
    report.check("links and chunk cross-links resolve", problems)
    report.facts["chunk cross-links"] = str(chunk_links)
    problems, images = check_images(html, pages)
    report.check("images exist and are not empty", problems)
    report.facts["images on the site"] = str(len(images))
    graphs = graph_images(html, images)
    report.facts["graph drawings"] = str(len(graphs))

    executable = find_chromium(args.chromium)
    if executable is None:
        report.problems.append(f"browser: {args.chromium} not found (Debian: apt-get install chromium)")
        return
    from playwright.sync_api import Error, sync_playwright

    server, base = serve(html)
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright, executable)
            try:
                browse(browser, base, pages, graphs, args, report)
                console = [f"the server could not answer {failure}" for failure in server.failures]
                report.check("the server answered every request", console)
            finally:
                browser.close()
    except Error as err:
        report.problems.append(f"browser: {err.message.splitlines()[0]}")
    finally:
        server.shutdown()
        server.server_close()


def browse(browser, base: str, pages: list[str], graphs: dict[str, float], args, report: Report) -> None:
    desktop, phone = Tab(browser, DESKTOP), Tab(browser, PHONE)
    console, broken, overflow, small, unlinked, sideways = [], [], [], [], [], []
    references = 0
    for page in pages:
        for error in desktop.open(base + page):
            (report.notes if external(error, base) else console).append(f"{page}: {error}")
        broken += [f"{page}: the browser could not show {src}" for src in desktop.evaluate(BROKEN_IMAGES)]
        desktop.evaluate(OPEN_EVERYTHING)
        overflow += [f"{page}: {px} px too wide: {line.strip()[:60]!r}" for px, line in desktop.evaluate(CODE_OVERFLOW)]
        small += [f"{page}: {src} shows text at {px:.1f} px" for src, px in desktop.evaluate(GRAPH_TEXT, graphs)
                  if px < MIN_GRAPH_TEXT_PX]
        found = desktop.evaluate(CHUNK_REFERENCES)
        references += len(found)
        unlinked += [f"{page}: {line} is not a link" for line, linked in found if not linked]
        phone.open(base + page)
        phone.evaluate(OPEN_EVERYTHING)
        wider = phone.evaluate(SIDEWAYS)
        if wider > 0:
            sideways.append(f"{page} is {wider} px wider than the screen")
    found, search_errors = search(desktop, base, args.search_word, args.search_page)
    console += [f"search.html: {error}" for error in search_errors if not external(error, base)]
    report.check("pages load without console errors", console)
    report.check("images load in the browser", broken)
    report.check(f"search for {args.search_word!r} finds {args.search_page}", found)
    report.check(f"no code block is cut off at {DESKTOP} px", overflow)
    report.check(f"graph text is at least {MIN_GRAPH_TEXT_PX} px at {DESKTOP} px", small)
    report.check("every <<name>> in a listing is a link", unlinked)
    report.check(f"no page scrolls sideways at {PHONE} px", sideways)
    report.facts["<<name>> references in listings"] = str(references)
    desktop.close()
    phone.close()
    report.facts["screenshots"] = ", ".join(screenshots(browser, base + args.screenshot_page, Path(args.screenshots)))


def screenshots(browser, url: str, folder: Path) -> list[str]:
    """The page at both widths, in light and dark mode: chapter-1280.png, chapter-1280-dark.png, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for width in (DESKTOP, PHONE):
        for dark in (False, True):
            tab = Tab(browser, width, dark)
            tab.open(url)
            target = folder / f"chapter-{width}{'-dark' if dark else ''}.png"
            tab.page.screenshot(path=str(target))
            tab.close()
            saved.append(str(target))
    return saved


def search(tab: Tab, base: str, word: str, expected: str) -> tuple[list[str], list[str]]:
    """The site's own search (searchindex.js, run in the page) lists the expected chapter.

    Returns the problems with the results, and the console errors of the search page.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    errors = tab.open(f"{base}search.html?q={word}")
    stem = Path(expected).stem
    try:
        tab.page.wait_for_function(f"() => ({SEARCH_RESULTS})().some(h => h.split('#')[0].split('?')[0]"
                                   f".endsWith({stem!r} + '.html'))", timeout=15_000)
        return [], errors
    except PlaywrightTimeout:
        hrefs = tab.evaluate(SEARCH_RESULTS) or []
        shown = ", ".join(sorted({urlparse(h).path for h in hrefs})) or "nothing"
        return [f"the results ({shown}) do not include {expected}"], errors


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
    lines = []
    for page in tree.iter("page"):
        sizes = {spec.get("id"): float(spec.get("size")) for spec in page.iter("fontspec")}
        sizes |= {spec.get("id"): float(spec.get("size")) for spec in tree.iter("fontspec")}
        for text in page.iter("text"):
            lines.append(PdfLine(int(page.get("number")), "".join(text.itertext()).strip(),
                                 sizes.get(text.get("font"), 0.0)))
    return lines


def check_pdf(pdf: Path, log: Path, report: Report) -> None:
    if not pdf.is_file():
        report.problems.append(f"pdf: {pdf} does not exist (run `make pdf`)")
        return
    for tool in ("pdfinfo", "pdftotext", "pdftohtml"):
        if not shutil.which(tool):
            report.problems.append(f"pdf: {tool} not found (Debian: apt-get install poppler-utils)")
            return
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = re.search(r"^Pages:\s+(\d+)", info, re.M)
    report.facts["pdf pages"] = pages.group(1) if pages else "?"
    report.check("the PDF has pages", [] if pages and int(pages.group(1)) > 0 else ["pdfinfo reports no pages"])

    raw = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    text = compact(raw)
    titles = chapter_titles()
    report.check("every chapter title is in the PDF",
                 [f"title {t!r} ({page}) not found" for page, t in titles.items()
                  if page != "book/index.html" and compact(t) not in text])
    blocks = tangle.parse_book(ROOT)
    missing = [f"chunk «{b.name}» ({b.where}) not found" for b in blocks if compact(b.name) not in text]
    missing += [f"the first line of «{b.name}» ({b.where}) not found" for b in blocks
                if first_line(b) and compact(first_line(b)) not in text]
    report.check("every chunk listing is in the PDF", missing)
    report.facts["chunk listings"] = str(len(blocks))
    wrapped = wrapped_lines(raw)
    report.check("no line of code or output wraps in the PDF", [f"wrapped: {line[:70]!r}" for line in wrapped])
    report.check("no file path is hyphenated", hyphenated_paths(raw, tangle.tangle(ROOT).files))
    appendices = [part["caption"] for part in toc_parts() if not part.get("numbered")]
    if appendices:
        report.check("appendix listings are numbered A.1, B.1, ...", unlettered_listings(raw, appendices[-1]))

    lines = pdf_lines(pdf)
    report.check("the contents are titled Contents", contents_title(lines))
    report.check("every part has its title in the PDF", missing_parts(lines, [part["caption"] for part in toc_parts()]))
    report.check("no page holds fewer than three lines, except openers and figures", sparse_pages(lines))
    sizes = graph_label_sizes(lines)
    report.check(f"graph labels print at {MIN_GRAPH_TEXT_PT} pt or more",
                 [f"page {page}: {size:.1f} pt" for page, size in sizes if size < MIN_GRAPH_TEXT_PT])
    if sizes:
        report.facts["smallest graph label in the PDF"] = f"{min(size for _, size in sizes):.1f} pt"

    tex = log.with_suffix(".tex")
    if tex.is_file():
        report.facts["figures in the PDF"] = str(tex.read_text(encoding="utf-8").count("includegraphics"))
    if not log.is_file():
        report.problems.append(f"pdf: the LaTeX log {log} does not exist")
        return
    log_lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    glyphs = [line.strip() for line in log_lines if line.startswith("Missing character")]
    report.check("every character has a glyph (LaTeX log)", [f"{n} x {line}" for line, n in _counted(glyphs)])
    overfull = [line for line in log_lines if line.startswith("Overfull \\hbox")]
    report.facts["overfull hboxes"] = str(len(overfull))
    report.facts["overfull vboxes"] = str(sum(line.startswith("Overfull \\vbox") for line in log_lines))
    worst = sorted(overfull, key=lambda line: -float(re.search(r"\(([\d.]+)pt", line).group(1)))[:3]
    report.notes += [f"overfull: {line}" for line in worst]


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
    last = max(pages, default=0)
    problems = []
    for number in range(1, last + 1):
        on_page = pages.get(number, [])
        opener = any(line.size > 14 for line in on_page)
        figure = any(line.text.startswith(("Fig.", "Figure")) for line in on_page)
        if len(on_page) < 3 and not opener and not figure:
            shown = " / ".join(line.text[:30] for line in on_page) or "blank"
            problems.append(f"page {number}: {shown}")
    return problems


GRAPH_LABEL = re.compile(r"^(data|grad) = ")


def graph_label_sizes(lines: list[PdfLine]) -> list[tuple[int, float]]:
    """(page, smallest label) for each page with a graph drawing (its labels read 'data = ...')."""
    smallest: dict[int, float] = {}
    for line in lines:
        if GRAPH_LABEL.match(line.text):
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


def _counted(items: list[str]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return sorted(counts.items(), key=lambda pair: -pair[1])


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", default="_build/html", help="the built site (default: %(default)s)")
    parser.add_argument("--pdf", default="_build/latex/micrograd-book.pdf", help="default: %(default)s")
    parser.add_argument("--log", default=None, help="the LaTeX log (default: next to the PDF)")
    parser.add_argument("--chromium", default="chromium",
                        help="the browser Playwright drives: a path or a name on PATH (default: %(default)s)")
    parser.add_argument("--search-word", default="backward")
    parser.add_argument("--search-page", default="book/05-backprop.html",
                        help="the page the search must find (default: %(default)s)")
    parser.add_argument("--screenshots", default="ci-artifacts", help="folder for them (default: %(default)s)")
    parser.add_argument("--screenshot-page", default="book/05-backprop.html", help="default: %(default)s")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--html-only", action="store_true")
    only.add_argument("--pdf-only", action="store_true")
    args = parser.parse_args(argv)

    started = time.monotonic()
    report = Report()
    if not args.pdf_only:
        html = Path(args.html)
        if not (html / "index.html").is_file():
            report.problems.append(f"site: {html}/index.html does not exist (run `make html`)")
        else:
            check_site(html, args, report)
    if not args.html_only:
        pdf = Path(args.pdf)
        check_pdf(pdf, Path(args.log) if args.log else pdf.with_suffix(".log"), report)

    print("== check_book")
    for name in report.passed:
        print(f"  ok    {name}")
    for problem in report.problems:
        print(f"  FAIL  {problem}")
    for note in report.notes:
        print(f"  note  {note}")
    for key, value in report.facts.items():
        print(f"  {key}: {value}")
    print(f"{len(report.passed)} checks passed, {len(report.problems)} problems, "
          f"{time.monotonic() - started:.1f} s")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
