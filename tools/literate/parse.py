"""Parsing: the chapters' ``{chunk}`` blocks, in _toc.yml's order, read as the book's MyST parser reads them;
any chunk the book would show but a top-level reading would miss is refused."""
from __future__ import annotations

import posixpath
import re
from itertools import pairwise
from pathlib import Path

import yaml
from docutils.parsers.rst import Directive, directives
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.directives import parse_directive_text
from myst_parser.parsers.mdit import create_md_parser

from .errors import ChunkHeader, ConfigError, EncodingError, HiddenChunk, TangleError, TocError, UnclosedFence
from .graph import Block

# Directives whose content is literal text (code, math), never Markdown that could hold a chunk.
LITERAL_DIRECTIVES = {"code-cell", "code-block", "code", "sourcecode", "literalinclude", "raw", "math",
                      "glue", "glue:figure", "mermaid", "csv-table", "highlight"}


class ChunkOptions(Directive):  # what a chunk accepts; the book's directive shares it
    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {"file": directives.unchanged_required, "replace": directives.flag}


def decode(data: bytes, name: str, error: type[TangleError]) -> str:
    """UTF-8 text (a leading byte-order mark dropped, as Sphinx does), or a located error."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise error(f"{name}:{line}", f"not valid UTF-8 (byte 0x{data[err.start]:02x})") from err


def _read_yaml(root: Path, name: str, error: type[TangleError]):
    text = decode((root / name).read_bytes(), name, error)
    try:
        return yaml.compose(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise error(f"{name}:{line}", f"not valid YAML: {getattr(err, 'problem', None) or err}") from err


def read_toc(root: Path) -> list[str]:
    """The chapters in _toc.yml, in reading order, as paths relative to root."""
    if not (root / "_toc.yml").is_file():
        raise TocError("_toc.yml:1", "the table of contents _toc.yml does not exist")
    tree = _read_yaml(root, "_toc.yml", TocError)
    if not isinstance(tree, yaml.MappingNode):
        raise TocError("_toc.yml:1", "the table of contents must be a mapping with a root: entry")
    chapters: list[str] = []
    for entry, line in _toc_entries(tree):
        chapter = entry if entry.endswith(".md") else entry + ".md"
        if not (root / chapter).is_file():
            raise TocError(f"_toc.yml:{line}", f"chapter {chapter} does not exist")
        if chapter in chapters:
            raise TocError(f"_toc.yml:{line}", f"chapter {chapter} is listed twice")
        chapters.append(chapter)
    if not chapters:
        raise TocError("_toc.yml:1", "the table of contents lists no chapter (no root: entry)")
    return chapters


def _toc_entries(node):  # (file, line) of every root: and file: entry, in document order
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            line = key.start_mark.line + 1
            if key.value == "glob":
                raise TocError(f"_toc.yml:{line}", "glob: entries are not read by tools/tangle.py; "
                                                   "list each chapter with file:")
            if key.value in ("root", "file"):
                if not isinstance(value, yaml.ScalarNode) or not value.value:
                    raise TocError(f"_toc.yml:{line}", f"{key.value}: must name one chapter")
                yield posixpath.normpath(value.value), value.start_mark.line + 1
            else:
                yield from _toc_entries(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _toc_entries(item)


def markdown_parser(root: Path):
    """markdown-it configured as the book's myst-parser is (same extensions)."""
    extensions: list[str] = []
    line = 1
    if (root / "_config.yml").exists():
        tree = _read_yaml(root, "_config.yml", ConfigError)
        node, line = _setting(tree, "parse", "myst_enable_extensions")
        if node is not None:
            extensions = yaml.safe_load(yaml.serialize(node)) or []
            if not isinstance(extensions, list) or not all(isinstance(e, str) for e in extensions):
                raise ConfigError(f"_config.yml:{line}", "parse.myst_enable_extensions must be a list of names")
    extensions = [e for e in extensions if e != "linkify"]  # no effect on block structure
    try:
        config = MdParserConfig(enable_extensions=extensions)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"_config.yml:{line}", f"parse.myst_enable_extensions: {err}") from err
    return create_md_parser(config, RendererHTML)


def _setting(tree, *keys):
    """The YAML node at tree[keys[0]][keys[1]]... (or None) and the line to report."""
    node, line = tree, 1
    for key in keys:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~")):
            return None, line
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(f"_config.yml:{line}", f"expected a mapping with the key {key}:")
        found = [(k, v) for k, v in node.value if k.value == key]
        if not found:
            return None, line
        node, line = found[-1][1], found[-1][0].start_mark.line + 1
    return node, line


def read_chapter(root: Path, chapter: str) -> str:
    text = decode((root / chapter).read_bytes(), chapter, EncodingError)
    if "\0" in text:  # markdown-it would turn it into U+FFFD, silently
        line = text[: text.index("\0")].count("\n") + 1
        raise EncodingError(f"{chapter}:{line}", "a NUL character (byte 0x00)")
    return text


