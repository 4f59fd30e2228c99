"""The inference runtime: ONNX Runtime Web's WASM binary, named and hashed by ml-onnx-runtime.

The binary goes through the same cache as model files, so it is downloaded once; ONNX Runtime's worker
checks it against the record's sha256 every time it starts, before it runs it (off the host's thread). Its
first start has no copy yet: the worker fetches it and compiles it as it arrives, and what it fetched becomes
the copy. That answer, unlike model files', stays in the browser's HTTP cache too: later starts compile it from
there, with that sha256 as the fetch's integrity, because the browser keeps a code cache only for WASM compiled
from a URL's answer; the cached copy is what runs when the HTTP cache cannot give those bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from . import platform
from .cache import Cache
from .errors import BackendError, IntegrityError, SettingsError
from .model_files import fetch_cached
from .progress import Notify

RUNTIME_MODEL = "onnxruntime/onnxruntime-web"
RUNTIME_TASK = "runtime"
WASM_NAME = "ort-wasm-simd-threaded.wasm"

_initialised: str | None = None


def _field(number: int, value: int | str | bytes) -> bytes:
    """One protobuf field: a varint for an int, length-delimited for text and bytes."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def warmup_graph() -> bytes:
    """y = Identity(x) on one float, as ONNX protobuf (Pyodide has no onnx package). ONNX Runtime Web compiles
    its WASM and starts its threads at its first session; this one makes that happen while the model downloads."""
    float_1 = _field(1, _field(1, 1) + _field(2, _field(1, _field(1, 1))))  # tensor_type {FLOAT, shape [1]}
    node = _field(1, "x") + _field(2, "y") + _field(4, "Identity")
    graph = (_field(1, node) + _field(2, "warmup") + _field(11, _field(1, "x") + _field(2, float_1))
             + _field(12, _field(1, "y") + _field(2, float_1)))
    return _field(1, 7) + _field(7, graph) + _field(8, _field(2, 13))  # IR 7, opset 13


def pick_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The binary's record; its URL matters only where the binary is fetched (bundled settings have none)."""
    for record in records:
        if record.get("name") == WASM_NAME:
            for key in ("version", "sha256", "url") if platform.RUNTIME_BINARY else ("version", "sha256"):
                if not isinstance(record.get(key), str) or not record[key]:
                    raise SettingsError(f"ml-onnx-runtime record {WASM_NAME}: missing or invalid {key!r}")
            return record
    raise SettingsError(f"ml-onnx-runtime has no record named {WASM_NAME}")


async def ensure_runtime(records: list[dict[str, Any]], cache: Cache, num_threads: int,
                         notify: Notify | None = None, starting: asyncio.Event | None = None) -> dict[str, Any]:
    """Fetch (or load from cache) and verify the runtime binary, then initialise ONNX Runtime once; `starting`
    is set when that start is posted to the runtime's worker (it goes on beside Python from then on).
    Under CPython the record is checked but nothing is fetched: the onnxruntime package is the runtime."""
    global _initialised
    record = pick_record(records)
    if not platform.RUNTIME_BINARY:
        return record
    first = None
    if not platform.runtime_running() and not await cache.file_exists(RUNTIME_MODEL, record["version"], WASM_NAME):
        first = asyncio.ensure_future(_start_from_network(record, num_threads, starting))
    try:
        body = await fetch_cached(cache, record["url"], model=RUNTIME_MODEL, revision=record["version"],
                                  file=WASM_NAME, task=RUNTIME_TASK, engine_id=None, notify=notify,
                                  sha256=record["sha256"], http_cache=True)
    except BaseException:
        if first is not None:
            first.add_done_callback(lambda future: future.cancelled() or future.exception())
        raise
    if first is not None:
        with contextlib.suppress(BackendError, IntegrityError):  # then it starts from the copy, below
            await first
    if _initialised is not None and platform.runtime_running():  # the binary in use, hashed when it was loaded
        return record
    started = platform.init_runtime(body, record["url"], num_threads, warmup_graph(), record["sha256"])
    if starting is not None:
        starting.set()
    try:
        await started
    except IntegrityError as error:  # the cached copy changed since it was stored: the next start fetches it
        await cache.evict(RUNTIME_MODEL, record["version"], WASM_NAME)
        raise IntegrityError(f"ml-onnx-runtime: {record['url']}: {error}, expected {record['sha256']}") from None
    _initialised = record["sha256"]
    return record


async def _start_from_network(record: dict[str, Any], num_threads: int, starting: asyncio.Event | None) -> None:
    """A first start: the runtime's worker compiles the binary from its answer as it arrives and runs it once that
    answer has the record's sha256; the answer then becomes the copy for later starts (fetch_cached takes it as
    the download). Compiled after the copy was stored, on a fresh profile, it was up ~250 ms later. Sessions are
    asked for once it is up (a failed start would fail them; the start from the copy follows it)."""
    await platform.init_runtime(None, record["url"], num_threads, warmup_graph(), record["sha256"])
    if starting is not None:
        starting.set()
