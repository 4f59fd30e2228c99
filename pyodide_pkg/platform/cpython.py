"""CPython implementation: real HTTP with urllib, a sqlite store on disk, the onnxruntime package."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DownloadError
from .common import BLOB_FIELD, ProgressCallback, Response, key_of, matches_prefix

CHUNK = 1 << 20


def store_dir() -> Path:
    return Path(os.environ.get("PYODIDE_PKG_STORE_DIR", Path.home() / ".cache" / "pyodide_pkg"))


async def fetch(url: str, method: str = "GET", on_progress: ProgressCallback | None = None,
                timeout_s: float | None = None) -> Response:
    request = urllib.request.Request(url, method=method)
    try:
        raw = await asyncio.to_thread(urllib.request.urlopen, request, timeout=timeout_s or 60)
    except urllib.error.HTTPError as error:
        return Response(url, error.code, {k.lower(): v for k, v in error.headers.items()})
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(f"could not reach {url}: {error}") from None
    with raw:
        headers = {k.lower(): v for k, v in raw.headers.items()}
        length = int(headers["content-length"]) if "content-length" in headers else None
        body = bytearray()
        if method != "HEAD":
            while True:
                chunk = await asyncio.to_thread(raw.read, CHUNK)
                if not chunk:
                    break
                body += chunk
                if on_progress:
                    on_progress(len(body), len(chunk), length)
        return Response(url, raw.status, headers, bytes(body))


class SqliteStore:
    """IndexedDB-shaped record store: object stores with key paths, prefix queries, atomic writes."""

    def __init__(self, path: Path, schema: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema["stores"]
        self.db = sqlite3.connect(path, check_same_thread=False)
        for name in self.schema:
            self.db.execute(f'CREATE TABLE IF NOT EXISTS "{name}" (k TEXT PRIMARY KEY, v TEXT NOT NULL, b BLOB)')
        self.db.commit()

    def _key(self, key: Any) -> str:
        return json.dumps(key)

    async def write(self, puts: list[tuple[str, dict]], deletes: list[tuple[str, Any]]) -> None:
        with self.db:
            for store, key in deletes:
                self.db.execute(f'DELETE FROM "{store}" WHERE k = ?', (self._key(key),))
            for store, record in puts:
                record = dict(record)
                blob = record.pop(BLOB_FIELD, None)
                key = key_of(record, self.schema[store]["keyPath"])
                self.db.execute(f'INSERT OR REPLACE INTO "{store}" VALUES (?, ?, ?)',
                                (self._key(key), json.dumps(record), blob))

    async def get(self, store: str, key: Any) -> dict | None:
        row = self.db.execute(f'SELECT v FROM "{store}" WHERE k = ?', (self._key(key),)).fetchone()
        return json.loads(row[0]) if row else None

    async def get_blob(self, store: str, key: Any) -> bytes | None:
        row = self.db.execute(f'SELECT b FROM "{store}" WHERE k = ?', (self._key(key),)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    async def get_all(self, store: str, index: str | None = None, prefix: tuple = ()) -> list[dict]:
        path = self.schema[store]["indexes"][index] if index else self.schema[store]["keyPath"]
        records = [json.loads(v) for (v,) in self.db.execute(f'SELECT v FROM "{store}" ORDER BY k')]
        return [r for r in records if matches_prefix(key_of(r, path), prefix)]


async def open_store(name: str, schema: dict[str, Any]) -> SqliteStore:
    return SqliteStore(store_dir() / f"{name}.sqlite", schema)


async def init_runtime(wasm: bytes, num_threads: int) -> None:
    """onnxruntime's native library needs no WASM binary; the verified bytes are simply unused here."""


class OrtSession:
    def __init__(self, model: bytes, num_threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    async def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = await asyncio.to_thread(self.session.run, None, feeds)
        return dict(zip(self.output_names, outputs))

    def release(self) -> None:
        self.session = None


async def create_session(model: bytes, num_threads: int) -> OrtSession:
    return await asyncio.to_thread(OrtSession, model, num_threads)


async def load_packages(names: list[str]) -> None:
    """Under CPython the packages come from pip (requirements-dev.txt)."""


async def page_image(value: Any) -> None:
    """There is no page under CPython: only URLs and bytes are images here."""
    return None
