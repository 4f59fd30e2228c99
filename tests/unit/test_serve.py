"""The dev server behaves like a real hub and serves the page cross-origin isolated."""

import urllib.request
from pathlib import Path

import pytest


def fetch(url, method="GET", headers=None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_isolation_headers_and_mime_types(server):
    for path, mime in [("/", "text/html; charset=utf-8"), ("/blank.html", "text/html; charset=utf-8"),
                       ("/engine.mjs", "text/javascript"),
                       ("/engine_worker.mjs", "text/javascript"),
                       ("/vendor/ort/ort-wasm-simd-threaded.wasm", "application/wasm"),
                       ("/settings/ml-onnx-runtime.json", "application/json")]:
        status, headers, _ = fetch(server.origin + path, "HEAD")
        assert status == 200 and headers["Content-Type"] == mime, path
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"


def test_the_blank_page_boots_nothing(server):
    """Scripts that import engine.mjs themselves (tests, benchmarks) start from it: no script of its own."""
    status, _, body = fetch(server.origin + "/blank.html")
    assert status == 200 and b"<script" not in body and body.startswith(b"<!doctype html>")


def test_hub_head_range_etag(server):
    url = f"{server.origin}/hub/sentence-transformers/all-MiniLM-L6-v2/v1.0/config.json"
    status, headers, body = fetch(url)
    etag, size = headers["ETag"], len(body)
    assert status == 200 and etag.startswith('"') and int(headers["Content-Length"]) == size
    status, head_headers, head_body = fetch(url, "HEAD")
    assert status == 200 and head_body == b"" and head_headers["ETag"] == etag
    status, part_headers, part = fetch(url, headers={"Range": "bytes=10-19"})
    assert status == 206 and part == body[10:20] and part_headers["Content-Range"] == f"bytes 10-19/{size}"
    status, _, tail = fetch(url, headers={"Range": "bytes=-5"})
    assert status == 206 and tail == body[-5:]
    status, headers, _ = fetch(url, headers={"Range": f"bytes={size + 10}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    assert fetch(url, headers={"If-None-Match": etag})[0] == 304


@pytest.mark.parametrize("path", ["/hub/../tools/serve.py", "/../pyproject.toml", "/hub/%2e%2e/README.md",
                                  "/nothing-here.txt"])
def test_no_escape_and_404(server, path):
    assert fetch(server.origin + path)[0] == 404


def test_precomputed_digests_are_the_ones_requests_get(tmp_path):
    """bench/startup.py hashes every served file before timing anything, as a real server has its ETags at hand;
    a request then gets the same ETag and X-Linked-Etag it would have got by hashing at the request."""
    import hashlib

    from tools import serve

    web, hub = tmp_path / "web", tmp_path / "hub" / "org" / "model" / "v1"
    web.mkdir()
    hub.mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html>")
    (hub / "model.onnx").write_bytes(b"\x08\x07" * 5000)
    linked = tmp_path / "hub" / "org" / "linked"
    linked.symlink_to(hub, target_is_directory=True)
    server = serve.start(0, web, hub=tmp_path / "hub")
    try:
        server.precompute_digests()
        assert sorted(Path(path).relative_to(tmp_path).as_posix() for path, _, _ in server._digests) == [
            "hub/org/linked/model.onnx", "hub/org/model/v1/model.onnx", "web/index.html"]
        digest = hashlib.sha256((hub / "model.onnx").read_bytes()).hexdigest()
        for folder in ("model/v1", "linked"):
            status, headers, _ = fetch(f"{server.origin}/hub/org/{folder}/model.onnx", "HEAD")
            assert status == 200 and headers["ETag"] == f'"{digest[:32]}"' and headers["X-Linked-Etag"] == f'"{digest}"'
        assert len(server._digests) == 3  # nothing was hashed again
    finally:
        server.shutdown()


def test_connections_send_small_answers_at_once(server, monkeypatch):
    """TCP_NODELAY: an answer's body is written after its headers, and with Nagle's algorithm a small body waited
    for the client's delayed ACK (~40 ms on loopback: each module of the engine host's chain of imports came ~50 ms
    after it was asked for, against ~10 with it)."""
    import socket

    from tools import serve

    seen = []
    handle = serve.Handler.handle

    def recording(self):
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        return handle(self)

    monkeypatch.setattr(serve.Handler, "handle", recording)
    status, _, _ = fetch(server.origin + "/engine.mjs")
    assert status == 200 and seen and all(seen)
