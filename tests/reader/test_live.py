"""The live book (tools/live.py) as a reader finds it: cells and chunks run and edited in the page, offline,
in the system's headless Chromium; and each chapter's code to take away.

Each chapter page with a cell the page can run is loaded once, in one browser context per worker (the
browser keeps Pyodide's compiled WebAssembly between pages), with every request to another origin
refused and remembered; the tests read what that one visit found (the `visit` fixture).
"""
from __future__ import annotations

import functools
import json
import math
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import measure
import pytest
from measure import ROOT, RUN_TIMEOUT, SITE, no_problems, type_into

import live
import snapshots
import tangle

STOP_BUDGET = 2.0  # s from pressing Stop until the page can run again
EDIT_PAGE = "book/05-backprop.html"  # the gradient check, editing, Stop and the chapter's tests, on its warm page
BACKWARD = {"book/04-value.html": False, "book/05-backprop.html": True}  # whose Value has backward
PROBE = "from micrograd.engine import Value\nprint('has backward:', hasattr(Value, 'backward'))"
BREAK = ("for node in reversed(order):", "for node in order:")  # a reader's break: the graph in the wrong order


def runnable(cell: dict) -> bool:
    return not (cell["hidden"] or cell["setup"] or cell["needs"])


def page_cells(page: str) -> list[dict]:
    """The cells the page's script gets (tools/live.py), read from the built page: none if it is not built."""
    html = (SITE / page).read_text(encoding="utf-8") if (SITE / page).is_file() else ""
    found = re.search(r'<script type="application/json" id="live-data">(.*?)</script>', html, re.S)
    return json.loads(found[1])["cells"] if found else []


CELLS = {page: page_cells(page) for page in measure.chapter_pages()}
# A page none of whose cells can run is left out: its buttons' labels come from the same script.
PAGES = [page for page, cells in CELLS.items() if page in BACKWARD or any(map(runnable, cells))]


# ---------------------------------------------------------------- acting on a page as a reader would


def data(page) -> dict:
    return json.loads(page.locator("#live-data").text_content())


def press(button, timeout: float = RUN_TIMEOUT) -> float:
    """Click a Run or tests button and wait until its job has finished: the seconds it took."""
    runs = button.get_attribute("data-runs") or "0"
    began = time.monotonic()
    button.click()
    button.page.wait_for_function("([b, n]) => (b.dataset.runs || '0') !== n", arg=[button.element_handle(), runs],
                                  timeout=timeout)
    return time.monotonic() - began


def run_cell(page, index: int, source: str | None = None) -> tuple[str, bool]:
    """Type source into cell index (when given), press Run, wait: (its output, no error)."""
    cell = page.locator(f".live-cell-{index}")
    if not cell.locator("button.live-run").is_visible():  # in a dropdown (an exercise's solution): open it
        cell.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' dropdown ')][1]").locator(
            "button.toggle-button").first.click()
    if source is not None:
        type_into(cell.locator("button", has_text="Edit"), cell, source)
    press(cell.locator("button.live-run"))
    output = cell.locator(".live-output")
    return output.text_content(), "live-error" not in (output.get_attribute("class") or "")


def run_tests(page) -> tuple[str, float]:
    """Press the chapter's tests button: (pytest's summary line as the page shows it, seconds)."""
    seconds = press(page.locator(".live-page button", has_text="tests"))
    summary = page.locator(".live-page .live-summary")
    return (summary.text_content() if summary.count() else page.locator(".live-page .live-output").text_content(),
            seconds)


def stop(page, run, stop_button) -> float:
    """Press Stop while run's job runs: the seconds until run can be pressed again."""
    began = time.monotonic()
    stop_button.click()
    page.wait_for_function("b => !b.disabled", arg=run.element_handle(), timeout=10_000)
    return time.monotonic() - began


# ---------------------------------------------------------------- one visit of each page


