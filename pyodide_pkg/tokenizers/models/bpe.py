"""Byte-pair encoding: apply the ranked merges to a piece's characters (GPT-2, RoBERTa, Llama)."""

from __future__ import annotations

import heapq
import re
from functools import cached_property
from typing import Any

from .common import Model, Token, Word, byte_token, require

LONG_PIECE = 64  # longer pieces (a whole text without a pre-tokenizer) are cut where that is exact
CUT_BEFORE = "[\\s\u2581]"


class BPE(Model):
    def __init__(self, vocab: dict[str, int], merges: list, unk_token: str | None = None,
                 continuing_subword_prefix: str | None = None, end_of_word_suffix: str | None = None,
                 fuse_unk: bool = False, byte_fallback: bool = False, ignore_merges: bool = False,
                 dropout: float | None = None, **_: Any) -> None:
        if dropout not in (None, 0, 0.0):
            raise ValueError("tokenizer.json: BPE dropout is random; only dropout null or 0 is supported")
        super().__init__()
        self.vocab = vocab
        self.vocab_r = {v: k for k, v in vocab.items()}
        self.unk_token = unk_token
        self.prefix = continuing_subword_prefix
        self.suffix = end_of_word_suffix
        self.fuse_unk = fuse_unk
        self.byte_fallback = byte_fallback
        self.ignore_merges = ignore_merges
        prefix_len = len(continuing_subword_prefix or "")
        self.merges: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, merge in enumerate(merges):
            a, b = merge.split(" ", 1) if isinstance(merge, str) else merge
            for part in (a, b):
                if part not in vocab:
                    raise ValueError(f"tokenizer.json: BPE merge {a!r} {b!r} uses {part!r}, not in the vocabulary")
            joined = a + b[prefix_len:]
            if joined not in vocab:
                raise ValueError(f"tokenizer.json: BPE merge result {joined!r} is not in the vocabulary")
            self.merges[(vocab[a], vocab[b])] = (rank, vocab[joined])

    def tokenize(self, text: str) -> list[Token]:
        if not text:
            return []
        if self.ignore_merges and text in self.vocab:
            return [Token(self.vocab[text], text, (0, len(text)))]
        return self._merge_word(text)

    def compute_word(self, text: str) -> Word:
        """Long pieces are merged in parts where `_cuts` allows it (the same tokens, much sooner)."""
        if len(text) > LONG_PIECE and self._cuts is not None:
            regex, pairs = self._cuts
            vocab = self.vocab
            cuts = [i for i in (m.start() for m in regex.finditer(text, 1))
                    if text[i - 1:i + 1] not in pairs and text[i - 1] in vocab and text[i] in vocab]
            if cuts:
                ids: list[int] = []
                values: list[str] = []
                starts: list[int] = []
                ends: list[int] = []
                for a, b in zip([0, *cuts], [*cuts, len(text)]):
                    part = self.word(text[a:b])
                    ids += part[0]
                    values += part[1]
                    starts += [x + a for x in part[2]]
                    ends += [y + a for y in part[3]]
                return tuple(ids), tuple(values), tuple(starts), tuple(ends)
        return super().compute_word(text)

    @cached_property
    def _cuts(self) -> tuple[re.Pattern, frozenset[str]] | None:
        """Where a long piece can be cut: before a space-like character c whose neighbour x on the
        left and c itself are plain vocabulary entries, when no merge result holds x followed by c.
        A merge across the cut would make such a result, so none happens: the parts merged apart
        give the tokens the whole gives (and are cached like words). Not with a subword prefix or
        suffix (they change the strings), nor ignore_merges (it looks at whole pieces)."""
        if self.prefix or self.suffix or self.ignore_merges:
            return None
        results = "\x00".join(self.vocab_r[new] for _, new in self.merges.values())
        return re.compile(CUT_BEFORE), frozenset(re.findall(f"(?=(.{CUT_BEFORE}))", results, re.S))

    def _symbols(self, text: str) -> list[list[int]]:
        """Initial symbols as [id, start, end] before any merge."""
        vocab, symbols = self.vocab, []
        unk: list[int] | None = None
        last = len(text) - 1
        for i, ch in enumerate(text):
            s = ch
            if i and self.prefix:
                s = self.prefix + s
            if i == last and self.suffix:
                s = s + self.suffix
            if s in vocab:
                if unk:
                    symbols.append(unk)
                    unk = None
                symbols.append([vocab[s], i, i + 1])
                continue
            if self.byte_fallback:
                codes = [byte_token(b) for b in s.encode("utf-8")]
                if all(c in vocab for c in codes):
                    symbols.extend([vocab[c], i, i + 1] for c in codes)
                    continue
            if self.unk_token is not None:
                unk_id = require(vocab, self.unk_token, "BPE")
                if unk and self.fuse_unk:
                    unk[2] = i + 1
                else:
                    if unk:
                        symbols.append(unk)
                    unk = [unk_id, i, i + 1]
        if unk:
            symbols.append(unk)
        return symbols

    def _merge_word(self, text: str) -> list[Token]:
        symbols = self._symbols(text)
        n = len(symbols)
        merges = self.merges
        prev = list(range(-1, n - 1))
        nxt = [*range(1, n), -1]
        alive = [True] * n
        queue = []
        for i in range(n - 1):
            m = merges.get((symbols[i][0], symbols[i + 1][0]))
            if m:
                queue.append((m[0], i, m[1]))
        heapq.heapify(queue)
        while queue:
            rank, pos, new_id = heapq.heappop(queue)
            if not alive[pos] or nxt[pos] == -1:
                continue
            right = nxt[pos]
            m = merges.get((symbols[pos][0], symbols[right][0]))
            if m is None or m[1] != new_id:
                continue
            symbols[pos] = [new_id, symbols[pos][1], symbols[right][2]]
            alive[right] = False
            nxt[pos] = nxt[right]
            if nxt[right] != -1:
                prev[nxt[right]] = pos
            if prev[pos] != -1:
                m = merges.get((symbols[prev[pos]][0], new_id))
                if m:
                    heapq.heappush(queue, (m[0], prev[pos], m[1]))
            if nxt[pos] != -1:
                m = merges.get((new_id, symbols[nxt[pos]][0]))
                if m:
                    heapq.heappush(queue, (m[0], pos, m[1]))
        vocab_r = self.vocab_r
        return [Token(s[0], vocab_r[s[0]], (s[1], s[2])) for i, s in enumerate(symbols) if alive[i]]
