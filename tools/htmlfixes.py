"""Sphinx extension: small repairs to the HTML pages, found by tools/check_book.py.

* sphinx-thebe adds its inline configuration script after the HTML builder has
  started, so Sphinx 7.4 registers it twice (once with filename None, once with
  ''). The second copy redeclares ``const THEBE_JS_URL`` and every page logs a
  SyntaxError. Keep the first of identical scripts.
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