class Visit:
    """What one visit of a live page found: problems by check, each a line."""

    def __init__(self, context, base: str, path: str):
        self.found: dict[str, list[str]] = {}
        page, outside = context.new_page(), len(context.outside)
        try:
            self.read(page, base + path, path)
        finally:
            page.close()
        self.note("offline", *[f"{path}: request outside the site: {url}" for url in context.outside[outside:]])

    def read(self, page, url: str, path: str) -> None:
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.on("pageerror", lambda error: self.note("errors", f"{path}: {error}"))
        page.goto(url, wait_until="load")
        if any("/pyodide/" in url for url in requested):
            self.note("pyodide", f"{path}: the page fetched Pyodide before any Run was pressed")
        self.cells = data(page)["cells"]
        first = next((n for n, cell in enumerate(self.cells) if runnable(cell)), None)
        if path == EDIT_PAGE:
            cell = page.locator(f".live-cell-{first}")
            cold, warm = press(cell.locator("button.live-run")), press(cell.locator("button.live-run"))
            measure.fact(f"{path}: first output", f"{cold:.1f} s cold, {warm:.2f} s warm")
            self.gradient(page, path)
        self.every_cell(page)
        if path in BACKWARD:
            output, ok = run_cell(page, first, PROBE)
            if not ok or f"has backward: {BACKWARD[path]}" not in output:
                self.note("backward", f"{path}: Value should {'' if BACKWARD[path] else 'not '}have backward here, "
                                      f"the page said: {output}")
        if path == EDIT_PAGE:
            self.edit(page, path, first)

    def note(self, check: str, *problems: str) -> None:
        self.found.setdefault(check, []).extend(problems)

    def gradient(self, page, path: str) -> None:
        """Change a number in the first cell that prints gradients of Value leaves, run it, derive them here."""
        index = next((n for n, cell in enumerate(self.cells) if measure.is_gradient_cell(cell)), None)
        if index is None:
            return self.note("gradient", f"{path}: no cell that computes gradients of Value leaves and prints them")
        source, leaf, value = measure.change_a_number(self.cells[index]["source"])
        output, ok = run_cell(page, index, source)
        expected, shown = measure.gradients_by_finite_differences(source), measure.printed_gradients(source, output)
        self.note("gradient", *[f"{path}: with {leaf} = {value}, the page printed d/d{name} = {shown.get(name)}, "
                                f"central differences give {want:.6f}" for name, want in expected.items()
                                if name in shown and not math.isclose(shown[name], want, rel_tol=1e-5, abs_tol=1e-6)])
        if not ok or not set(expected) & set(shown):
            self.note("gradient", f"{path}: found no printed gradient of {sorted(expected)} in:\n{output}")
        measure.fact(f"{path}: gradients", f"{leaf} changed to {value}; {shown} checked by central differences")

    def every_cell(self, page) -> None:
        """Every shown cell: a Run button, or a label saying what it needs; running the last runs them all."""
        cells = self.cells
        shown = [n for n, c in enumerate(cells)
                 if not c["hidden"] and page.locator(f".live-cell-{n} .cell_input").count()]
        ran = [n for n in shown if not cells[n]["needs"]]
        for n in shown:
            label = page.locator(f".live-cell-{n} button.live-run").text_content()
            if cells[n]["needs"] and cells[n]["needs"] not in label:
                self.note("labels", f"{cells[n]['where']}: the button says {label!r}, not what the cell needs")
        if ran:
            run_cell(page, ran[-1])
        for n in ran:
            output = page.locator(f".live-cell-{n} .live-output")
            if not output.count():
                self.note("cells", f"{cells[n]['where']}: did not run in the page")
            elif "live-error" in (output.get_attribute("class") or "") and not cells[n]["raises"]:
                self.note("cells", f"{cells[n]['where']}: failed in the page:\n{output.text_content()}")
        measure.fact("cells run in the page", len(ran))
        measure.fact("cells shown on the live pages", len(shown))

    def edit(self, page, path: str, first: int) -> None:
        """A long cell stopped; long output cut; a chunk broken, its tests failing, kept across a reload, then
        Reset and the tests passing; Stop during the tests; tangle errors; a stale edit flagged."""
        cell = page.locator(f".live-cell-{first}")
        run = cell.locator("button.live-run")
        type_into(cell.locator("button", has_text="Edit"), cell, "while True:\n    pass")
        run.click()
        page.wait_for_function("b => b.disabled", arg=run.element_handle())
        page.wait_for_timeout(500)  # the loop is running by now: the page must still answer
        try:
            page.wait_for_function("() => true", timeout=1000)
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: the page did not answer
            self.note("stop", f"{path}: the page did not answer within 1 s while a cell ran")
        seconds = stop(page, run, cell.locator("button", has_text="Stop"))
        if seconds > STOP_BUDGET or "Stopped" not in cell.locator(".live-output").text_content():
            self.note("stop", f"{path}: Stop took {seconds:.1f} s or did not say it stopped")
        cell.locator("button", has_text="Reset").click()
        second = next(n for n, c in enumerate(self.cells) if runnable(c) and n > first)
        output, ok = run_cell(page, second)
        if not ok:
            self.note("stop", f"{path}: after Stop, the next cell failed:\n{output}")
        output, ok = run_cell(page, second, "for n in range(1_000_000):\n    print(n)")
        if not ok or "output cut here" not in output or len(output) > 200_000:
            self.note("cut", f"{path}: a million lines were not cut with a note ({len(output)} characters)")
        page.locator(f".live-cell-{second}").locator("button", has_text="Reset").click()
        # Break a chunk: the chapter's tests fail in the page; the edit outlives a reload; Reset: they pass.
        piece = next(p for p in data(page)["pieces"] if BREAK[0] in p["text"])
        name, box, bar = piece["name"], page.locator(f"#{piece['id']}"), page.locator(f"#{piece['id']} + .live-bar")
        type_into(bar.locator("button", has_text="Edit"), box, piece["text"].replace(*BREAK))
        summary, broken = run_tests(page)
        if "failed" not in summary:
            self.note("tests", f"{path}: with «{name}» broken, the chapter's tests said {summary!r}")
        page.reload(wait_until="domcontentloaded")
        box.locator(".cm-content").wait_for(timeout=RUN_TIMEOUT)
        if BREAK[1] not in box.locator(".cm-content").inner_text() or "live-edited" not in box.get_attribute("class"):
            self.note("kept", f"{path}: after a reload, the edit of «{name}» is gone or not marked")
        bar.locator("button", has_text="Reset").click()
        if BREAK[0] not in box.locator(".cm-content").inner_text():
            self.note("kept", f"{path}: Reset did not bring back the book's «{name}»")
        summary, passing = run_tests(page)
        if "passed" not in summary or "failed" in summary:
            self.note("tests", f"{path}: after Reset, the chapter's tests said {summary!r}")
        measure.fact(f"{path}: the chapter's tests", f"{passing:.1f} s ({summary}), {broken:.1f} s with «{name}» "
                                                     "broken")
        tests = page.locator(".live-page button", has_text="tests")
        tests.click()
        page.wait_for_function("b => b.disabled", arg=tests.element_handle())
        seconds = stop(page, tests, page.locator(".live-page button", has_text="Stop"))
        if seconds > STOP_BUDGET:
            self.note("stop", f"{path}: Stop took {seconds:.1f} s to end the chapter's tests")
        self.tangle_errors(page, path, piece)
        page.reload(wait_until="domcontentloaded")
        if page.locator(f"#{piece['id']} .cm-content").count():
            self.note("kept", f"{path}: after Reset and a reload, «{name}» still opens edited")
        self.stale_edit(page, path, piece)

    def tangle_errors(self, page, path: str, piece: dict) -> None:
        """A syntax error in a listing is shown at its own line; a reference to no chunk, with tangle's error."""
        box, bar = page.locator(f"#{piece['id']}"), page.locator(f"#{piece['id']} + .live-bar")
        error = page.locator(f"#{piece['id']} ~ .live-tangle-error").first
        body = piece["text"].split("\n")
        at_line = f"{piece['chapter']}:{piece['body_line'] + 1}: error:"
        for edit, expected in ((body[:1] + ["    def (:"] + body[1:], at_line),
                               (body + ["<<no such chunk>>"], "reference to undefined chunk «no such chunk»")):
            type_into(bar.locator("button", has_text="Edit"), box, "\n".join(edit))
            box.locator(".cm-content").press("Shift+Enter")
            try:
                error.wait_for(state="visible", timeout=RUN_TIMEOUT)
            except Exception:  # noqa: BLE001 - Playwright's TimeoutError
                self.note("tangle", f"{path}: an edit that breaks the tangle showed no error at «{piece['name']}»")
                continue
            if expected not in error.text_content():
                self.note("tangle", f"{path}: «{piece['name']}» edited: expected {expected!r}, the page said "
                                    f"{error.text_content()!r}")
            bar.locator("button", has_text="Reset").click()

    def stale_edit(self, page, path: str, piece: dict) -> None:
        """An edit kept from before the book changed the listing is flagged, and not used, after a reload."""
        page.evaluate("([id, text]) => localStorage.setItem(`live-edit:${location.pathname}:${id}`,"
                      " JSON.stringify({original: 'the book as it was', text}))", [piece["id"], piece["text"] + "\n#"])
        page.reload(wait_until="domcontentloaded")
        flag = page.locator(f"#{piece['id']} ~ .live-flag").first
        if not flag.is_visible() or "changed since you edited it" not in flag.text_content():
            self.note("stale", f"{path}: an edit kept from before the book changed «{piece['name']}» is not flagged")
        if page.locator(f"#{piece['id']} .cm-content").count():
            self.note("stale", f"{path}: an edit kept from before the book changed «{piece['name']}» was applied")
        page.locator(f"#{piece['id']} + .live-bar").locator("button", has_text="Reset").click()


