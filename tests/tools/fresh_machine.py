"""A fresh Debian machine, simulated on this one: nothing that tools/system.py looks for is there.

What system.py looks for is taken from system.NEEDS, commands and fonts alike:

- PATH is one folder of links to this machine's commands, less those commands;
- FONTCONFIG_FILE names a configuration with a cache folder of its own and one font
  folder, empty, so fontconfig (fc-list, Graphviz, Chromium) knows no font at all;
- apt-get answers as it would where the packages system.py asks for are not
  installed: `update` does nothing, and every other call runs with --simulate
  against a copy of dpkg's status without those packages. Each call's arguments
  are logged, one line each.

A command named in `keep` stays (a stub where this machine lacks it), for example
npm, which Node.js from NodeSource brings along; a font named there stays too (its
files are linked into the font folder). To run a command on it, say on a fresh
machine with NodeSource's npm once `make test` has set up what it needs:

    python3 tests/tools/fresh_machine.py -- make test
    python3 tests/tools/fresh_machine.py --keep "npm,dot,chromium,DejaVu Sans Mono" -- make test
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import system  # noqa: E402  (tools/system.py; pytest puts tools/ on the path, a script does not)

DPKG_STATUS = Path("/var/lib/dpkg/status")
APT_STATES = Path("/var/lib/apt/extended_states")
FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig><dir>{fonts}</dir><cachedir>{cache}</cachedir></fontconfig>
"""


@dataclass
class FreshMachine:
    env: dict[str, str]  # the variables that make the simulation: PATH, FONTCONFIG_FILE
    hidden: list[str]  # the names of system.NEEDS that are missing here
    apt_log: Path  # one line per apt-get call: its arguments


def simulate(folder: Path, keep: list[str] = ()) -> FreshMachine:
    """Write the simulated machine into folder."""
    unknown = [name for name in keep if name not in system.NEEDS]
    if unknown:
        raise ValueError(f"tests/tools/fresh_machine.py: can keep only what system.NEEDS names, not {unknown}")
    hidden = [name for name in system.NEEDS if name not in keep]
    bin_dir, log = folder / "bin", folder / "apt-get.log"
    bin_dir.mkdir()
    for directory in reversed(os.environ["PATH"].split(os.pathsep)):  # the first on PATH wins
        for command in Path(directory).glob("*") if Path(directory).is_dir() else []:
            if command.name not in hidden and os.access(command, os.X_OK) and not command.is_dir():
                (bin_dir / command.name).unlink(missing_ok=True)
                (bin_dir / command.name).symlink_to(command)
    (folder / "fonts").mkdir()
    for name in keep:
        if system.NEEDS[name].font:
            link_font_files(name, folder / "fonts")
        elif not (bin_dir / name).exists():
            write_script(bin_dir / name, "exit 0")
    status = folder / "dpkg-status"
    auto = auto_installed(APT_STATES.read_text(encoding="utf-8")) if APT_STATES.exists() else set()
    status.write_text(without_packages(DPKG_STATUS.read_text(encoding="utf-8"), system.packages_for(hidden), auto),
                      encoding="utf-8")
    real_apt_get = shutil.which("apt-get")
    (bin_dir / "apt-get").unlink(missing_ok=True)
    if real_apt_get:
        write_script(bin_dir / "apt-get",
                     f'echo "$*" >> "{log}"\n'
                     'if [ "$1" = update ]; then exit 0; fi\n'
                     f'exec "{real_apt_get}" --simulate -o Dir::State::status="{status}" "$@"')
    (folder / "fontconfig-cache").mkdir()
    fonts_conf = folder / "fonts.conf"
    fonts_conf.write_text(FONTCONFIG.format(fonts=folder / "fonts", cache=folder / "fontconfig-cache"),
                          encoding="utf-8")
    return FreshMachine({"PATH": str(bin_dir), "FONTCONFIG_FILE": str(fonts_conf)}, hidden, log)


