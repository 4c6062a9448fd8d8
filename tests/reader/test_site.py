"""The website as a reader finds it: every page of the table of contents, at 1280 px and at 390 px,
in light and dark mode, in the system's headless Chromium (the fixtures are in conftest.py)."""
from pathlib import Path
from urllib.parse import urlparse

import measure
import pytest
from measure import DESKTOP, MIN_GRAPH_TEXT_PX, PHONE, no_problems

import chunks
import tangle

PAGES = measure.chapter_pages()
INDEX = "book/a4-index.html"  # the index of chunks and names (tools/chunkindex.py)
SEARCH_WORD, SEARCH_PAGE = "backward", "book/05-backprop.html"  # the search must find this chapter
SCREENSHOT_PAGE = KEYBOARD_PAGE = "book/05-backprop.html"
MAX_TAB_STOPS = 400


def test_every_chapter_has_a_page(site):
    no_problems([f"{page} was not built" for page in PAGES if not (site / page).is_file()])


def test_links_and_chunk_cross_links_resolve_to_pages_and_ids(site):
    problems, chunk_links = measure.check_links(site, [page for page in PAGES if (site / page).is_file()])
    measure.fact("chunk cross-links", str(chunk_links))
    no_problems(problems)


def test_images_exist_and_are_not_empty(site):
    problems, images = measure.check_images(site, [page for page in PAGES if (site / page).is_file()])
    measure.fact("images on the site", str(len(images)))
    measure.fact("graph drawings", str(len(measure.graph_images(images))))
    no_problems(problems)


def test_the_index_has_an_entry_for_every_chunk_and_every_caption_links_to_it(site):
    """Its links lead to pages and ids that exist: test_links_and_chunk_cross_links_resolve_to_pages_and_ids."""
    ids = measure.parse_page(site / INDEX).ids
    problems = [f"index: no entry for «{name}»" for name in sorted({b.name for b in tangle.parse_book(measure.ROOT)})
                if f"entry-{chunks.slug(name)}" not in ids]
    for page in PAGES:
        html = (site / page).read_text(encoding="utf-8")
        captions, to_index = html.count(' id="chunk-'), html.count('href="a4-index.html#entry-')
        if to_index < captions:
            problems.append(f"{page}: {captions} listings but {to_index} captions link to the index")
    no_problems(problems)


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_console_errors(read, server, page):
    errors = [f"{page}: {error}" for error in read(page).errors]
    others = [error for error in errors if measure.external(error, server.base)]
    if others:  # a host the offline book cannot reach: told, not failed (test_live.py refuses them)
        measure.fact(f"{page}: other hosts", "; ".join(others))
    no_problems([error for error in errors if error not in others])


@pytest.mark.parametrize("page", PAGES)
def test_images_load_in_the_browser(read, page):
    no_problems([f"{page}: the browser could not show {src}" for src in read(page).broken])


@pytest.mark.parametrize("page", PAGES)
def test_no_code_block_is_cut_off_at_1280_px(read, page):
    no_problems([f"{page}: {px} px too wide: {line.strip()[:60]!r}" for px, line in read(page, DESKTOP).overflow])


@pytest.mark.parametrize("page", PAGES)
def test_graph_text_is_at_least_9_px_at_1280_px(read, page):
    no_problems([f"{page}: {src} shows text at {px:.1f} px" for src, px in read(page, DESKTOP).graph_text
                 if px < MIN_GRAPH_TEXT_PX])


@pytest.mark.parametrize("page", PAGES)
def test_every_name_reference_in_a_listing_is_a_link(read, page):
    found = read(page).references
    measure.fact("<<name>> references in listings", len(found))
    no_problems([f"{page}: {line} is not a link" for line, linked in found if not linked])


@pytest.mark.parametrize("page", PAGES)
def test_no_page_scrolls_sideways_at_390_px(read, page):
    wider = read(page, PHONE).sideways
    no_problems([f"{page} is {wider} px wider than the screen"] if wider > 0 else [])


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("page", PAGES)
def test_no_serious_or_critical_accessibility_violation(read, page, dark):
    violations = read(page, DESKTOP, dark).axe
    if violations is None:
        pytest.fail(f"axe-core: {measure.ROOT / '_build/axe-core/axe.min.js'} is missing (make book fetches it)")
    no_problems([f"{page} ({'dark' if dark else 'light'}): {rule}, {count} elements: {help}; first {target}: {why}"
                 for rule, help, count, target, why in violations])


def test_the_keyboard_reaches_every_control_of_a_chapter_and_shows_where_it_is(browser, server):
    """Tab from the top of the page to its end: each stop shows a focus outline (axe checks their names)."""
    tab = measure.Tab(browser, DESKTOP)
    tab.open(server.base + KEYBOARD_PAGE)
    stops, unseen = [], []
    while len(stops) < MAX_TAB_STOPS:
        tab.page.keyboard.press("Tab")
        what, text, shown = tab.page.evaluate(measure.FOCUS)
        if what == "body" or (what, text) in stops[:1]:  # left the page, or came round again
            break
        stops.append((what, text))
        if not shown:
            unseen.append(f"{KEYBOARD_PAGE}: {what} {text!r} shows no focus outline")
    tab.close()
    measure.fact("tab stops on " + KEYBOARD_PAGE, str(len(stops)))
    few = [f"{KEYBOARD_PAGE}: the keyboard reaches only {len(stops)} controls"] if len(stops) < 20 else []
    no_problems(unseen + few)


def test_search_finds_the_backpropagation_chapter(browser, server):
    """The site's own search (searchindex.js, run in the page) lists the chapter."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab, failures = measure.Tab(browser, DESKTOP), len(server.failures)
    errors = [f"search.html: {error}" for error in tab.open(f"{server.base}search.html?q={SEARCH_WORD}")
              if not measure.external(error, server.base)]
    errors += [f"search.html: the server could not answer {failure}" for failure in server.failures[failures:]]
    stem = Path(SEARCH_PAGE).stem
    try:
        tab.page.wait_for_function(f"() => ({measure.SEARCH_RESULTS})().some(h => h.split('#')[0].split('?')[0]"
                                   f".endsWith({stem!r} + '.html'))", timeout=15_000)
    except PlaywrightTimeout:
        shown = ", ".join(sorted({urlparse(h).path for h in tab.page.evaluate(measure.SEARCH_RESULTS) or []}))
        errors.append(f"the results ({shown or 'nothing'}) do not include {SEARCH_PAGE}")
    tab.close()
    no_problems(errors)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_a_chapter_follows_the_reader_s_colour_scheme(browser, server, width, dark):
    """Saves ci-artifacts/chapter-1280.png, chapter-1280-dark.png, ... and checks the page is light or dark."""
    tab = measure.Tab(browser, width, dark)
    tab.open(server.base + SCREENSHOT_PAGE)
    target = measure.ROOT / "ci-artifacts" / f"chapter-{width}{'-dark' if dark else ''}.png"
    target.parent.mkdir(exist_ok=True)
    tab.page.screenshot(path=str(target))
    red, green, blue = map(int, tab.page.evaluate(measure.BACKGROUND).strip("rgba()").split(",")[:3])
    tab.close()
    measure.fact(f"screenshots in {target.parent.name}/ (chapter-WIDTH[-dark].png)", 1)
    luminance = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
    no_problems([f"{SCREENSHOT_PAGE} at {width} px has a {'light' if luminance > 0.5 else 'dark'} background "
                 f"(rgb {red}, {green}, {blue}) in {'dark' if dark else 'light'} mode"]
                if (luminance > 0.5) == dark else [])
