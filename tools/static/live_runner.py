"""Run a chapter's cells in the page's own Python (Pyodide), one after another, as a notebook does.

tools/static/live.js loads this module in the browser; it uses the standard
library only, so the tests run it in CPython too. The cells of a page share one
namespace, so a name defined in one cell is there in the next. A cell's output
is what it prints, then the repr of its last line when that line is an
expression with a value, or the traceback of the error it raised.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import io
import sys
import traceback
import types

namespace: dict = {"__name__": "__main__"}


def use_package(folder: str) -> None:
    """Put the chapter's package (unpacked in folder) first on the path, forgetting any other micrograd."""
    for name in [name for name in sys.modules if name == "micrograd" or name.startswith("micrograd.")]:
        del sys.modules[name]
    sys.path.insert(0, folder)
    importlib.invalidate_caches()


def install_glue_stub() -> None:
    """Hidden cells hand numbers to the prose with myst_nb's glue(); the page has no prose to fill."""
    if "myst_nb" in sys.modules:
        return
    module = types.ModuleType("myst_nb", "glue() does nothing in the page: the prose was filled in at build.")
    module.glue = lambda name, value, display=True: None
    sys.modules["myst_nb"] = module


def run(source: str) -> tuple[str, bool]:
    """Run one cell in the page's namespace: (its output, whether it finished without an error)."""
    out = io.StringIO()
    ok = True
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            body, last = _split(source)
            exec(compile(body, "<cell>", "exec"), namespace)
            if last is not None:
                value = eval(compile(last, "<cell>", "eval"), namespace)
                if value is not None:
                    print(repr(value))
        except BaseException as err:  # noqa: BLE001 - a cell's error is its output, as in a notebook
            ok = False
            _print_error(err)
    return out.getvalue(), ok


def _split(source: str) -> tuple[ast.Module, ast.Expression | None]:
    """The cell's statements, and its last line apart when it is an expression (a notebook shows its value)."""
    tree = ast.parse(source, "<cell>")
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        return tree, last
    return tree, None


def _print_error(err: BaseException) -> None:
    """The traceback from the cell's own code on: the frames of this module are not the reader's."""
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    print("".join(traceback.format_exception(type(err), err, tb)), end="")
