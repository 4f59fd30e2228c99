"""Pre-tokenizers: split normalized text into the pieces the model tokenizes one by one.

A pre-tokenizer maps a list of pieces to a new list; pieces that are already tokens (added tokens)
are left alone by the caller, and empty pieces are dropped there.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from . import unicode
from .components import build
from .normalized import NormalizedString
from .normalizers import pattern_of

Pieces = list[NormalizedString]


@lru_cache(maxsize=None)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character table."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table, extra = {b: chr(b) for b in printable}, 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@lru_cache(maxsize=None)
def _ascii_byte_table() -> dict[int, str]:
    return {b: c for b, c in bytes_to_unicode().items() if b < 128}


def to_byte_chars(text: str) -> list[tuple[str, int]]:
    table = bytes_to_unicode()
    dest = []
    for ch in text:
        for k, b in enumerate(ch.encode("utf-8")):
            dest.append((table[b], 1 if k else 0))
    return dest


class BertPreTokenizer:
    def __init__(self, **_: Any) -> None:
        pass

    def split(self, piece: NormalizedString) -> Pieces:
        out = []
        for word in piece.split(unicode.is_white_space, "Removed"):
            out.extend(word.split(unicode.is_punctuation, "Isolated"))
        return out


class Whitespace:
    def __init__(self, **_: Any) -> None:
        pass

    @staticmethod
    @lru_cache(maxsize=None)
    def pattern() -> re.Pattern:
        return unicode.compile_pattern(r"\w+|[^\w\s]+")

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.split(self.pattern(), "Removed", invert=True)


class WhitespaceSplit:
    def __init__(self, **_: Any) -> None:
        pass

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.split(unicode.is_white_space, "Removed")


class Punctuation:
    def __init__(self, behavior: str = "Isolated", **_: Any) -> None:
        self.behavior = behavior

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.split(unicode.is_punctuation, self.behavior)


class Digits:
    def __init__(self, individual_digits: bool = False, **_: Any) -> None:
        self.behavior = "Isolated" if individual_digits else "Contiguous"

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.split(unicode.is_numeric, self.behavior)


class CharDelimiterSplit:
    def __init__(self, delimiter: str, **_: Any) -> None:
        self.delimiter = delimiter

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.split(lambda c: c == self.delimiter, "Removed")


class Split:
    def __init__(self, pattern: dict[str, str], behavior: str, invert: bool = False, **_: Any) -> None:
        self.pattern = pattern_of(pattern, "Split")
        if isinstance(self.pattern, str):
            self.pattern = re.compile(re.escape(self.pattern)) if self.pattern else self.pattern
        self.behavior = behavior
        self.invert = invert

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.split(self.pattern, self.behavior, invert=self.invert)


class Metaspace:
    def __init__(self, replacement: str = "\u2581", prepend_scheme: str = "always", split: bool = True,
                 add_prefix_space: bool | None = None, **_: Any) -> None:
        if add_prefix_space is False:
            if prepend_scheme != "never" and prepend_scheme != "always":
                raise ValueError("tokenizer.json: Metaspace add_prefix_space does not match prepend_scheme")
            prepend_scheme = "never"
        if prepend_scheme not in ("always", "first", "never"):
            raise ValueError(f"tokenizer.json: Metaspace prepend_scheme {prepend_scheme!r} is unknown")
        self.replacement = replacement
        self.prepend_scheme = prepend_scheme
        self.split_pieces = split

    def split(self, piece: NormalizedString) -> Pieces:
        piece.replace(" ", self.replacement)
        starts = piece.text.startswith(self.replacement)
        if self.prepend_scheme == "always" and not starts:
            piece.prepend(self.replacement)
        elif self.prepend_scheme == "first" and not starts and piece.start == 0:
            piece.prepend(self.replacement)
        if self.split_pieces:
            return piece.split(lambda c: c == self.replacement, "MergedWithNext")
        return [piece]


GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


class ByteLevel:
    """Optionally splits like GPT-2, then maps every UTF-8 byte to a printable character."""

    def __init__(self, add_prefix_space: bool = True, trim_offsets: bool = True, use_regex: bool = True,
                 **_: Any) -> None:
        self.add_prefix_space = add_prefix_space
        self.use_regex = use_regex

    def split(self, piece: NormalizedString) -> Pieces:
        if self.add_prefix_space and not piece.text.startswith(" "):
            piece.prepend(" ")
        pieces = piece.split(unicode.compile_pattern(GPT2_PATTERN), "Isolated") if self.use_regex else [piece]
        return pieces

    def finish(self, pieces: Pieces) -> None:
        """Runs on every untokenized piece after all splitting (the reference's normalize step)."""
        ascii_table = _ascii_byte_table()
        for p in pieces:
            if p.text.isascii():
                p.text = p.text.translate(ascii_table)  # one byte per character: spans unchanged
            else:
                p.transform(to_byte_chars(p.text))


class UnicodeScripts:
    """Splits where the script changes; Hiragana, Katakana and U+30FC count as Han, spaces as any."""

    def __init__(self, **_: Any) -> None:
        pass

    def split(self, piece: NormalizedString) -> Pieces:
        """Like the reference, leading 'any' characters (spaces, unassigned) are dropped."""
        cuts, last = [], None
        for k, ch in enumerate(piece.text):
            script = unicode.script_class(ch)
            if script and script != last:
                cuts.append(k)
                last = script
        cuts.append(len(piece.text))
        return [piece.slice(a, b) for a, b in zip(cuts, cuts[1:])]


class Sequence:
    def __init__(self, pretokenizers: list[dict], **_: Any) -> None:
        self.steps = [from_config(c) for c in pretokenizers]


KINDS = {"BertPreTokenizer": BertPreTokenizer, "Whitespace": Whitespace, "WhitespaceSplit": WhitespaceSplit,
         "Punctuation": Punctuation, "Digits": Digits, "CharDelimiterSplit": CharDelimiterSplit,
         "Split": Split, "Metaspace": Metaspace, "ByteLevel": ByteLevel, "UnicodeScripts": UnicodeScripts,
         "Sequence": Sequence}


def from_config(config: dict[str, Any] | None):
    return build("pre_tokenizer", KINDS, config)


Split_ = tuple[NormalizedString, "list | None"]


def run(pre_tokenizer: Any, splits: list[Split_]) -> list[Split_]:
    """Apply a pre-tokenizer to the splits that are not tokens yet, dropping empty results."""
    if pre_tokenizer is None:
        return splits
    if isinstance(pre_tokenizer, Sequence):
        for step in pre_tokenizer.steps:
            splits = run(step, splits)
        return splits
    out: list[Split_] = []
    for piece, tokens in splits:
        if tokens is not None:
            out.append((piece, tokens))
        else:
            out.extend((p, None) for p in pre_tokenizer.split(piece) if p.text)
    if isinstance(pre_tokenizer, ByteLevel):
        pre_tokenizer.finish([p for p, tokens in out if tokens is None])
    return out
