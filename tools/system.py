#!/usr/bin/env python3
"""Install the Debian packages that `make test` or `make book` needs, and only those that are missing.

Each command (or font) the build needs is an entry of NEEDS; apt is asked only for the packages
of the missing ones (Debian's `npm` conflicts with NodeSource's `nodejs`, which brings npm).
As root: a simulated install first, then one line saying what, how big and why, then the
install (apt-get's own error lines on failure). Otherwise: the exact command, exit status 1.
Standard library only: this runs before the virtualenv exists. With SETUP_RECORD naming a file,
each run appends `TARGET MB COUNT PACKAGE...`, which `summary` turns into the line CI prints.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Need:
    packages: tuple[str, ...]  # the Debian packages that provide the command (or font)
    why: str
    font: bool = False  # the name is a font family, looked up with fc-list, not a command


NEEDS = {
    "dot": Need(("graphviz",), "graphviz to draw the graphs"),
    "chromium": Need(("chromium",), "Chromium for the reader-level checks of the site"),
    # See README.md, on the PDF: these packages, not texlive-fonts-extra (1.4 GB).
    "xelatex": Need(("texlive-xetex", "texlive-latex-recommended", "texlive-latex-extra",
                     "texlive-fonts-recommended"), "TeX Live for the PDF"),
    "latexmk": Need(("latexmk",), "latexmk to run TeX"),
    "pdftotext": Need(("poppler-utils",), "poppler to check the PDF"),
    "pdfinfo": Need(("poppler-utils",), "poppler to check the PDF"),
    "npm": Need(("npm",), "npm to fetch MathJax"),
    # The PDF's fonts (_config.yml): they are no commands, so fc-list says whether they are there.
    "TeX Gyre Pagella": Need(("fonts-texgyre",), "the PDF's text font", font=True),
    "TeX Gyre Pagella Math": Need(("fonts-texgyre-math",), "the PDF's math font", font=True),
    "DejaVu Sans Mono": Need(("fonts-dejavu-core",), "the code font of the PDF and of the browser's checks",
                             font=True),
}
COMMANDS = {
    "test": ["dot", "chromium", "DejaVu Sans Mono"],  # a browser without fonts measures no text
    "book": ["dot", "chromium", "xelatex", "latexmk", "pdftotext", "pdfinfo",
             "TeX Gyre Pagella", "TeX Gyre Pagella Math", "DejaVu Sans Mono", "npm"],
}
INSTALL = ["install", "--no-install-recommends"]


def missing_commands(commands: list[str]) -> list[str]:
    return [command for command in commands if not is_present(command)]


def is_present(name: str) -> bool:
    """A command on PATH, or a font fontconfig knows (none without fc-list)."""
    if not NEEDS[name].font:
        return shutil.which(name) is not None
    return shutil.which("fc-list") is not None and subprocess.run(["fc-list", "-q", name]).returncode == 0


def packages_for(missing: list[str]) -> list[str]:
    """The Debian packages that provide the missing commands, each once, in their order."""
    return list(dict.fromkeys(package for command in missing for package in NEEDS[command].packages))


def reasons(missing: list[str]) -> str:
    """'TeX Live for the PDF (xelatex), poppler to check the PDF (pdftotext, pdfinfo)'."""
    commands_for: dict[str, list[str]] = {}
    for command in missing:
        commands_for.setdefault(NEEDS[command].why, []).append(command)
    return ", ".join(f"{why} ({', '.join(commands)})" for why, commands in commands_for.items())


def apt(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, env=env)


def apt_errors(result: subprocess.CompletedProcess) -> str:
    """What apt-get said about its failure, without its progress lines."""
    noise = re.compile(r"^(Reading|Building|Get:|Hit:|Ign:|Fetched|NOTE: This is only a simulation|\s*$)")
    lines = (result.stdout + result.stderr).splitlines()
    return "\n".join(line for line in lines if not noise.match(line))


def new_packages(simulation: str) -> list[str]:
    """The packages an `apt-get install --simulate` would newly install or upgrade ("Inst" lines)."""
    return re.findall(r"^Inst (\S+)", simulation, flags=re.MULTILINE)


def record(target: str, size_mb: int, count: int, packages: list[str]) -> None:
    if os.environ.get("SETUP_RECORD"):
        with open(os.environ["SETUP_RECORD"], "a", encoding="utf-8") as file:
            print(target, size_mb, count, *packages, file=file)


def summary(lines: list[str]) -> str:
    """'set-up installed: graphviz, chromium (412 MB in 31 Debian packages)', from the record's lines."""
    asked, size_mb, count = [], 0, 0
    for line in lines:
        _target, mb, new, *packages = line.split()
        asked, size_mb, count = asked + packages, size_mb + int(mb), count + int(new)
    if not asked:
        return "set-up installed: nothing (all present)"
    return f"set-up installed: {', '.join(asked)} ({size_mb} MB in {count} Debian package{'s' * (count != 1)})"


def install(target: str, missing: list[str]) -> int:
    """As root: apt-get update, a simulated install, one line saying what and why, the install."""
    packages = packages_for(missing)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done: list[subprocess.CompletedProcess] = []
    for args in (["update", "-qq"], [*INSTALL, "--simulate", *packages], [*INSTALL, "-y", "-qq", *packages]):
        if len(done) == 2:  # simulated: say what it installs, how big (Installed-Size, in KiB), and why
            new = new_packages(done[1].stdout)
            shown = subprocess.run(["apt-cache", "show", "--no-all-versions", *new], capture_output=True, text=True)
            size_mb = round(sum(map(int, re.findall(r"^Installed-Size: (\d+)", shown.stdout, flags=re.M))) / 1024)
            print(f"installing {reasons(missing)}: {len(new)} Debian packages, about {size_mb} MB", flush=True)
        done.append(apt(*args, env=env))
        if done[-1].returncode != 0:
            print(f"apt-get {args[0]} failed (exit status {done[-1].returncode}):\n{apt_errors(done[-1])}",
                  file=sys.stderr)
            return done[-1].returncode
    record(target, size_mb, len(new), packages)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install the Debian packages the build needs, if missing.")
    parser.add_argument("target", choices=[*sorted(COMMANDS), "summary"],
                        help="the packages `make test` or `make book` needs (`make system`), or summary: what the "
                             "runs recorded in SETUP_RECORD installed")
    args = parser.parse_args(argv)
    if args.target == "summary":
        record_file = os.environ.get("SETUP_RECORD", "")
        if not os.path.isfile(record_file):
            print(f"tools/system.py: summary: SETUP_RECORD={record_file!r} names no file; "
                  "set it before `make test` and `make book`", file=sys.stderr)
            return 2
        print(summary(Path(record_file).read_text(encoding="utf-8").splitlines()))
        return 0
    missing = missing_commands(COMMANDS[args.target])
    if not missing:
        record(args.target, 0, 0, [])
        return 0
    if os.geteuid() != 0:
        print(f"missing: {', '.join(missing)}. Run: sudo apt-get {' '.join(INSTALL)} "
              f"{' '.join(packages_for(missing))}", file=sys.stderr)
        return 1
    return install(args.target, missing)


if __name__ == "__main__":
    sys.exit(main())
