"""Normalizers: clean-up of the text before it is split, with alignments kept."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from . import unicode
from .components import build
from .normalized import RUNS_KEPT, Edit, NormalizedString, _decompositions
from .precompiled import Precompiled


CHINESE_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                  (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0x2F800, 0x2FA1F))


def is_chinese_char(cp: int) -> bool:
    return any(a <= cp <= b for a, b in CHINESE_RANGES)


@lru_cache(maxsize=None)
def _bert_regexes() -> tuple[unicode.Tiered, re.Pattern, unicode.Tiered, unicode.Tiered]:
    """Cleaned characters, white space other than ' ', Chinese characters and non-spacing marks."""
    def tiered(ranges) -> unicode.Tiered:
        ascii_only, bmp, full = (re.compile(f"[{ranges(limit)}]") for limit in (0x80, unicode.BMP, None))
        return unicode.Tiered(ascii_only, bmp, full)

    def chinese(limit: int | None) -> str:
        return "".join(f"{chr(a)}-{chr(b)}" for a, b in CHINESE_RANGES if limit is None or a < limit) or "\x80"
    return (tiered(lambda limit: unicode.char_class("bert_cleaned", limit) if limit != 0x80 else
                   unicode.ascii_part(unicode.char_class("bert_cleaned"))),
            re.compile(f"[{re.escape(''.join(sorted(unicode.WHITE_SPACE - {' '})))}]"), tiered(chinese),
            tiered(lambda limit: unicode.char_class("nonspacing_mark", limit) if limit != 0x80 else
                   unicode.ascii_part(unicode.char_class("nonspacing_mark"))))


class BertNormalizer:
    def __init__(self, clean_text: bool = True, handle_chinese_chars: bool = True,
                 strip_accents: bool | None = None, lowercase: bool = True, **_: Any) -> None:
        self.clean_text = clean_text
        self.handle_chinese_chars = handle_chinese_chars
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.lowercase = lowercase

    def normalize(self, n: NormalizedString) -> None:
        text = n.text
        ascii_only = text.isascii()
        cleaned, space, chinese, marks = _bert_regexes()
        if ascii_only and (not self.clean_text or cleaned[0].search(text) is None):
            # most text: no character dropped, none added, so the spans stay as they are
            if self.clean_text:
                text = space.sub(" ", text)
            n.text = text.lower() if self.lowercase else text
            return
        if self.clean_text:
            n.remove(cleaned)
            n.text = space.sub(" ", n.text)  # one character for one: spans unchanged
        if self.handle_chinese_chars and not ascii_only:
            text = n.text
            regex, scanned = chinese.scan(text)
            n.edit([(m.start(), m.end(), [(" ", 0), (text[m.start()], 1), (" ", 1)]) for m in regex.finditer(scanned)])
        if self.strip_accents and not ascii_only:
            n.edit(_stripped_edits(n.text))
            n.remove(marks)
        if self.lowercase:
            n.lowercase()


_STRIPPED: dict[str, list[Edit]] = {}


def _stripped_edits(text: str) -> list[Edit]:
    """_without(marks, unicode_edits(text, "NFD")), run by run as unicode_edits goes, each run's
    edits remembered by the run's text."""
    if text.isascii() or unicodedata.is_normalized("NFD", text):
        return []
    known = _STRIPPED
    if len(known) > RUNS_KEPT:
        known.clear()
    marks = _bert_regexes()[3][2]
    out: list[Edit] = []
    regex, scanned = unicode.changing_runs(False, False).scan(text)
    for m in regex.finditer(scanned):
        i, j = m.span()
        run = text[i:j]
        relative = known.get(run)
        if relative is None:
            relative = known[run] = _without(marks, [(0, j - i, _decompositions(run, False))])
        if len(relative) == 1:
            a, b, kept = relative[0]
            out.append((a + i, b + i, kept))
        else:
            out += [(a + i, b + i, kept) for a, b, kept in relative]
    return out


def _without(marks: re.Pattern, edits: list[Edit]) -> list[Edit]:
    """The edits, then the removal of the characters `marks` matches, as edits: a removed character
    that took up input characters becomes an edit of its own that drops them, so the others keep
    their spans. Accented letters then become one letter each, and no span needs storing."""
    out: list[Edit] = []
    for i, _, dest in edits:
        start, used, kept = i, 0, []
        for ch, change in dest:
            took = 1 - change if change <= 0 else 0
            if not marks.match(ch):
                kept.append((ch, change))
                used += took
            elif took:
                if kept or used:
                    out.append((start, start + used, kept))
                out.append((start + used, start + used + took, []))
                start, used, kept = start + used + took, 0, []
        if kept or used:
            out.append((start, start + used, kept))
    return out


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


@lru_cache(maxsize=None)
def _nmt() -> tuple[re.Pattern, dict[int, str]]:
    return re.compile(f"[{re.escape(''.join(sorted(NMT_DROPPED)))}]"), {ord(c): " " for c in NMT_SPACES}


class Nmt:
    def __init__(self, **_: Any) -> None:
        pass

    def normalize(self, n: NormalizedString) -> None:
        n.remove(_nmt()[0])
        n.text = n.text.translate(_nmt()[1])  # one character for one: spans unchanged


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
