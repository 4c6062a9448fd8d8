"""The exercises' Check button (tools/live.py) as a reader uses it: from the keyboard, a wrong answer fails
and a right one passes; the solution stays folded. Requests to any other origin than the site's are refused."""
from __future__ import annotations

import json

import measure
from measure import no_problems

PAGE = "book/04-value.html"
RIGHT = '''def leaves(v):
    found, seen, stack = [], set(), [v]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node._prev)
            if not node._prev:
                found.append(node)
    return found'''
TIMEOUT = 300_000  # ms: the first Check starts the page's Python, runs the cells above and loads pytest


def check_by_keyboard(page, cell) -> str:
    """Focus the cell's Check, press Enter, wait for the job to end: the summary line the page shows."""
    button = cell.get_by_role("button", name="Check", exact=True)  # found by its accessible name
    runs = button.get_attribute("data-runs") or "0"
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("([b, n]) => (b.dataset.runs || '0') !== n", arg=[button.element_handle(), runs],
                           timeout=TIMEOUT)
    return cell.locator(".live-summary").text_content()


def test_check_fails_a_wrong_answer_and_passes_a_right_one(browser, server):
    context = browser.new_context(viewport={"width": measure.DESKTOP, "height": 900})
    refused = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(server.base):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.goto(server.base + PAGE, wait_until="domcontentloaded")
    cells = json.loads(page.locator("#live-data").text_content())["cells"]
    answer = next(n for n, cell in enumerate(cells) if cell["check"])
    solution = next(n for n, cell in enumerate(cells) if n > answer and "def leaves" in cell["source"])
    cell = page.locator(f".live-cell-{answer}")
    problems = []
    wrong = check_by_keyboard(page, cell)  # the cell as the book gives it: no answer yet
    if "1 failed" not in wrong:
        problems.append(f"{PAGE}: the book's empty answer was checked as {wrong!r}")
    cell.locator("button", has_text="Edit").click()
    cell.locator(".cm-content").fill(RIGHT)
    right = check_by_keyboard(page, cell)
    if "1 passed" not in right:
        problems.append(f"{PAGE}: a right answer was checked as {right!r}: "
                        f"{cell.locator('.live-output').text_content()}")
    if page.locator(f".live-cell-{solution}").is_visible():
        problems.append(f"{PAGE}: the solution was unfolded without the reader opening it")
    context.close()
    no_problems(problems + [f"{PAGE}: a request to another origin: {url}" for url in refused])
