"""One rule for every test: in CI, where every dependency is installed, a skip is a failure.

The chapter tests' fixtures (each chapter's snapshot of the package) live in
tests/chapters/conftest.py. pyproject.toml puts tools/ on the path (pytest's
``pythonpath`` setting), so tests import the tools by name: ``import tangle``.
"""
from __future__ import annotations

import os

import pytest

pytest_plugins = ["book_tracebacks"]  # failures show the book line of each frame in micrograd


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI every dependency is installed, so a skipped test is a failure, not a pass."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI, where every dependency must be installed: {reason}"
