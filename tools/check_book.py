#!/usr/bin/env python3
"""Reader-level checks of the built book, run after `make book`.

The website (_build/html) is served on 127.0.0.1 and opened in headless
Chromium, driven through the DevTools protocol (a small standard-library
WebSocket client below, so nothing new to install):

* every page of the table of contents loads without console errors,
  uncaught exceptions or failed requests to the book's own server;
* the search page finds the backpropagation chapter for "backward";
* chunk cross-links (``href="...#chunk-..."``) point at ids that exist in the
  target page, and every internal link points at a page that exists;
* every image exists, is not empty, and the browser could decode it;
* a screenshot of one chapter page (light and dark mode) is saved.

The PDF (_build/latex/micrograd-book.pdf) is checked with poppler and its log:

* page count (pdfinfo);
* every chapter title, every chunk name and the first line of every chunk is
  in the text (pdftotext);
* no line of a listing or of a cell's output was too long for the page (the
  PDF breaks such a line and marks the rest with an arrow);
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
import base64
import functools
import http.server
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import tangle  # noqa: E402

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
]
PAGE_TIMEOUT = 30.0  # seconds for one page to fire its load event
SETTLE = 0.5  # seconds to keep listening after the load event, for late errors


@dataclass
class Report:
    """What the checks found: problems fail the run, notes and facts are printed."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)

    def check(self, name: str, problems: list[str]) -> None:
        if problems:
            self.problems += [f"{name}: {p}" for p in problems]
        else:
            self.passed.append(name)


# ---------------------------------------------------------------- the book's structure


def chapter_pages() -> list[str]:
    """The HTML page of every entry of _toc.yml, relative to _build/html ('book/04-value.html')."""
    return [str(Path(chapter).with_suffix(".html")) for chapter in tangle.read_toc(ROOT)]


def chapter_titles() -> dict[str, str]:
    """The H1 title of every chapter, by its page."""
    return {str(Path(chapter).with_suffix(".html")): title for chapter, title in tangle.chapter_titles(ROOT).items()}


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


@functools.lru_cache(maxsize=None)
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