def link_font_files(family: str, folder: Path) -> None:
    """Links in folder to the files of this machine's font family, as fontconfig lists them."""
    files = subprocess.run(["fc-list", "-f", "%{file}\n", family], capture_output=True, text=True).stdout.splitlines()
    if not files:
        raise ValueError(f"tests/tools/fresh_machine.py: cannot keep the font {family!r}, this machine lacks it")
    for file in files:
        (folder / Path(file).name).unlink(missing_ok=True)
        (folder / Path(file).name).symlink_to(file)


def write_script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def without_packages(status: str, packages: list[str], auto_installed: set[str] = frozenset()) -> str:
    """dpkg's status as on a machine that never had these packages: without them, without every package
    that depends on one of them, and without what was installed only for them (auto-installed, and no
    package left depends on it). Essential and required packages stay."""
    entries = [(re.match(r"Package: (\S+)", entry)[1], entry) for entry in status.split("\n\n") if entry.strip()]
    removed, grew = set(packages), True
    while grew:
        left = [(name, entry) for name, entry in entries if name not in removed]
        present = {name for name, _ in left} | {virtual for _, entry in left for virtual in field(entry, "Provides")}
        wanted = {alternative for _, entry in left for clause in depends(entry) for alternative in clause}
        dependents = {name for name, entry in left if any(not set(clause) & present for clause in depends(entry))}
        orphans = {name for name, entry in left if name in auto_installed and name not in wanted
                   and not set(field(entry, "Provides")) & wanted
                   and not re.search(r"^(Essential: yes|Priority: required)$", entry, flags=re.MULTILINE)}
        removed, grew = removed | dependents | orphans, bool(dependents | orphans)
    return "\n\n".join(entry for name, entry in entries if name not in removed) + "\n"


def auto_installed(extended_states: str) -> set[str]:
    """The packages apt marked as installed only as another's dependency (apt's extended_states)."""
    return {re.match(r"Package: (\S+)", entry)[1] for entry in extended_states.split("\n\n")
            if re.search(r"^Auto-Installed: 1$", entry, flags=re.MULTILINE)}


def field(entry: str, name: str) -> list[str]:
    """The package names a field lists, without versions and architectures: 'a (>= 1), b:any' -> [a, b]."""
    found = re.search(rf"^{name}: (.*(?:\n .*)*)", entry, flags=re.MULTILINE)
    return [item.split()[0].split(":")[0] for item in re.split(r"[,|]", found[1]) if item.strip()] if found else []


def depends(entry: str) -> list[list[str]]:
    """The entry's dependencies, each a list of alternatives ('a | b'): one of them is enough."""
    clauses = []
    for name in ("Pre-Depends", "Depends"):
        found = re.search(rf"^{name}: (.*(?:\n .*)*)", entry, flags=re.MULTILINE)
        for clause in found[1].split(",") if found else []:
            clauses.append([alternative.split()[0].split(":")[0] for alternative in clause.split("|")])
    return clauses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a command on a simulated fresh Debian machine.")
    parser.add_argument("--keep", default="", help="commands that stay, comma-separated (e.g. npm)")
    parser.add_argument("command", nargs="+", help="the command to run, after --")
    args = parser.parse_args(argv)
    keep = [name for name in args.keep.split(",") if name]
    with tempfile.TemporaryDirectory() as folder:
        machine = simulate(Path(folder), keep)
        fonts = [name for name in keep if system.NEEDS[name].font] or ["none"]
        print(f"fresh machine: missing {', '.join(machine.hidden)}; fonts fontconfig knows: {', '.join(fonts)} "
              "(FONTCONFIG_FILE); apt-get simulates", file=sys.stderr, flush=True)
        result = subprocess.run(args.command, env=dict(os.environ, **machine.env))
        calls = machine.apt_log.read_text().splitlines() if machine.apt_log.exists() else []
        print(f"fresh machine: apt-get was called {len(calls)} times" + "".join(f"\n  apt-get {c}" for c in calls),
              file=sys.stderr)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
