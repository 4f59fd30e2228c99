"""Character classes as the reference library sees them, and its regex dialect translated to `re`.

Hugging Face tokenizers is Rust: its `char::is_whitespace` is the Unicode White_Space property
(Python's `str.isspace` also counts U+001C..U+001F), its regexes run on Oniguruma where `\\p{L}`
exists and `\\s`/`\\w` follow Unicode properties. Python's `re` has no `\\p{..}` and a different
`\\s`/`\\w`, so patterns are rewritten with explicit classes built from `unicodedata`.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache

WHITE_SPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                        "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
ZWJ, ZWNJ = "\u200d", "\u200c"


def is_white_space(ch: str) -> bool:
    return ch in WHITE_SPACE


ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def is_punctuation(ch: str) -> bool:
    """ASCII punctuation or any Unicode P* category, as BERT-style splitting uses."""
    if ch < "\x80":
        return ch in ASCII_PUNCTUATION
    return ch in table("PUNCTUATION")


def is_numeric(ch: str) -> bool:
    return ch in table("NUMERIC")


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters, for the rules that matter to SentencePiece charsmaps.

    A cluster is a base followed by marks, ZWJ/ZWNJ, emoji modifiers and tags (GB9, GB9a); CR LF
    stays together (GB3); controls never join (GB4, GB5); regional indicators pair (GB12/13);
    prepended concatenation marks join what follows (GB9b).
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        start, ch = i, text[i]
        i += 1
        if ch == "\r":
            if i < n and text[i] == "\n":
                i += 1
            out.append(text[start:i])
            continue
        if _is_control(ch):
            out.append(ch)
            continue
        while ch in _PREPEND and i < n and not _is_control(text[i]):
            ch = text[i]
            i += 1
        if _is_regional(ch) and i < n and _is_regional(text[i]):
            i += 1
        while i < n and _extends(text[i]):
            i += 1
        out.append(text[start:i])
    return out


_PREPEND = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd")


def _is_control(ch: str) -> bool:
    if ch in (ZWJ, ZWNJ):
        return False
    return ch in "\r\n" or unicodedata.category(ch) in ("Cc", "Zl", "Zp") or (
        unicodedata.category(ch) == "Cf" and ch not in _PREPEND and not "\U000e0020" <= ch <= "\U000e007f")


def _is_regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _extends(ch: str) -> bool:
    return (unicodedata.category(ch) in ("Mn", "Me", "Mc") or ch in (ZWJ, ZWNJ)
            or "\U0001f3fb" <= ch <= "\U0001f3ff" or "\U000e0020" <= ch <= "\U000e007f"
            or ch in "\uff9e\uff9f")


# Grapheme clusters found by a regex over one class letter per character (what `graphemes` asks
# of each): r CR, n LF, C other control, P prepend, R regional indicator, E extend, N anything else.
GRAPHEME = re.compile(r"rn?|[Cn]|P*(?:RR?|[^Crn])E*")
_KINDS: dict[str, str] = {"\r": "r", "\n": "n"}


def grapheme_kinds(text: str, marked: frozenset[str] = frozenset()) -> str:
    """The class letters of `text`, one per character, for GRAPHEME; an N character in `marked`
    is an X instead (GRAPHEME treats both alike)."""
    kinds = _KINDS
    table = {}
    for ch in set(text):
        kind = kinds.get(ch)
        if kind is None:
            kind = kinds[ch] = ("C" if _is_control(ch) else "P" if ch in _PREPEND else "R" if _is_regional(ch)
                                else "E" if _extends(ch) else "N")
        table[ord(ch)] = "X" if kind == "N" and ch in marked else kind
    return text.translate(table)


def grapheme_regions(kinds: str) -> list[tuple[int, int]]:
    """Stretches of `kinds` that start and end at grapheme boundaries and hold every grapheme
    that is not a lone N: runs of other letters, with the N an E extends and the one a P joins."""
    out: list[tuple[int, int]] = []
    for m in _NOT_N.finditer(kinds):
        a, b = m.span()
        if kinds[a] == "E" and a:
            a -= 1
        if kinds[b - 1] == "P" and b < len(kinds):
            b += 1
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


_NOT_N = re.compile("[^N]+")


def _kind(ch: str) -> str:
    kind = _KINDS.get(ch)
    if kind is None:
        grapheme_kinds(ch)
        kind = _KINDS[ch]
    return kind


def grapheme_spans(text: str, marked: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """The spans GRAPHEME finds in the grapheme_regions of grapheme_kinds(text, marked), without
    the kinds of the whole text: the regions are runs of the few characters that are not plain
    N ones, which one regex over just those characters finds (str.translate of astral text is slow)."""
    special = frozenset(ch for ch in set(text) if ch in marked or _kind(ch) != "N")
    if not special:
        return []
    n = len(text)
    regions: list[tuple[int, int]] = []
    for m in _runs_of(special).finditer(text):
        a, b = m.span()
        if a and _kind(text[a]) == "E":
            a -= 1
        if b < n and _kind(text[b - 1]) == "P":
            b += 1
        if regions and a <= regions[-1][1]:
            regions[-1] = (regions[-1][0], b)
        else:
            regions.append((a, b))
    spans: list[tuple[int, int]] = []
    for a, b in regions:
        if b - a == 1:  # one character is one grapheme
            spans.append((a, b))
            continue
        region = text[a:b]
        letters = "".join(["X" if kind == "N" and ch in marked else kind for ch, kind in zip(region, map(_kind, region))])
        spans += [(a + m.start(), a + m.end()) for m in GRAPHEME.finditer(letters)]
    return spans


@lru_cache(maxsize=256)
def _runs_of(chars: frozenset[str]) -> re.Pattern:
    return re.compile(f"[{''.join(map(re.escape, sorted(chars)))}]+")


class RangeSet:
    """Membership in a sorted tuple of inclusive code point ranges."""

    def __init__(self, ranges: tuple[tuple[int, int], ...]) -> None:
        self.ranges = ranges
        self.starts = [a for a, _ in ranges]

    def __contains__(self, ch: str) -> bool:
        cp = ord(ch)
        k = bisect_right(self.starts, cp) - 1
        return k >= 0 and cp <= self.ranges[k][1]


@lru_cache(maxsize=None)
def table(name: str) -> RangeSet:
    from . import unicode_tables
    return RangeSet(getattr(unicode_tables, name))


@lru_cache(maxsize=None)
def _script_runs() -> tuple[list[int], tuple]:
    from . import unicode_tables
    runs = unicode_tables.SCRIPT_CLASSES
    return [r[0] for r in runs], runs


def script_class(ch: str) -> int:
    """Which script the reference's UnicodeScripts sees (an arbitrary id; 0 is 'Any')."""
    starts, runs = _script_runs()
    cp = ord(ch)
    k = bisect_right(starts, cp) - 1
    return runs[k][2] if k >= 0 and cp <= runs[k][1] else 0