# ---------------------------------------------------------------- serving the site


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site; remembers every request it could not answer."""

    failures: list[str] = []

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


# ---------------------------------------------------------------- Chromium over the DevTools protocol


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames over plain TCP."""

    def __init__(self, url: str, timeout: float = 60.0):
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the browser closed the connection during the handshake")
            response += chunk
        head, _, self.buffer = response.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head.splitlines()[0]!r}")

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("the browser closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])  # FIN, text frame
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)  # a client must mask what it sends
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("the browser closed the DevTools connection")
            if opcode in (0x9, 0xA):  # ping, pong: nothing to do for our short sessions
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self) -> None:
        self.sock.close()


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, executable: str):
        self.profile = tempfile.mkdtemp(prefix="check-book-chromium-")
        self.process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port = self._devtools_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = [t for t in json.load(response) if t.get("type") == "page"]
        if not targets:
            raise RuntimeError("Chromium opened no page")
        self.ws = WebSocket(targets[0]["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)

    def _devtools_port(self) -> int:
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium exited at start with status {self.process.returncode}")
            if active.exists() and active.read_text().strip():
                return int(active.read_text().split()[0])
            time.sleep(0.1)
        raise RuntimeError("Chromium did not open its DevTools port within 30 s")

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str, timeout: float) -> bool:
        """Collect events until `event` arrives (True) or the time is up (False)."""
        deadline = time.monotonic() + timeout
        self.ws.sock.settimeout(0.2)
        try:
            while time.monotonic() < deadline:
                try:
                    message = json.loads(self.ws.receive())
                except (socket.timeout, TimeoutError):
                    continue
                if "method" in message:
                    self.events.append(message)
                    if message["method"] == event:
                        return True
            return False
        finally:
            self.ws.sock.settimeout(60)

    def open(self, url: str) -> list[str]:
        """Load a page; return its console errors, exceptions and failed requests."""
        self.events.clear()
        result = self.call("Page.navigate", url=url)
        if result.get("errorText"):
            return [f"navigation failed: {result['errorText']}"]
        if not self.wait_for("Page.loadEventFired", PAGE_TIMEOUT):
            return [f"no load event within {PAGE_TIMEOUT:.0f} s"]
        self.wait_for("(settle)", SETTLE)
        return self.errors()

    def errors(self) -> list[str]:
        found, urls = [], {}
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                urls[params.get("requestId")] = params.get("request", {}).get("url", "")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                text = details.get("exception", {}).get("description") or details.get("text")
                found.append(f"uncaught exception: {text}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                found.append(f"console.{params['type']}: {args}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                if entry.get("url", "").endswith("/favicon.ico"):
                    continue
                found.append(f"console error: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                url = urls.get(params.get("requestId"), f"request {params.get('requestId')}")
                if not url.endswith("/favicon.ico"):
                    found.append(f"request failed: {params.get('errorText')} {url}")
        return found

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluating {expression!r}: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def screenshot(self, target: Path, dark: bool = False) -> None:
        self.call("Emulation.setEmulatedMedia",
                  features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
        self.evaluate(f"document.documentElement.dataset.theme = {'dark' if dark else 'light'!r}; "
                      "document.documentElement.dataset.mode = 'auto'; true")
        time.sleep(0.3)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


BROKEN_IMAGES = ("[...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                 ".map(i => i.getAttribute('src'))")
SEARCH_RESULTS = ("[...document.querySelectorAll('#search-results a, ul.search a')]"
                  ".map(a => a.getAttribute('href'))")


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

    executable = shutil.which(args.chromium) or args.chromium
    if not Path(executable).exists():
        report.problems.append(f"browser: {args.chromium} not found (Debian: apt-get install chromium)")
        return
    server, base = serve(html)
    browser = None
    try:
        browser = Browser(executable)
        console, broken = [], []
        for page in pages:
            for error in browser.open(base + page):
                if external(error, base):
                    report.notes.append(f"{page}: {error}")
                else:
                    console.append(f"{page}: {error}")
            broken += [f"{page}: the browser could not show {src}" for src in browser.evaluate(BROKEN_IMAGES)]
        found, search_errors = search(browser, base, args.search_word, args.search_page)
        console += [f"search.html: {error}" for error in search_errors if not external(error, base)]
        console += [f"the server could not answer {failure}" for failure in server.failures]
        report.check("pages load without console errors", console)
        report.check("images load in the browser", broken)
        report.check(f"search for {args.search_word!r} finds {args.search_page}", found)

        shot = Path(args.screenshot)
        browser.open(base + args.screenshot_page)
        browser.screenshot(shot)
        browser.screenshot(shot.with_name(shot.stem + "-dark" + shot.suffix), dark=True)
        report.facts["screenshot"] = f"{shot} (and {shot.stem}-dark{shot.suffix}) of {args.screenshot_page}"
    except (RuntimeError, ConnectionError, OSError) as err:
        report.problems.append(f"browser: {err}")
    finally:
        if browser:
            browser.close()
        server.shutdown()
        server.server_close()


def search(browser: Browser, base: str, word: str, expected: str) -> tuple[list[str], list[str]]:
    """The site's own search (searchindex.js, run in the page) lists the expected chapter.

    Returns the problems with the results, and the console errors of the search page.
    """
    errors = browser.open(f"{base}search.html?q={word}")
    hrefs: list[str] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        hrefs = browser.evaluate(SEARCH_RESULTS) or []
        if any(Path(urlparse(h).path).stem == Path(expected).stem for h in hrefs):
            return [], errors
        time.sleep(0.25)
    shown = ", ".join(sorted({urlparse(h).path for h in hrefs})) or "nothing"
    return [f"the results ({shown}) do not include {expected}"], errors


# ---------------------------------------------------------------- the PDF


def compact(text: str) -> str:
    """Letters and digits only, lower case: survives line breaks, hyphenation and typography."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def check_pdf(pdf: Path, log: Path, report: Report) -> None:
    if not pdf.is_file():
        report.problems.append(f"pdf: {pdf} does not exist (run `make pdf`)")
        return
    for tool in ("pdfinfo", "pdftotext"):
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
    report.check("no line of code or output wraps in the PDF",
                 [f"wrapped: {line[:70]!r}" for line in wrapped[:5]]
                 + ([f"... and {len(wrapped) - 5} more"] if len(wrapped) > 5 else []))

    tex = log.with_suffix(".tex")
    if tex.is_file():
        report.facts["figures in the PDF"] = str(tex.read_text(encoding="utf-8").count("includegraphics"))
    if not log.is_file():
        report.problems.append(f"pdf: the LaTeX log {log} does not exist")
        return
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    glyphs = [line.strip() for line in lines if line.startswith("Missing character")]
    report.check("every character has a glyph (LaTeX log)",
                 [f"{n} x {line}" for line, n in _counted(glyphs)])
    overfull = [line for line in lines if line.startswith("Overfull \\hbox")]
    report.facts["overfull hboxes"] = str(len(overfull))
    report.facts["overfull vboxes"] = str(sum(line.startswith("Overfull \\vbox") for line in lines))
    worst = sorted(overfull, key=lambda line: -float(re.search(r"\(([\d.]+)pt", line).group(1)))[:3]
    report.notes += [f"overfull: {line}" for line in worst]


# Sphinx marks where a listing's line goes on after a break with a small hooked arrow,
# which pdftotext reads as these two characters at the start of the next line.
CONTINUATION = ",\u2192"


def wrapped_lines(pdf_text: str) -> list[str]:
    """The lines of code or output that the PDF had to break, each as printed before its break."""
    lines = pdf_text.splitlines()
    return [before for before, line in zip(lines, lines[1:]) if line.startswith(CONTINUATION)]


def first_line(block: tangle.Block) -> str:
    """The first line of code of a chunk that is not a reference to another chunk."""
    for line in block.body:
        if line.strip() and not tangle.REFERENCE.match(line):
            return line.strip()
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
    parser.add_argument("--chromium", default="chromium", help="the browser to drive (default: %(default)s)")
    parser.add_argument("--search-word", default="backward")
    parser.add_argument("--search-page", default="book/05-backprop.html",
                        help="the page the search must find (default: %(default)s)")
    parser.add_argument("--screenshot", default="ci-artifacts/chapter.png", help="default: %(default)s")
    parser.add_argument("--screenshot-page", default="book/10-classifier.html", help="default: %(default)s")
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
