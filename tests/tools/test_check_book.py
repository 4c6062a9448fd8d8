"""tools/check_book.py: the server the reader-level checks read the site from, and the browser's launch."""
import urllib.error
import urllib.request

import pytest

import check_book  # tools/check_book.py (pyproject.toml puts tools/ on the path)


def test_the_server_serves_as_a_host_would_and_remembers_what_it_could_not_answer(tmp_path):
    (tmp_path / "page.html").write_text("<p>fine</p>")
    (tmp_path / "python.wasm").write_bytes(b"\0asm")
    server, base = check_book.serve(tmp_path)
    try:
        with urllib.request.urlopen(base + "python.wasm") as response:
            assert response.headers["Content-Type"] == "application/wasm"
            assert response.headers["Cache-Control"] == "max-age=3600"
        urllib.request.urlopen(base + "page.html").close()
        for missing in ("nothing.png", "favicon.ico"):
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(base + missing)
    finally:
        server.shutdown()
        server.server_close()
    assert server.failures == ["404 /nothing.png"]  # the browser's own favicon.ico request is no failure