def is_bert_cleaned(ch: str) -> bool:
    """Dropped by BertNormalizer's clean_text: NUL, U+FFFD and 'other' characters except \\t\\n\\r."""
    if " " <= ch < "\x7f":
        return False
    return ch in table("BERT_CLEANED")


def is_nonspacing_mark(ch: str) -> bool:
    return ch in table("NONSPACING_MARK")


def is_combining_mark(ch: str) -> bool:
    return ch in table("COMBINING_MARK")


BMP = 0x10000  # a `limit`: classes cut down to the Basic Multilingual Plane, for text without astral characters
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def tier(text: str) -> int:
    """0 for ASCII text, 1 for text within the BMP, 2 otherwise: which regex of a (ASCII, BMP, any)
    triple matches it fastest. `re` looks up BMP characters of a class in a table, but walks the
    astral ranges of a class one by one for every character that is not in the table; without them
    a Unicode class costs about what an ASCII one does (0.6 ms → 0.025 ms for marks on 6k chars)."""
    if text.isascii():
        return 0
    return 2 if _ASTRAL.search(text) else 1


def _ranges_text(ranges, limit: int | None = None) -> str:
    parts = []
    for a, b in ranges:
        if limit is not None:
            if a >= limit:
                continue
            b = min(b, limit - 1)
        parts.append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
    return "".join(parts)


PROPERTY_ALIASES = {
    "Letter": "L", "Mark": "M", "Number": "N", "Punctuation": "P", "Symbol": "S", "Separator": "Z",
    "Other": "C", "Lowercase_Letter": "Ll", "Uppercase_Letter": "Lu", "Titlecase_Letter": "Lt",
    "Modifier_Letter": "Lm", "Other_Letter": "Lo", "Decimal_Number": "Nd", "Letter_Number": "Nl",
    "Other_Number": "No", "Nonspacing_Mark": "Mn", "Spacing_Mark": "Mc", "Enclosing_Mark": "Me",
    "Control": "Cc", "Format": "Cf", "Space_Separator": "Zs",
}


