"""Text that keeps, for every character, the span of the original input it came from.

Every change goes through `transform`, fed with (char, change) pairs: change 0 replaces the
next character, 1 inserts a character (aligned like its predecessor), -n replaces the next
character and drops n more. This is the contract of the reference library, so offsets agree with
it character for character. Spans are character offsets into the whole original input.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Iterable, Union

from .unicode import WHITE_SPACE, Tiered, changing_runs, table

Span = tuple[int, int]
Edit = tuple[int, int, list[tuple[str, int]]]  # characters [i, j) become these (char, change) pairs
Matcher = Union[str, Callable[[str], bool], re.Pattern]

BEHAVIORS = ("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous")


_SIGMA = re.compile("\u03a3")


class NormalizedString:
    """`_align` None means no span is stored: character i comes from the original character at
    `start + max(i - head, 0)` (the first `head` characters were prepended, aligned with the first
    one). Most text never changes but for a prefix, and this saves a span per character until
    something else does."""

    __slots__ = ("text", "_align", "start", "head")

    def __init__(self, text: str, align: list[Span] | None, start: int, head: int = 0) -> None:
        self.text = text
        self._align = align
        self.start = start  # original offset of this piece, even when it is empty
        self.head = head

    @classmethod
    def of(cls, text: str, start: int = 0) -> "NormalizedString":
        return cls(text, None, start)

    @property
    def align(self) -> list[Span]:
        if self._align is None:
            s, n, h = self.start, len(self.text), min(self.head, len(self.text))
            self._align = [(s, s + 1)] * h + _spans(s, s + n - h)
        return self._align

    def __len__(self) -> int:
        return len(self.text)

    def __repr__(self) -> str:
        return f"NormalizedString({self.text!r}, start={self.start})"

    def original_span(self, i: int, j: int) -> Span:
        """Original offsets of normalized characters [i, j)."""
        if i == j:
            return (self.start + i, self.start + j)
        if self._align is None:
            s, h = self.start, self.head
            return (s + max(i - h, 0), s + max(j - 1 - h, 0) + 1)
        return (self._align[i][0], self._align[j - 1][1])

    def slice(self, i: int, j: int) -> "NormalizedString":
        align = self._align
        if align is None:
            h = self.head
            if i >= len(self.text):
                return NormalizedString("", None, self.end())
            if i >= h:
                return NormalizedString(self.text[i:j], None, self.start + i - h)
            return NormalizedString(self.text[i:j], None, self.start, h - i)
        start = align[i][0] if i < len(align) else self.end()
        return NormalizedString(self.text[i:j], align[i:j], start)

    def end(self) -> int:
        if self._align is None:
            n = len(self.text)
            return self.start + (n - self.head if n > self.head else min(n, 1))
        return self._align[-1][1] if self._align else self.start

    # --- transformations -------------------------------------------------------------------

    def transform_range(self, i: int, j: int, dest: Iterable[tuple[str, int]], initial_offset: int = 0) -> None:
        dest = list(dest)
        if initial_offset == 0 and len(dest) == j - i and all(change == 0 for _, change in dest):
            self.text = self.text[:i] + "".join(ch for ch, _ in dest) + self.text[j:]  # one for one: same spans
            return
        old_align = self.align
        offset = i + initial_offset
        chars, align = [], []
        for ch, change in dest:
            if change > 0:
                span = old_align[offset - 1] if offset >= 1 else (self.start, self.start)
            else:
                span = old_align[offset]
                offset += 1 - change
            chars.append(ch)
            align.append(span)
        self.text = self.text[:i] + "".join(chars) + self.text[j:]
        self._align = old_align[:i] + align + old_align[j:]

    def transform(self, dest: Iterable[tuple[str, int]], initial_offset: int = 0) -> None:
        self.transform_range(0, len(self.text), dest, initial_offset)

    def filter(self, keep: Callable[[str], bool]) -> None:
        if all(keep(ch) for ch in self.text):
            return
        dest: list[tuple[str, int]] = []
        removed = 0
        for ch in reversed(self.text):
            if keep(ch):
                dest.append((ch, -removed))
                removed = 0
            else:
                removed += 1
        dest.reverse()
        self.transform(dest, removed)

    def remove(self, pattern: "re.Pattern | Tiered") -> None:
        """Drop every character `pattern` (a one-character class) matches, keeping the others' spans."""
        text = scanned = self.text
        if pattern.__class__ is Tiered:
            pattern, scanned = pattern.scan(text)
        if pattern.search(scanned) is None:
            return
        dropped = [m.start() for m in pattern.finditer(scanned)]
        old = self.align
        align: list[Span] = []
        prev = 0
        for k in dropped:
            align += old[prev:k]
            prev = k + 1
        self.text = pattern.sub("", text) if scanned is text else "".join(
            map(text.__getitem__, map(slice, [0, *(k + 1 for k in dropped)], [*dropped, len(text)])))
        self._align = align + old[prev:]

    def lowercase(self) -> None:
        """Character by character, as the reference lowers. str.lower of a whole string differs from that
        only at a capital sigma (final form in context) and at İ, the one character that grows."""
        text = self.text
        if text.isascii():
            self.text = text.lower()
        elif "\u0130" not in text:
            self.text = _lower_each(text)
        else:
            self.text = "\u0130".join(map(_lower_each, text.split("\u0130")))
            self.edit([(k, k + 1, [("i", 0), ("\u0307", 1)]) for k, ch in enumerate(self.text) if ch == "\u0130"])

    def prepend(self, s: str) -> None:
        if self.text and self._align is None:
            self.text = s + self.text  # the new characters align with the first one
            self.head += len(s)
        elif self.text:
            dest = [(c, 0 if k == 0 else 1) for k, c in enumerate(s)] + [(self.text[0], 1)]
            self.transform_range(0, 1, dest)

    def replace(self, pattern: Matcher, content: str) -> None:
        """Each match becomes `content`, every new character aligned with the last matched one."""
        text = self.text
        if isinstance(pattern, str) and len(pattern) == 1 and len(content) == 1:
            if pattern in text:
                self.text = text.replace(pattern, content)  # one character for one: same spans
            return
        matches = [span for span, is_match in find_matches(pattern, text) if is_match]
        if not matches:
            return
        old = self.align
        chars: list[str] = []
        align: list[Span] = []
        prev = 0
        for a, b in matches:
            chars.append(text[prev:a])
            align.extend(old[prev:a])
            if content:
                span = old[b - 1] if b > a else (align[-1] if align else (self.start, self.start))
                chars.append(content)
                align.extend([span] * len(content))
            prev = b
        chars.append(text[prev:])
        align.extend(old[prev:])
        self.text = "".join(chars)
        self._align = align

    def strip(self, left: bool = True, right: bool = True) -> None:
        text = self.text
        lead = len(text) - len(_lstrip(text)) if left else 0
        trail = len(text) - len(_rstrip(text)) if right else 0
        if lead == len(text):
            trail = 0
        if lead or trail:
            n = len(text)
            if not lead:
                self.text = text[:n - trail]  # the kept characters keep their spans
                if self._align is not None:
                    self._align = self._align[:n - trail]
                return
            dest = [(c, -trail if k == n - trail - 1 else 0) for k, c in enumerate(text) if lead <= k < n - trail]
            self.transform(dest, lead)

    def unicode_normalize(self, form: str) -> None:
        self.edit(unicode_edits(self.text, form))

    def edit(self, edits: list[Edit]) -> None:
        """transform_range on several ranges (sorted, disjoint, each consuming exactly its own
        characters) in one pass; spans change only where some edit inserts or drops characters."""
        if not edits:
            return
        text = self.text
        if all(len(dest) == j - i and all(change == 0 for _, change in dest) for i, j, dest in edits):
            parts, prev = [], 0
            for i, j, dest in edits:
                parts.append(text[prev:i])
                parts.append("".join(ch for ch, _ in dest))
                prev = j
            parts.append(text[prev:])
            self.text = "".join(parts)
            return
        old = self.align
        chars: list[str] = []
        align: list[Span] = []
        prev = 0
        for i, j, dest in edits:
            chars.append(text[prev:i])
            align.extend(old[prev:i])
            offset = i
            for ch, change in dest:
                if change > 0:
                    span = old[offset - 1] if offset >= 1 else (self.start, self.start)
                else:
                    span = old[offset]
                    offset += 1 - change
                chars.append(ch)
                align.append(span)
            prev = j
        chars.append(text[prev:])
        align.extend(old[prev:])
        self.text = "".join(chars)
        self._align = align

    # --- splitting -------------------------------------------------------------------------

    def split(self, pattern: Matcher, behavior: str, invert: bool = False) -> list["NormalizedString"]:
        """The pieces `behavior` keeps; empty ones may be left out (callers drop them anyway)."""
        if isinstance(pattern, re.Pattern) and behavior in ("Isolated", "Removed"):
            keep_matches = behavior == "Isolated" or invert
            keep_gaps = behavior == "Isolated" or not invert
            text, slice_, out, prev = self.text, self.slice, [], 0
            for m in pattern.finditer(text):
                a, b = m.span()
                if keep_gaps and prev < a:
                    out.append(slice_(prev, a))
                if keep_matches and a < b:
                    out.append(slice_(a, b))
                prev = b
            if keep_gaps and prev < len(text):
                out.append(slice_(prev, len(text)))
            return out
        matches = find_matches(pattern, self.text)
        if invert:
            matches = [(span, not flag) for span, flag in matches]
        return [self.slice(a, b) for (a, b) in apply_behavior(matches, behavior)]

    def pieces(self, pattern: re.Pattern) -> list["NormalizedString"]:
        """The non-empty pieces `pattern` matches, in order; what lies between them is dropped."""
        text, start = self.text, self.start
        if self._align is None and not self.head:
            return [NormalizedString(m.group(), None, start + m.start()) for m in pattern.finditer(text)]
        return [self.slice(*m.span()) for m in pattern.finditer(text) if m.end() > m.start()]


