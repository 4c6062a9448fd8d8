#!/usr/bin/env python3
"""Reader-level checks of the live book (tools/live.py, tools/chunkindex.py), run by `make book`.

The site (_build/html) is served on 127.0.0.1 and opened in the system's
headless Chromium, driven by Playwright; every request to another origin is
refused and counted as a problem, so the pages must work offline.

* Chapter 5: change a number in a cell that computes gradients, run it, and
  compare the printed gradients with central differences of the same
  arithmetic on plain floats, computed here.
* Chapter 4's page does not see chapter 5's ``backward`` (chapter 5's does).
* Chapter 5: editing, Stop, the chapter's tests in the page, a phone-sized screen (tools/check_live_edit.py).
* On every chapter page with a cell that can run, running the last such cell
  runs all the cells above it: none may fail. A cell that cannot run says why
  on its button. No page fetches Pyodide before a Run button is pressed.
* Every chapter's zip unpacks and ``python -m pytest`` passes in it.
* The index: every link resolves to a page and an id that exist; every chunk
  has an entry; every listing's caption links to it; the PDF's index lists
  every chunk.

It ends with one line ``live book: ...`` giving the size the live book adds to
the site and the time it adds to the build (the extension's own time, which
tools/live.py records, and these checks'). Exit status 1 on any problem, each
one line.

Usage::

    python tools/check_live.py            # after `make book`
    python tools/check_live.py --html-only
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures
import json
import math
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import unquote, urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import check_book  # noqa: E402
import check_live_edit  # noqa: E402
import chunks  # noqa: E402
import live  # noqa: E402
import tangle  # noqa: E402
from check_live_edit import cells_of, run_cell  # noqa: E402

SITE = ROOT / "_build" / "html"
PDF = ROOT / "_build" / "latex" / "micrograd-book.pdf"
PROBE = "from micrograd.engine import Value\nprint('has backward:', hasattr(Value, 'backward'))"


# ---------------------------------------------------------------- the gradient check, derived independently


def change_a_number(source: str) -> tuple[str, str, float]:
    """The cell with its first leaf's number changed: (new source, the leaf's name, its new value)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            pairs = _assigned_pairs(node)
            for name, value in pairs:
                number = _value_literal(value)
                if number is not None:
                    new = number + 1.5
                    line = source.splitlines()[value.lineno - 1]
                    old_text = line[value.col_offset:value.end_col_offset]
                    new_line = line[:value.col_offset] + f"Value({new!r})" + line[value.end_col_offset:]
                    lines = source.splitlines()
                    lines[value.lineno - 1] = new_line
                    assert old_text.startswith("Value(")
                    return "\n".join(lines), name, new
    raise ValueError("no leaf Value(<number>) in the cell")


def _assigned_pairs(node: ast.Assign) -> list[tuple[str, ast.expr]]:
    target = node.targets[0]
    if isinstance(target, ast.Name):
        return [(target.id, node.value)]
    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
        return [(t.id, v) for t, v in zip(target.elts, node.value.elts) if isinstance(t, ast.Name)]
    return []


def _value_literal(node: ast.expr) -> float | None:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Value"
            and len(node.args) == 1):
        try:
            return float(ast.literal_eval(node.args[0]))
        except ValueError:
            return None
    return None


def gradients_by_finite_differences(source: str) -> dict[str, float]:
    """The gradients the cell prints, from its arithmetic run on plain floats (no engine), by central differences."""
    tree = ast.parse(source)
    leaves = [name for node in tree.body if isinstance(node, ast.Assign)
              for name, value in _assigned_pairs(node) if _value_literal(value) is not None]
    root = next(node.func.value.id for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("backward", "_backward") and isinstance(node.func.value, ast.Name))
    arithmetic = [node for node in tree.body if isinstance(node, ast.Assign)
                  and all(isinstance(t, (ast.Name, ast.Tuple)) for t in node.targets)]
    program = compile(ast.Module(arithmetic, []), "<floats>", "exec")

    def evaluate(changed: str, delta: float) -> float:
        scope = {"Value": float}
        exec(program, scope)
        scope[changed] += delta
        # Run the assignments after the leaves again, with the nudged leaf.
        for node in arithmetic:
            if not any(_value_literal(value) is not None for _, value in _assigned_pairs(node)):
                exec(compile(ast.Module([node], []), "<floats>", "exec"), scope)
        return scope[root]

    h = 1e-6
    return {leaf: (evaluate(leaf, h) - evaluate(leaf, -h)) / (2 * h) for leaf in leaves}


