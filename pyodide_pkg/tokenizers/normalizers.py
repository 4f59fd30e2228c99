"""Normalizers: text clean-up before splitting. Only BERT's for now; the tokenizer issue adds the rest."""

from __future__ import annotations

import unicodedata
from typing import Any

from .components import build
from .normalized import Normalized


def is_chinese_char(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class BertNormalizer:
    def __init__(self, clean_text: bool = True, handle_chinese_chars: bool = True,
                 strip_accents: bool | None = None, lowercase: bool = True, **_: Any) -> None:
        self.clean_text = clean_text
        self.handle_chinese_chars = handle_chinese_chars
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.lowercase = lowercase

    @staticmethod
    def _clean(ch: str) -> str:
        if ch in "\t\n\r" or unicodedata.category(ch) == "Zs":
            return " "
        if ch in "\0\ufffd" or unicodedata.category(ch) in ("Cc", "Cf"):
            return ""
        return ch

    def normalize(self, text: Normalized) -> Normalized:
        if self.clean_text:
            text = text.map_chars(self._clean)
        if self.handle_chinese_chars:
            text = _spaced_chinese(text)
        if self.strip_accents:
            text = text.map_chars(lambda ch: unicodedata.normalize("NFD", ch))
            text = text.map_chars(lambda ch: "" if unicodedata.category(ch) == "Mn" else ch)
        if self.lowercase:
            text = text.map_chars(str.lower)
        return text


def _spaced_chinese(text: Normalized) -> Normalized:
    chars, origin = [], []
    for ch, at in zip(text.text, text.origin):
        if is_chinese_char(ord(ch)):
            chars += [" ", ch, " "]
            origin += [at, at, at]
        else:
            chars.append(ch)
            origin.append(at)
    return Normalized("".join(chars), origin)


KINDS = {"BertNormalizer": BertNormalizer}


def from_config(config: dict[str, Any] | None):
    return build("normalizer", KINDS, config)
