"""Shared test machinery: each chapter's snapshot of the package.

A test module mirrors a chapter and declares the chapter from which it must
pass::

    pytestmark = pytest.mark.since("05-backprop")

Every test that takes the ``mg`` fixture then runs once per chapter from that
one to the end of the book, against the package *as the reader has it at the
end of that chapter* (``tools/tangle.py --through``). ``mg.engine``, ``mg.nn``
and ``mg.viz`` are that snapshot's modules; the last chapter uses the committed
``micrograd/`` itself (which ``tangle.py --check`` proves equal to the book).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import tangle  # noqa: E402
from snapshots import load_package  # noqa: E402,F401  (also used by chapter tests)

pytest_plugins = ["book_tracebacks"]  # failures show the book line of each frame in micrograd

CHAPTERS = tangle.read_toc(ROOT)


def chapter_named(name: str) -> str:
    """'05-backprop', 'book/05-backprop' or 'book/05-backprop.md' -> 'book/05-backprop.md'."""
    for chapter in CHAPTERS:
        if name in (chapter, chapter[: -len(".md")], Path(chapter).stem):
            return chapter
    raise pytest.UsageError(f"since({name!r}): no such chapter in _toc.yml")


def pytest_generate_tests(metafunc):
    if "mg" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("since")
    if marker is None:
        raise pytest.UsageError(f"{metafunc.definition.nodeid} uses mg but has no @pytest.mark.since(chapter)")
    first = CHAPTERS.index(chapter_named(marker.args[0]))
    chapters = CHAPTERS[first:]
    metafunc.parametrize("chapter", chapters, ids=[Path(c).stem for c in chapters], scope="session")


_packages: dict[str, SimpleNamespace] = {}


@pytest.fixture(scope="session")
def snapshot_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("snapshots")


def snapshot_folder(chapter: str, snapshot_root: Path) -> Path:
    """The package as it stands at the end of a chapter (the committed one for the last)."""
    if chapter == CHAPTERS[-1]:
        return ROOT
    folder = snapshot_root / Path(chapter).stem
    if not folder.exists():
        tangle.write(folder, tangle.tangle(ROOT, through=chapter))
    return folder


@pytest.fixture(scope="session")
def mg(chapter, snapshot_root) -> SimpleNamespace:
    if chapter not in _packages:
        _packages[chapter] = load_package(snapshot_folder(chapter, snapshot_root))
    return _packages[chapter]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI every dependency is installed, so a skipped test is a failure, not a pass."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI, where every dependency must be installed: {reason}"
