"""tools/check_book.py: the static link and image checks, the WebSocket framing, and one real browser run."""
import shutil
import socket
import struct
from pathlib import Path

import pytest

import check_book  # tools/check_book.py (pyproject.toml puts tools/ on the path)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fresh_page_cache():
    check_book.parse_page.cache_clear()
    yield
    check_book.parse_page.cache_clear()


def test_chunk_links_must_reach_an_existing_id(tmp_path):
    write(tmp_path / "book/a.html", '<a href="b.html#chunk-x-1">ok</a> <a href="b.html#chunk-y-1">bad</a>'
                                    '<a href="#chunk-z-1">here</a><div id="chunk-z-1"></div>')
    write(tmp_path / "book/b.html", '<div id="chunk-x-1"></div>')
    problems, count = check_book.check_links(tmp_path, ["book/a.html", "book/b.html"])
    assert count == 3
    assert len(problems) == 1 and "chunk-y-1" in problems[0] and "book/b.html" in problems[0]


def test_links_to_missing_pages_are_reported_and_external_ones_ignored(tmp_path):
    write(tmp_path / "book/a.html", '<a href="gone.html">x</a> <a href="https://example.org/">y</a>'
                                    '<a href="mailto:a@b.c">z</a> <a href="../index.html#top">i</a>')
    write(tmp_path / "index.html", '<p id="top"></p>')
    problems, _ = check_book.check_links(tmp_path, ["book/a.html"])
    assert problems == ["book/a.html: link gone.html leads to a missing file"]


def test_images_must_exist_and_not_be_empty(tmp_path):
    write(tmp_path / "_images/good.svg", "<svg/>")
    write(tmp_path / "_images/empty.svg", b"")
    write(tmp_path / "book/a.html", '<img src="../_images/good.svg"><img src="../_images/empty.svg">'
                                    '<img src="../_images/missing.png"><img src="data:image/png;base64,AA==">')
    problems, images = check_book.check_images(tmp_path, ["book/a.html"])
    assert sorted(problems) == ["book/a.html: image ../_images/empty.svg is empty",
                                "book/a.html: image ../_images/missing.png is missing"]
    assert images == {(tmp_path / "_images/good.svg").resolve()}


def test_compact_survives_line_breaks_and_hyphenation():
    assert check_book.compact("«Value: multipli-\ncation»") == check_book.compact("Value: multiplication")
    assert check_book.compact("Fan\u2011out,  accumulation") == "fanoutaccumulation"


def test_external_failures_are_told_apart_from_the_book_s_own():
    base = "http://127.0.0.1:8000/"
    assert check_book.external("net::ERR_NAME_NOT_RESOLVED https://cdn.example.org/x.js", base)
    assert not check_book.external("404 http://127.0.0.1:8000/_static/x.js", base)
    assert not check_book.external("uncaught exception: SyntaxError", base)


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server-to-client frame (unmasked), as RFC 6455 section 5.2 lays it out."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        return bytes([first, n]) + payload
    if n < 1 << 16:
        return bytes([first, 126]) + struct.pack(">H", n) + payload
    return bytes([first, 127]) + struct.pack(">Q", n) + payload


def connected_pair():
    ours, theirs = socket.socketpair()
    client = check_book.WebSocket.__new__(check_book.WebSocket)  # skip the HTTP handshake
    client.sock, client.buffer = ours, b""
    return client, theirs


@pytest.mark.parametrize("size", [5, 300, 70000])
def test_websocket_reads_every_length_encoding(size):
    client, server = connected_pair()
    message = ("x" * size).encode()
    server.sendall(frame(0x9, b"ping") + frame(0x1, message))  # a ping first: skipped
    assert client.receive() == message.decode()


def test_websocket_joins_fragments():
    client, server = connected_pair()
    server.sendall(frame(0x1, b"hel", fin=False) + frame(0x0, b"lo"))
    assert client.receive() == "hello"


def test_websocket_masks_what_it_sends():
    client, server = connected_pair()
    client.send("héllo" * 40)  # 240 bytes: the 16-bit length form
    data = server.recv(1000)
    assert data[0] == 0x81 and data[1] == 0x80 | 126
    n = struct.unpack(">H", data[2:4])[0]
    mask, payload = data[4:8], data[8:8 + n]
    assert bytes(b ^ mask[i % 4] for i, b in enumerate(payload)).decode() == "héllo" * 40


def find_chromium():
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return found


def test_the_browser_reports_console_errors_and_broken_images(tmp_path):
    chromium = find_chromium()
    write(tmp_path / "bad.html", '<img src="nothing.png"><script>console.error("boom"); undefinedName();</script>')
    write(tmp_path / "good.html", "<p>fine</p>")
    server, base = check_book.serve(tmp_path)
    browser = check_book.Browser(chromium)
    try:
        errors = browser.open(base + "bad.html")
        broken = browser.evaluate(check_book.BROKEN_IMAGES)
        clean = browser.open(base + "good.html")
        failures = list(server.failures)
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    text = "\n".join(errors)
    assert "console.error: boom" in text
    assert "undefinedName" in text
    assert "nothing.png" in text
    assert broken == ["nothing.png"]
    assert clean == []
    assert failures == ["404 /nothing.png"]


def test_lines_the_pdf_broke_are_found_by_their_continuation_arrow():
    text = ("def f(x):\n    return x  # a comment too long for the␣\n,\u2192page\n"
            "a sentence, \u2192 with an arrow inside\n,\u2192second\n")
    assert check_book.wrapped_lines(text) == [
        "    return x  # a comment too long for the␣",
        "a sentence, \u2192 with an arrow inside",
    ]
    assert check_book.wrapped_lines("no breaks here\n, \u2192 not a continuation") == []