_SPANS: list[Span] = []
_SHARED_SPANS = 1 << 16


def _spans(a: int, b: int) -> list[Span]:
    """[(a, a + 1), ..., (b - 1, b)]: a slice of one shared list, so spans of text that a normalizer
    starts to move are copied rather than built (a tenth of the time). Offsets past 64k are built."""
    if b > _SHARED_SPANS:
        return list(zip(range(a, b), range(a + 1, b + 1)))
    if b > len(_SPANS):
        top = min(max(2 * b, 4096), _SHARED_SPANS)
        _SPANS.extend(zip(range(len(_SPANS), top), range(len(_SPANS) + 1, top + 1)))
    return _SPANS[a:b]


def _lower_each(text: str) -> str:
    """str.lower, with every capital sigma as σ (lowered alone it is never final); no İ in text."""
    lowered = text.lower()
    if "\u03a3" not in text:
        return lowered
    chars = list(lowered)
    for m in _SIGMA.finditer(text):
        chars[m.start()] = "\u03c3"
    return "".join(chars)


def _lstrip(text: str) -> str:
    k = 0
    while k < len(text) and text[k] in WHITE_SPACE:
        k += 1
    return text[k:]


def _rstrip(text: str) -> str:
    k = len(text)
    while k > 0 and text[k - 1] in WHITE_SPACE:
        k -= 1
    return text[:k]


