"""Added tokens: found in the text before the model runs, so they are never split.

Tokens with `normalized: false` are matched in the raw input; the others in each normalized piece,
against their normalized form. At one position the longest token wins (leftmost-longest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from .normalized import NormalizedString
from .unicode import compile_pattern


@dataclass(frozen=True)
class AddedToken:
    content: str
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = True
    special: bool = False

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "AddedToken":
        return cls(config["content"], bool(config.get("single_word", False)), bool(config.get("lstrip", False)),
                   bool(config.get("rstrip", False)), bool(config.get("normalized", not config.get("special"))),
                   bool(config.get("special", False)))


class AddedPiece(NormalizedString):
    """A piece that is one added token: the model never sees it."""

    __slots__ = ("id",)

    def __init__(self, piece: NormalizedString, id_: int) -> None:
        super().__init__(piece.text, piece._align, piece.start, piece.head)
        self.id = id_


@lru_cache(maxsize=None)
def _word_edges() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    return (compile_pattern(r"\w\z"), compile_pattern(r"\A\w"), compile_pattern(r"\s*\z"), compile_pattern(r"\A\s*"))


class _Matcher:
    """Leftmost-longest search over a set of patterns, each mapped to a token id.

    One regex alternation, longest first: `re` takes the leftmost position, then the first
    alternative that matches there, which is the longest; equal texts keep the first id."""

    def __init__(self, patterns: list[tuple[str, int]]) -> None:
        self.ids: dict[str, int] = {}
        for text, id_ in patterns:
            if text:
                self.ids.setdefault(text, id_)
        ordered = sorted(self.ids, key=len, reverse=True)
        self.regex = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self.regex is not None

    def find(self, text: str, pos: int) -> tuple[int, int, int] | None:
        m = self.regex.search(text, pos)
        return None if m is None else (m.start(), m.end(), self.ids[m.group()])


class AddedVocabulary:
    def __init__(self) -> None:
        self.tokens: dict[int, AddedToken] = {}
        self.ids: dict[str, int] = {}
        self.special: set[str] = set()
        self._order: list[int] = []
        self._raw = _Matcher([])
        self._normalized = _Matcher([])

    def add(self, token: AddedToken, id_: int) -> None:
        if id_ in self.tokens and self.tokens[id_].content != token.content:
            self.ids.pop(self.tokens[id_].content, None)
        self.tokens[id_] = token
        self.ids[token.content] = id_
        if token.special:
            self.special.add(token.content)
        if id_ not in self._order:
            self._order.append(id_)

    def refresh(self, normalize: Callable[[str], str]) -> None:
        ordered = sorted(self._order, key=lambda i: not self.tokens[i].special)
        self._raw = _Matcher([(self.tokens[i].content, i) for i in ordered if not self.tokens[i].normalized])
        self._normalized = _Matcher([(normalize(self.tokens[i].content), i) for i in ordered
                                     if self.tokens[i].normalized])

    def _find(self, text: str, matcher: _Matcher) -> list[tuple[int | None, int, int]]:
        if not text:
            return [(None, 0, 0)]
        ends_word, starts_word, space_end, space_start = _word_edges()
        out: list[tuple[int | None, int, int]] = []
        start_offset, pos = 0, 0
        while matcher:
            found = matcher.find(text, pos)
            if found is None:
                break
            start, stop, id_ = found
            pos = stop
            token = self.tokens[id_]
            if token.single_word:
                start_space = start == 0 or not ends_word.search(text[:start])
                stop_space = stop == len(text) or not starts_word.search(text[stop:])
                if not (start_space and stop_space):
                    continue
            if token.lstrip:
                start = max(space_end.search(text[:start]).start(), start_offset)
            if token.rstrip:
                stop += space_start.search(text[stop:]).end()
            if start_offset < start:
                out.append((None, start_offset, start))
            out.append((id_, start, stop))
            start_offset = stop
        if start_offset != len(text):
            out.append((None, start_offset, len(text)))
        return out

    def _split(self, piece: NormalizedString, matcher: _Matcher) -> list[NormalizedString]:
        regex = matcher.regex
        if regex is None or regex.search(piece.text) is None:
            return [piece] if piece.text else []
        out = []
        for id_, a, b in self._find(piece.text, matcher):
            if a < b:
                part = piece.slice(a, b)
                out.append(part if id_ is None else AddedPiece(part, id_))
        return out

    def extract_and_normalize(self, text: str, normalizer: Any) -> list[NormalizedString]:
        """The text cut around added tokens (AddedPiece) and the rest normalized, empty pieces dropped."""
        out = []
        for piece in self._split(NormalizedString.of(text), self._raw):
            if piece.__class__ is AddedPiece:
                out.append(piece)
                continue
            if normalizer is not None:
                normalizer.normalize(piece)
            out.extend(self._split(piece, self._normalized))
        return out
