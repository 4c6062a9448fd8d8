"""Reader-level checks of the live book's editing, run by tools/check_live.py on chapter 5's page,
and the helpers both use to act on a page as a reader would (type, press Run, wait).

* Start times: the first output, cold and warm.
* A long cell: the page still answers, Stop ends it within STOP_BUDGET (and a test run too), the next cell runs;
  a million lines of output are cut with a note.
* A chunk broken (the graph walked in the wrong order): the chapter's tests fail in the page;
  after a reload the edit is still there, marked; Reset brings the book's code back and the
  tests pass; a syntax error shows at the listing's own line, a reference to no chunk with
  tangle's own error; after Reset and a reload, nothing is edited; an edit kept from before
  the book changed the listing is flagged and not used.
* At 390 px, as on a phone: the editor fits, takes typed code, and Shift+Enter runs it.
"""
from __future__ import annotations

import json
import time
from urllib.parse import urljoin

RUN_TIMEOUT = 120_000  # ms for a page's Python to start and run its cells


def cells_of(page) -> list[dict]:
    return json.loads(page.locator("#live-data").text_content())["cells"]


def type_into(edit, box, source: str) -> None:
    """Press Edit (when it shows) to open box's editor, as a reader would, and replace its text with source."""
    if edit.is_visible():
        edit.click()
    content = box.locator(".cm-content")
    content.wait_for(timeout=RUN_TIMEOUT)
    content.fill(source)


def press(page, button, timeout: float = RUN_TIMEOUT) -> float:
    """Click a Run or tests button and wait until its job has finished: the seconds it took."""
    runs = button.get_attribute("data-runs") or "0"
    began = time.monotonic()
    button.click()
    button.page.wait_for_function("([b, n]) => (b.dataset.runs || '0') !== n", arg=[button.element_handle(), runs],
                                  timeout=timeout)
    return time.monotonic() - began


def run_cell(page, index: int, source: str | None = None) -> tuple[str, bool]:
    """Type source into cell index (when given) as a reader would, press Run, wait: (its output, no error)."""
    cell = page.locator(f".live-cell-{index}")
    reveal(cell)
    if source is not None:
        type_into(cell.locator("button", has_text="Edit"), cell, source)
    press(page, cell.locator("button.live-run"))
    output = cell.locator(".live-output")
    return output.text_content(), "live-error" not in (output.get_attribute("class") or "")


def reveal(cell) -> None:
    """Open the dropdown (an exercise's solution) that hides a cell, as a reader would, by its title's button."""
    if not cell.locator("button.live-run").is_visible():
        dropdown = cell.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' dropdown ')][1]")
        dropdown.locator("button.toggle-button").first.click()


# The break a reader makes in chapter 5: walk the graph in the wrong order.
BREAK = ("for node in reversed(order):", "for node in order:")
STOP_BUDGET = 2.0  # s from pressing Stop until the page can run again


