"""Sphinx extension: sphinx-thebe's inline script is registered twice under Sphinx 7.4 (filename None
and ''), so every page logs a SyntaxError (``const THEBE_JS_URL`` redeclared); keep the first of identical
scripts. Found by the reader checks (tests/reader).
"""
from __future__ import annotations


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
