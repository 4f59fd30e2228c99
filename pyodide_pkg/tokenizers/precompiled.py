"""SentencePiece's precompiled charsmap normalizer (T5, XLM-R, mBART, Marian ...).

The charsmap is a little-endian u32 byte count, a darts-clone double-array trie over UTF-8 keys,
then a pool of NUL-terminated replacements. Like the reference, a grapheme shorter than 6 bytes is
looked up whole first, otherwise each character is; the shortest matching key wins.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from .normalized import NormalizedString
from .unicode import graphemes


class Precompiled:
    def __init__(self, precompiled_charsmap: str | None = None, **_: Any) -> None:
        if not precompiled_charsmap:
            self.units: tuple[int, ...] = ()
            self.pool = b""
            return
        blob = base64.b64decode(precompiled_charsmap)
        if len(blob) < 4:
            raise ValueError("tokenizer.json: Precompiled charsmap is shorter than its header")
        (trie_bytes,) = struct.unpack_from("<I", blob, 0)
        if 4 + trie_bytes > len(blob) or trie_bytes % 4:
            raise ValueError("tokenizer.json: Precompiled charsmap trie size does not fit the data")
        self.units = struct.unpack_from(f"<{trie_bytes // 4}I", blob, 4)
        self.pool = blob[4 + trie_bytes:]
        self._cache: dict[str, str | None] = {}

    def _lookup(self, key: bytes) -> int | None:
        units = self.units
        if not units:
            return None
        pos = 0
        unit = units[0]
        pos ^= (unit >> 10) << ((unit & (1 << 9)) >> 6)
        for byte in key:
            pos ^= byte
            if pos >= len(units):
                return None
            unit = units[pos]
            if (unit & (0x80000000 | 0xFF)) != byte:
                return None
            pos ^= (unit >> 10) << ((unit & (1 << 9)) >> 6)
            if (unit >> 8) & 1:
                return units[pos] & 0x7FFFFFFF
        return None

    def transform(self, chunk: str) -> str | None:
        cache = self._cache
        if chunk in cache:
            return cache[chunk]
        start = self._lookup(chunk.encode("utf-8"))
        result = None
        if start is not None:
            end = self.pool.find(b"\0", start)
            result = self.pool[start:end if end >= 0 else len(self.pool)].decode("utf-8")
        cache[chunk] = result
        return result

    def normalize(self, n: NormalizedString) -> None:
        if not self.units:
            return
        dest: list[tuple[str, int]] = []
        modified = False
        for grapheme in graphemes(n.text):
            if len(grapheme.encode("utf-8")) < 6:
                norm = self.transform(grapheme)
                if norm is not None:
                    modified = True
                    _replace(dest, grapheme, norm)
                    continue
            for ch in grapheme:
                norm = self.transform(ch)
                if norm is not None:
                    modified = True
                    _replace(dest, ch, norm)
                else:
                    dest.append((ch, 0))
        if modified:
            n.transform(dest)


def _replace(dest: list[tuple[str, int]], old: str, new: str) -> None:
    diff = len(new) - len(old)
    dest.extend((c, 0) for c in new)
    if diff > 0:
        for k in range(len(dest) - diff, len(dest)):
            dest[k] = (dest[k][0], 1)
    elif diff < 0 and dest:
        dest[-1] = (dest[-1][0], dest[-1][1] + diff)
