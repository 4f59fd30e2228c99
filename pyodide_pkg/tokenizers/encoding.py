"""The result of encoding, with the attribute names of Hugging Face tokenizers' Encoding."""

from __future__ import annotations

from functools import partial
from typing import Callable, Union

FIELDS = ("ids", "tokens", "offsets", "type_ids", "special_tokens_mask", "attention_mask", "word_ids")
Offsets = list[tuple[int, int]]


class Encoding:
    """`tokens`, `offsets` and `word_ids` may be given as functions that compute them: most callers
    only want ids, and these cost about a third of an encode. The first read computes and keeps
    them; what builds one encoding out of others (`lazy`) composes the functions instead of reading
    them."""

    __slots__ = ("ids", "_tokens", "_offsets", "type_ids", "special_tokens_mask", "attention_mask", "_word_ids",
                 "overflowing", "sequence_ranges")

    def __init__(self, ids: list[int] | None = None, tokens: Union[list[str], Callable[[], list[str]], None] = None,
                 offsets: Union[Offsets, Callable[[], Offsets], None] = None, type_ids: list[int] | None = None,
                 special_tokens_mask: list[int] | None = None, attention_mask: list[int] | None = None,
                 word_ids: Union[list[int | None], Callable[[], list[int | None]], None] = None,
                 overflowing: list["Encoding"] | None = None,
                 sequence_ranges: dict[int, tuple[int, int]] | None = None) -> None:
        self.ids = [] if ids is None else ids
        self._tokens = [] if tokens is None else tokens
        self._offsets = [] if offsets is None else offsets
        self.type_ids = [] if type_ids is None else type_ids
        self.special_tokens_mask = [] if special_tokens_mask is None else special_tokens_mask
        self.attention_mask = [] if attention_mask is None else attention_mask
        self._word_ids = [] if word_ids is None else word_ids
        self.overflowing = [] if overflowing is None else overflowing
        self.sequence_ranges = {} if sequence_ranges is None else sequence_ranges

    @property
    def offsets(self) -> Offsets:
        offsets = self._offsets
        if offsets.__class__ is not list:
            offsets = self._offsets = offsets()
        return offsets

    @offsets.setter
    def offsets(self, value: Offsets) -> None:
        self._offsets = value

    @property
    def tokens(self) -> list[str]:
        tokens = self._tokens
        if tokens.__class__ is not list:
            tokens = self._tokens = tokens()
        return tokens

    @tokens.setter
    def tokens(self, value: list[str]) -> None:
        self._tokens = value

    def lazy(self, wrap: Callable[[list], list], slot: str = "_offsets") -> Union[list, Callable[[], list]]:
        """wrap(the list in `slot`), computed now if it is, else when first asked for."""
        values = getattr(self, slot)
        if values.__class__ is list:
            return wrap(values)
        return lambda: wrap(values())  # the values as they are now: the function is pure

    @property
    def word_ids(self) -> list[int | None]:
        words = self._word_ids
        if words.__class__ is not list:
            words = self._word_ids = words()
        return words

    @word_ids.setter
    def word_ids(self, value: list[int | None]) -> None:
        self._word_ids = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Encoding):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in (*FIELDS, "overflowing", "sequence_ranges"))

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"Encoding(num_tokens={len(self.ids)}, overflowing={len(self.overflowing)})"

    @property
    def words(self) -> list[int | None]:
        return self.word_ids

    @property
    def n_sequences(self) -> int:
        return len(self.sequence_ranges) or 1

    @property
    def sequence_ids(self) -> list[int | None]:
        out: list[int | None] = [None] * len(self.ids)
        for seq, (a, b) in self.sequence_ranges.items():
            for k in range(a, b):
                out[k] = seq
        if not self.sequence_ranges:
            out = [0] * len(self.ids)
        return out

    def copy(self) -> "Encoding":
        """Independent lists (and overflowing windows); the items themselves are immutable."""
        return Encoding(*(list(getattr(self, name)) for name in FIELDS), [o.copy() for o in self.overflowing],
                        dict(self.sequence_ranges))

    def set_sequence_id(self, sequence_id: int) -> None:
        self.sequence_ranges = {sequence_id: (0, len(self.ids))}

    def append(self, id_: int, token: str, offsets: tuple[int, int], word: int | None, type_id: int) -> None:
        self.ids.append(id_)
        self.tokens.append(token)
        self.offsets.append(offsets)
        self.type_ids.append(type_id)
        self.special_tokens_mask.append(0)
        self.attention_mask.append(1)
        self.word_ids.append(word)

    def _part(self, a: int, b: int) -> "Encoding":
        return Encoding(*(getattr(self, name)[a:b] for name in FIELDS))

    def truncate(self, max_length: int, stride: int = 0, direction: str = "right") -> None:
        """Keep max_length tokens; the rest becomes overflowing windows overlapping by `stride`."""
        n = len(self.ids)
        if max_length >= n:
            return
        if max_length == 0:
            whole = self.copy()
            for name in FIELDS:
                setattr(self, name, [])
            self.sequence_ranges = {}
            self.overflowing = [whole]
            return
        if stride >= max_length:
            raise ValueError(f"truncation stride {stride} must be smaller than max_length {max_length} "
                             "(less the special tokens the post-processor adds)")
        step = max_length - stride
        ranges = []
        if direction == "right":
            for start in range(0, n, step):
                stop = min(start + max_length, n)
                ranges.append((start, stop))
                if stop == n:
                    break
        else:
            for stop in range(n, 0, -step):
                start = max(stop - max_length, 0)
                ranges.append((start, stop))
                if start == 0:
                    break
        parts = [self._part(a, b) for a, b in ranges]
        first = parts[0]
        for name in FIELDS:
            setattr(self, name, getattr(first, name))
        self.sequence_ranges = {}
        self.overflowing = parts[1:]

    def merge_with(self, pair: "Encoding", growing_offsets: bool = False) -> None:
        overflowing = []
        for mine in self.overflowing:
            combined = mine.copy()
            combined.merge_with(pair.copy(), growing_offsets)
            overflowing.append(combined)
            for other in pair.overflowing:
                combined = mine.copy()
                combined.merge_with(other.copy(), growing_offsets)
                overflowing.append(combined)
        for other in pair.overflowing:
            combined = self.copy()
            combined.merge_with(other.copy(), growing_offsets)
            overflowing.append(combined)
        n = len(self.ids)
        for seq, (a, b) in pair.sequence_ranges.items():
            self.sequence_ranges[seq] = (n + a, n + b)
        shift = self.offsets[-1][1] if growing_offsets and self.offsets else 0
        self.ids += pair.ids
        self.tokens += pair.tokens
        self.type_ids += pair.type_ids
        self.word_ids += pair.word_ids
        self.offsets += [(a + shift, b + shift) for a, b in pair.offsets] if shift else pair.offsets
        self.special_tokens_mask += pair.special_tokens_mask
        self.attention_mask += pair.attention_mask
        self.overflowing = overflowing

    @classmethod
    def merge(cls, encodings: list["Encoding"], growing_offsets: bool = False) -> "Encoding":
        out = cls()
        for encoding in encodings:
            out.merge_with(encoding, growing_offsets)
        return out

    def pad(self, length: int, pad_id: int = 0, pad_type_id: int = 0, pad_token: str = "[PAD]",
            direction: str = "right") -> None:
        for other in self.overflowing:
            other.pad(length, pad_id, pad_type_id, pad_token, direction)
        n = length - len(self.ids)
        if n <= 0:
            return
        left = direction == "left"
        self.ids = _padded(self.ids, n, pad_id, left)
        self._tokens = _padded(self._tokens, n, pad_token, left)
        self._offsets = _padded(self._offsets, n, (0, 0), left)
        self.type_ids = _padded(self.type_ids, n, pad_type_id, left)
        self.special_tokens_mask = _padded(self.special_tokens_mask, n, 1, left)
        self._word_ids = _padded(self._word_ids, n, None, left)
        self.attention_mask = _padded(self.attention_mask, n, 0, left)
        if left:
            self.sequence_ranges = {s: (a + n, b + n) for s, (a, b) in self.sequence_ranges.items()}


def _padded(values: Union[list, Callable[[], list]], n: int, fill: object,
            left: bool) -> Union[list, Callable[[], list]]:
    """n fills before or after the values (a new list), or a function giving that when they are one."""
    if values.__class__ is list:
        return [fill] * n + values if left else values + [fill] * n
    return partial(_padded_later, values, n, fill, left)


def _padded_later(values: Callable[[], list], n: int, fill: object, left: bool) -> list:
    return _padded(values(), n, fill, left)
