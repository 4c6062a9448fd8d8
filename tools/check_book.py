"""The server and the browser the reader-level checks share: tests/reader (`make book`) and tools/check_live.py.

The built site is served on 127.0.0.1 as a web host would serve it, and opened in the system's
Chromium (Debian's /usr/bin/chromium), driven by Playwright: no browser is downloaded.
The checks themselves are pytest tests in tests/reader.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

# Debian's chromium runs as root only without its sandbox; the rest keeps it from calling home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site as a web host would (Pyodide's types, cacheable); remembers what it could not answer."""

    failures: list[str] = []
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm", ".js": "text/javascript"}

    def end_headers(self) -> None:
        # Cacheable, as a web host serves static files: the browser then keeps Pyodide's compiled
        # WebAssembly between pages instead of compiling it again for each chapter (check_live.py).
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def log_error(self, format, *args):  # noqa: A002
        pass

    def send_error(self, code, message=None, explain=None):
        if self.path != "/favicon.ico":  # the browser asks for it on its own; the book has none
            self.failures.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve folder on 127.0.0.1 (a free port) in a thread; server.failures lists what it could not answer."""
    handler_class = type("Handler", (QuietHandler,), {"failures": []})
    handler = functools.partial(handler_class, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.failures = handler_class.failures
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def find_chromium(name: str = "chromium") -> str | None:
    """The browser to drive: a path, or a name looked up on PATH (Debian's package installs `chromium`)."""
    return shutil.which(name)


def launch_args(executable: str) -> dict:
    """Playwright's launch options for headless Chromium from the system."""
    return {"executable_path": executable, "args": CHROMIUM_ARGS, "headless": True}


def launch(playwright, executable: str):
    """Headless Chromium from the system, driven by Playwright."""
    return playwright.chromium.launch(**launch_args(executable))