def find_matches(pattern: Matcher, text: str) -> list[tuple[Span, bool]]:
    """Cover the whole text with (span, is_match) pieces, in order."""
    if not text:
        return [((0, 0), False)]
    if isinstance(pattern, str):
        if not pattern:
            return [((0, len(text)), False)]
        pattern = re.compile(re.escape(pattern))
    out: list[tuple[Span, bool]] = []
    prev = 0
    if isinstance(pattern, re.Pattern):
        for m in pattern.finditer(text):
            a, b = m.span()
            if prev != a:
                out.append(((prev, a), False))
            out.append(((a, b), True))
            prev = b
    else:
        for k, ch in enumerate(text):
            if pattern(ch):
                if prev < k:
                    out.append(((prev, k), False))
                out.append(((k, k + 1), True))
                prev = k + 1
    if prev != len(text):
        out.append(((prev, len(text)), False))
    return out


def apply_behavior(matches: list[tuple[Span, bool]], behavior: str) -> list[Span]:
    """Which spans a split keeps, given what to do with the delimiters."""
    if behavior == "Removed":
        return [span for span, is_match in matches if not is_match]
    if behavior == "Isolated":
        return [span for span, _ in matches]
    spans: list[list[int]] = []
    previous = False
    if behavior == "Contiguous":
        for (a, b), is_match in matches:
            if spans and is_match == previous:
                spans[-1][1] = b
            else:
                spans.append([a, b])
            previous = is_match
    elif behavior == "MergedWithPrevious":
        for (a, b), is_match in matches:
            if is_match and not previous and spans:
                spans[-1][1] = b
            else:
                spans.append([a, b])
            previous = is_match
    elif behavior == "MergedWithNext":
        for (a, b), is_match in reversed(matches):
            if is_match and not previous and spans:
                spans[-1][0] = a
            else:
                spans.append([a, b])
            previous = is_match
        spans.reverse()
    else:
        raise ValueError(f"unknown split behavior {behavior!r}; expected one of {', '.join(BEHAVIORS)}")
    return [(a, b) for a, b in spans]


