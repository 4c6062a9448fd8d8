"""One rule for every test: in CI, where every dependency is installed, a skip is a failure.

The chapter tests' fixtures (each chapter's snapshot of the package) live in
tests/chapters/conftest.py. pyproject.toml puts tools/ on the path (pytest's
``pythonpath`` setting), so tests import the tools by name: ``import tangle``.
"""
from __future__ import annotations

import os

import pytest

import system  # tools/system.py: what `make test` installs before the tests run

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


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures are set up
def pytest_runtest_setup(item):
    """A test marked needs("dot") fails, naming what to install, where the set-up's command is missing."""
    for name in (name for mark in item.iter_markers("needs") for name in mark.args):
        assert name in system.COMMANDS["test"], f"{item.nodeid}: `make test` does not install {name!r}"
        if not system.is_present(name):
            pytest.fail(f"needs {name} ({system.NEEDS[name].why}), which `make test` installs first: "
                        f"python3 tools/system.py test", pytrace=False)


def pytest_terminal_summary(terminalreporter):
    """myst-nb's line for each chapter whose cells the tests ran (tests/chapters/test_cells.py): executed or cached."""
    lines = sorted(value for reports in terminalreporter.stats.values() for report in reports
                   if getattr(report, "when", None) == "call"
                   for key, value in getattr(report, "user_properties", []) if key == "myst-nb")
    if lines:
        terminalreporter.write_sep("-", "myst-nb: each chapter's cells")
        for line in lines:
            terminalreporter.write_line(line)