def printed_gradients(source: str, output: str) -> dict[str, float]:
    """The values of the x.grad arguments of the cell's print calls, read from its output."""
    numbers = {}
    prints = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Name) and node.func.id == "print"]
    lines = output.strip().splitlines()
    for call, line in zip(sorted(prints, key=lambda c: c.lineno), lines):
        grads = [arg.value.id for arg in call.args if isinstance(arg, ast.Attribute) and arg.attr == "grad"
                 and isinstance(arg.value, ast.Name)]
        if grads:
            values = line.split()[-len(grads):]
            numbers.update({name: float(value) for name, value in zip(grads, values)})
    return numbers


def is_gradient_cell(cell: dict) -> bool:
    if cell["needs"] or cell["hidden"] or cell["setup"]:
        return False
    try:
        tree = ast.parse(cell["source"])
    except SyntaxError:
        return False
    has_leaf = any(_value_literal(v) is not None for n in tree.body if isinstance(n, ast.Assign)
                   for _, v in _assigned_pairs(n))
    return has_leaf and ".grad" in cell["source"] and "print(" in cell["source"]


# ---------------------------------------------------------------- the browser


def chapter_pages() -> list[tuple[str, str]]:
    """(chapter, page path in the site) for every chapter with code cells."""
    pages = []
    for chapter in tangle.read_toc(ROOT):
        page = chapter[: -len(".md")] + ".html"
        if (SITE / page).is_file() and live.page_cells(ROOT, chapter):
            pages.append((chapter, page))
    return pages


class Browser:
    """One headless Chromium page, every request outside the site refused and recorded."""

    def __init__(self, playwright, origin: str):
        executable = check_book.find_chromium()
        if executable is None:
            raise SystemExit("check_live: the chromium command is missing (apt-get install chromium)")
        self.browser = check_book.launch(playwright, executable)
        self.context = self.browser.new_context()
        self.origin = origin
        self.outside: list[str] = []
        self.requested: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self.route)

    def route(self, route) -> None:
        url = route.request.url
        self.requested.append(url)
        if url.startswith(self.origin) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str):
        page = self.context.new_page()
        page.on("pageerror", lambda err: self.errors.append(f"{url}: {err}"))
        page.goto(url, wait_until="domcontentloaded")
        return page

    def cpu_seconds(self) -> float:
        """The CPU time of Chromium and of Playwright's driver so far (not our children once they exit)."""
        import psutil

        total = 0.0
        for process in psutil.Process().children(recursive=True):
            try:
                if any(word in process.name() for word in ("chrom", "node", "playwright")):
                    times = process.cpu_times()
                    total += times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                pass
        return total

    def close(self) -> None:
        self.browser.close()


def static_cells(page_path: str) -> list[dict]:
    """The cells a page's script gets, read from the built HTML file."""
    html = (SITE / page_path).read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="live-data">(.*?)</script>', html, re.S)
    return json.loads(found[1])["cells"] if found else []


def check_gradient(page, page_path: str) -> list[str]:
    """Change a number in the first cell that prints gradients of Value leaves, run it, derive them here."""
    cell = next((c for c in enumerate(cells_of(page)) if is_gradient_cell(c[1])), None)
    if cell is None:
        return [f"{page_path}: no cell that computes gradients of Value leaves and prints them"]
    index, data = cell
    source, leaf, value = change_a_number(data["source"])
    output, ok = run_cell(page, index, source)
    if not ok:
        return [f"{page_path}: the changed cell failed:\n{output}"]
    expected = gradients_by_finite_differences(source)
    shown = printed_gradients(source, output)
    problems = [f"{page_path}: with {leaf} = {value}, the page printed d/d{name} = {shown.get(name)}, "
                f"central differences give {want:.6f}"
                for name, want in expected.items() if name in shown
                and not math.isclose(shown[name], want, rel_tol=1e-5, abs_tol=1e-6)]
    if not set(expected) & set(shown):
        problems.append(f"{page_path}: found no printed gradient of {sorted(expected)} in:\n{output}")
    elif not problems:
        print(f"  {page_path}: {leaf} changed to {value}; the page's gradients {shown} "
              "agree with central differences")
    return problems


def check_backward(page, page_path: str, expected: bool) -> list[str]:
    """Chapter 4's Value has no backward yet; chapter 5's has: run a probe in the page's first runnable cell."""
    first = next(n for n, c in enumerate(cells_of(page)) if not (c["hidden"] or c["setup"] or c["needs"]))
    output, ok = run_cell(page, first, PROBE)
    if not ok or f"has backward: {expected}" not in output:
        return [f"{page_path}: Value should {'' if expected else 'not '}have backward here, the page said: {output}"]
    print(f"  {page_path}: {output.strip()}")
    return []


