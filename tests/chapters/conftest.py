"""The chapter tests' fixtures: the package as it stands at the end of each chapter.

A test module mirrors a chapter and declares the chapter from which it must
pass::

    pytestmark = pytest.mark.since("05-backprop")

Every test that takes the ``mg`` fixture then runs once for each distinct
package from that chapter to the end of the book (tools/snapshots.py).
Chapters whose packages are byte-identical share one run, named after them:
``test_x[08-fast..09-pytorch]`` checks the package of chapters 8 and 9. A test
marked ``engine_only`` uses nothing but ``mg.engine`` and runs once per
distinct ``engine.py``. ``mg.engine``, ``mg.nn`` and so on are that package's
modules; the book's last package is the committed ``micrograd/`` itself (which
``tangle.py --check`` proves equal to the book).
"""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

import snapshots
import tangle

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = snapshots.distinct(ROOT)
ENGINES = snapshots.sharing(SNAPSHOTS, ("micrograd/engine.py",))
CHAPTERS = [chapter for snapshot in SNAPSHOTS for chapter in snapshot.chapters]


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
    groups = ENGINES if metafunc.definition.get_closest_marker("engine_only") else SNAPSHOTS
    runs = [g for g in groups if CHAPTERS.index(g.chapters[-1]) >= first]
    metafunc.parametrize("snapshot", runs, ids=[g.name for g in runs], scope="session")


@pytest.fixture(scope="session")
def snapshot_folder(tmp_path_factory):
    """folder(chapter): where the package as it stands at the end of chapter is, written once a session.

    The book's last package is the committed one, so its tests run on micrograd/ itself.
    """
    root = tmp_path_factory.mktemp("snapshots")

    def folder(chapter: str) -> Path:
        snapshot = next(s for s in SNAPSHOTS if chapter_named(chapter) in s.chapters)
        if snapshot is SNAPSHOTS[-1]:
            return ROOT
        target = root / snapshot.name
        if not target.exists():
            snapshot.write(target)
        return target

    return folder


_packages: dict[Path, SimpleNamespace] = {}


@pytest.fixture(scope="session")
def mg(snapshot, snapshot_folder) -> SimpleNamespace:
    """The package under test, imported once a session (see tools/snapshots.py: load_package)."""
    folder = snapshot_folder(snapshot.chapters[0])
    if folder not in _packages:
        _packages[folder] = snapshots.load_package(folder)
    return _packages[folder]


@pytest.fixture
def answer(request, snapshot_folder) -> SimpleNamespace:
    """For test_<label> (test_exercise_checks.py): the imports, functions and classes that the solution of
    the exercise of that label defines in its code cells, beside the names its chapter's package exports."""
    label = request.node.name.removeprefix("test_").replace("_", "-")
    md = tangle.markdown_parser(ROOT)
    for chapter in CHAPTERS:
        sources, inside = [], False
        for token in md.parse(tangle.read_chapter(ROOT, chapter)):
            info = token.info.split() if token.type == "fence" else [""]
            if info[0] == "{solution-start}":
                inside = info[1:] == [label]
            elif info[0] == "{solution-end}":
                inside = False
            elif inside and info[0] == "{code-cell}":
                sources.append(token.content)
        if sources:
            break
    else:
        raise pytest.UsageError(f"{request.node.nodeid}: no exercise {label} with a solution in code cells")
    package = snapshots.load_package(snapshot_folder(chapter)).package
    names = {name: getattr(package, name) for name in package.__all__}
    for source in sources:
        tree = ast.parse(source)
        tree.body = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                                                     ast.ClassDef))]
        exec(compile(tree, chapter, "exec"), names)
    return SimpleNamespace(**names)
