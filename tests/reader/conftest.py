"""The reader-level checks read the built book: `make book` runs them after the build (pytest tests/reader).

`make test` leaves this folder out (pyproject.toml's norecursedirs), since it needs _build.
pytest-playwright gives each session (each pytest-xdist worker) its one browser: the system's
Chromium, never a downloaded one. The site is served on 127.0.0.1 for the whole session.
With `--dist loadgroup`, the live checks of one page run in the same worker, which loads the page once.
"""
from __future__ import annotations

import json
import resource
import shutil
import subprocess
import time
from pathlib import Path

import measure
import pytest

import live  # tools/live.py: where the site keeps the chapters' zips

PDF = measure.ROOT / "_build" / "latex" / "micrograd-book.pdf"
EDIT_PAGE = "book/05-backprop.html"
AXE = measure.ROOT / "_build" / "axe-core" / "axe.min.js"  # fetched, pinned and hashed, by the Makefile


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = shutil.which("chromium")  # Debian's package installs it
    if chromium is None:
        pytest.fail("browser: chromium not found (Debian: apt-get install chromium)")
    return {"executable_path": chromium, "args": measure.CHROMIUM_ARGS, "headless": True, **browser_type_launch_args}


@pytest.fixture(scope="session")
def site() -> Path:
    if not (measure.SITE / "index.html").is_file():
        pytest.fail(f"site: {measure.SITE}/index.html does not exist (run `make html`)")
    return measure.SITE


@pytest.fixture(scope="session")
def server(site):
    served, base = measure.serve(site)
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


def pytest_collection_modifyitems(items):
    """The live pages first, chapter 5's (the longest) first of all."""
    items.sort(key=lambda item: (not item.nodeid.startswith("tests/reader/test_live.py"), EDIT_PAGE not in item.nodeid))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """The facts a test told go with its report, from a pytest-xdist worker to the process that prints them."""
    report = yield
    if call.when == "teardown":
        report.user_properties += [("fact", fact) for fact in measure.NEW_FACTS]
        measure.NEW_FACTS.clear()
    return report


def pytest_runtest_logreport(report):
    for key, value in (fact for name, fact in report.user_properties if name == "fact"):
        measure.add_fact(key, value)


def pytest_sessionstart(session):
    session.config.started = time.monotonic()


def pytest_terminal_summary(terminalreporter, config):
    """What the checks counted, after pytest's own report; then one line `live book: ...` (.ci/run reads it)."""
    if measure.FACTS:
        terminalreporter.section("the book as a reader finds it")
        for key, value in measure.FACTS.items():
            terminalreporter.write_line(f"{key}: {value}")
    stats = measure.ROOT / "_build" / "live-seconds.json"  # what tools/live.py adds to the build, by builder
    extension = sum(json.loads(stats.read_text()).values()) if stats.is_file() else 0.0
    reports = [r for key in ("passed", "failed", "error") for r in terminalreporter.stats.get(key, [])]
    checks = sum(getattr(r, "duration", 0.0) for r in reports if r.nodeid.startswith("tests/reader/test_live.py"))
    cpu = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    problems = sum(len(terminalreporter.stats.get(key, [])) for key in ("failed", "error"))

    def mb(*paths: str) -> float:
        return sum(f.stat().st_size for path in paths for f in measure.SITE.glob(path) if f.is_file()) / 1e6

    sizes = {"Pyodide": mb("pyodide/**/*"), "editor, Graphviz and pytest": mb("live/**/*"),
             "zips and tools": mb(f"{live.OUT}/**/*"), "scripts": mb("_static/live*")}
    terminalreporter.write_line(
        f"live book: site +{sum(sizes.values()):.1f} MB ({', '.join(f'{k} {v:.2f} MB' for k, v in sizes.items())}); "
        f"build +{extension + checks:.0f} s (extension {extension:.1f} s, live checks {checks:.0f} s of a worker's "
        f"time); all reader checks {time.monotonic() - config.started:.0f} s, {cpu:.0f} s of CPU; "
        f"{f'{problems} problems' if problems else 'OK'}")
