"""Dev server: the page, the local hub and the settings, with the headers a real deployment needs.

COOP/COEP make the page cross-origin isolated (ONNX Runtime threads need SharedArrayBuffer); the
hub answers HEAD and Range requests and sends strong ETags and (X-Linked-Etag) sha256 like a real hub.

    python -m tools.serve [--port 8000] [--web web] [--hub hub]
"""

from __future__ import annotations

import argparse
import hashlib
import mimetypes
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".html": "text/html; charset=utf-8", ".onnx": "application/octet-stream",
         ".whl": "application/zip", ".zip": "application/zip", ".txt": "text/plain; charset=utf-8",
         ".css": "text/css", ".png": "image/png", ".map": "application/json"}

# A same-origin, cross-origin isolated page with nothing booted, for scripts that import engine.mjs themselves
# (tests, benchmarks, a console). Served, not injected by Playwright's routing, which turns the browser's HTTP
# cache off for the whole context (and with it the code cache a returning visitor has for WASM).
BLANK_PAGE = b"<!doctype html><title>blank</title>"

# Called before a request is served; returning (status, body) answers it instead (fault injection), and
# (status, body, headers) with headers that replace the usual ones ({"Content-Length": None} sends none; with
# none or a length other than the body's, the connection closes after the body, as a server that streams
# without a length or dies mid-body does, unless the headers say "Connection": "keep-alive").
Hook = Callable[[str, str], "tuple[int, bytes] | tuple[int, bytes, dict[str, str | None]] | None"]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, web: Path, hub: Path, host: str = "127.0.0.1") -> None:
        self.web, self.hub = Path(os.path.abspath(web)), Path(os.path.abspath(hub))
        self.log: list[tuple[str, str, int]] = []  # (method, path, status)
        self.hook: Hook | None = None
        self.pages: dict[str, bytes] = {"/blank.html": BLANK_PAGE}  # HTML by path, served as files are
        self.quiet = True
        self._digests: dict[tuple[str, int, int], str] = {}  # sha256 by (path, mtime, size)
        self._lock = threading.Lock()
        super().__init__((host, port), Handler)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def requests(self, method: str | None = None, prefix: str = "") -> list[str]:
        with self._lock:
            return [p for m, p, _ in self.log if (method is None or m == method) and p.startswith(prefix)]

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._digests:
            digest = hashlib.sha256()
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            self._digests[key] = digest.hexdigest()
        return self._digests[key]

    def precompute_digests(self) -> None:
        """A real server has every file's ETag at hand; this one hashes a file at its first request (90 MB: ~0.5 s
        before the first byte), which a benchmark's first round would pay. Hashing them all now spares it."""
        for root in (self.web, self.hub):
            for folder, _, names in os.walk(root, followlinks=True):
                for name in names:
                    self.sha256(Path(folder) / name)

    def etag(self, path: Path) -> str:
        return f'"{self.sha256(path)[:32]}"'

    def resolve(self, url_path: str) -> Path | None:
        path = unquote(urlsplit(url_path).path)
        base, rest = (self.hub, path[len("/hub/"):]) if path.startswith("/hub/") else (self.web, path.lstrip("/"))
        target = Path(os.path.normpath(base / rest))  # symlinks inside a root are served, '..' never escapes
        if target != base and base not in target.parents:
            return None
        if target.is_dir():
            target = target / "index.html"
        return target if target.is_file() else None


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt: str, *args) -> None:
        if not self.server.quiet:
            super().log_message(fmt, *args)

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_HEAD(self) -> None:
        self.serve(head=True)

    def do_GET(self) -> None:
        self.serve(head=False)

    def record(self, status: int) -> None:
        with self.server._lock:
            self.server.log.append((self.command, self.path, status))

    def reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", head: bool = False,
              headers: dict[str, str | None] | None = None) -> None:
        self.record(status)
        self.send_response(status)
        sent = {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        for name, value in sent.items():
            if value is not None:
                self.send_header(name, value)
        if sent["Content-Length"] != str(len(body)) and sent.get("Connection") != "keep-alive":
            # no length, or a body cut short: the connection ends there (unless the hook keeps it open)
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def serve(self, head: bool) -> None:
        if self.server.hook:
            injected = self.server.hook(self.command, self.path)
            if injected is not None:
                self.reply(injected[0], injected[1], head=head, headers=injected[2] if len(injected) > 2 else None)
                return
        page = self.server.pages.get(urlsplit(self.path).path)
        if page is not None:
            self.reply(HTTPStatus.OK, page, "text/html; charset=utf-8", head=head)
            return
        path = self.server.resolve(self.path)
        if path is None:
            self.reply(HTTPStatus.NOT_FOUND, f"not found: {self.path}\n".encode(), head=head)
            return
        etag = self.server.etag(path)
        size = path.stat().st_size
        if self.headers.get("If-None-Match") == etag:
            self.record(304)
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        start, end, status = 0, size - 1, HTTPStatus.OK
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            try:
                start = int(first) if first else max(size - int(last), 0)
                end = min(int(last), size - 1) if first and last else size - 1
            except ValueError:
                start, end = size, 0
            if start > end or start >= size:
                self.record(416)
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = HTTPStatus.PARTIAL_CONTENT
        self.record(status)
        self.send_response(status)
        self.send_header("Content-Type", TYPES.get(path.suffix, mimetypes.guess_type(path.name)[0] or "application/octet-stream"))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", etag)
        if path.is_relative_to(self.server.hub):  # as the Hugging Face hub states an LFS file's hash
            self.send_header("X-Linked-Etag", f'"{self.server.sha256(path)}"')
        self.send_header("Accept-Ranges", "bytes")
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        with path.open("rb") as f:
            f.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = f.read(min(1 << 20, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


def start(port: int = 0, web: Path = ROOT / "web", hub: Path = ROOT / "hub") -> Server:
    """A server on a background thread; port 0 picks a free one (tests)."""
    server = Server(port, web, hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.serve")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--web", type=Path, default=ROOT / "web")
    parser.add_argument("--hub", type=Path, default=ROOT / "hub")
    args = parser.parse_args()
    server = Server(args.port, args.web, args.hub)
    server.quiet = False
    print(f"serving {args.web} and the hub {args.hub} at {server.origin}/ (cross-origin isolated)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