@lru_cache(maxsize=None)
def property_class(name: str, limit: int | None = None) -> str:
    """The inside of a `[...]` class for \\p{name}, with Oniguruma's own category tables; with a
    limit, only its characters below it."""
    name = PROPERTY_ALIASES.get(name, name)
    if name in ("L&", "LC"):
        return "".join(property_class(c, limit) for c in ("Lu", "Ll", "Lt"))
    from . import unicode_tables
    ranges = getattr(unicode_tables, f"REGEX_{name}", None)
    if ranges is None:
        raise ValueError(f"unsupported Unicode property \\p{{{name}}}")
    return _ranges_text(ranges, limit)


SPACE_CLASS = _ranges_text([(ord(c), ord(c)) for c in sorted(WHITE_SPACE)])


@lru_cache(maxsize=None)
def char_class(name: str, limit: int | None = None) -> str:
    """The inside of a `[...]` class with exactly the characters of is_white_space, is_punctuation,
    is_numeric or is_bert_cleaned, so splits and filters run in `re` instead of a call per character."""
    from . import unicode_tables
    if name == "white_space":
        return SPACE_CLASS
    if name == "punctuation":
        wide = [(max(a, 0x80), b) for a, b in unicode_tables.PUNCTUATION if b >= 0x80]
        return re.escape("".join(sorted(ASCII_PUNCTUATION))) + _ranges_text(wide, limit)
    return _ranges_text(getattr(unicode_tables, name.upper()), limit) or _NOTHING[limit]


# What stands in a class that a limit left empty: a character no text under the limit has.
_NOTHING = {None: "", BMP: "\U0010ffff"}


@lru_cache(maxsize=None)
def changing_runs(compat: bool, compose: bool) -> "Tiered":
    return Tiered(None, _changing_runs(compat, compose, BMP), _changing_runs(compat, compose, None))


def _changing_runs(compat: bool, compose: bool, limit: int | None = None) -> re.Pattern:
    """Runs of characters a Unicode normalization may change or reorder: the decomposable ones and
    every character that is not a known letter, number, punctuation, symbol or separator (marks
    have combining classes; characters these tables do not know may too). Composing also joins
    Hangul jamo. Everything between runs stays as it is. One negated class, the quiet characters
    less the changing ones, rather than an alternation of two: `re` repeats a single class fast."""
    from . import unicode_tables
    changing = [*(unicode_tables.NFKD if compat else unicode_tables.NFD), (0xAC00, 0xD7A3)]
    if compose:
        changing += [(0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF)]
    quiet = [(0, 0x7F), *(r for name in "LNPSZ" for r in getattr(unicode_tables, f"REGEX_{name}"))]
    return re.compile(f"[^{_ranges_text(_minus(_merged(quiet), _merged(changing)), limit)}]+")


