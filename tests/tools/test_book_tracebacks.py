"""Tracebacks that point into the book: micrograd.booktrace, the pytest plugin and the cells' hook.

Each test makes a deliberately failing call, Value(2.0) + "three", whose innermost frame is
the `raise TypeError(` of _check_number, and expects the chapter line tools/tangle.py
records for that line of the generated file.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import book_tracebacks
import chunks
import tangle

ROOT = Path(__file__).resolve().parents[2]
FAILING_CALL = 'from micrograd.engine import Value\nValue(2.0) + "three"\n'
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tools"), str(ROOT)])}


def raise_line(tangled: tangle.Tangled) -> tuple[int, str]:
    """The line of engine.py that raises the TypeError, and its chapter line, as the tool records them."""
    lines = tangled.lines["micrograd/engine.py"]
    number = next(n for n, line in enumerate(lines, 1) if line.text.strip().startswith("raise TypeError("))
    return number, lines[number - 1].origin


def test_every_line_of_the_package_and_of_a_snapshot_maps_to_its_chapter_line(tmp_path):
    states = tangle.tangle_chapters(ROOT)
    for chapter in ("book/05-backprop.md", list(states)[-1]):
        folder = tmp_path / Path(chapter).stem
        tangle.write(folder, states[chapter])
        for rel, lines in states[chapter].lines.items():
            for number, line in enumerate(lines, 1):
                expected = line.origin if line.text and not line.marker else None
                if expected:
                    assert book_tracebacks.booktrace.book_line(str(folder / rel), number) == expected


def test_lines_of_other_files_have_no_book_line(tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text("# <<x>> book/a.md:3\nx = 1\n")
    assert book_tracebacks.booktrace.book_line(str(plain), 2) is None
    assert book_tracebacks.booktrace.book_line(str(ROOT / "micrograd/engine.py"), 1) is None  # the header


def test_python_m_booktrace_runs_a_failing_script_and_shows_book_lines(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(FAILING_CALL)
    number, origin = raise_line(tangle.tangle(ROOT))
    for command in ([str(script)], ["-m", "train"]):
        result = subprocess.run([sys.executable, "-m", "micrograd.booktrace", *command], capture_output=True,
                                text=True, cwd=ROOT if command[0] != "-m" else tmp_path,
                                env={**ENV, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])})
        assert result.returncode == 1
        assert f'engine.py", line {number}, in _check_number -> {origin}\n' in result.stderr, result.stderr
        assert "TypeError: a Value holds a real number" in result.stderr
        assert "runpy" not in result.stderr and "booktrace.py" not in result.stderr  # only the program's frames


def test_python_m_booktrace_without_a_program_explains_itself():
    result = subprocess.run([sys.executable, "-m", "micrograd.booktrace"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "python -m micrograd.booktrace script.py" in result.stdout


def test_a_failing_test_shows_book_lines(tmp_path):
    (tmp_path / "test_fails.py").write_text(textwrap.dedent("""
        def test_adds_a_string():
            from micrograd.engine import Value
            Value(2.0) + "three"
    """))
    number, origin = raise_line(tangle.tangle(ROOT))
    for style, expected in (("long", f"micrograd/engine.py:{number}: TypeError -> {origin}"),
                            ("native", f'engine.py", line {number}, in _check_number -> {origin}')):
        result = subprocess.run([sys.executable, "-m", "pytest", "-p", "book_tracebacks", "-p", "no:cacheprovider",
                                 f"--tb={style}", "--rootdir", str(tmp_path), str(tmp_path)],
                                capture_output=True, text=True, cwd=ROOT, env=ENV)
        assert result.returncode == 1
        assert expected in result.stdout, result.stdout[-3000:]


def test_the_tests_of_this_repository_load_the_plugin(pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin("book_tracebacks")


def test_a_cell_that_raises_shows_book_lines_in_a_chapters_snapshot(tmp_path):
    chapter = "book/05-backprop.md"
    snapshot = tmp_path / "snapshot"
    tangle.write(snapshot, tangle.tangle(ROOT, through=chapter))
    number, origin = raise_line(tangle.tangle(ROOT, through=chapter))
    driver = textwrap.dedent(f"""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance(colors="nocolor")
        shell.run_cell({chunks.setup_line(ROOT / "book", snapshot, "test")!r})
        result = shell.run_cell({FAILING_CALL!r})
        print("success:", result.success)
        print("figures as PDF too:", shell.display_formatter.formatters["application/pdf"].enabled)
    """)
    result = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, cwd=ROOT / "book")
    assert "success: False" in result.stdout, result.stdout + result.stderr
    assert "figures as PDF too: True" in result.stdout  # the same set-up offers figures to the LaTeX builder
    assert f"File micrograd/engine.py:{number}, in _check_number(x)\n-> {origin}" in result.stdout, result.stdout


def test_ansi_colours_do_not_hide_a_frame_from_the_cells_hook_and_paths_are_shown_in_the_package():
    number, origin = raise_line(tangle.tangle(ROOT))
    entry = "\x1b[36mFile \x1b[39m\x1b[32m{}:{}\x1b[39m, in \x1b[36m_check_number\x1b[39m\ncode"
    shown = book_tracebacks.annotate_ipython([entry.format(ROOT / "book/../micrograd/engine.py", number)])
    assert shown == [entry.format("micrograd/engine.py", number).replace("\n", f"\n-> {origin}\n", 1)]
