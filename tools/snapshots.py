"""The package as it stands at the end of each chapter (its "snapshots"), from one parse of the book.

distinct() gives each distinct package once, with the consecutive chapters that end with it
(``08-fast..09-pytorch``); sharing() groups them further by a few files. The tests, the book
build, the benchmark and chapter 8's cells all use it; load_package() imports one snapshot
without disturbing the `micrograd` already imported.
"""
from __future__ import annotations

import atexit
import importlib
import pkgutil
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from literate.errors import BadArgument
from literate.expand import Tangled

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Snapshot:  # one package, and the consecutive chapters at whose end it stands
    chapters: list[str]
    tangled: Tangled

    @property
    def files(self) -> dict[str, str]:
        return self.tangled.files

    @property
    def name(self) -> str:
        """'07-operations', or '08-fast..09-pytorch' when several chapters share the package."""
        first, last = Path(self.chapters[0]).stem, Path(self.chapters[-1]).stem
        return first if first == last else f"{first}..{last}"

    def write(self, folder: Path) -> Path:
        import tangle  # here, not above: the live book's page has no tangle (tools/static/live_runner.py)

        tangle.write(Path(folder), self.tangled)  # as `tangle.py --through ... --out folder` does
        return Path(folder)


def distinct(root: Path = ROOT) -> list[Snapshot]:
    """Every distinct package of the book, in reading order; each chapter belongs to exactly one."""
    import tangle

    groups: list[Snapshot] = []
    for chapter, tangled in tangle.tangle_chapters(root).items():
        if groups and groups[-1].files == tangled.files:
            groups[-1].chapters.append(chapter)
        else:
            groups.append(Snapshot([chapter], tangled))
    return groups


def sharing(snapshots: list[Snapshot], paths: tuple[str, ...]) -> list[Snapshot]:
    """Consecutive snapshots that agree on the given files become one (with its first one's files)."""
    groups: list[Snapshot] = []
    for snapshot in snapshots:
        same = groups and all(groups[-1].files.get(p) == snapshot.files.get(p) for p in paths)
        if same:
            groups[-1].chapters.extend(snapshot.chapters)
        else:
            groups.append(Snapshot(list(snapshot.chapters), snapshot.tangled))
    return groups


def snapshot(chapter: str, out: Path | None = None) -> Path:
    """Write the package as it stands at the end of chapter into out (default: a temporary folder)."""
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="micrograd-snapshot-"))
        atexit.register(shutil.rmtree, out, ignore_errors=True)
    found = next((s for s in distinct() if chapter in s.chapters), None)
    if found is None:
        raise BadArgument("_toc.yml:1", f"{chapter}: no such chapter in the table of contents")
    return found.write(out)


def load_package(folder: Path) -> SimpleNamespace:
    """micrograd from folder: `.folder`, `.package`, each public module (`.engine`...) and `.command_line`
    (``python -m micrograd``) if it has one; sys.modules is left as it was."""
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
        if (Path(package.__file__).parent / "__main__.py").exists():
            # imported under its module name, so its `if __name__ == "__main__"` does not run
            modules["command_line"] = importlib.import_module("micrograd.__main__")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if is_micrograd(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
    if not Path(package.__file__).resolve().is_relative_to(folder):
        raise ImportError(f"micrograd was imported from {package.__file__}, not from {folder}")
    return SimpleNamespace(folder=folder, package=package, **modules)
