"""The package as it stands at the end of each chapter (its "snapshots"), from one parse of the book.

distinct() gives each distinct package once, with the consecutive chapters that end with it
(``08-fast..09-pytorch``); sharing() groups them further by a few files. load_package() imports
one snapshot without disturbing the `micrograd` already imported.
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

    return sharing([Snapshot([chapter], tangled) for chapter, tangled in tangle.tangle_chapters(root).items()])


def sharing(snapshots: list[Snapshot], paths: tuple[str, ...] | None = None) -> list[Snapshot]:
    """Consecutive snapshots that agree on the given files (on all by default) become one, with its first one's."""
    def key(snapshot: Snapshot):
        return snapshot.files if paths is None else [snapshot.files.get(path) for path in paths]

    groups: list[Snapshot] = []
    for snapshot in snapshots:
        if groups and key(groups[-1]) == key(snapshot):
            groups[-1].chapters.extend(snapshot.chapters)
        else:
            groups.append(Snapshot(list(snapshot.chapters), snapshot.tangled))
    return groups


def snapshot(chapter: str, out: Path | None = None) -> Path:
    """Write the package as it stands at the end of chapter into out (default: a temporary folder)."""
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="micrograd-snapshot-"))
        atexit.register(shutil.rmtree, out, ignore_errors=True)
    import tangle

    tangle.write(Path(out), tangle.tangle(ROOT, through=chapter))
    return Path(out)


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
        modules = {info.name: importlib.import_module(f"micrograd.{info.name}")
                   for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_")}
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
