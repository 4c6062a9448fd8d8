"""The book's chapter tests, run on the micrograd package in this folder.

In the book's repository each test runs on every chapter's state of the package;
here ``mg`` is simply the package beside this file.
"""
import importlib
import pkgutil
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def mg():
    package = importlib.import_module("micrograd")
    modules = {info.name: importlib.import_module(f"micrograd.{info.name}")
               for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_")}
    if (HERE / "micrograd" / "__main__.py").exists():  # `python -m micrograd`, imported without running
        modules["command_line"] = importlib.import_module("micrograd.__main__")
    return SimpleNamespace(folder=HERE, package=package, **modules)


def pytest_runtest_setup(item):
    """A test marked needs("dot") runs where that program is installed (in the page it is not)."""
    for name in (name for mark in item.iter_markers("needs") for name in mark.args):
        if shutil.which(name) is None:
            pytest.skip(f"needs the program {name}, which is not installed here")
