"""The reader-level checks read the built book: `make book` runs them after the build (pytest tests/reader).

`make test` leaves this folder out (pyproject.toml's norecursedirs), since it needs _build.
pytest-playwright gives the session its one browser: the system's Chromium (tools/check_book.py
holds its flags), never a downloaded one. The site is served on 127.0.0.1 for the whole session.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import measure
import pytest

import check_book  # tools/check_book.py: the server and the Chromium flags, shared with tools/check_live.py

SITE = measure.ROOT / "_build" / "html"
PDF = measure.ROOT / "_build" / "latex" / "micrograd-book.pdf"
AXE = measure.ROOT / "_build" / "axe-core" / "axe.min.js"  # fetched, pinned and hashed, by the Makefile


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = check_book.find_chromium()
    if chromium is None:
        pytest.fail("browser: chromium not found (Debian: apt-get install chromium)")
    return {**check_book.launch_args(chromium), **browser_type_launch_args}


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"site: {SITE}/index.html does not exist (run `make html`)")
    return SITE


@pytest.fixture(scope="session")
def server(site):
    served, base = check_book.serve(site)
    served.base = base
    yield served
    served.shutdown()
    served.server_close()


class Reading:
    """What one load of a page showed, measured once and kept for every test that asks."""

    def __init__(self, tab: measure.Tab, url: str, server, images: dict[str, float], axe: bool):
        failures = len(server.failures)
        self.errors = tab.open(url)
        self.errors += [f"the server could not answer {failure}" for failure in server.failures[failures:]]
        self.broken = tab.page.evaluate(measure.BROKEN_IMAGES)
        tab.page.evaluate(measure.OPEN_EVERYTHING)
        self.overflow = tab.page.evaluate(measure.CODE_OVERFLOW)
        self.graph_text = tab.page.evaluate(measure.GRAPH_TEXT, images)
        self.references = tab.page.evaluate(measure.CHUNK_REFERENCES)
        self.sideways = tab.page.evaluate(measure.SIDEWAYS)
        self.axe = None
        if axe and AXE.is_file():  # at one width: what axe-core checks does not depend on it
            tab.page.add_script_tag(path=str(AXE))
            self.axe = tab.page.evaluate(measure.AXE_SERIOUS)


@pytest.fixture(scope="session")
def read(browser, server, site):
    """read(page, width, dark): that page's Reading; each page is loaded once per width and colour scheme."""
    _, images = measure.check_images(site, measure.chapter_pages())
    graphs = measure.graph_images(images)
    tabs, readings = {}, {}

    def read(page: str, width: int = measure.DESKTOP, dark: bool = False) -> Reading:
        if (page, width, dark) not in readings:
            if (width, dark) not in tabs:
                tabs[width, dark] = measure.Tab(browser, width, dark)
            readings[page, width, dark] = Reading(tabs[width, dark], server.base + page, server, graphs,
                                                   axe=width == measure.DESKTOP)
        return readings[page, width, dark]

    yield read
    for tab in tabs.values():
        tab.close()


@pytest.fixture(scope="session")
def pdf() -> Path:
    if not PDF.is_file():
        pytest.fail(f"pdf: {PDF} does not exist (run `make pdf`)")
    for tool in ("pdfinfo", "pdftotext", "pdftohtml"):
        if not shutil.which(tool):
            pytest.fail(f"pdf: {tool} not found (Debian: apt-get install poppler-utils)")
    return PDF


@pytest.fixture(scope="session")
def pdf_text(pdf) -> str:
    """The PDF's text as pdftotext reads it."""
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="session")
def pdf_lines(pdf) -> list[measure.PdfLine]:
    return measure.pdf_lines(pdf)


def pytest_terminal_summary(terminalreporter):
    """What the checks counted, after pytest's own report."""
    if measure.FACTS:
        terminalreporter.section("the book as a reader finds it")
        for key, value in measure.FACTS.items():
            terminalreporter.write_line(f"{key}: {value}")
