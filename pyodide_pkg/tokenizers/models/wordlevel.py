"""WordLevel: each piece is one vocabulary entry or the unknown token."""

from __future__ import annotations

from typing import Any

from .common import Model, Token, require


class WordLevel(Model):
    def __init__(self, vocab: dict[str, int], unk_token: str = "<unk>", **_: Any) -> None:
        super().__init__()
        self.vocab = vocab
        self.unk_token = unk_token

    def tokenize(self, text: str) -> list[Token]:
        if text in self.vocab:
            return [Token(self.vocab[text], text, (0, len(text)))]
        return [Token(require(self.vocab, self.unk_token, "WordLevel"), self.unk_token, (0, len(text)))]
