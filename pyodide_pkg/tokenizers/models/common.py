"""What every model returns, and the vocabulary checks they share."""

from __future__ import annotations

from typing import NamedTuple

CACHE_LIMIT = 10_000
MAX_CACHED_CHARS = 256


class Token(NamedTuple):
    id: int
    value: str
    offsets: tuple[int, int]  # character offsets inside the piece


def byte_token(byte: int) -> str:
    """The vocabulary entry SentencePiece-style byte fallback uses for one byte."""
    return f"<0x{byte:02X}>"


def require(vocab: dict[str, int], token: str | None, model: str) -> int:
    if token is None or token not in vocab:
        raise ValueError(f"tokenizer.json: {model} unk_token {token!r} is not in the vocabulary")
    return vocab[token]


Word = tuple[tuple[int, ...], tuple[str, ...], tuple[int, ...], tuple[int, ...]]  # ids, values, starts, ends


class Model:
    """What a model gives for a piece depends on nothing but the piece's text and the model, which
    is never changed once built; so results are kept per text (like the reference's BPE cache)."""

    def __init__(self) -> None:
        self.cache: dict[str, Word] = {}

    def tokenize(self, text: str) -> list[Token]:
        raise NotImplementedError

    def word(self, text: str) -> Word:
        """tokenize(text) as (ids, values, starts, ends), cached for pieces shorter than MAX_CACHED_CHARS."""
        found = self.cache.get(text)
        if found is None:
            found = self.compute_word(text)
            if len(text) < MAX_CACHED_CHARS:
                if len(self.cache) >= CACHE_LIMIT:
                    self.cache.clear()
                self.cache[text] = found
        return found

    def compute_word(self, text: str) -> Word:
        tokens = self.tokenize(text)
        return (tuple(t.id for t in tokens), tuple(t.value for t in tokens), tuple(t.offsets[0] for t in tokens),
                tuple(t.offsets[1] for t in tokens))