def directive_of(info: str) -> tuple[str | None, str]:
    """A fence's directive name and argument, as MyST reads them ("{Chunk} a" is the chunk directive)."""
    parts = info.strip().split(maxsplit=1)
    if parts and len(parts[0]) > 2 and parts[0].startswith("{") and parts[0].endswith("}"):
        return parts[0][1:-1].lower(), parts[1] if len(parts) > 1 else ""  # docutils lowercases names
    return None, ""


def _fences(md, chapter: str, text: str, first: int = 0, inside: str | None = None):
    """(token, line) of each fence of text (after line `first` of the chapter); refuses hidden chunks."""
    lines = re.sub(r"\r\n?", "\n", text).split("\n")  # lines exactly as markdown-it counts them
    for token in md.parse(text):
        if token.type not in ("fence", "colon_fence"):
            continue
        start, end = token.map
        line = first + start + 1
        closing = lines[end - 1].lstrip(" \t>").rstrip() if start < end - 1 < len(lines) else ""
        if not (closing == token.markup[0] * len(closing) and len(closing) >= len(token.markup)):
            raise UnclosedFence(f"{chapter}:{line}", "this code fence is never closed")
        name, _ = directive_of(token.info)
        if name == "chunk" and token.type == "colon_fence":
            raise HiddenChunk(f"{chapter}:{line}", "write a chunk with a backtick fence, ```{chunk} NAME, "
                                                   "not a colon fence")
        if name == "chunk" and token.level > 0:
            raise HiddenChunk(f"{chapter}:{line}", "a chunk inside a block quote or a list is not read by "
                                                   "tools/tangle.py; move it to the top level")
        if inside is not None and name == "chunk":
            raise HiddenChunk(f"{chapter}:{line}", f"a chunk inside a {{{inside}}} directive is not read by "
                                                   "tools/tangle.py; move it to the top level")
        if name == "eval-rst" and re.search(r"(?mi)^\s*\.\.\s+chunk::", token.content):
            raise HiddenChunk(f"{chapter}:{line}", "a chunk written in reStructuredText is not read by "
                                                   "tools/tangle.py; use ```{chunk} NAME")
        if name is not None and name not in LITERAL_DIRECTIVES and name not in ("chunk", "eval-rst"):
            for _ in _fences(md, chapter, token.content, line, name):  # its content, as MyST parses it
                pass
        yield token, line


OPTION = re.compile(r"^\s*:(?P<key>[^:\s]*):(?P<value>.*)$")


def _parse_block(chapter: str, line: int, argument: str, content: str) -> Block:
    where = f"{chapter}:{line}"
    if not argument.strip():
        raise ChunkHeader(where, "a chunk needs a name: ```{chunk} NAME")
    lines = content.split("\n")[:-1]  # the content ends with a newline; split as markdown-it counts lines
    if lines and lines[0].startswith("---"):
        raise ChunkHeader(where, "write a chunk's options as :name: lines, not as a YAML block")
    count = 0  # option lines, read as myst-parser reads them: the leading lines that start with ":"
    while count < len(lines) and lines[count].lstrip().startswith(":"):
        count += 1
    seen = set()
    for offset, option in enumerate(lines[:count], start=1):
        match = OPTION.match(option)
        here = f"{chapter}:{line + offset}"
        if match is None or len(option.splitlines()) != 1 or "\ufffd" in option:
            raise ChunkHeader(here, f"not a chunk option: {option.strip()!r}")
        key, value = match["key"], match["value"].strip()
        if key in seen:
            raise ChunkHeader(here, f"the option :{key}: is given twice")
        seen.add(key)
        if ChunkOptions.option_spec.get(key) is directives.flag and value:
            raise ChunkHeader(here, f":{key}: is a flag and takes no value (not {value!r}); "
                                    "remove the line to turn it off")
    try:
        parsed = parse_directive_text(ChunkOptions, argument.strip(), content, line=line)
    except Exception as err:  # docutils raises MarkupError, option converters ValueError
        raise ChunkHeader(where, f"bad chunk options: {err}") from err
    if parsed.warnings:
        raise ChunkHeader(where, f"bad chunk options: {parsed.warnings[0].msg}")
    body = lines[count:]
    if body and not body[0].strip():  # myst-parser allows one blank line after the options
        body, count = body[1:], count + 1
    while body and not body[-1].strip():
        body.pop()
    return Block(" ".join(parsed.arguments[0].split()), chapter, line, line + 1 + count, body,
                 parsed.options.get("file"), "replace" in parsed.options)


def chapter_titles(root: Path) -> dict[str, str]:
    """The H1 title of every chapter in the table of contents."""
    md = markdown_parser(root)
    titles = {}
    for chapter in read_toc(root):
        tokens = md.parse(read_chapter(root, chapter))
        for token, following in pairwise(tokens):
            if token.type == "heading_open" and token.tag == "h1":
                titles[chapter] = following.content
                break
    return titles


def parse_book(root: Path) -> list[Block]:
    """Every chunk block of the book, in reading order."""
    md = markdown_parser(root)
    blocks: list[Block] = []
    for chapter in read_toc(root):
        for token, line in _fences(md, chapter, read_chapter(root, chapter)):
            name, argument = directive_of(token.info)
            if name == "chunk":
                blocks.append(_parse_block(chapter, line, argument, token.content))
    for order, block in enumerate(blocks):
        block.order = order
    return blocks

