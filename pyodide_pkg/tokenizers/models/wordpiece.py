"""WordPiece: greedy longest-match-first over the vocabulary (BERT)."""

from __future__ import annotations

from typing import Any

from .common import Model, Token, require


class WordPiece(Model):
    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]", continuing_subword_prefix: str = "##",
                 max_input_chars_per_word: int = 100, **_: Any) -> None:
        super().__init__()
        self.vocab = vocab
        self.unk_token = unk_token
        self.prefix = continuing_subword_prefix
        self.max_chars = max_input_chars_per_word

    def _unk(self, length: int) -> list[Token]:
        return [Token(require(self.vocab, self.unk_token, "WordPiece"), self.unk_token, (0, length))]

    def tokenize(self, text: str) -> list[Token]:
        if len(text) > self.max_chars:
            return self._unk(len(text))
        vocab, tokens, start = self.vocab, [], 0
        while start < len(text):
            end = len(text)
            while start < end:
                piece = text[start:end] if start == 0 else self.prefix + text[start:end]
                if piece in vocab:
                    tokens.append(Token(vocab[piece], piece, (start, end)))
                    break
                end -= 1
            else:
                return self._unk(len(text))
            start = end
        return tokens
