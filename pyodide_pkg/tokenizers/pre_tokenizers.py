"""Pre-tokenizers: split normalized text into words. Only BERT's for now."""

from __future__ import annotations

import unicodedata
from typing import Any

from .components import build
from .normalized import Normalized


def is_bert_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


class BertPreTokenizer:
    """Splits on whitespace (dropped) and isolates each punctuation character."""

    def __init__(self, **_: Any) -> None:
        pass

    def split(self, text: Normalized) -> list[Normalized]:
        words, start = [], None
        for i, ch in enumerate(text.text):
            if ch.isspace() or is_bert_punctuation(ch):
                if start is not None:
                    words.append(text.slice(start, i))
                    start = None
                if not ch.isspace():
                    words.append(text.slice(i, i + 1))
            elif start is None:
                start = i
        if start is not None:
            words.append(text.slice(start, len(text.text)))
        return words


KINDS = {"BertPreTokenizer": BertPreTokenizer}


def from_config(config: dict[str, Any] | None):
    return build("pre_tokenizer", KINDS, config)
