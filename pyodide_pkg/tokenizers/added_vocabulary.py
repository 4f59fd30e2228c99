"""Added tokens: found in the text before the model runs, so they are never split.

Tokens with `normalized: false` are matched in the raw input; the others in each normalized piece,
against their normalized form. At one position the longest token wins (leftmost-longest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from .models import Token
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


@lru_cache(maxsize=None)
def _word_edges() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    return (compile_pattern(r"\w\z"), compile_pattern(r"\A\w"), compile_pattern(r"\s*\z"), compile_pattern(r"\A\s*"))


class _Matcher:
    """Leftmost-longest search over a set of patterns, each mapped to a token id."""

    def __init__(self, patterns: list[tuple[str, int]]) -> None:
        self.by_first: dict[str, list[tuple[str, int]]] = {}
        for text, id_ in patterns:
            if text:
                self.by_first.setdefault(text[0], []).append((text, id_))
        for group in self.by_first.values():
            group.sort(key=lambda p: -len(p[0]))

    def __bool__(self) -> bool:
        return bool(self.by_first)

    def find(self, text: str, pos: int) -> tuple[int, int, int] | None:
        by_first = self.by_first
        for i in range(pos, len(text)):
            group = by_first.get(text[i])
            if group:
                for pattern, id_ in group:
                    if text.startswith(pattern, i):
                        return i, i + len(pattern), id_
        return None


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

    def _split(self, piece: NormalizedString, matcher: _Matcher) -> list[tuple[NormalizedString, list | None]]:
        out = []
        for id_, a, b in self._find(piece.text, matcher):
            part = piece.slice(a, b)
            out.append((part, None if id_ is None else [Token(id_, part.text, (0, len(part.text)))]))
        return out

    def extract_and_normalize(self, text: str, normalizer: Any) -> list[tuple[NormalizedString, list | None]]:
        splits = [s for s in self._split(NormalizedString.of(text), self._raw) if s[0].text]
        out = []
        for piece, tokens in splits:
            if tokens is not None:
                out.append((piece, tokens))
                continue
            if normalizer is not None:
                normalizer.normalize(piece)
            out.extend(s for s in self._split(piece, self._normalized) if s[0].text)
        return out
