"""Writing the generated files safely: planned actions, then atomic writes.

plan_writes() decides everything before a byte is written: it refuses to overwrite a
file edited by hand (its hash no longer matches), a file the book did not generate,
a folder or a link, and finds stale generated files (no root any more) and the
temporary files an interrupted run left. write() then writes each file through a
temporary file and os.replace, so a file is always either old or new, never half.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import re
import secrets
import stat
from pathlib import Path

from .errors import Overwrite
from .expand import HASH_PREFIX, HEADER_FIRST, Tangled, header

LEGACY_HASH_PREFIX = "# sha256 of the lines below: "  # files written before the header was hashed too
TEMPORARY = re.compile(r"^\..+\.py\.[A-Za-z0-9_]{8}\.tmp$")  # write_atomically's temporary files


def generated_status(text: str) -> str:
    """'clean' for an untouched generated file, 'edited' if changed by hand, 'foreign' if not ours."""
    lines = text.split("\n")
    if lines[0] != HEADER_FIRST:
        return "foreign"
    # The hash line closes the header; the lines naming the chapters come before it.
    at = next((i for i, line in enumerate(lines[1:-1], 1) if line.startswith((HASH_PREFIX, LEGACY_HASH_PREFIX))),
              None)
    if at is None:
        return "foreign"
    body = text.split("\n", at + 1)[at + 1]
    if lines[at].startswith(HASH_PREFIX):
        prefix, hashed = HASH_PREFIX, "".join(line + "\n" for line in lines[:at]) + body
    else:  # an older file: only its body was hashed, and its header must be what the tool writes
        prefix, hashed = LEGACY_HASH_PREFIX, body
        chapters = re.fullmatch(r"edit the chunks in (.+), then run `make tangle`\.",
                                " ".join(line[2:].strip() for line in lines[1:at]))
        if chapters is None or header(chapters[1].split(", "), body)[:-1] != lines[:at]:
            return "edited"
    digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
    return "clean" if lines[at] == prefix + digest else "edited"


def _read_generated(path: Path) -> str | None:
    """The text of a regular file that starts with the generated header, else None (never raises)."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        with open(path, "rb") as handle:
            if handle.readline().rstrip(b"\r\n") != HEADER_FIRST.encode():
                return None
            handle.seek(0)
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None


SKIPPED_FOLDERS = {"build", "dist", "node_modules"}  # copies made by packaging tools are not stale sources


def _walk(out: Path):
    """Every regular file under out, skipping links, hidden and _private folders, build output, virtualenvs."""
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError:
        return
    if any(entry.name == "pyvenv.cfg" for entry in entries):
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if not entry.name.startswith((".", "_")) and entry.name not in SKIPPED_FOLDERS:
                yield from _walk(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            yield Path(entry.path)


def stale_files(out: Path, files: dict[str, str]) -> list[str]:
    """Generated files anywhere under out that no file root writes any more."""
    stale = []
    for path in _walk(out):
        rel = path.relative_to(out).as_posix()
        if rel.endswith(".py") and rel not in files and _read_generated(path) is not None:
            stale.append(rel)
    return stale


def leftover_temporaries(out: Path, files: dict[str, str]) -> list[str]:
    """Temporary files that an interrupted write left next to the files it writes."""
    folders = {(out / rel).parent for rel in files} | {(out / rel).parent for rel in stale_files(out, files)}
    found = []
    for folder in sorted(folders):
        if folder.is_dir():
            found += [(folder / name).relative_to(out).as_posix() for name in sorted(os.listdir(folder))
                      if TEMPORARY.match(name) and (folder / name).is_file()]
    return found


def plan_writes(out: Path, tangled: Tangled, force: bool) -> tuple[list[str], list[str]]:
    """What to write and what to remove; refuses to overwrite work done by hand, or anything that is not a file."""
    writes = []
    for rel, text in tangled.files.items():
        target = out / rel
        for folder in reversed(target.relative_to(out).parents[:-1]):
            if (out / folder).exists() and not (out / folder).is_dir():
                raise Overwrite(f"{folder.as_posix()}:1", f"cannot write {rel}: {folder.as_posix()} is a file, "
                                                            "not a folder")
        if target.is_symlink() or (target.exists() and not target.is_file()):
            kind = "a symbolic link" if target.is_symlink() else "not a regular file"
            raise Overwrite(f"{rel}:1", f"{rel} is {kind}; move it away so the tool can write the file")
        if target.exists():
            current = target.read_text(encoding="utf-8", errors="replace")
            if current == text:
                continue
            status = generated_status(current)
            if status != "clean" and not force:
                raise Overwrite(f"{rel}:1", _refusal(rel, status, tangled))
        writes.append(rel)
    removals = []
    for rel in stale_files(out, tangled.files):
        status = generated_status((out / rel).read_text(encoding="utf-8", errors="replace"))
        if status == "edited" and not force:
            raise Overwrite(f"{rel}:1", f"{rel} no longer has a file root in the book but was edited by hand; "
                                          "move the edit into a chapter or delete the file (or use --force)")
        removals.append(rel)
    return writes, removals


def _refusal(rel: str, status: str, tangled: Tangled) -> str:
    chapters = sorted({line.origin.split(":")[0] for line in tangled.lines[rel] if line.origin})
    if status == "edited":
        return (f"{rel} was edited by hand since it was generated; move the edit into the chunk in "
                f"{', '.join(chapters)} (`python tools/tangle.py --locate {rel}:LINE` finds it), "
                "then run `make tangle` (or --force to discard the edit)")
    return f"{rel} exists and was not generated by the book; move it away or use --force to overwrite it"


def write_atomically(target: Path, text: str) -> None:
    """Write through a temporary file in the same folder; the file keeps its mode (a new one gets the umask's)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(text)
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise


def write(out: Path, tangled: Tangled, force: bool = False) -> list[str]:
    """Write the files, remove stale ones (and folders they leave empty) and leftover temporary files."""
    writes, removals = plan_writes(out, tangled, force)
    leftovers = leftover_temporaries(out, tangled.files)
    try:
        for rel in writes:
            write_atomically(out / rel, tangled.files[rel])
        for rel in removals + leftovers:
            (out / rel).unlink()
            folder = (out / rel).parent
            while folder != out and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
    except OSError as err:
        raise Overwrite(f"{Path(err.filename or out).as_posix()}:1", f"cannot write: {err.strerror}") from err
    return writes + [f"{rel} (removed)" for rel in removals + leftovers]


def _on_disk(path: Path) -> str:
    """A file's text for a diff ('' when it is missing or not a regular file)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace") if stat.S_ISREG(path.lstat().st_mode) else ""
    except OSError:
        return ""


def check(out: Path, tangled: Tangled) -> str:
    """A unified diff between the files on disk and a fresh tangle ('' if none)."""
    diff = []
    for rel, text in sorted(tangled.files.items()):
        current = _on_disk(out / rel)
        if current != text:
            diff += difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                         f"{rel} (on disk)", f"{rel} (from the book)")
    for rel in stale_files(out, tangled.files):
        diff += difflib.unified_diff(_on_disk(out / rel).splitlines(True), [], f"{rel} (on disk)",
                                     f"{rel} (no longer in the book)")
    for rel in leftover_temporaries(out, tangled.files):
        diff.append(f"{rel}: a temporary file left by an interrupted run (`make tangle` removes it)\n")
    return "".join(diff)
