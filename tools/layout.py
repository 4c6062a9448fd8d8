"""Sphinx extension: the book's structure on the page, on the site and in the PDF.

* _toc.yml's parts open with a part page in the PDF; the unnumbered last part holds the appendices,
  lettered A, B... (listings and figures A.1); the PDF's contents are "Contents", then a preface.
* In the PDF a short listing, cell or exercise is not split, nor left alone from its heading;
  table columns follow the Markdown alignment.
* Graphviz drawings get the class ``graph`` (shown at their own size) and, if they lack one, an alt text.
* sphinx-thebe's inline script, registered twice under Sphinx 7.4, is kept once (it logged a SyntaxError).
"""
from __future__ import annotations

import re
import string
from pathlib import Path

import yaml
from docutils import nodes
from sphinx import addnodes

KEEP_TOGETHER = 40  # lines: a block up to this long moves whole to the next page rather than split


def toc_parts(srcdir: Path) -> list[dict]:
    return yaml.safe_load((srcdir / "_toc.yml").read_text(encoding="utf-8")).get("parts", [])


def appendix_letters(srcdir: Path) -> dict[str, str]:
    """Each appendix chapter (docname) and its letter: the chapters of the unnumbered parts."""
    docs = [entry["file"] for part in toc_parts(srcdir) if not part.get("numbered")
            for entry in part.get("chapters", [])]
    return dict(zip(docs, string.ascii_uppercase))


def latex(text: str) -> nodes.raw:
    return nodes.raw("", text, format="latex")


def on_doctree_read(app, doctree) -> None:
    docname, srcdir = app.env.docname, Path(app.srcdir)
    for part in toc_parts(srcdir):
        if part.get("chapters") and part["chapters"][0]["file"] == docname:  # the chapter opens a part
            appendix = r"\appendix" if docname in appendix_letters(srcdir) else ""
            doctree.insert(0, latex(appendix + r"\part{%s}" % part["caption"]))
    if docname == app.config.root_doc:
        section = next(iter(doctree.findall(nodes.section)), None)
        if section is not None:
            section.insert(1, latex(r"\chapter*{Preface}\addcontentsline{toc}{chapter}{Preface}"
                                    r"\markboth{Preface}{Preface}"))
    mark_graphs(app, doctree)


def letter_appendix_numbers(app, env) -> list[str]:
    """On the site, number an appendix's listings, figures and exercises A.1, A.2, ... (not 1, 2, ...)."""
    for docname, letter in appendix_letters(Path(app.srcdir)).items():
        for numbers in env.toc_fignumbers.get(docname, {}).values():
            for key, number in numbers.items():
                if len(number) == 1:
                    numbers[key] = (letter, *number)
    return []


def contents_title(app) -> None:
    """Sphinx names the PDF's contents after the root's first toctree caption ("Foundations")."""
    if app.builder.format == "latex":
        app.builder.get_contentsname = lambda indexfile: "Contents"


def keep_together(app, doctree, docname: str) -> None:
    """Before each listing, cell and exercise, ask for room for all of it (up to KEEP_TOGETHER lines)."""
    if app.builder.format != "latex":
        return
    for node in [node for node in doctree.findall(nodes.Element) if is_block(node)]:
        # lines of code, or of an exercise's prose (about 90 characters a line), and the caption or title
        code = sum(block.astext().count("\n") + 1 for block in node.findall(nodes.literal_block))
        need = min((code or len(node.astext()) // 90) + 2, KEEP_TOGETHER)
        if need < 3 or node.parent is None:
            continue
        if opens_its_section(node):  # keep the heading with it: ask before the section starts
            node, need = node.parent, min(need + 3, KEEP_TOGETHER)
        node.parent.insert(node.parent.index(node), latex(r"\needspace{%d\baselineskip}" % need))


def opens_its_section(node: nodes.Element) -> bool:
    """The node comes right after its section's heading (only the title and targets before it)."""
    parent = node.parent
    if not isinstance(parent, nodes.section) or parent.parent is None:
        return False
    before = parent.children[: parent.index(node)]
    return all(isinstance(child, (nodes.title, nodes.target, nodes.raw)) for child in before)


def align_table_columns(app, doctree, docname: str) -> None:
    """In the PDF, a table's columns follow the Markdown table's alignment (numbers to the right)."""
    if app.builder.format != "latex":
        return
    for table in list(doctree.findall(nodes.table)):
        row = next(iter(table.findall(nodes.row)), None)
        if row is None or table.parent is None:
            continue
        spec = "".join("R" if "text-right" in entry["classes"] else "C" if "text-center" in entry["classes"]
                       else "L" for entry in row.children)
        if spec.strip("L"):
            table.parent.insert(table.parent.index(table), addnodes.tabular_col_spec(spec=spec))


WRAPPERS = {"chunk", "cell", "literal-block-wrapper"}  # a listing with its caption; a cell with its output


def is_block(node: nodes.Element) -> bool:
    """A listing (with its caption), a cell (input and output), an exercise or a solution."""
    if type(node).__name__ in ("exercise_enumerable_node", "exercise_unenumerable_node", "solution_node"):
        return True
    wrapped = any(isinstance(a, nodes.container) and WRAPPERS & set(a.get("classes", [])) for a in ancestors(node))
    if isinstance(node, nodes.container) and WRAPPERS & set(node.get("classes", [])):
        return not wrapped
    return isinstance(node, nodes.literal_block) and not wrapped


def ancestors(node: nodes.Node):
    while node.parent is not None:
        node = node.parent
        yield node


def mark_graphs(app, doctree) -> None:
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if not uri.endswith(".svg"):
            continue
        # Sphinx's image collector makes the uri relative to the source folder; before it, "/x" is.
        path = Path(app.srcdir) / uri.lstrip("/")
        if not path.is_file():
            path = Path(app.env.relfn2path(uri, app.env.docname)[1])
        try:
            svg = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if "Generated by graphviz" not in svg or ">data = " not in svg:
            continue
        image["classes"].append("graph")
        if not image.get("alt"):
            image["alt"] = describe_graph(svg)


def describe_graph(svg: str) -> str:
    """An alt text for a draw_dot drawing: its values (by name, else counted), operations and direction."""
    named, unnamed, operations = [], 0, []
    for group in re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, re.S):
        texts = [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", group)]
        if any(t.startswith("data = ") for t in texts):
            names = [t for t in texts if not t.startswith(("data = ", "grad = "))]
            if names:
                named.append(" ".join(names))
            else:
                unnamed += 1
        elif texts:
            operations.append(texts[0])
    values = ", ".join(named) + (f" and {unnamed} unnamed" if named and unnamed else "") or f"{unnamed}"
    return (f"Computation graph of {len(named) + unnamed} values ({values}) joined by {len(operations)} "
            f"operations ({', '.join(sorted(set(operations)))}); each box shows a value's data and grad.")


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Of identical scripts (sphinx-thebe's has filename None and ''), keep the first."""
    scripts, seen, kept = context.get("script_files") or [], set(), []
    for script in scripts:
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("doctree-read", on_doctree_read)
    app.connect("env-get-updated", letter_appendix_numbers, priority=900)
    app.connect("builder-inited", contents_title)
    app.connect("doctree-resolved", keep_together)
    app.connect("doctree-resolved", align_table_columns)
    app.connect("html-page-context", drop_duplicate_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
