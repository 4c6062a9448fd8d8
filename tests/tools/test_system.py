"""tools/system.py: which Debian packages a machine needs, and installing them on a fresh one.

A fresh machine is simulated: a PATH of links to every command of this one except
those hidden (TeX, poppler, graphviz, Chromium), with npm present (as Node.js
from NodeSource brings it), and an apt-get that only simulates.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import system

ROOT = Path(__file__).resolve().parents[2]
FRESH_MACHINE_LACKS = ["xelatex", "latexmk", "pdftotext", "pdfinfo", "dot", "chromium"]
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
    """PATH: this machine's commands minus FRESH_MACHINE_LACKS, npm present, apt-get simulating.

    Returns the file where the fake apt-get logs each call's arguments.
    """
    real_apt_get = shutil.which("apt-get")
    if real_apt_get is None:
        pytest.skip("not a Debian machine: no apt-get")
    bin_dir, log = tmp_path / "bin", tmp_path / "apt-get.log"
    bin_dir.mkdir()
    for folder in reversed(os.environ["PATH"].split(os.pathsep)):  # the first on PATH wins
        for command in Path(folder).glob("*") if Path(folder).is_dir() else []:
            if command.name not in FRESH_MACHINE_LACKS and os.access(command, os.X_OK):
                link = bin_dir / command.name
                link.unlink(missing_ok=True)
                link.symlink_to(command)
    (bin_dir / "npm").unlink(missing_ok=True)
    (bin_dir / "npm").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "apt-get").unlink()
    (bin_dir / "apt-get").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'if [ "$1" = update ]; then exit 0; fi\n'
        f'PATH="{os.environ["PATH"]}" exec "{real_apt_get}" "$@" --simulate\n')
    for fake in ("npm", "apt-get"):
        (bin_dir / fake).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return log


def test_a_fresh_machine_misses_exactly_the_hidden_commands(fresh_machine):
    assert system.missing_commands(system.COMMANDS["book"]) == ["dot", "chromium", "xelatex", "latexmk",
                                                                "pdftotext", "pdfinfo"]


def test_the_packages_for_a_fresh_machine_install_without_conflicts(fresh_machine):
    packages = system.packages_for(system.missing_commands(system.COMMANDS["book"]))
    assert "npm" not in packages
    result = system.apt("install", "--no-install-recommends", "--simulate", *packages)
    assert result.returncode == 0, system.apt_errors(result)


def test_as_root_on_a_fresh_machine_it_says_what_then_installs(fresh_machine, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert system.main(["book"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("installing graphviz to draw the graphs (dot), Chromium")
    assert "TeX Live for the PDF (xelatex)" in out[0] and "poppler to check the PDF (pdftotext, pdfinfo)" in out[0]
    assert out[0].endswith(" MB") and "Debian packages, about" in out[0]
    calls = fresh_machine.read_text().splitlines()
    assert calls[0] == "update -qq" and len(calls) == 3
    installed = calls[2].split()
    assert installed[:2] == ["install", "--no-install-recommends"] and "npm" not in installed
    assert set(installed) >= {"graphviz", "chromium", *TEX_AND_POPPLER}


def test_not_root_one_line_with_the_exact_command_and_a_failure(fresh_machine, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert system.main(["test"]) == 1
    err = capsys.readouterr().err
    assert err == "missing: dot chromium. Run: sudo apt-get install --no-install-recommends graphviz chromium\n"
    assert not fresh_machine.exists()  # apt-get was not called


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
    assert system.main(["book"]) == 0
    assert capsys.readouterr() == ("", "")


def test_make_system_runs_it(fresh_machine):
    result = subprocess.run(["make", "-s", "system"], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ), timeout=600)
    # as root it installs (here: simulates); otherwise it names the command to run
    if os.geteuid() == 0:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("installing graphviz to draw the graphs (dot)")
    else:
        assert result.returncode != 0 and "Run: sudo apt-get install" in result.stderr