def check_every_cell(page) -> tuple[list[str], int, int]:
    """Every shown cell: a Run button, or a label saying what it needs; running the last runs them all."""
    cells = cells_of(page)
    shown = [n for n, c in enumerate(cells) if not c["hidden"] and page.locator(f".live-cell-{n} .cell_input").count()]
    runnable = [n for n in shown if not cells[n]["needs"]]
    problems = []
    for n in shown:
        label = page.locator(f".live-cell-{n} button.live-run").text_content()
        if cells[n]["needs"] and cells[n]["needs"] not in label:
            problems.append(f"{cells[n]['where']}: the button says {label!r}, not what the cell needs")
    if runnable:
        run_cell(page, runnable[-1])
        for n in runnable:
            output = page.locator(f".live-cell-{n} .live-output")
            if not output.count():
                problems.append(f"{cells[n]['where']}: did not run in the page")
            elif "live-error" in (output.get_attribute("class") or "") and not cells[n].get("raises"):
                problems.append(f"{cells[n]['where']}: failed in the page:\n{output.text_content()}")
    return problems, len(runnable), len(shown)


def check_pages(browser: Browser, base: str, pages: dict[str, str]) -> list[str]:
    """Each chapter page once: chapter 5's gradient check first, then every cell, then (4 and 5) the probe."""
    problems, ran, shown, visited = [], 0, 0, 0
    for chapter, page_path in pages.items():
        began = time.monotonic()
        stem = Path(chapter).stem
        if stem not in ("04-value", "05-backprop") and not any(
                not (c["hidden"] or c["setup"] or c["needs"]) for c in static_cells(page_path)):
            # Nothing on the page can run, and each cell's label comes from the same script as on the
            # pages checked in the browser: the page is left out, which saves a page load.
            print(f"  {page_path}: no cell needs only the package and the standard library")
            continue
        browser.requested.clear()
        visited += 1
        page = browser.open(urljoin(base, page_path))  # live.js is deferred: it has run by now
        if any("/pyodide/" in url for url in browser.requested):
            problems.append(f"{page_path}: the page fetched Pyodide before any Run was pressed")
        if stem == "05-backprop":
            problems += check_gradient(page, page_path)
            problems += check_live_edit.check_editing(browser, base, page_path) + check_live_edit.check_phone(
                browser, base, page_path)
        found, runnable, visible = check_every_cell(page)
        problems += found
        ran, shown = ran + runnable, shown + visible
        if stem in ("04-value", "05-backprop"):
            problems += check_backward(page, page_path, expected=stem == "05-backprop")
        page.close()
        print(f"  {page_path}: ran {runnable} of {visible} cells in the page ({time.monotonic() - began:.1f} s)")
    missing = {"04-value", "05-backprop"} - {Path(c).stem for c in pages}
    problems += [f"no page for chapter {stem}" for stem in sorted(missing)]
    print(f"  {ran} of {shown} shown cells ran in the page on {visited} pages; the others say what they need")
    return problems


# ---------------------------------------------------------------- downloads and the index


def run_download(archive: Path) -> str | None:
    """Unpack the zip and run its tests: None when they pass, else the end of pytest's output."""
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
        folder = Path(tmp) / archive.stem
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x"], cwd=folder, capture_output=True,
                                text=True, timeout=600)
        if result.returncode != 0:
            return "\n".join(result.stdout.splitlines()[-15:])
        return None


def contents_key(archive: Path) -> tuple:
    """What a download holds, its README and top folder aside (a chapter that adds no code repeats the last)."""
    with zipfile.ZipFile(archive) as z:
        return tuple(sorted((name.split("/", 1)[1], z.read(name)) for name in z.namelist()
                            if not name.endswith("/README.txt")))


