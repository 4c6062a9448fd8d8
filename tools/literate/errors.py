"""Every input the tangle tool refuses, one small class each (standard library only).

An error prints as one line, ``book/<chapter>.md:LINE: error: ...``; its class names the
refusal, what the tool stops on and why (appendix B prints them as a table).
"""
from __future__ import annotations

MAX_NESTING = 100  # chunks inside chunks; Python itself stops at 100 levels of indentation


class TangleError(Exception):
    refusal = stops_on = because = ""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: error: {message}")
        self.where, self.message = where, message


class TocError(TangleError):
    refusal, because = "toc", "the table of contents is the tangling order; a guess would reorder the code"
    stops_on = ("`_toc.yml` missing, unreadable, with a glob, or listing a chapter twice or one that "
                "does not exist")


class ConfigError(TangleError):
    refusal, stops_on = "config", "`_config.yml` unreadable or with a wrong Markdown extension setting"
    because = "the tool must parse the chapters with the book's own extensions, or they see different chunks"


class EncodingError(TangleError):
    refusal, stops_on = "encoding", "a chapter that is not UTF-8, or holds a NUL character"
    because = "a byte the parser cannot read, or replaces, may be a character of code"


class UnclosedFence(TangleError):
    refusal, stops_on = "unclosed-fence", "a code fence that is never closed"
    because = "it would run to the end of the chapter and swallow the chunks after it"


class HiddenChunk(TangleError):
    refusal, because = "hidden-chunk", "the book would show it, but the tool reads chunks only at the top level"
    stops_on = ("a chunk inside another directive, a block quote or a list, in a colon fence, "
                "or in reStructuredText")


class ChunkHeader(TangleError):
    refusal, stops_on = "chunk-header", "a chunk without a name, or with an unknown, repeated or malformed option"
    because = "an option read one way by the book and another way by the tool changes the code silently"


class FilePath(TangleError):
    refusal, because = "file-path", "one file, one spelling: `./a.py` and `a.py` would be two roots of one file"
    stops_on = "a file root that is not a normal relative path to a `.py` file inside the repository"


class FileConflict(TangleError):
    refusal, because = "file-conflict", "each generated file has exactly one chunk that says what it holds"
    stops_on = ("two roots for one file (even differing only in case), two files for one chunk, "
                "or a root inside another root's file")


class Undefined(TangleError):
    refusal, because = "undefined", "a misspelled name would silently leave code out"
    stops_on = "a reference to a chunk, or a `:replace:` of a chunk, that is not defined"


class Expansion(TangleError):
    refusal, because = "expansion", "the expansion would never end, or end in a crash"
    stops_on = f"references that form a cycle, or chunks nested more than {MAX_NESTING} deep"


class Cycle(Expansion):
    def __init__(self, where: str, names: list[str], state: str = ""):
        cycle = " -> ".join(f"«{name}»" for name in names)
        super().__init__(where, f"chunk references form a cycle{state}: {cycle}")


class TooDeep(Expansion):
    def __init__(self, where: str, state: str = ""):
        super().__init__(where, f"chunks nest more than {MAX_NESTING} deep here{state}")


class Unused(TangleError):
    refusal, stops_on = "unused", "a chunk that no file root reaches"
    because = "code shown in the book must end up in the package"

    def __init__(self, where: str, name: str):
        super().__init__(where, f"chunk «{name}» is never used: no file root reaches it")


class NotPython(TangleError):
    refusal = "syntax"
    stops_on = "a generated file that is not valid Python, in the package or any chapter's snapshot"
    because = "every chapter's code is imported by its cells and tests; the error is shown at its chapter line"


class Overwrite(TangleError):
    refusal = "overwrite"
    stops_on = "writing over a file edited by hand, a file the book did not generate, a folder or a link"
    because = "that would destroy someone's work; `--force` overwrites generated files anyway"


class NotProduced(TangleError):
    refusal, stops_on = "locate", "`--locate` on a file that is not what the chapters produce"
    because = "a line number in a stale or edited file would point at the wrong chapter line"


class BadArgument(TangleError):
    refusal = "argument"
    stops_on = "a `--through` chapter or `--locate FILE:LINE` that names nothing the book has"
    because = "a guessed chapter or file would give a confident wrong answer"


# refusal -> (what the tool stops on, why): the direct subclasses, in the order above.
REFUSALS = {kind.refusal: (kind.stops_on, kind.because) for kind in TangleError.__subclasses__()}


def refusals_table() -> str:
    """REFUSALS as a Markdown table, for appendix B."""
    rows = ["| the tool stops on | because |", "|---|---|"]
    return "\n".join(rows + [f"| {what} | {why} |" for what, why in REFUSALS.values()])
