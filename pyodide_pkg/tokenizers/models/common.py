"""What every model returns, and the vocabulary checks they share."""

from __future__ import annotations

from typing import NamedTuple


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
