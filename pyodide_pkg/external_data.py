"""Which external data files an ONNX graph needs, so they are fetched, cached and handed to the session.

Two sources, as in Transformers.js and ONNX Runtime: config.json's `transformers.js_config.
use_external_data_format` declares them up front (true, a chunk count, or either per file; files are
`<graph>_data`, `<graph>_data_1`, ...), which lets their downloads start with the graph's; and the graph
itself names them in its initializers' `location` entries, which is the truth ONNX Runtime goes by. The graph
is walked as protobuf through ranged reads of its body, skipping tensor data, so a large graph is never read
whole into Python.
"""

from __future__ import annotations

import posixpath
from typing import Any, Awaitable, Callable

from .dtypes import base_name
from .errors import ModelError

MAX_CHUNKS = 100  # Transformers.js' limit
SETTING = "use_external_data_format"

Read = Callable[[int, int], Awaitable[bytes]]


def declared(config: dict[str, Any] | None, path: str) -> list[str]:
    """The data files config.json declares for the graph at `path`, as names beside it."""
    setting = ((config or {}).get("transformers.js_config") or {}).get(SETTING)
    full = posixpath.basename(path)
    if isinstance(setting, dict):
        setting = setting.get(full, setting.get(base_name(full)))
    if setting is None or setting is False:
        return []
    if setting is True:
        chunks = 1
    elif isinstance(setting, int) and 0 <= setting <= MAX_CHUNKS:
        chunks = setting
    else:
        raise ModelError(f"config.json: transformers.js_config.{SETTING} for {full} is {setting!r}; expected true, "
                         f"false or a chunk count from 0 to {MAX_CHUNKS}")
    return [f"{full}_data" + (f"_{i}" if i else "") for i in range(chunks)]


class _Pages:
    """Ranged reads in pages, so the many small fields of a graph cost few reads of the host's body."""

    SIZE = 1 << 16

    def __init__(self, read: Read) -> None:
        self.read = read
        self.pages: dict[int, bytes] = {}

    async def bytes(self, start: int, length: int) -> bytes:
        out = b""
        while length > 0:
            index, offset = divmod(start, self.SIZE)
            if index not in self.pages:
                if len(self.pages) > 64:
                    self.pages.clear()
                self.pages[index] = await self.read(index * self.SIZE, (index + 1) * self.SIZE)
            piece = self.pages[index][offset:offset + length]
            if not piece:
                break
            out += piece
            start += len(piece)
            length -= len(piece)
        return out


async def _fields(pages: _Pages, start: int, end: int | None):
    """(field number, wire type, value start, value length or varint value) for each field in [start, end)."""
    position = start
    while end is None or position < end:
        key, position = await _varint(pages, position)
        if key is None:
            if end is not None:
                raise ModelError(f"the ONNX graph is cut short or malformed at byte {position}")
            return
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, position = await _varint(pages, position)
            yield field, wire, position, value
        elif wire == 2:
            length, position = await _varint(pages, position)
            yield field, wire, position, length
            position += length
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        else:
            raise ModelError(f"the ONNX graph has a protobuf field of wire type {wire} at byte {position}: not ONNX")


async def _varint(pages: _Pages, position: int) -> tuple[int | None, int]:
    data = await pages.bytes(position, 10)
    value = 0
    for i, byte in enumerate(data):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, position + i + 1
    if not data:
        return None, position
    raise ModelError(f"the ONNX graph is cut short or malformed at byte {position}")


MODEL_GRAPH, GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER = 7, 5, 15
SPARSE_VALUES, SPARSE_INDICES = 1, 2
TENSOR_EXTERNAL_DATA, ENTRY_KEY, ENTRY_VALUE = 13, 1, 2


async def referenced(read: Read) -> list[str]:
    """The `location`s the main graph's initializers name, in order of first use."""
    pages = _Pages(read)
    found: list[str] = []

    async def tensor(start: int, length: int) -> None:
        async for field, wire, at, size in _fields(pages, start, start + length):
            if field == TENSOR_EXTERNAL_DATA and wire == 2:
                entry = {}
                async for key, kind, value_at, value_size in _fields(pages, at, at + size):
                    if kind == 2 and key in (ENTRY_KEY, ENTRY_VALUE):
                        entry[key] = (await pages.bytes(value_at, value_size)).decode("utf-8", "replace")
                if entry.get(ENTRY_KEY) == "location" and entry.get(ENTRY_VALUE) not in found:
                    found.append(entry[ENTRY_VALUE])

    async for field, wire, at, size in _fields(pages, 0, None):
        if field != MODEL_GRAPH or wire != 2:
            continue
        async for item, kind, item_at, item_size in _fields(pages, at, at + size):
            if kind != 2:
                continue
            if item == GRAPH_INITIALIZER:
                await tensor(item_at, item_size)
            elif item == GRAPH_SPARSE_INITIALIZER:
                async for part, part_kind, part_at, part_size in _fields(pages, item_at, item_at + item_size):
                    if part in (SPARSE_VALUES, SPARSE_INDICES) and part_kind == 2:
                        await tensor(part_at, part_size)
    return found