def _merged(ranges) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def _minus(ranges: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted disjoint ranges less other sorted disjoint ranges."""
    out: list[tuple[int, int]] = []
    k = 0
    for a, b in ranges:
        while k < len(cut) and cut[k][1] < a:
            k += 1
        j = k
        while a <= b:
            if j >= len(cut) or cut[j][0] > b:
                out.append((a, b))
                break
            if cut[j][0] > a:
                out.append((a, cut[j][0] - 1))
            a = max(a, cut[j][1] + 1)
            j += 1
    return out


OTHER_ALPHABETIC_SYMBOLS = [(0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189)]


@lru_cache(maxsize=None)
def word_class(limit: int | None = None) -> str:
    """Unicode \\w as Rust regex and Oniguruma define it: Alphabetic, marks, Nd, Pc, joiners."""
    return ("".join(property_class(c, limit) for c in ("L", "Nl", "M", "Nd", "Pc")) + re.escape(ZWJ + ZWNJ)
            + _ranges_text(OTHER_ALPHABETIC_SYMBOLS, limit))


_ESCAPE = re.compile(r"\\(p\{[^}]*\}|P\{[^}]*\}|[pP][A-Za-z]|[sSwWdDhzZ])")


@lru_cache(maxsize=None)
def ascii_part(inner: str) -> str:
    """The inside of a `[...]` class with only the ASCII characters of `[inner]`. On ASCII text the
    two match alike (so do their negations), and `re` tries a short class much faster than the
    Unicode ones, whose ranges it walks one by one. Never empty: U+0080 stands in (no ASCII text has it)."""
    regex = re.compile(f"[{inner}]")
    return re.escape("".join(c for c in map(chr, range(128)) if regex.match(c)) or "\x80")


def ascii_pattern(pattern: str) -> re.Pattern | None:
    """compile_pattern(pattern) for ASCII text only, with every class cut down to ASCII; None where
    case-insensitive matching could reach ASCII through other characters (e.g. the Kelvin sign)."""
    if re.search(r"\(\?[a-zA-Z]*i", pattern):
        return None
    return compile_pattern(pattern, ascii_only=True)


def bmp_pattern(pattern: str) -> re.Pattern | None:
    """compile_pattern(pattern) for text without astral characters, classes cut down to the BMP;
    None for case-insensitive patterns (as ascii_pattern)."""
    if re.search(r"\(\?[a-zA-Z]*i", pattern):
        return None
    return compile_pattern(pattern, limit=BMP)


def tiered_patterns(pattern: str) -> "Tiered":
    """compile_pattern's regexes for each `tier` of text (None where the next one up serves)."""
    return Tiered(ascii_pattern(pattern), bmp_pattern(pattern), compile_pattern(pattern))


class Tiered(tuple):
    """One regex as (for ASCII text, for BMP text, for any text), the first two None where the next
    one up serves. `scan` also lets the BMP regex run on astral text: each astral character is
    swapped for a stand-in, a BMP character that every class and literal of the regex treats alike
    (same length, so the same spans); where no stand-in exists the regex for any text runs."""

    def __new__(cls, ascii: "re.Pattern | None", bmp: "re.Pattern | None", full: re.Pattern) -> "Tiered":
        return super().__new__(cls, (ascii, bmp, full))

    def __init__(self, *_: object) -> None:
        self._stand_ins: "_StandIns | None | bool" = False

    def pick(self, text: str) -> re.Pattern:
        """The fastest regex for `text` itself."""
        found = self[tier(text)]
        return found if found is not None else self[2]

    def scan(self, text: str) -> tuple[re.Pattern, str]:
        """A regex and the text to run it on, giving the spans `self[2]` gives on `text`; take the
        matched characters from `text` itself."""
        if text.isascii():
            return (self[0] or self[2]), text
        astral = _ASTRAL.findall(text)
        if not astral:
            return (self[1] or self[2]), text
        if self[1] is None:
            return self[2], text
        if self._stand_ins is False:
            self._stand_ins = _StandIns.of(self[2])
        swaps = self._stand_ins.swaps(astral) if self._stand_ins is not None else None
        if swaps is None:
            return self[2], text
        for ch, stand_in in swaps:  # str.replace per character: a tenth of str.translate's time
            text = text.replace(ch, stand_in)
        return self[1], text


class _StandIns:
    """For one regex: what each class and literal in it says of a character (its signature), and the
    first BMP character with each signature found so far."""

    def __init__(self, tests: list) -> None:
        self.tests = tests
        self.by_signature: dict[tuple[bool, ...], str] = {}
        self.next = 0xA0  # never a line break or an ASCII character, which anchors and literals treat apart
        self.known: dict[str, str | None] = {}

    @classmethod
    def of(cls, regex: re.Pattern) -> "_StandIns | None":
        """None for regexes whose matches depend on more than each character's classes (back
        references compare characters; case-insensitive classes fold)."""
        if regex.flags & re.IGNORECASE:
            return None
        from re import _parser
        tests: list = []
        try:
            _collect(_parser.parse(regex.pattern, regex.flags & ~re.UNICODE), tests)
        except _Unsupported:
            return None
        return cls(tests)

    def signature(self, ch: str) -> tuple[bool, ...]:
        cp = ord(ch)
        return tuple(test(cp) for test in self.tests)

    def stand_in(self, ch: str) -> str | None:
        if ch in self.known:
            return self.known[ch]
        want = self.signature(ch)
        found = self.by_signature.get(want)
        while found is None and self.next < 0x10000:
            cp = self.next
            self.next += 1 if cp != 0xD7FF else 0x801  # no surrogates
            signature = self.signature(chr(cp))
            if signature not in self.by_signature:
                self.by_signature[signature] = chr(cp)
                if signature == want:
                    found = chr(cp)
        if len(self.known) > 4096:  # the signatures stay; only the characters' lookups go
            self.known.clear()
        self.known[ch] = found
        return found

    def swaps(self, astral: list[str]) -> list[tuple[str, str]] | None:
        swaps = []
        for ch in set(astral):
            found = self.stand_in(ch)
            if found is None:
                return None
            swaps.append((ch, found))
        return swaps


class _Unsupported(Exception):
    pass


_PY_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                  "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}


def _collect(items, tests: list) -> None:
    """Append a membership test (code point → bool) for every class and literal in a parsed regex."""
    from re import _constants as c
    for op, av in items:
        if op is c.IN:
            tests.append(_class_test(av))
        elif op is c.LITERAL or op is c.NOT_LITERAL:
            tests.append(av.__eq__)
        elif op is c.ANY:
            continue
        elif op is c.AT:
            if av in (c.AT_BOUNDARY, c.AT_NON_BOUNDARY, c.AT_UNI_BOUNDARY, c.AT_UNI_NON_BOUNDARY):
                tests.append(_python_class(r"\w"))
        elif op is c.BRANCH:
            for branch in av[1]:
                _collect(branch, tests)
        elif op is c.SUBPATTERN:
            _collect(av[-1], tests)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)):
            _collect(av[2], tests)
        elif op is c.ASSERT or op is c.ASSERT_NOT:
            _collect(av[1], tests)
        elif op is getattr(c, "ATOMIC_GROUP", None):
            _collect(av, tests)
        else:
            raise _Unsupported(str(op))


