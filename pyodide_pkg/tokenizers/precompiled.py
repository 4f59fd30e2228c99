"""SentencePiece's precompiled charsmap normalizer (T5, XLM-R, mBART, Marian ...).

The charsmap is a little-endian u32 byte count, a darts-clone double-array trie over UTF-8 keys,
then a pool of NUL-terminated replacements. Like the reference, a grapheme shorter than 6 bytes is
looked up whole first, otherwise each character is; the shortest matching key wins.
"""

from __future__ import annotations

import base64
import re
import struct
from functools import cached_property
from typing import Any

from .normalized import Edit, NormalizedString
from .unicode import grapheme_spans, graphemes


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
        self._graphemes: dict[str, list[Edit]] = {}

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

    @cached_property
    def _ascii(self) -> tuple[dict[int, str], re.Pattern | None, re.Pattern | None]:
        """For ASCII: one-for-one replacements, deleted characters, characters that grow."""
        same: dict[int, str] = {}
        deleted, grown = [], []
        for c in map(chr, range(128)):
            norm = self.transform(c)
            if norm is None:
                continue
            if len(norm) == 1:
                same[ord(c)] = norm
            else:
                (grown if norm else deleted).append(c)
        return same, _char_class(deleted), _char_class(grown)

    def normalize(self, n: NormalizedString) -> None:
        if not self.units:
            return
        text = n.text
        if text.isascii() and "\r\n" not in text:
            # Every ASCII character is its own grapheme but CR LF. A deletion acts like a removal
            # once some character is kept before it (the reference shifts spans before that).
            same, deleted, grown = self._ascii
            if (grown is None or not grown.search(text)) and not (deleted and deleted.match(text)):
                n.text = text.translate(same)
                if deleted is not None:
                    n.remove(deleted)
                return
        edits = self._edits(text)
        if edits is not None:
            n.edit(edits)
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


    def _grapheme_edits(self, grapheme: str) -> list[Edit]:
        """What one grapheme becomes, as edits inside it: whole if the charsmap has it (and it is
        short), else character by character. Depends on nothing but the grapheme, so it is kept."""
        if len(grapheme.encode("utf-8")) < 6:
            norm = self.transform(grapheme)
            if norm is not None:
                dest: list[tuple[str, int]] = []
                _replace(dest, grapheme, norm)
                return [(0, len(grapheme), dest)]
        out: list[Edit] = []
        for k, ch in enumerate(grapheme):
            norm = self.transform(ch)
            if norm is not None:
                dest = []
                _replace(dest, ch, norm)
                out.append((k, k + 1, dest))
        return out

    def _edits(self, text: str) -> list[Edit] | None:
        """What the loop below does, as edits of the graphemes (or characters) that change; those
        are few, and everything else stays put. None when the text starts with a drop: the
        reference then shifts every later span, which only the whole loop reproduces."""
        changed = frozenset(c for c in set(text) if self.transform(c) is not None)
        spans = [(a, b) for a, b in grapheme_spans(text, changed) if b - a > 1 or text[a] in changed]
        edits: list[Edit] = []

        def add(a: int, b: int, dest: list[tuple[str, int]]) -> bool:
            if dest:
                edits.append((a, b, dest))
            elif edits and edits[-1][1] == a:  # a drop lowers the change of the entry before it
                start, _, before = edits[-1]
                if before:  # a new list: `before` may be one a grapheme's edits share
                    before = [*before[:-1], (before[-1][0], before[-1][1] - (b - a))]
                edits[-1] = (start, b, before)
            elif a == 0:
                return False
            else:
                edits.append((a, b, dest))  # after an unchanged character: a plain drop
            return True

        known = self._graphemes
        if len(known) > GRAPHEMES_KEPT:
            known.clear()
        for a, b in spans:
            grapheme = text[a:b]
            parts = known.get(grapheme)
            if parts is None:
                parts = known[grapheme] = self._grapheme_edits(grapheme)
            for x, y, dest in parts:
                if not add(a + x, a + y, dest):
                    return None
        if edits and edits[0][0] == 0 and not edits[0][2]:
            return None
        return edits


GRAPHEMES_KEPT = 4096


def _char_class(chars: list[str]) -> re.Pattern | None:
    return re.compile(f"[{re.escape(''.join(chars))}]") if chars else None


def _replace(dest: list[tuple[str, int]], old: str, new: str) -> None:
    diff = len(new) - len(old)
    dest.extend((c, 0) for c in new)
    if diff > 0:
        for k in range(len(dest) - diff, len(dest)):
            dest[k] = (dest[k][0], 1)
    elif diff < 0 and dest:
        dest[-1] = (dest[-1][0], dest[-1][1] + diff)
