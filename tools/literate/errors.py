"""Every input the tangle tool refuses, one small class each (standard library only).

An error prints as one line, ``book/<chapter>.md:LINE: error: ...``; its class names the refusal,
what the tool stops on and why (REFUSALS, which appendix B prints as a table).
"""
from __future__ import annotations

MAX_NESTING = 100  # chunks inside chunks; Python itself stops at 100 levels of indentation
REFUSALS: dict[str, tuple[str, str]] = {}  # refusal -> (what the tool stops on, why), in the order below


class TangleError(Exception):
    refusal = stops_on = because = ""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: error: {message}")
        self.where, self.message = where, message


def refusal(name: str, kind: str, stops_on: str, because: str) -> type[TangleError]:
    """The class of one refusal, listed in REFUSALS."""
    REFUSALS[kind] = (stops_on, because)
    return type(name, (TangleError,), {"refusal": kind, "stops_on": stops_on, "because": because,
                                       "__module__": __name__})


TocError = refusal("TocError", "toc", "`_toc.yml` missing, unreadable, with a glob, or listing a chapter twice or "
                   "one that does not exist", "the table of contents is the tangling order; a guess would reorder "
                   "the code")
ConfigError = refusal("ConfigError", "config", "`_config.yml` unreadable or with a wrong Markdown extension setting",
                      "the tool must parse the chapters with the book's own extensions, or they see different chunks")
EncodingError = refusal("EncodingError", "encoding", "a chapter that is not UTF-8, or holds a NUL character",
                        "a byte the parser cannot read, or replaces, may be a character of code")
UnclosedFence = refusal("UnclosedFence", "unclosed-fence", "a code fence that is never closed",
                        "it would run to the end of the chapter and swallow the chunks after it")
HiddenChunk = refusal("HiddenChunk", "hidden-chunk", "a chunk inside another directive, a block quote or a list, "
                      "in a colon fence, or in reStructuredText",
                      "the book would show it, but the tool reads chunks only at the top level")
ChunkHeader = refusal("ChunkHeader", "chunk-header", "a chunk without a name, or with an unknown, repeated or "
                      "malformed option", "an option read one way by the book and another way by the tool changes "
                      "the code silently")
FilePath = refusal("FilePath", "file-path", "a file root that is not a normal relative path to a `.py` file inside "
                   "the repository", "one file, one spelling: `./a.py` and `a.py` would be two roots of one file")
FileConflict = refusal("FileConflict", "file-conflict", "two roots for one file (even differing only in case), two "
                       "files for one chunk, or a root inside another root's file",
                       "each generated file has exactly one chunk that says what it holds")
Undefined = refusal("Undefined", "undefined", "a reference to a chunk, or a `:replace:` of a chunk, that is not "
                    "defined", "a misspelled name would silently leave code out")
Expansion = refusal("Expansion", "expansion", f"references that form a cycle, or chunks nested more than "
                    f"{MAX_NESTING} deep", "the expansion would never end, or end in a crash")
Unused = refusal("Unused", "unused", "a chunk that no file root reaches", "code shown in the book must end up in "
                 "the package")
NotPython = refusal("NotPython", "syntax", "a generated file that is not valid Python, in the package or any "
                    "chapter's snapshot", "every chapter's code is imported by its cells and tests; the error is "
                    "shown at its chapter line")
Overwrite = refusal("Overwrite", "overwrite", "writing over a file edited by hand, a file the book did not "
                    "generate, a folder or a link", "that would destroy someone's work; `--force` overwrites "
                    "generated files anyway")
NotProduced = refusal("NotProduced", "locate", "`--locate` on a file that is not what the chapters produce",
                      "a line number in a stale or edited file would point at the wrong chapter line")
BadArgument = refusal("BadArgument", "argument", "a `--through` chapter or `--locate FILE:LINE` that names nothing "
                      "the book has", "a guessed chapter or file would give a confident wrong answer")


def refusals_table() -> str:
    """REFUSALS as a Markdown table, for appendix B."""
    rows = ["| the tool stops on | because |", "|---|---|"]
    return "\n".join(rows + [f"| {what} | {why} |" for what, why in REFUSALS.values()])
