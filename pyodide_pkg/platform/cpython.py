"""CPython implementation: real HTTP with urllib, sqlite records with file bodies on disk, onnxruntime.

A body is a `FileBody`: a download lands in a temporary file (hashed on the way), and a store adopts it by
moving it under its own folder, so model bytes are streamed and never held whole in memory here either."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import shutil
import sqlite3
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DownloadError, OptionsError
from .common import BLOB_FIELD, Body, Download, ProgressCallback, Response, key_of, matches_prefix, merged

CHUNK = 1 << 20


def store_dir() -> Path:
    return Path(os.environ.get("PYODIDE_PKG_STORE_DIR", Path.home() / ".cache" / "pyodide_pkg"))


class FileBody:
    """A body on disk; a temporary one (a download nobody stored) is removed when it is dropped."""

    def __init__(self, path: Path, temporary: bool = False) -> None:
        self.path = path
        self.temporary = temporary

    def __del__(self) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)


def _open(url: str, method: str, timeout_s: float | None) -> Any:
    try:
        return urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=timeout_s or 60)
    except urllib.error.HTTPError as error:
        return error
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:  # ValueError: not a URL
        raise DownloadError(f"could not reach {url}: {error}") from None


async def fetch(url: str, method: str = "GET", timeout_s: float | None = None) -> Response:
    """For small bodies Python reads (settings, images by URL) and HEAD; model files use download()."""
    raw = await asyncio.to_thread(_open, url, method, timeout_s)
    with raw:
        headers = {k.lower(): v for k, v in raw.headers.items()}
        ok = 200 <= raw.status < 300
        try:
            body = await asyncio.to_thread(raw.read) if ok and method != "HEAD" else b""
        except (OSError, http.client.HTTPException) as error:
            raise DownloadError(f"could not download {url}: {error!r}") from None
        return Response(url, raw.status, headers, body)


RESUMES = 3  # a body cut off mid-way is asked for again from where it stopped, this many times


def _open_range(url: str, start: int, etag: str, timeout_s: float | None) -> Any:
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-", "If-Range": etag})
    return urllib.request.urlopen(request, timeout=timeout_s or 60)


async def download(url: str, on_progress: ProgressCallback | None = None, timeout_s: float | None = None,
                   stall_s: float | None = None, http_cache: bool = False) -> Download:
    del http_cache  # no HTTP cache here
    timeout = stall_s or timeout_s  # a socket timeout is per read: a stall
    raw = await asyncio.to_thread(_open, url, "GET", timeout)
    headers = {k.lower(): v for k, v in raw.headers.items()}
    if not 200 <= raw.status < 300:
        raw.close()
        return Download(url, raw.status, headers)
    length = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
    etag = headers.get("etag", "")
    resumable = headers.get("accept-ranges") == "bytes" and etag and not etag.startswith("W/")
    incoming = store_dir() / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=incoming)
    body = FileBody(Path(name), temporary=True)
    digest, size, source = hashlib.sha256(), 0, raw
    with os.fdopen(handle, "wb") as out:
        for resumes in range(RESUMES + 1):
            try:
                with source:
                    while chunk := await asyncio.to_thread(source.read, CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                        if on_progress:
                            on_progress(size, len(chunk), length)
                if length is None or size >= length:
                    break
                failure = DownloadError(f"could not download {url}: the connection ended after {size} of {length} bytes")
            except (OSError, http.client.HTTPException) as error:  # a reset, a timeout, a body cut short
                failure = DownloadError(f"could not download {url}: {error!r}")
            if not resumable or resumes == RESUMES:
                raise failure
            try:
                source = await asyncio.to_thread(_open_range, url, size, etag, timeout)
            except (OSError, http.client.HTTPException):
                raise failure from None
            if source.status != 206 or not source.headers.get("content-range", "").startswith(f"bytes {size}-"):
                source.close()
                raise failure
    return Download(url, raw.status, headers, size, digest.hexdigest(), body)


async def read_body(body: Body, start: int | None = None, end: int | None = None) -> bytes:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body[start:end])
    with body.path.open("rb") as f:
        f.seek(start or 0)
        return f.read() if end is None else f.read(end - (start or 0))


async def discard(body: Body) -> None:
    """A download that will not be stored (it failed a check): its file goes now."""
    if isinstance(body, FileBody) and body.temporary:
        body.path.unlink(missing_ok=True)
        body.temporary = False


class SqliteStore:
    """IndexedDB-shaped record store: object stores with key paths, prefix queries, atomic writes.

    A record's body is a file in `<name>.files/`, named anew on every write, so a failed transaction never
    leaves a record pointing at another write's bytes; column `b` holds the file's name (stores written by
    earlier versions held the bytes there, and are moved out on first read)."""

    def __init__(self, path: Path, schema: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema["stores"]
        self.files = path.with_suffix(".files")
        self.files.mkdir(exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False)
        for name in self.schema:
            self.db.execute(f'CREATE TABLE IF NOT EXISTS "{name}" (k TEXT PRIMARY KEY, v TEXT NOT NULL, b BLOB)')
        self.db.commit()

    def _key(self, key: Any) -> str:
        return json.dumps(key)

    def _body_name(self, store: str, key: str) -> str:
        return f"{hashlib.sha1(f'{store}{key}'.encode()).hexdigest()[:16]}-{os.urandom(6).hex()}"

    def _adopt(self, body: Body, name: str) -> None:
        target = self.files / name
        if isinstance(body, (bytes, bytearray)):
            target.write_bytes(body)
        elif body.temporary:
            os.replace(body.path, target)
            body.path, body.temporary = target, False
        else:
            shutil.copyfile(body.path, target)

    def _old_files(self, store: str, keys: list[str]) -> list[Path]:
        names = [self.db.execute(f'SELECT b FROM "{store}" WHERE k = ?', (k,)).fetchone() for k in keys]
        return [self.files / row[0] for row in names if row and isinstance(row[0], str)]

    async def write(self, puts: list[tuple], deletes: list[tuple[str, Any]]) -> None:
        """`puts` are (store, record) or (store, record, {"union": [fields], "existing": bool}): see merged()."""
        new_files, old_files = [], []
        try:
            with self.db:
                for store, key in deletes:
                    old_files += self._old_files(store, [self._key(key)])
                    self.db.execute(f'DELETE FROM "{store}" WHERE k = ?', (self._key(key),))
                for store, record, *how in puts:
                    record = dict(record)
                    body = record.pop(BLOB_FIELD, None)
                    key = self._key(key_of(record, self.schema[store]["keyPath"]))
                    if how:
                        row = self.db.execute(f'SELECT v FROM "{store}" WHERE k = ?', (key,)).fetchone()
                        record = merged(record, json.loads(row[0]) if row else None, how[0].get("union", []),
                                        how[0].get("existing", False))
                        if record is None:
                            continue
                    name = None
                    if body is not None:
                        old_files += self._old_files(store, [key])
                        name = self._body_name(store, key)
                        self._adopt(body, name)
                        new_files.append(self.files / name)
                    self.db.execute(f'INSERT OR REPLACE INTO "{store}" VALUES (?, ?, ?)',
                                    (key, json.dumps(record), name))
        except BaseException:
            for path in new_files:
                path.unlink(missing_ok=True)
            raise
        for path in old_files:
            path.unlink(missing_ok=True)

    async def get(self, store: str, key: Any) -> dict | None:
        row = self.db.execute(f'SELECT v FROM "{store}" WHERE k = ?', (self._key(key),)).fetchone()
        return json.loads(row[0]) if row else None

    async def get_body(self, store: str, key: Any) -> Body | None:
        row = self.db.execute(f'SELECT b FROM "{store}" WHERE k = ?', (self._key(key),)).fetchone()
        if not row or row[0] is None:
            return None
        if isinstance(row[0], bytes):  # an earlier version's store: the bytes move to a file once
            name = self._body_name(store, self._key(key))
            self._adopt(row[0], name)
            with self.db:
                self.db.execute(f'UPDATE "{store}" SET b = ? WHERE k = ?', (name, self._key(key)))
            return FileBody(self.files / name)
        return FileBody(self.files / row[0])

    async def get_all(self, store: str, index: str | None = None, prefix: tuple = ()) -> list[dict]:
        path = self.schema[store]["indexes"][index] if index else self.schema[store]["keyPath"]
        records = [json.loads(v) for (v,) in self.db.execute(f'SELECT v FROM "{store}" ORDER BY k')]
        return [r for r in records if matches_prefix(key_of(r, path), prefix)]


async def open_store(name: str, schema: dict[str, Any]) -> SqliteStore:
    return SqliteStore(store_dir() / f"{name}.sqlite", schema)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copyfile(source, target)


class OrtSession:
    def __init__(self, model: Body | bytes, num_threads: int, external: dict[str, Body]) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.log_severity_level = 3
        if isinstance(model, (bytes, bytearray)) and not external:
            self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        else:  # ONNX Runtime finds external data beside the graph's path, under the names the graph gives
            with tempfile.TemporaryDirectory(dir=store_dir()) as folder:
                graph = Path(folder) / "model.onnx"
                if isinstance(model, (bytes, bytearray)):
                    graph.write_bytes(model)
                else:
                    _link(model.path, graph)
                for name, body in external.items():
                    (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
                    _link(body.path, Path(folder) / name)
                self.session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    async def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = await asyncio.to_thread(self.session.run, None, feeds)
        return dict(zip(self.output_names, outputs))

    def release(self) -> None:
        self.session = None


async def create_session(model: Body | bytes, num_threads: int, external: dict[str, Body] | None = None,
                         optimize: bool = True) -> OrtSession:
    """`external` maps the names the graph gives its external data files to their bodies. Every graph is
    optimized: native ONNX Runtime's fused kernels are its fast ones, and its optimizer's code is never cold."""
    del optimize
    try:
        return await asyncio.to_thread(OrtSession, model, num_threads, external or {})
    except Exception as error:  # onnxruntime's own types (Fail, InvalidProtobuf, ...) derive from Exception
        raise RuntimeError(f"ONNX Runtime could not create a session: {error}") from None


def cores() -> int:
    return os.cpu_count() or 1


async def load_packages(names: list[str]) -> None:
    """Under CPython the packages come from pip (requirements-dev.txt)."""


async def page_blob(value: Any) -> None:
    """There is no page under CPython: audio is a URL, bytes or samples here."""
    return None


async def page_image(value: Any) -> None:
    """There is no page under CPython: only URLs and bytes are images here."""
    return None


async def load_gguf(body: Body, params: dict) -> Any:
    """There is no llama.cpp here: wllama is JavaScript and llama-cpp-python is not a dependency."""
    raise OptionsError("backend 'wllama' runs only in the browser (wllama is JavaScript; no llama.cpp binding is "
                       "installed under CPython): use backend 'onnx' here")