def check_index(base_folder: Path = SITE) -> list[str]:
    index = base_folder / "book" / "a4-index.html"
    if not index.is_file():
        return [f"{index.relative_to(ROOT)}: the index page is missing"]
    problems = []
    text = index.read_text(encoding="utf-8")
    ids_of: dict[Path, set[str]] = {}
    for href in re.findall(r'<a class="reference internal" href="([^"]+)"', text):
        target, _, fragment = href.partition("#")
        page = (index.parent / unquote(target)).resolve() if target else index
        if not page.is_file():
            problems.append(f"index: link {href}: no page {target}")
            continue
        ids = ids_of.setdefault(page, set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8"))))
        if fragment and unquote(fragment) not in ids:
            problems.append(f"index: link {href}: no id {fragment} in {target or 'the index'}")
    index_ids = ids_of.setdefault(index.resolve(), set(re.findall(r'\bid="([^"]+)"', text)))
    names = {block.name for block in tangle.parse_book(ROOT)}
    for name in sorted(names):
        if f"entry-{chunks.slug(name)}" not in index_ids:
            problems.append(f"index: no entry for «{name}»")
    for chapter in tangle.read_toc(ROOT):
        page = base_folder / (chapter[: -len(".md")] + ".html")
        if not page.is_file():
            continue
        html = page.read_text(encoding="utf-8")
        captions = len(re.findall(r'\bid="chunk-', html))
        to_index = len(re.findall(r'href="a4-index\.html#entry-', html))
        if captions and to_index < captions:
            problems.append(f"{chapter}: {captions} listings but {to_index} captions link to the index")
    return problems


def check_pdf_index() -> list[str]:
    if not PDF.is_file():
        return [f"{PDF.relative_to(ROOT)}: missing"]
    text = subprocess.run(["pdftotext", "-layout", str(PDF), "-"], capture_output=True, text=True).stdout
    # The index's first page carries its title (in capitals) and entries; the contents have no «».
    # It is the book's last appendix, so it runs from there to the end.
    pages = text.split("\f")
    marked = [n for n, page in enumerate(pages) if "index of chunks and names" in page.lower() and "«" in page]
    if not marked:
        return ["PDF: no index of chunks and names"]
    pages = pages[marked[0]:]

    def squeeze(s: str) -> str:  # LaTeX breaks and hyphenates long lines: compare without spaces and hyphens
        return re.sub(r"[\s\-]+", "", s)

    index = squeeze("".join(pages))
    missing = [name for name in sorted({b.name for b in tangle.parse_book(ROOT)}) if squeeze(f"«{name}»") not in index]
    problems = [f"PDF index: no entry for «{name}»" for name in missing]
    log = PDF.with_suffix(".log")
    if log.is_file():  # a caption's link to an index entry that LaTeX does not know
        text = "".join(log.read_text(errors="replace").splitlines())  # LaTeX wraps its log at 79 characters
        undefined = re.findall(r"Hyper reference `([^']*a4-index:[^']*)' on page", text)
        problems += [f"PDF: the link to {label} is undefined" for label in sorted(set(undefined))]
    return problems


def site_size() -> dict[str, int]:
    def size(path: Path) -> int:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else (
            path.stat().st_size if path.is_file() else 0)

    return {"Pyodide": size(SITE / "pyodide"), "zips": size(SITE / live.OUT),
            "editor, Graphviz, pytest": size(SITE / "live"),
            "scripts": sum(size(path) for path in (SITE / "_static").glob("live*"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html-only", action="store_true", help="skip the PDF's index")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    problems: list[str] = []
    browser_cpu = 0.0
    archives = sorted((SITE / live.OUT).glob("*.zip"))
    # The downloads' tests run beside the browser checks, two at a time, once for each distinct content.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    downloads, same_as = {}, {}
    for archive in archives:
        key = contents_key(archive)
        if key in same_as:
            print(f"  {archive.name}: the same package and tests as {same_as[key].name}, tested once")
            continue
        same_as[key] = archive
        downloads[archive] = pool.submit(run_download, archive)
    server, base = check_book.serve(SITE)
    pages = dict(chapter_pages())
    try:
        with sync_playwright() as playwright:
            browser = Browser(playwright, base)
            try:
                problems += check_pages(browser, base, pages)
                problems += [f"request outside the site: {url}" for url in browser.outside]
                problems += [f"page error: {error}" for error in browser.errors]
                browser_cpu = browser.cpu_seconds()
            finally:
                browser.close()
    finally:
        server.shutdown()
    print(f"  browser checks done at {time.monotonic() - started:.0f} s")
    for archive, future in downloads.items():
        failure = future.result()
        if failure:
            problems.append(f"{archive.relative_to(ROOT)}: its tests fail:\n{failure}")
    pool.shutdown()
    print(f"  {len(archives)} chapter downloads, {len(downloads)} different: unpacked, python -m pytest passes in each"
          if not any("its tests fail" in p for p in problems) else "  chapter downloads: see problems")
    problems += check_index()
    if not args.html_only:
        problems += check_pdf_index()
    for problem in problems:
        print(f"check_live: {problem}")
    sizes = site_size()
    stats_file = ROOT / "_build" / "live-seconds.json"
    extension = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
    checks = time.monotonic() - started
    cpu = browser_cpu + sum(getattr(resource.getrusage(who), field)
                            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                            for field in ("ru_utime", "ru_stime"))
    mb = {k: v / 1e6 for k, v in sizes.items()}
    added = sum(extension.values())
    print(f"live book: site +{sum(mb.values()):.1f} MB (Pyodide {mb['Pyodide']:.1f} MB, "
          f"editor, Graphviz and pytest {mb['editor, Graphviz, pytest']:.1f} MB, zips and tools {mb['zips']:.2f} MB, "
          f"scripts {mb['scripts'] * 1000:.0f} kB); build +{added + checks:.0f} s (extension {added:.1f} s, "
          f"checks {checks:.0f} s, {cpu:.0f} s of CPU); {'OK' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