def _python_class(inner: str):
    regex = re.compile(f"[{inner}]")
    return lambda cp: regex.match(chr(cp)) is not None


def _class_test(items):
    from re import _constants as c
    ranges: list[tuple[int, int]] = []
    others = []
    negated = False
    for op, av in items:
        if op is c.NEGATE:
            negated = True
        elif op is c.LITERAL:
            ranges.append((av, av))
        elif op is c.RANGE:
            ranges.append(av)
        elif op is c.CATEGORY and str(av) in _PY_CATEGORIES:
            others.append(_python_class(_PY_CATEGORIES[str(av)]))
        else:
            raise _Unsupported(str(op))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    members = RangeSet(tuple(merged))

    def test(cp: int) -> bool:
        return (chr(cp) in members or any(other(cp) for other in others)) != negated
    return test


@lru_cache(maxsize=256)
def compile_pattern(pattern: str, ascii_only: bool = False, limit: int | None = None) -> re.Pattern:
    """Compile an Oniguruma (Ruby syntax) pattern from tokenizer.json with Python's `re`.

    Ruby's ^ and $ are line anchors (re.MULTILINE), \\z ends the string, \\Z allows a final newline.
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            m = _ESCAPE.match(pattern, i)
            if m is None:
                out.append(pattern[i:i + 2])
                i += 2
                continue
            out.append(_translate_escape(m.group(1), in_class, ascii_only, limit))
            i = m.end()
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
            if pattern.startswith("]", i + 1):
                out.append(r"\]")
                i += 1
        elif ch == "]" and in_class:
            in_class = False
            out.append(ch)
        elif ch == "[" and in_class:
            out.append(r"\[")
        else:
            out.append(ch)
        i += 1
    try:
        return re.compile("".join(out), re.MULTILINE)
    except re.error as error:
        raise ValueError(f"tokenizer.json: cannot compile regex {pattern!r}: {error}") from None


def _translate_escape(escape: str, in_class: bool, ascii_only: bool = False, limit: int | None = None) -> str:
    kind = escape[0]
    if kind == "z":
        return r"\Z"
    if kind == "Z":
        return r"(?=\n?\Z)"
    if kind in "pP":
        name = escape[2:-1] if escape[1:2] == "{" else escape[1:]
        negated = kind == "P"
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        inner = property_class(name, limit) or _NOTHING[limit]
    elif kind in "sS":
        inner, negated = SPACE_CLASS, kind == "S"
    elif kind in "wW":
        inner, negated = word_class(limit), kind == "W"
    elif kind in "dD":
        inner, negated = property_class("Nd", limit), kind == "D"
    else:  # \h: hexadecimal digit in Ruby syntax
        inner, negated = "0-9a-fA-F", False
    if ascii_only:
        inner = ascii_part(inner)
    if in_class:
        if negated:
            raise ValueError(f"negated class escape \\{escape} inside [...] is not supported")
        return inner
    return f"[{'^' if negated else ''}{inner}]"
