"""The package as it stands at the end of a chapter, and importing several of them side by side.

Used by the tests (one snapshot per chapter), the benchmark (chapter 7's engine
against the final one) and chapter 8's cells.
"""
from __future__ import annotations

import atexit
import importlib
import pkgutil
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import tangle

ROOT = Path(__file__).resolve().parent.parent


def snapshot(chapter: str, out: Path | None = None) -> Path:
    """Tangle the package as it stands at the end of chapter into out.

    Without out, into a new temporary folder that is removed when the process exits.
    """
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="micrograd-snapshot-"))
        atexit.register(shutil.rmtree, out, ignore_errors=True)
    out = Path(out)
    tangle.write(out, tangle.tangle(ROOT, through=chapter))
    return out


def load_package(folder: Path) -> SimpleNamespace:
    """Import micrograd from folder: `.package`, `.engine`, `.nn`...; sys.modules is left as it was."""
    folder = Path(folder).resolve()

    def is_micrograd(name: str) -> bool:
        return name == "micrograd" or name.startswith("micrograd.")

    saved = {name: module for name, module in sys.modules.items() if is_micrograd(name)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module("micrograd")
        modules = {}
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                modules[info.name] = importlib.import_module(f"micrograd.{info.name}")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if is_micrograd(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
    if not Path(package.__file__).resolve().is_relative_to(folder):
        raise ImportError(f"micrograd was imported from {package.__file__}, not from {folder}")
    return SimpleNamespace(folder=folder, package=package, **modules)