@pytest.fixture(scope="session")
def visit(browser, server):
    """visit(page): what the one visit of that page found (a Visit)."""
    context = browser.new_context()
    context.outside = []

    def route(route) -> None:
        if route.request.url.startswith((server.base, "data:", "blob:")):
            route.continue_()
        else:
            context.outside.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    visits = {}

    def visit(page: str) -> Visit:
        if page not in visits:
            try:
                visits[page] = Visit(context, server.base, page)
            except Exception as error:  # noqa: BLE001 - told once for each test of the page, not tried again
                visits[page] = f"{page}: the visit stopped: {type(error).__name__}: {error}"
        if isinstance(visits[page], str):
            pytest.fail(visits[page], pytrace=False)
        return visits[page]

    yield visit
    context.close()


# ---------------------------------------------------------------- the tests


CHECKS = {  # what each check of a visit asks, by its name in Visit.found
    "gradient": "a changed number: the printed gradients agree with central differences of the same arithmetic",
    "backward": "Value has backward from chapter 5 on, not before",
    "stop": "a long cell and the chapter's tests stop within STOP_BUDGET, and the next cell runs",
    "cut": "a million lines of output are cut with a note",
    "tests": "the chapter's tests fail in the page with a chunk broken, and pass after Reset",
    "kept": "an edit outlives a reload; Reset brings the book's code back; after a reload nothing is edited",
    "tangle": "a syntax error shows at the listing's line, a reference to no chunk with tangle's error",
    "stale": "an edit kept from before the book changed the listing is flagged and not used",
    "pyodide": "the page fetches no Pyodide before a Run is pressed",
    "cells": "running the last runnable cell runs every cell above it, and none fails",
    "labels": "a cell that cannot run says what it needs on its button",
    "offline": "no request leaves the site",
    "errors": "no uncaught error in the page",
}
EVERY_PAGE = ["pyodide", "cells", "labels", "offline", "errors"]


