"""Pre-tokenizers: split normalized text into the pieces the model tokenizes one by one.

A pre-tokenizer maps a piece to a list of pieces; pieces that are already tokens (added tokens)
are left alone by the caller, and empty pieces are dropped there. The last step of a tokenizer
may also `cut` a piece into words and their offsets instead: each word is the piece's characters
from its offset on, one for one (maybe mapped), so no NormalizedString is built per word, and
`re` finds them all in one call. `cut` returns None where that does not hold, and the tokenizer
falls back to `split`.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from itertools import accumulate, chain, repeat
from typing import Any, Callable

from . import unicode
from .components import build
from .added_vocabulary import AddedPiece
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


_SPACE = "\u0120"  # what GPT-2's byte table maps the space to


def to_byte_chars(text: str) -> list[tuple[str, int]]:
    table = bytes_to_unicode()
    dest = []
    for ch in text:
        for k, b in enumerate(ch.encode("utf-8")):
            dest.append((table[b], 1 if k else 0))
    return dest


Regexes = unicode.Tiered


@lru_cache(maxsize=None)
def _class_regex(template: str) -> Regexes:
    """A regex over unicode.char_class classes: `template` names them as {white_space} etc."""
    names = ("white_space", "punctuation", "numeric")

    def compiled(part) -> re.Pattern:
        return re.compile(template.format(**{n: part(n) for n in names}))
    return unicode.Tiered(compiled(lambda n: unicode.ascii_part(unicode.char_class(n))),
                          compiled(lambda n: unicode.char_class(n, unicode.BMP)), compiled(unicode.char_class))


def _oniguruma(pattern: str) -> Regexes:
    return unicode.tiered_patterns(pattern)


def _pick(regexes: Regexes, text: str) -> re.Pattern:
    return regexes.pick(text)


# Words, the offset of each (or a function that gives them), and where offsets are not the piece's
# own character positions (the words are UTF-8 bytes, one character each), the piece character each
# position comes from.
Cut = tuple[list[str], "list[int] | Callable[[], list[int]]", "list[int] | None"]


def cut_matches(regex: "re.Pattern | Regexes", text: str) -> Cut:
    """The matches of `regex` (never empty, no groups of its own) and their offsets, from one
    re.split call: what lies between matches and the matches alternate, so lengths add up."""
    scanned = text
    if isinstance(regex, unicode.Tiered):
        regex, scanned = regex.scan(text)
    parts = _grouped(regex).split(scanned)
    if scanned is not text:  # the matched characters are the text's own, not their stand-ins
        offsets = list(accumulate(map(len, parts), initial=0))
        return list(map(text.__getitem__, map(slice, offsets[1::2], offsets[2::2]))), offsets[1::2], None
    return parts[1::2], partial(_match_starts, parts), None


def _word_starts(words: list[str]) -> list[int]:
    """Where each of consecutive words starts."""
    return list(accumulate(map(len, words), initial=0))[:-1]


def _match_starts(parts: list[str]) -> list[int]:
    """Where each match of a grouped re.split starts (left to the offsets, which few callers read)."""
    return list(accumulate(map(len, parts), initial=0))[1::2]


@lru_cache(maxsize=64)
def _grouped(regex: re.Pattern) -> re.Pattern:
    return re.compile(f"({regex.pattern})", regex.flags)


class _RegexPieces:
    """Pre-tokenizers whose pieces are exactly the matches of one regex (never empty)."""

    regexes: Regexes

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.pieces(_pick(self.regexes, piece.text))

    def cut(self, piece: NormalizedString) -> Cut:
        return cut_matches(self.regexes, piece.text)


class BertPreTokenizer(_RegexPieces):
    """Whitespace removed, then each punctuation character isolated: what is left is runs of other
    characters and single punctuation characters, which one regex finds."""

    def __init__(self, **_: Any) -> None:
        self.regexes = _class_regex("[^{white_space}{punctuation}]+|[{punctuation}]")


class Whitespace(_RegexPieces):
    def __init__(self, **_: Any) -> None:
        self.regexes = _oniguruma(r"\w+|[^\w\s]+")


class WhitespaceSplit(_RegexPieces):
    def __init__(self, **_: Any) -> None:
        self.regexes = _class_regex("[^{white_space}]+")


class Punctuation:
    def __init__(self, behavior: str = "Isolated", **_: Any) -> None:
        self.behavior = behavior
        self.regexes = _class_regex("[{punctuation}]")

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.split(_pick(self.regexes, piece.text), self.behavior)


class Digits:
    """Contiguous digits merge adjacent one-digit matches: the same pieces as isolating runs."""

    def __init__(self, individual_digits: bool = False, **_: Any) -> None:
        self.regexes = _class_regex("[{numeric}]" if individual_digits else "[{numeric}]+")

    def split(self, piece: NormalizedString) -> Pieces:
        return piece.split(_pick(self.regexes, piece.text), "Isolated")


class CharDelimiterSplit(_RegexPieces):
    def __init__(self, delimiter: str, **_: Any) -> None:
        self.delimiter = delimiter
        regex = re.compile(f"[^{re.escape(delimiter)}]+")
        self.regexes = unicode.Tiered(None, None, regex)


class Split:
    def __init__(self, pattern: dict[str, str], behavior: str, invert: bool = False, **_: Any) -> None:
        self.pattern = pattern_of(pattern, "Split")
        if isinstance(self.pattern, str):
            self.pattern = re.compile(re.escape(self.pattern)) if self.pattern else self.pattern
        self.regexes = (unicode.tiered_patterns(pattern["Regex"]) if "Regex" in pattern
                        else unicode.Tiered(None, None, self.pattern))
        self.behavior = behavior
        self.invert = invert

    def split(self, piece: NormalizedString) -> Pieces:
        if not self.pattern:
            return piece.split(self.pattern, self.behavior, invert=self.invert)
        return piece.split(_pick(self.regexes, piece.text), self.behavior, invert=self.invert)


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
        # Each replacement merged with what follows it up to the next one: MergedWithNext.
        r = re.escape(replacement)
        self.regex = re.compile(f"{r}[^{r}]*|[^{r}]+")

    def _prepare(self, piece: NormalizedString) -> None:
        piece.replace(" ", self.replacement)
        starts = piece.text.startswith(self.replacement)
        if self.prepend_scheme == "always" and not starts:
            piece.prepend(self.replacement)
        elif self.prepend_scheme == "first" and not starts and piece.start == 0:
            piece.prepend(self.replacement)

    def split(self, piece: NormalizedString) -> Pieces:
        self._prepare(piece)
        return piece.pieces(self.regex) if self.split_pieces else [piece]

    def cut(self, piece: NormalizedString) -> Cut:
        self._prepare(piece)
        if not self.split_pieces:
            return ([piece.text], [0], None) if piece.text else ([], [], None)
        return cut_matches(self.regex, piece.text)


GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


class ByteLevel:
    """Optionally splits like GPT-2, then maps every UTF-8 byte to a printable character.

    The reference maps the bytes of every untokenized piece right after its own split; pieces
    are independent, so each input piece is split and mapped here in one go."""

    def __init__(self, add_prefix_space: bool = True, trim_offsets: bool = True, use_regex: bool = True,
                 **_: Any) -> None:
        self.add_prefix_space = add_prefix_space
        self.use_regex = use_regex
        self.regexes = _oniguruma(GPT2_PATTERN)

    def cut(self, piece: NormalizedString) -> Cut | None:
        if self.add_prefix_space and not piece.text.startswith(" "):
            piece.prepend(" ")
        text = piece.text
        if not text:
            return [], [], None
        if self.use_regex:
            regex, scanned = self.regexes.scan(text)
            parts = regex.findall(scanned)
            if scanned is not text:  # the text's own characters, not their stand-ins
                ends = list(accumulate(map(len, parts)))
                parts = list(map(text.__getitem__, map(slice, [0, *ends], ends)))
        else:
            parts = [text]
        if sum(map(len, parts)) != len(text):  # GPT-2's pattern matches every character
            return None
        if text.isascii():  # one byte per character: the words keep the piece's offsets
            if text.isprintable():  # of printable ASCII, only the space maps to another character
                words = "\x00".join(parts).replace(" ", _SPACE).split("\x00")
            else:
                words = list(map(str.translate, parts, repeat(_ascii_byte_table())))
            return words, partial(_word_starts, parts), None
        sizes = list(map(len, map(str.encode, parts)))
        starts = list(accumulate(sizes, initial=0))
        mapped = text.encode("utf-8").decode("latin-1").translate(bytes_to_unicode())
        char_of = list(chain.from_iterable(map(repeat, range(len(text)), map(len, map(str.encode, text)))))
        return list(map(mapped.__getitem__, map(slice, starts, starts[1:]))), starts[:-1], char_of

    def split(self, piece: NormalizedString) -> Pieces:
        if self.add_prefix_space and not piece.text.startswith(" "):
            piece.prepend(" ")
        pieces = piece.split(_pick(self.regexes, piece.text), "Isolated") if self.use_regex else [piece]
        table = _ascii_byte_table()
        for p in pieces:
            text = p.text
            if text.isascii():
                p.text = text.translate(table)  # one byte per character: spans unchanged
            else:
                p.transform(to_byte_chars(text))
        return pieces


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


def steps(pre_tokenizer: Any) -> list[Any]:
    """The pre-tokenizer as the list of steps that run one after the other (Sequences flattened)."""
    if pre_tokenizer is None:
        return []
    if isinstance(pre_tokenizer, Sequence):
        return [step for inner in pre_tokenizer.steps for step in steps(inner)]
    return [pre_tokenizer]


def apply(step: Any, pieces: Pieces) -> Pieces:
    """One step on the pieces that are not added tokens yet, dropping empty results."""
    split = step.split
    out: Pieces = []
    for piece in pieces:
        if piece.__class__ is AddedPiece:
            out.append(piece)
        else:
            out.extend(p for p in split(piece) if p.text)
    return out
