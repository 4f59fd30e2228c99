"""Normalizers: clean-up of the text before it is split, with alignments kept."""

from __future__ import annotations

from typing import Any

from . import unicode
from .components import build
from .normalized import NormalizedString
from .precompiled import Precompiled


def is_chinese_char(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B920 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class BertNormalizer:
    def __init__(self, clean_text: bool = True, handle_chinese_chars: bool = True,
                 strip_accents: bool | None = None, lowercase: bool = True, **_: Any) -> None:
        self.clean_text = clean_text
        self.handle_chinese_chars = handle_chinese_chars
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.lowercase = lowercase

    def normalize(self, n: NormalizedString) -> None:
        ascii_only = n.text.isascii()
        if self.clean_text:
            n.filter(lambda c: not unicode.is_bert_cleaned(c))
            if any(c != " " and c in unicode.WHITE_SPACE for c in n.text):
                n.transform((" " if c in unicode.WHITE_SPACE else c, 0) for c in n.text)
        if self.handle_chinese_chars and not ascii_only:
            dest = []
            for c in n.text:
                dest.extend(((" ", 0), (c, 1), (" ", 1)) if is_chinese_char(ord(c)) else ((c, 0),))
            n.transform(dest)
        if self.strip_accents and not ascii_only:
            n.unicode_normalize("NFD")
            n.filter(lambda c: not unicode.is_nonspacing_mark(c))
        if self.lowercase:
            n.lowercase()


class _Unicode:
    form = "NFC"

    def __init__(self, **_: Any) -> None:
        pass

    def normalize(self, n: NormalizedString) -> None:
        n.unicode_normalize(self.form)


class NFC(_Unicode):
    form = "NFC"


class NFD(_Unicode):
    form = "NFD"


class NFKC(_Unicode):
    form = "NFKC"


class NFKD(_Unicode):
    form = "NFKD"


class Lowercase:
    def __init__(self, **_: Any) -> None:
        pass

    def normalize(self, n: NormalizedString) -> None:
        n.lowercase()


class Strip:
    def __init__(self, strip_left: bool = True, strip_right: bool = True, **_: Any) -> None:
        self.left, self.right = strip_left, strip_right

    def normalize(self, n: NormalizedString) -> None:
        n.strip(self.left, self.right)


class StripAccents:
    def __init__(self, **_: Any) -> None:
        pass

    def normalize(self, n: NormalizedString) -> None:
        n.filter(lambda c: not unicode.is_combining_mark(c))


def pattern_of(pattern: dict[str, str], where: str):
    """A tokenizer.json pattern: {"String": literal} or {"Regex": oniguruma}."""
    if "String" in pattern:
        return pattern["String"]
    if "Regex" in pattern:
        return unicode.compile_pattern(pattern["Regex"])
    raise ValueError(f"tokenizer.json: {where} pattern must be String or Regex, got {pattern!r}")


class Replace:
    def __init__(self, pattern: dict[str, str], content: str, **_: Any) -> None:
        self.pattern = pattern_of(pattern, "Replace")
        self.content = content

    def normalize(self, n: NormalizedString) -> None:
        n.replace(self.pattern, self.content)


class Prepend:
    def __init__(self, prepend: str, **_: Any) -> None:
        self.prepend = prepend

    def normalize(self, n: NormalizedString) -> None:
        if n.text:
            n.prepend(self.prepend)


NMT_DROPPED = frozenset(chr(c) for c in [*range(1, 9), 0x0B, *range(0x0E, 0x20), 0x7F, 0x8F, 0x9F])
NMT_SPACES = frozenset("\t\n\x0c\r\u1680\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u2581\ufeff\ufffd")


class Nmt:
    def __init__(self, **_: Any) -> None:
        pass

    def normalize(self, n: NormalizedString) -> None:
        n.filter(lambda c: c not in NMT_DROPPED)
        n.transform((" " if c in NMT_SPACES else c, 0) for c in n.text)


class ByteLevel:
    def __init__(self, **_: Any) -> None:
        pass

    def normalize(self, n: NormalizedString) -> None:
        from .pre_tokenizers import to_byte_chars
        if n.text:
            n.transform(to_byte_chars(n.text))


class Sequence:
    def __init__(self, normalizers: list[dict], **_: Any) -> None:
        self.normalizers = [from_config(c) for c in normalizers]

    def normalize(self, n: NormalizedString) -> None:
        for normalizer in self.normalizers:
            normalizer.normalize(n)


KINDS = {"BertNormalizer": BertNormalizer, "NFC": NFC, "NFD": NFD, "NFKC": NFKC, "NFKD": NFKD,
         "Lowercase": Lowercase, "Strip": Strip, "StripAccents": StripAccents, "Replace": Replace,
         "Prepend": Prepend, "Precompiled": Precompiled, "Nmt": Nmt, "ByteLevel": ByteLevel,
         "Sequence": Sequence}


def from_config(config: dict[str, Any] | None):
    return build("normalizer", KINDS, config)