def check_editing(browser, base: str, page_path: str) -> list[str]:
    """On chapter 5: start times; a long cell stopped; long output cut; a chunk broken, its tests failing,
    kept across a reload, then Reset and the tests passing; a chunk's syntax error and a broken reference."""
    problems, seconds = [], {}
    page = browser.open(urljoin(base, page_path))
    cells = cells_of(page)
    first, second = [n for n, c in enumerate(cells) if not (c["hidden"] or c["setup"] or c["needs"])][:2]
    cell = page.locator(f".live-cell-{first}")
    run = cell.locator("button.live-run")
    seconds["cold"] = press(page, run)
    seconds["warm"] = press(page, run)
    # A long cell: the page answers while it runs, Stop ends it, the next cell runs.
    type_into(cell.locator("button", has_text="Edit"), cell, "while True:\n    pass")
    run.click()
    page.wait_for_function("b => b.disabled", arg=run.element_handle())
    time.sleep(1.0)
    try:
        page.wait_for_function("() => true", timeout=1000)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: the page did not answer
        problems.append(f"{page_path}: the page did not answer within 1 s while a cell ran")
    began = time.monotonic()
    cell.locator("button", has_text="Stop").click()
    page.wait_for_function("b => !b.disabled", arg=run.element_handle(), timeout=10_000)
    seconds["stop"] = time.monotonic() - began
    if seconds["stop"] > STOP_BUDGET or "Stopped" not in cell.locator(".live-output").text_content():
        problems.append(f"{page_path}: Stop took {seconds['stop']:.1f} s or did not say it stopped")
    cell.locator("button", has_text="Reset").click()
    output, ok = run_cell(page, second)
    if not ok:
        problems.append(f"{page_path}: after Stop, the next cell failed:\n{output}")
    output, ok = run_cell(page, second, "for n in range(1_000_000):\n    print(n)")
    if not ok or "output cut here" not in output or len(output) > 200_000:
        problems.append(f"{page_path}: a million lines were not cut with a note ({len(output)} characters)")
    page.locator(f".live-cell-{second}").locator("button", has_text="Reset").click()
    # Break a chunk: the chapter's tests fail in the page; the edit outlives a reload; Reset: they pass.
    piece = next(p for p in page_data(page)["pieces"] if BREAK[0] in p["text"])
    box, bar = page.locator(f"#{piece['id']}"), page.locator(f"#{piece['id']} + .live-bar")
    broken = piece["text"].replace(*BREAK)
    type_into(bar.locator("button", has_text="Edit"), box, broken)
    summary, seconds["tests, broken"] = run_tests(page)
    if "failed" not in summary:
        problems.append(f"{page_path}: with «{piece['name']}» broken, the chapter's tests said {summary!r}")
    page.reload(wait_until="domcontentloaded")
    box, bar = page.locator(f"#{piece['id']}"), page.locator(f"#{piece['id']} + .live-bar")
    box.locator(".cm-content").wait_for(timeout=RUN_TIMEOUT)
    if BREAK[1] not in box.locator(".cm-content").inner_text() or "live-edited" not in box.get_attribute("class"):
        problems.append(f"{page_path}: after a reload, the edit of «{piece['name']}» is gone or not marked")
    bar.locator("button", has_text="Reset").click()
    if BREAK[0] not in box.locator(".cm-content").inner_text():
        problems.append(f"{page_path}: Reset did not bring back the book's «{piece['name']}»")
    summary, seconds["tests"] = run_tests(page)
    if "passed" not in summary or "failed" in summary:
        problems.append(f"{page_path}: after Reset, the chapter's tests said {summary!r}")
    # Stop ends a test run too, within the budget.
    tests = page.locator(".live-page button", has_text="tests")
    tests.click()
    page.wait_for_function("b => b.disabled", arg=tests.element_handle())
    began = time.monotonic()
    page.locator(".live-page button", has_text="Stop").click()
    page.wait_for_function("b => !b.disabled", arg=tests.element_handle(), timeout=10_000)
    if time.monotonic() - began > STOP_BUDGET:
        problems.append(f"{page_path}: Stop took {time.monotonic() - began:.1f} s to end the chapter's tests")
    problems += check_tangle_errors(page, page_path, piece)
    page.reload(wait_until="domcontentloaded")
    if page.locator(f"#{piece['id']} .cm-content").count():
        problems.append(f"{page_path}: after Reset and a reload, «{piece['name']}» still opens edited")
    problems += check_stale_edit(page, page_path, piece)
    print(f"  {page_path}: first output {seconds['cold']:.1f} s cold, {seconds['warm']:.2f} s warm; Stop "
          f"{seconds['stop']:.1f} s; the chapter's tests {seconds['tests']:.1f} s ({summary}), "
          f"{seconds['tests, broken']:.1f} s with «{piece['name']}» broken")
    page.close()
    return problems