# --- Unicode normalization with alignment changes ------------------------------------------

def _decomposable(ch: str, compat: bool) -> bool:
    """Only what the reference's (older) Unicode tables decompose; Hangul is algorithmic."""
    return "\uac00" <= ch <= "\ud7a3" or ch in table("NFKD" if compat else "NFD")


def _decompose(ch: str, compat: bool) -> str:
    if ch < "\xa0" or not _decomposable(ch, compat):
        return ch
    return unicodedata.normalize("NFKD" if compat else "NFD", ch)


def _decompositions(text: str, compat: bool) -> list[tuple[str, int]]:
    """NFD/NFKD as (char, change) pairs: canonical reordering moves marks with their changes."""
    out: list[tuple[str, int]] = []
    pending: list[tuple[int, str, int]] = []
    combining = unicodedata.combining
    for ch in text:
        for k, d in enumerate(_decompose(ch, compat)):
            cls = combining(d)
            if cls == 0 and pending:
                pending.sort(key=lambda x: x[0])
                out.extend((c, chg) for _, c, chg in pending)
                pending = []
            pending.append((cls, d, 0 if k == 0 else 1))
    pending.sort(key=lambda x: x[0])
    out.extend((c, chg) for _, c, chg in pending)
    return out


def _compose_pair(a: str, b: str) -> str | None:
    composed = unicodedata.normalize("NFC", a + b)
    if len(composed) == 1 and _decomposable(composed, False):
        return composed
    return None


def _recompose(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Canonical composition over decomposed (char, change) pairs; merged chars sum their changes."""
    out: list[tuple[str, int]] = []
    combining = unicodedata.combining
    composee: tuple[str, int] | None = None
    buffer: list[tuple[str, int]] = []
    last_ccc: int | None = None
    for ch, change in items:
        cls = combining(ch)
        if composee is None:
            if cls != 0:
                out.append((ch, change))
                continue
            composee = (ch, change)
            continue
        if last_ccc is None:
            composed = _compose_pair(composee[0], ch)
            if composed is not None:
                composee = (composed, composee[1] + change - 1)
                continue
            if cls == 0:
                out.append(composee)
                composee = (ch, change)
                continue
            buffer.append((ch, change))
            last_ccc = cls
            continue
        if last_ccc >= cls:
            if cls == 0:
                out.append(composee)
                out.extend(buffer)
                buffer, last_ccc = [], None
                composee = (ch, change)
                continue
            buffer.append((ch, change))
            last_ccc = cls
            continue
        composed = _compose_pair(composee[0], ch)
        if composed is not None:
            composee = (composed, composee[1] + change - 1)
            continue
        buffer.append((ch, change))
        last_ccc = cls
    if composee is not None:
        out.append(composee)
    out.extend(buffer)
    return out


def unicode_normalize(text: str, form: str) -> list[tuple[str, int]]:
    if text.isascii():
        return [(c, 0) for c in text]
    items = _decompositions(text, compat=form in ("NFKD", "NFKC"))
    return _recompose(items) if form in ("NFC", "NFKC") else items


def unicode_edits(text: str, form: str) -> list[Edit]:
    """unicode_normalize as edits of the runs that can change, each done like the whole text.

    Characters between runs are starters that never decompose, so reordering never crosses them;
    composing, a run may join the starter just before it. Text that Python's tables call normalized
    needs nothing: the reference decomposes a subset of what they do, and composes a subset."""
    if text.isascii() or unicodedata.is_normalized(form, text):
        return []
    compat, compose = form in ("NFKD", "NFKC"), form in ("NFC", "NFKC")
    edits: list[Edit] = []
    end = 0
    known = _RUNS[form]
    if len(known) > RUNS_KEPT:
        known.clear()
    regex, scanned = changing_runs(compat, compose).scan(text)
    for m in regex.finditer(scanned):
        i, j = m.span()
        if compose and i > end:
            i -= 1
        end = j
        run = text[i:j]
        items = known.get(run)
        if items is None:
            items = _decompositions(run, compat)
            items = known[run] = tuple(_recompose(items) if compose else items)
        edits.append((i, j, items))
    return edits


# A run's normalization depends on nothing but the run: the same accented letters come back all the time.
RUNS_KEPT = 4096
_RUNS: dict[str, dict[str, tuple[tuple[str, int], ...]]] = {form: {} for form in ("NFC", "NFD", "NFKC", "NFKD")}
