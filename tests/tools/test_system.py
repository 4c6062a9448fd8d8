"""tools/system.py: which Debian packages a machine needs, and installing them on a fresh one.

A fresh machine is simulated (fresh_machine.py): every command and font that
system.py looks for is hidden, fonts through an empty fontconfig, and apt-get only
simulates, as if none of the packages system.py asks for were installed.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fresh_machine import simulate  # tests/tools/fresh_machine.py

import system

ROOT = Path(__file__).resolve().parents[2]
TEX_AND_POPPLER = ["texlive-xetex", "texlive-latex-recommended", "texlive-latex-extra",
                   "texlive-fonts-recommended", "latexmk", "poppler-utils"]


def test_tex_and_poppler_missing_with_npm_present_asks_for_tex_and_poppler_only():
    # The case that broke `make book`: Debian's npm conflicts with NodeSource's nodejs.
    missing = ["xelatex", "latexmk", "pdftotext", "pdfinfo"]
    assert system.packages_for(missing) == TEX_AND_POPPLER


def test_each_package_once_and_npm_only_when_its_command_is_missing():
    assert system.packages_for([]) == []
    assert system.packages_for(["pdfinfo", "pdftotext"]) == ["poppler-utils"]
    assert system.packages_for(["dot", "npm"]) == ["graphviz", "npm"]
    assert "npm" not in system.packages_for(system.COMMANDS["book"][:-1])


def test_the_line_says_what_and_why():
    assert system.reasons(["pdftotext", "pdfinfo", "xelatex"]) == (
        "poppler to check the PDF (pdftotext, pdfinfo), TeX Live for the PDF (xelatex)")


def test_apt_errors_keep_what_apt_said_and_drop_its_progress():
    said = subprocess.CompletedProcess([], 100, "Reading package lists...\nThe following packages have unmet "
                                       "dependencies:\n nodejs : Conflicts: npm\n",
                                       "E: Unable to correct problems, you have held broken packages.\n")
    assert system.apt_errors(said) == ("The following packages have unmet dependencies:\n nodejs : Conflicts: npm\n"
                                       "E: Unable to correct problems, you have held broken packages.")


def test_new_packages_are_read_from_the_simulation():
    simulation = "NOTE: This is only a simulation!\nInst sl (5.02-1 Debian:12)\nConf sl (5.02-1 Debian:12)\n"
    assert system.new_packages(simulation) == ["sl"]


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """A fresh Debian with Node.js from NodeSource, whose npm is there (see fresh_machine.py)."""
    if shutil.which("apt-get") is None:
        pytest.fail("the simulation of a fresh Debian needs apt-get, to simulate the install: not a Debian machine")
    machine = simulate(tmp_path, keep=["npm"])
    for name, value in machine.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SETUP_RECORD", str(tmp_path / "setup.log"))
    return machine


def test_a_fresh_machine_misses_everything_the_set_up_looks_for_fonts_too(fresh_machine):
    assert fresh_machine.hidden == [name for name in system.NEEDS if name != "npm"]
    assert system.missing_commands(list(system.NEEDS)) == fresh_machine.hidden
    assert all(shutil.which(name) is None for name in fresh_machine.hidden)
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True)  # fc-list itself is still there
    assert fonts.returncode == 0 and fonts.stdout == ""


def test_as_root_on_a_fresh_machine_it_installs_without_conflicts_says_what_and_records_it(
        fresh_machine, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert system.main(["book"]) == 0  # apt-get's (simulated) install succeeded: no conflicts
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("installing graphviz to draw the graphs (dot), Chromium")
    assert "TeX Live for the PDF (xelatex)" in out[0] and "poppler to check the PDF (pdftotext, pdfinfo)" in out[0]
    assert "the PDF's text font (TeX Gyre Pagella)" in out[0]
    count, size_mb = re.search(r": (\d+) Debian packages, about (\d+) MB$", out[0]).groups()
    calls = fresh_machine.apt_log.read_text().splitlines()
    assert calls[0] == "update -qq" and len(calls) == 3
    installed = calls[2].split()
    assert installed[:2] == ["install", "--no-install-recommends"] and "npm" not in installed
    assert set(installed) >= {"graphviz", "chromium", *TEX_AND_POPPLER, "fonts-texgyre", "fonts-dejavu-core"}
    # the record .ci/run reads: the packages asked for, and the size and count the line gave
    target, recorded_mb, recorded_count, *asked = (fresh_machine.apt_log.parent / "setup.log").read_text().split()
    assert (target, recorded_mb, recorded_count) == ("book", size_mb, count) and asked == installed[4:]
    assert int(count) >= len(asked) and int(size_mb) > 0


def test_not_root_one_line_with_the_exact_command_and_a_failure(fresh_machine, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert system.main(["test"]) == 1
    err = capsys.readouterr().err
    assert err == ("missing: dot, chromium, DejaVu Sans Mono. "
                   "Run: sudo apt-get install --no-install-recommends graphviz chromium fonts-dejavu-core\n")
    assert system.main(["book"]) == 1
    assert capsys.readouterr().err == (
        "missing: dot, chromium, xelatex, latexmk, pdftotext, pdfinfo, TeX Gyre Pagella, TeX Gyre Pagella Math, "
        "DejaVu Sans Mono. Run: sudo apt-get install --no-install-recommends graphviz chromium texlive-xetex "
        "texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended latexmk poppler-utils "
        "fonts-texgyre fonts-texgyre-math fonts-dejavu-core\n")
    assert not fresh_machine.apt_log.exists()  # apt-get was not called
    assert not (fresh_machine.apt_log.parent / "setup.log").exists()  # nothing installed, nothing recorded


def test_without_node_js_npm_is_missing_and_debian_s_npm_is_asked_for(tmp_path, monkeypatch):
    machine = simulate(tmp_path)
    monkeypatch.setenv("PATH", machine.env["PATH"])
    assert machine.hidden == list(system.NEEDS)
    assert system.missing_commands(["dot", "npm"]) == ["dot", "npm"]
    assert system.packages_for(["dot", "npm"]) == ["graphviz", "npm"]


def test_fonts_fontconfig_does_not_know_are_missing_and_name_their_packages(tmp_path, monkeypatch):
    (tmp_path / "fc-list").write_text('#!/bin/sh\n[ "$2" = "DejaVu Sans Mono" ]\n')  # knows only this font
    (tmp_path / "fc-list").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    fonts = ["TeX Gyre Pagella", "TeX Gyre Pagella Math", "DejaVu Sans Mono"]
    assert system.missing_commands(fonts) == fonts[:2]
    assert system.packages_for(fonts[:2]) == ["fonts-texgyre", "fonts-texgyre-math"]
    (tmp_path / "fc-list").unlink()  # no fontconfig at all: every font is missing
    assert system.missing_commands(fonts) == fonts


def test_when_apt_fails_its_own_error_lines_are_shown(tmp_path, monkeypatch, capsys):
    (tmp_path / "apt-get").write_text("#!/bin/sh\necho 'Reading package lists...'\n"
                                      "echo 'E: Unable to locate package texlive-xetex' >&2\nexit 100\n")
    (tmp_path / "apt-get").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))  # and no xelatex there
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert system.main(["book"]) == 100
    err = capsys.readouterr().err
    assert err == "apt-get update failed (exit status 100):\nE: Unable to locate package texlive-xetex\n"


def test_nothing_missing_nothing_done(tmp_path, monkeypatch, capsys):
    for command in [*system.COMMANDS["book"], "fc-list"]:
        (tmp_path / command).write_text("#!/bin/sh\n")  # fc-list -q: exit status 0, the font is there
        (tmp_path / command).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get: calling it would fail
    monkeypatch.setenv("SETUP_RECORD", str(tmp_path / "setup.log"))
    assert system.main(["book"]) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "setup.log").read_text() == "book 0 0\n"


def test_make_system_runs_it(tmp_path):
    # `make system` runs tools/system.py for the book; here everything is present (what it installs on a
    # fresh machine is simulated above), so it installs nothing and records so
    for command in [*system.COMMANDS["book"], "fc-list"]:
        (tmp_path / command).write_text("#!/bin/sh\n")
        (tmp_path / command).chmod(0o755)
    env = dict(os.environ, PATH=str(tmp_path), SETUP_RECORD=str(tmp_path / "setup.log"))
    result = subprocess.run([shutil.which("make"), "-s", "system", f"PYTHON={sys.executable}"],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "setup.log").read_text() == "book 0 0\n"


def test_the_summary_adds_up_what_each_run_recorded():
    lines = ["test 120 12 graphviz chromium", "book 243 19 texlive-xetex latexmk"]
    assert system.summary(lines) == ("set-up installed: graphviz, chromium, texlive-xetex, latexmk "
                                     "(363 MB in 31 Debian packages)")
    assert system.summary(["test 0 0", "book 0 0"]) == "set-up installed: nothing (all present)"


def summary_of(record: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["python3", "tools/system.py", "summary"], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, SETUP_RECORD=str(record)))


def test_ci_records_the_set_up_and_prints_what_it_installed(tmp_path):
    ci = (ROOT / ".ci/run").read_text()
    assert ci.index("export SETUP_RECORD=") < ci.index("make test") < ci.index("python3 tools/system.py summary")
    (tmp_path / "setup.log").write_text("test 0 0\nbook 2 1 latexmk\n")
    assert summary_of(tmp_path / "setup.log").stdout == "set-up installed: latexmk (2 MB in 1 Debian package)\n"
    result = summary_of(tmp_path / "nothing-here")
    assert result.returncode == 2 and "SETUP_RECORD" in result.stderr and "names no file" in result.stderr