def check_phone(browser, base: str, page_path: str) -> list[str]:
    """At 390 px, as on a phone: a cell's editor fits the screen, takes typed text, and Shift+Enter runs it."""
    context = browser.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.route("**/*", browser.route)
    page = context.new_page()
    page.goto(urljoin(base, page_path), wait_until="domcontentloaded")
    first = next(n for n, c in enumerate(cells_of(page)) if not (c["hidden"] or c["setup"] or c["needs"]))
    cell = page.locator(f".live-cell-{first}")
    problems = []
    try:
        cell.locator("button", has_text="Edit").tap()
        editor = cell.locator(".cm-content")
        editor.wait_for(timeout=RUN_TIMEOUT)
        editor.press("Control+End")
        editor.press_sequentially("\nprint('typed on a phone')")
        box = cell.locator(".cm-editor").bounding_box()
        if box["x"] < 0 or box["x"] + box["width"] > 390:
            problems.append(f"{page_path}: at 390 px the editor runs from {box['x']:.0f} to "
                            f"{box['x'] + box['width']:.0f} px")
        runs = cell.locator("button.live-run").get_attribute("data-runs") or "0"
        editor.press("Shift+Enter")
        page.wait_for_function("([b, n]) => (b.dataset.runs || '0') !== n",
                               arg=[cell.locator("button.live-run").element_handle(), runs], timeout=RUN_TIMEOUT)
        if "typed on a phone" not in cell.locator(".live-output").text_content():
            problems.append(f"{page_path}: at 390 px, typed code did not run with Shift+Enter")
    finally:
        context.close()
    return problems


def check_stale_edit(page, page_path: str, piece: dict) -> list[str]:
    """An edit kept from before the book changed the listing is flagged, and not used, after a reload."""
    page.evaluate("([id, text]) => localStorage.setItem(`live-edit:${location.pathname}:${id}`,"
                  " JSON.stringify({original: 'the book as it was', text}))", [piece["id"], piece["text"] + "\n# mine"])
    page.reload(wait_until="domcontentloaded")
    flag = page.locator(f"#{piece['id']} ~ .live-flag").first
    problems = []
    if not flag.is_visible() or "changed since you edited it" not in flag.text_content():
        problems.append(f"{page_path}: an edit kept from before the book changed «{piece['name']}» is not flagged")
    if page.locator(f"#{piece['id']} .cm-content").count():
        problems.append(f"{page_path}: an edit kept from before the book changed «{piece['name']}» was applied")
    page.locator(f"#{piece['id']} + .live-bar").locator("button", has_text="Reset").click()
    return problems


def check_tangle_errors(page, page_path: str, piece: dict) -> list[str]:
    """A syntax error in a listing is shown at its own line; a reference to no chunk, with tangle's error."""
    problems = []
    box, bar = page.locator(f"#{piece['id']}"), page.locator(f"#{piece['id']} + .live-bar")
    error = page.locator(f"#{piece['id']} ~ .live-tangle-error").first
    body = piece["text"].split("\n")
    for edit, expected in ((body[:1] + ["    def (:"] + body[1:], f"{piece['chapter']}:{piece['body_line'] + 1}: "
                            "error:"), (body + ["<<no such chunk>>"], "reference to undefined chunk «no such chunk»")):
        type_into(bar.locator("button", has_text="Edit"), box, "\n".join(edit))
        box.locator(".cm-content").press("Shift+Enter")
        try:
            error.wait_for(state="visible", timeout=RUN_TIMEOUT)
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError
            problems.append(f"{page_path}: an edit that breaks the tangle showed no error at «{piece['name']}»")
            continue
        if expected not in error.text_content():
            problems.append(f"{page_path}: «{piece['name']}» edited: expected {expected!r}, the page said "
                            f"{error.text_content()!r}")
        bar.locator("button", has_text="Reset").click()
    return problems


def run_tests(page) -> tuple[str, float]:
    """Press the chapter's tests button: (pytest's summary line as the page shows it, seconds)."""
    seconds = press(page, page.locator(".live-page button", has_text="tests"))
    summary = page.locator(".live-page .live-summary")
    return (summary.text_content() if summary.count() else page.locator(".live-page .live-output").text_content(),
            seconds)


def page_data(page) -> dict:
    return json.loads(page.locator("#live-data").text_content())