PAGE_CHECKS = ([(EDIT_PAGE, c) for c in CHECKS if c not in EVERY_PAGE + ["backward"]]
               + [(page, "backward") for page in BACKWARD] + [(p, c) for p in PAGES for c in EVERY_PAGE])


# With `--dist loadgroup` (the Makefile), the checks of one page run in one worker, which visits it once.
@pytest.mark.parametrize("page, check", [pytest.param(p, c, marks=pytest.mark.xdist_group(p)) for p, c in PAGE_CHECKS])
def test_the_live_page(visit, page, check):
    """Each of CHECKS on the pages it concerns."""
    problems = visit(page).found.get(check, [])
    no_problems([f"not so: {CHECKS[check]}"] + problems if problems else [])


def test_at_390_px_the_editor_fits_takes_typed_code_and_shift_enter_runs_it(browser, server):
    context = browser.new_context(viewport={"width": measure.PHONE, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server.base + EDIT_PAGE, wait_until="domcontentloaded")
    cell = page.locator(f".live-cell-{next(n for n, c in enumerate(data(page)['cells']) if runnable(c))}")
    problems = []
    cell.locator("button", has_text="Edit").tap()
    editor = cell.locator(".cm-content")
    editor.wait_for(timeout=RUN_TIMEOUT)
    editor.press("Control+End")
    editor.press_sequentially("\nprint('typed on a phone')")
    box = cell.locator(".cm-editor").bounding_box()
    if box["x"] < 0 or box["x"] + box["width"] > measure.PHONE:
        problems.append(f"{EDIT_PAGE}: at 390 px the editor runs from {box['x']:.0f} to "
                        f"{box['x'] + box['width']:.0f} px")
    runs = cell.locator("button.live-run").get_attribute("data-runs") or "0"
    editor.press("Shift+Enter")
    page.wait_for_function("([b, n]) => (b.dataset.runs || '0') !== n",
                           arg=[cell.locator("button.live-run").element_handle(), runs], timeout=RUN_TIMEOUT)
    if "typed on a phone" not in cell.locator(".live-output").text_content():
        problems.append(f"{EDIT_PAGE}: at 390 px, typed code did not run with Shift+Enter")
    context.close()
    no_problems(problems)


# ---------------------------------------------------------------- the code to take away


def zip_files(archive: Path) -> dict[str, bytes]:
    """A zip's files by their path inside its top folder."""
    with zipfile.ZipFile(archive) as z:
        return {name.split("/", 1)[1]: z.read(name) for name in z.namelist() if not name.endswith("/")}


ZIPS: dict[bytes, list[Path]] = {}  # the chapters' zips, those with the same files (README aside) together
for found in sorted((SITE / live.OUT).glob("*.zip")):
    ZIPS.setdefault(repr(sorted((k, v) for k, v in zip_files(found).items() if k != "README.txt")), []).append(found)


@functools.cache
def package_of(chapter: str) -> dict[str, str]:
    """The package as it stands at the end of chapter ('book/05-backprop.md'), as `make test` tests it."""
    return next(s.files for s in snapshots.distinct(ROOT) if chapter in s.chapters)


def test_every_chapter_with_a_package_and_cells_has_a_zip():
    wanted = {live.takeaway_name(c) for c in tangle.read_toc(ROOT) if package_of(c) and CELLS[f"{c[:-3]}.html"]}
    no_problems([f"{SITE / live.OUT}/{name}.zip is missing" for name in sorted(
        wanted - {z.stem for zips in ZIPS.values() for z in zips})])


@pytest.mark.parametrize("zips", ZIPS.values(), ids=["..".join(z.stem for z in zips) for zips in ZIPS.values()])
def test_a_zip_holds_what_make_test_tests_and_its_tests_set_up_on_their_own(zips, tmp_path):
    """The package is the chapter's snapshot (tools/snapshots.py) and the tests are tests/chapters' files, byte for
    byte, each marked since a chapter not after this one: `make test` ran them on this package. Only conftest.py
    and pytest.ini are the zip's own (tools/takeaway/): pytest --setup-only, in the unpacked zip, collects the
    tests and sets up their fixtures with nothing but the zip."""
    chapters = [Path(c).stem for c in tangle.read_toc(ROOT)]
    problems = []
    for archive in zips:
        chapter = archive.stem.removeprefix("micrograd-")
        files = zip_files(archive)
        expected = {path: text.encode() for path, text in package_of(f"book/{chapter}.md").items()}
        expected.update({p.name: p.read_bytes() for p in (ROOT / "tools" / "takeaway").iterdir()})
        for name in [n for n in files if n not in expected and n != "README.txt"]:
            here = ROOT / "tests" / "chapters" / name
            if not here.is_file():
                problems.append(f"{archive.name}: {name} is not in tests/chapters")
                continue
            expected[name] = here.read_bytes()
            since = [chapters.index(s) for s in live.SINCE.findall(here.read_text(encoding="utf-8")) if s in chapters]
            if name.startswith("test_") and (not since or max(since) > chapters.index(chapter)):
                problems.append(f"{archive.name}: {name} is not marked since a chapter up to {chapter}")
        problems += [f"{archive.name}: {name} is not what `make test` tests" for name in sorted(set(files) | set(
            expected)) if name != "README.txt" and files.get(name) != expected.get(name)]
        if not any(name.startswith("test_") for name in files):
            problems.append(f"{archive.name}: no test module")
    with zipfile.ZipFile(zips[0]) as z:
        z.extractall(tmp_path)
    result = subprocess.run([sys.executable, "-m", "pytest", "--setup-only", "-q", "-p", "no:playwright"],
                            cwd=tmp_path / zips[0].stem, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        problems.append(f"{zips[0].name}: pytest --setup-only fails:\n" + "\n".join(result.stdout.splitlines()[-15:]))
    measure.fact("chapter zips", len(zips))
    no_problems(problems)

