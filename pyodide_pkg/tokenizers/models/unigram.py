"""Unigram language model: the most likely segmentation by Viterbi (T5, XLM-R, ALBERT)."""

from __future__ import annotations

from typing import Any

from .common import Model, Token, byte_token

UNK_PENALTY = 10.0


class Unigram(Model):
    def __init__(self, vocab: list, unk_id: int | None = None, byte_fallback: bool = False, **_: Any) -> None:
        super().__init__()
        self.pieces = [p for p, _ in vocab]
        self.scores = [float(s) for _, s in vocab]
        self.vocab = {p: i for i, p in enumerate(self.pieces)}
        if unk_id is not None and not 0 <= unk_id < len(self.pieces):
            raise ValueError(f"tokenizer.json: Unigram unk_id {unk_id} is outside the vocabulary")
        self.unk_id = unk_id
        self.byte_fallback = byte_fallback
        self.min_score = min(self.scores, default=0.0)
        self.max_len = max((len(p) for p in self.pieces), default=1)

    def _segment(self, text: str) -> list[str]:
        """Viterbi over candidate pieces; adjacent unknown characters are fused into one piece."""
        vocab, scores, n = self.vocab, self.scores, len(text)
        unk_score = self.min_score - UNK_PENALTY
        best = [0.0] * (n + 1)
        start_of: list[int | None] = [None] * (n + 1)
        piece_id = [0] * (n + 1)
        for start in range(n):
            base = best[start]
            single = False
            for end in range(start + 1, min(n, start + self.max_len) + 1):
                pid = vocab.get(text[start:end])
                if pid is None:
                    continue
                score = scores[pid] + base
                if start_of[end] is None or score > best[end]:
                    best[end], start_of[end], piece_id[end] = score, start, pid
                if end == start + 1:
                    single = True
            if not single:
                if self.unk_id is None:
                    raise ValueError("tokenizer.json: Unigram has no unk_id but the text needs one")
                score = unk_score + base
                if start_of[start + 1] is None or score > best[start + 1]:
                    best[start + 1], start_of[start + 1], piece_id[start + 1] = score, start, self.unk_id
        pieces: list[str] = []
        unknown: list[str] = []
        end = n
        while end > 0:
            start = start_of[end]
            if piece_id[end] == self.unk_id:
                unknown.append(text[start:end])
            else:
                if unknown:
                    pieces.append("".join(reversed(unknown)))
                    unknown = []
                pieces.append(text[start:end])
            end = start
        if unknown:
            pieces.append("".join(reversed(unknown)))
        pieces.reverse()
        return pieces

    def tokenize(self, text: str) -> list[Token]:
        if not text:
            return []
        pieces = self._segment(text)
        tokens, offset = [], 0
        for piece in pieces:
            span = (offset, offset + len(piece))
            offset += len(piece)
            pid = self.vocab.get(piece)
            if pid is None:
                if self.byte_fallback:
                    codes = [byte_token(b) for b in piece.encode("utf-8")]
                    if all(c in self.vocab for c in codes):
                        tokens.extend(Token(self.vocab[c], c, span) for c in codes)
                        continue
                pid = self.unk_id
            tokens.append(Token(pid, piece, span))
        return tokens
