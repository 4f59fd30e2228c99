"""Tokenization models: words to tokens. Only WordPiece for now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .components import build
from .normalized import Normalized


@dataclass
class Token:
    id: int
    value: str
    offsets: tuple[int, int]


class WordPiece:
    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]", continuing_subword_prefix: str = "##",
                 max_input_chars_per_word: int = 100, **_: Any) -> None:
        self.vocab = vocab
        self.unk_token = unk_token
        self.prefix = continuing_subword_prefix
        self.max_chars = max_input_chars_per_word

    def tokenize(self, word: Normalized) -> list[Token]:
        text = word.text
        if len(text) > self.max_chars:
            return [Token(self.vocab[self.unk_token], self.unk_token, word.span())]
        tokens, start = [], 0
        while start < len(text):
            end, found = len(text), None
            while start < end:
                piece = text[start:end] if start == 0 else self.prefix + text[start:end]
                if piece in self.vocab:
                    found = piece
                    break
                end -= 1
            if found is None:
                return [Token(self.vocab[self.unk_token], self.unk_token, word.span())]
            tokens.append(Token(self.vocab[found], found, word.slice(start, end).span()))
            start = end
        return tokens


KINDS = {"WordPiece": WordPiece}


def from_config(config: dict[str, Any] | None):
    return build("model", KINDS, config)
