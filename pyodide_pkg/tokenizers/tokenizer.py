"""Tokenizer with the Python interface of Hugging Face `tokenizers`, read from tokenizer.json.

The steps run in the reference's order: added tokens are cut out of the raw text, the rest is
normalized (and normalized added tokens are cut out), pre-tokenized, tokenized by the model;
then truncation, the post-processor and padding.
"""

from __future__ import annotations

import json
from functools import partial
from itertools import chain, repeat
from operator import add, itemgetter
from pathlib import Path
from typing import Any, Iterable

from . import decoders, models, normalizers, post_processors, pre_tokenizers
from .added_vocabulary import AddedPiece, AddedToken, AddedVocabulary
from .encoding import Encoding
from .models.common import Word


def serde_float(text: str) -> float:
    """A JSON number as the reference reads it: serde_json without `float_roundtrip` turns the digits into an
    integer, rounds that to a double, then multiplies or divides by a power of ten, so some values land one
    ulp from the correctly rounded one (45 of one trained Unigram's 900 scores). Unigram scores that tie
    exactly (runs of one character) are then broken as the reference breaks them."""
    mantissa, _, exp = text.lower().partition("e")
    whole, _, fraction = mantissa.lstrip("+-").partition(".")
    significand, exponent = int(whole + fraction), int(exp or 0) - len(fraction)
    if significand >= 2 ** 64 or abs(exponent) > 308:
        return float(text)
    power = float(f"1e{abs(exponent)}")
    value = float(significand) * power if exponent >= 0 else float(significand) / power
    return -value if mantissa.startswith("-") else value
from .normalized import NormalizedString

STRATEGIES = ("longest_first", "only_first", "only_second")


class Tokenizer:
    def __init__(self, config: dict[str, Any]) -> None:
        if config.get("version", "1.0") != "1.0":
            raise ValueError(f"tokenizer.json: unknown version {config['version']!r}")
        if not isinstance(config.get("model"), dict):
            raise ValueError("tokenizer.json: no model section")
        self.normalizer = normalizers.from_config(config.get("normalizer"))
        self.pre_tokenizer = pre_tokenizers.from_config(config.get("pre_tokenizer"))
        self._steps: tuple[Any, list[Any], Any] = (object(), [], None)  # for the pre_tokenizer in use
        self._around: tuple[Any, tuple | None] = (object(), None)  # for the post_processor in use
        self.model = models.from_config(config["model"])
        self.post_processor = post_processors.from_config(config.get("post_processor"))
        self.decoder = decoders.from_config(config.get("decoder"))
        self.added = AddedVocabulary()
        self._model_r = ({i: p for i, p in enumerate(self.model.pieces)} if hasattr(self.model, "pieces")
                         else {v: k for k, v in self.model.vocab.items()})
        self.add_tokens([AddedToken.from_config(t) for t in config.get("added_tokens") or []])
        self.truncation: dict[str, Any] | None = None
        self.padding: dict[str, Any] | None = None
        if config.get("truncation"):
            t = config["truncation"]
            self.enable_truncation(t["max_length"], t.get("stride", 0), _lower(t.get("strategy", "longest_first")),
                                   _lower(t.get("direction", "right")))
        if config.get("padding"):
            p = config["padding"]
            fixed = p.get("strategy") if isinstance(p.get("strategy"), dict) else None
            self.enable_padding(_lower(p.get("direction", "right")), p.get("pad_id", 0), p.get("pad_type_id", 0),
                                p.get("pad_token", "[PAD]"), fixed["Fixed"] if fixed else None,
                                p.get("pad_to_multiple_of"))

    @classmethod
    def from_str(cls, json_text: str) -> "Tokenizer":
        return cls(json.loads(json_text, parse_float=serde_float))

    @classmethod
    def from_buffer(cls, data: bytes) -> "Tokenizer":
        return cls(json.loads(data, parse_float=serde_float))

    @classmethod
    def from_file(cls, path: str | Path) -> "Tokenizer":
        return cls.from_str(Path(path).read_text(encoding="utf-8"))

    # --- vocabulary --------------------------------------------------------------------------

    def add_tokens(self, tokens: Iterable[AddedToken | str], special: bool = False) -> int:
        added = 0
        for token in tokens:
            if isinstance(token, str):
                token = AddedToken(token, normalized=not special, special=special)
            elif special and not token.special:
                token = AddedToken(token.content, token.single_word, token.lstrip, token.rstrip,
                                   token.normalized, True)
            if not token.content or any(t == token for t in self.added.tokens.values()):
                continue
            id_ = self.token_to_id(token.content)
            if id_ is None:
                size = len(self.model.vocab)
                top = max(self.added.tokens, default=None)
                id_ = size if top is None or (top < size and size) else top + 1
            self.added.add(token, id_)
            added += 1
        self.added.refresh(self._normalize_text)
        return added

    def add_special_tokens(self, tokens: Iterable[AddedToken | str]) -> int:
        return self.add_tokens(tokens, special=True)

    def _normalize_text(self, text: str) -> str:
        n = NormalizedString.of(text)
        if self.normalizer:
            self.normalizer.normalize(n)
        return n.text

    def token_to_id(self, token: str) -> int | None:
        found = self.added.ids.get(token)
        return found if found is not None else self.model.vocab.get(token)

    def id_to_token(self, id_: int) -> str | None:
        token = self.added.tokens.get(id_)
        return token.content if token else self._model_r.get(id_)

    def get_vocab(self, with_added_tokens: bool = True) -> dict[str, int]:
        vocab = dict(self.model.vocab)
        if with_added_tokens:
            vocab.update(self.added.ids)
        return vocab

    def get_vocab_size(self, with_added_tokens: bool = True) -> int:
        return len(self.get_vocab(with_added_tokens))

    def get_added_tokens_decoder(self) -> dict[int, AddedToken]:
        return dict(sorted(self.added.tokens.items()))

    # --- truncation and padding --------------------------------------------------------------

    def enable_truncation(self, max_length: int, stride: int = 0, strategy: str = "longest_first",
                          direction: str = "right") -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"truncation strategy {strategy!r} is unknown; expected one of {', '.join(STRATEGIES)}")
        if direction not in ("left", "right"):
            raise ValueError(f"truncation direction {direction!r} is unknown; expected left or right")
        if self.post_processor and stride > max(max_length - self.post_processor.added_tokens(False), 0):
            raise ValueError(f"truncation stride {stride} is too high for max_length {max_length} with "
                             f"{self.post_processor.added_tokens(False)} special tokens")
        self.truncation = {"max_length": max_length, "stride": stride, "strategy": strategy, "direction": direction}

    def no_truncation(self) -> None:
        self.truncation = None

    def enable_padding(self, direction: str = "right", pad_id: int = 0, pad_type_id: int = 0,
                       pad_token: str = "[PAD]", length: int | None = None,
                       pad_to_multiple_of: int | None = None) -> None:
        if direction not in ("left", "right"):
            raise ValueError(f"padding direction {direction!r} is unknown; expected left or right")
        self.padding = {"length": length, "pad_to_multiple_of": pad_to_multiple_of, "pad_id": pad_id,
                        "pad_token": pad_token, "pad_type_id": pad_type_id, "direction": direction}

    def no_padding(self) -> None:
        self.padding = None

    # --- encoding ----------------------------------------------------------------------------

    def _encode_text(self, text: str, type_id: int, word: int | None) -> Encoding:
        ids, tokens, offsets, words = self._tokens(text, word)
        n = len(ids)
        return Encoding(ids, tokens, offsets, [type_id] * n, [0] * n, [1] * n, words)

    def _tokens(self, text: str, word: int | None) -> tuple[list[int], list[str], Any, list[int | None]]:
        """Tokens of each word, from the model's cache mostly. The last pre-tokenizer step cuts the
        words (and their offsets) in one go where it can, so nothing is built per word, and the
        encoding's lists are filled by itertools rather than token by token. Offsets come as a
        function that computes them (see Encoding)."""
        pieces = self.added.extract_and_normalize(text, self.normalizer)
        if self._steps[0] is not self.pre_tokenizer:
            steps = pre_tokenizers.steps(self.pre_tokenizer)
            last = steps.pop() if steps and hasattr(steps[-1], "cut") else None
            self._steps = (self.pre_tokenizer, steps, last)
        _, steps, last = self._steps
        for step in steps:
            pieces = pre_tokenizers.apply(step, pieces)
        model = self.model
        cached, compute = model.cache.get, model.word
        ids: list[int] = []
        tokens: list = []  # like offsets
        offsets: list = []  # functions that compute the offsets of some tokens (once asked for), or the offsets
        words: list = []  # like offsets
        index = 0
        for piece in pieces:
            if piece.__class__ is AddedPiece:
                ids.append(piece.id)
                tokens.append([piece.text])
                offsets.append([piece.original_span(0, len(piece.text))])
                words.append([index if word is None else word])
                index += 1
                continue
            whole = ([piece.text], [0], None) if last is None else last.cut(piece)
            if whole is None:  # cut prepared the piece (idempotently) and split finishes it
                parts = [(p, ([p.text], [0], None)) for p in last.split(piece) if p.text]
            else:
                parts = [(piece, whole)]
            for part, (texts, starts, char_of) in parts:
                if len(texts) == 1:  # a whole piece (no pre-tokenizer), or a one-word one
                    found = [cached(texts[0]) or compute(texts[0])]
                    count = len(found[0][0])
                    of_word: Any = [0] * count
                    ids += found[0][0]
                    tokens.append(partial(list, found[0][1]))
                    words.append(partial(_repeated, index if word is None else word, count))
                else:
                    found = list(map(cached, texts))
                    if not all(found):  # words are never empty: only a miss is false
                        found = [f or compute(t) for f, t in zip(found, texts)]
                    before = len(ids)
                    ids += chain.from_iterable(map(itemgetter(0), found))
                    tokens.append(partial(_values, found))
                    count = len(ids) - before
                    of_word = partial(_of_word, found, count == len(texts))  # token → its word, when asked
                    words.append([word] * count if word is not None else partial(_word_indexes, of_word, index))
                offsets.append(partial(_original_spans, part, starts, of_word, found, char_of))
                index += len(texts)
        joined = post_processors.joined
        if len(offsets) == 1:
            return ids, tokens[0], offsets[0], words[0]
        return ids, joined(tokens), joined(offsets), joined(words)

    def _encode_sequence(self, sequence: str | list[str], type_id: int, is_pretokenized: bool) -> Encoding:
        if not is_pretokenized:
            if not isinstance(sequence, str):
                raise TypeError(f"encode: expected a string, got {type(sequence).__name__}")
            return self._encode_text(sequence, type_id, None)
        if isinstance(sequence, str) or not all(isinstance(w, str) for w in sequence):
            raise TypeError("encode: a pre-tokenized sequence is a list of strings")
        return Encoding.merge([self._encode_text(w, type_id, i) for i, w in enumerate(sequence)])

    def encode(self, sequence: str | list[str], pair: str | list[str] | None = None,
               is_pretokenized: bool = False, add_special_tokens: bool = True) -> Encoding:
        encoding = self._encode_unpadded(sequence, pair, is_pretokenized, add_special_tokens)
        if self.padding:
            self._pad([encoding])
        return encoding

    def _encode_unpadded(self, sequence: str | list[str], pair: str | list[str] | None, is_pretokenized: bool,
                         add_special_tokens: bool) -> Encoding:
        if pair is None and not is_pretokenized and sequence.__class__ is str:
            return self._encode_single(sequence, add_special_tokens)
        first = self._encode_sequence(sequence, 0, is_pretokenized)
        second = None if pair is None else self._encode_sequence(pair, 1, is_pretokenized)
        return self._post_process(first, second, add_special_tokens)

    def encode_batch(self, inputs: list, is_pretokenized: bool = False,
                     add_special_tokens: bool = True) -> list[Encoding]:
        """Each input encoded, then all padded together (once: padding each first changes nothing)."""
        encodings = []
        for item in inputs:
            if isinstance(item, tuple) or (isinstance(item, list) and not is_pretokenized and len(item) == 2):
                encodings.append(self._encode_unpadded(item[0], item[1], is_pretokenized, add_special_tokens))
            else:
                encodings.append(self._encode_unpadded(item, None, is_pretokenized, add_special_tokens))
        if self.padding:
            self._pad(encodings)
        return encodings

    def _encode_single(self, text: str, add_special_tokens: bool) -> Encoding:
        """One text, no pair: with a template post-processor and nothing to truncate (most calls),
        the final encoding is built at once, as TemplateProcessing.build would build it from the
        sequence's own encoding."""
        ids, tokens, offsets, words = self._tokens(text, None)
        n = len(ids)
        around = self._around
        if around[0] is not self.post_processor:
            around = self._around = (self.post_processor, _template_around(self.post_processor))
        parts = around[1]
        t = self.truncation
        if parts is not None and t is not None:
            limit = t["max_length"] - (parts[0] if add_special_tokens else 0)
            if limit == 0 or 0 < limit < n:
                parts = None
        if parts is None:
            first = Encoding(ids, tokens, offsets, [0] * n, [0] * n, [1] * n, words)
            return self._post_process(first, None, add_special_tokens)
        if not add_special_tokens:
            return Encoding(ids, tokens, offsets, [parts[1]] * n, [0] * n, [1] * n, words, sequence_ranges={0: (0, n)})
        _, type_id, pre_ids, pre_tokens, pre_types, post_ids, post_tokens, post_types = parts
        p, q = len(pre_ids), len(post_ids)
        if p:
            ids[:0] = pre_ids
        if q:
            ids += post_ids
        return Encoding(ids, _surrounded(pre_tokens, tokens, post_tokens),
                        _surrounded([(0, 0)] * p, offsets, [(0, 0)] * q),
                        pre_types + [type_id] * n + post_types, [1] * p + [0] * n + [1] * q, [1] * (p + n + q),
                        _surrounded([None] * p, words, [None] * q), sequence_ranges={0: (p, p + n)})

    def _post_process(self, first: Encoding, second: Encoding | None, add_special_tokens: bool) -> Encoding:
        if self.truncation:
            params = dict(self.truncation)
            added = self.post_processor.added_tokens(second is not None) if self.post_processor else 0
            if add_special_tokens and added:
                params["max_length"] -= added
            if params["max_length"] >= 0:  # the reference's unsigned subtraction wraps: no limit then
                truncate(first, second, **params)
        return post_processors.process(self.post_processor, first, second, add_special_tokens)

    def _pad(self, encodings: list[Encoding]) -> None:
        p = self.padding
        if not encodings:
            return
        length = p["length"] if p["length"] is not None else max(len(e) for e in encodings)
        multiple = p["pad_to_multiple_of"]
        if multiple and length % multiple:
            length += multiple - length % multiple
        for encoding in encodings:
            encoding.pad(length, p["pad_id"], p["pad_type_id"], p["pad_token"], p["direction"])

    # --- decoding ----------------------------------------------------------------------------

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        tokens = []
        for id_ in ids:
            token = self.id_to_token(id_)
            if token is None or (skip_special_tokens and token in self.added.special):
                continue
            tokens.append(token)
        return decoders.decode(self.decoder, tokens)

    def decode_batch(self, sequences: list[list[int]], skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in sequences]

    def decode_tokens(self, tokens: list[str]) -> str:
        """What `tokenizer.decoder.decode(tokens)` gives in the reference (tokens joined by spaces without one)."""
        return decoders.decode(self.decoder, list(tokens))

    @property
    def continuing_subword_prefix(self) -> str | None:
        return getattr(self.model, "prefix", None)


def _original_spans(part: NormalizedString, starts: Any, of_word: Any, found: list[Word],
                    char_of: list[int] | None) -> list[tuple[int, int]]:
    """Offsets in the input of every token of the words cut from `part`: the model's offsets are
    inside each word, and each word starts at its offset in the part. itertools does the sums."""
    if starts.__class__ is not list:
        starts = starts()
    if of_word.__class__ is not list:
        of_word = of_word()
    word_starts = list(map(starts.__getitem__, of_word))
    firsts = list(map(add, word_starts, chain.from_iterable(map(itemgetter(2), found))))
    ends = list(map(add, word_starts, chain.from_iterable(map(itemgetter(3), found))))
    if char_of is not None:  # from positions in the words to characters of the part
        firsts = list(map(char_of.__getitem__, firsts))
        ends = [char_of[e - 1] + 1 for e in ends]
    align = part._align
    if align is not None:
        return [(align[a][0], align[b - 1][1]) for a, b in zip(firsts, ends)]
    start, head = part.start, part.head
    if start != head:
        firsts = list(map(add, firsts, repeat(start - head)))
        ends = list(map(add, ends, repeat(start - head)))
    spans = list(zip(firsts, ends))
    k = 0
    while head and k < len(spans) and spans[k][0] < start:  # the first `head` characters come from `start`
        spans[k] = (start, max(spans[k][1], start + 1))
        k += 1
    return spans


def _surrounded(before: list, values: Any, after: list) -> Any:
    """before + values + after, now if the values are a list, else when they are computed."""
    if values.__class__ is list:
        return before + values + after
    return lambda: before + values() + after


def _repeated(value: int | None, count: int) -> list[int | None]:
    return [value] * count


def _values(found: list[Word]) -> list[str]:
    """The token strings of the words found."""
    return list(chain.from_iterable(map(itemgetter(1), found)))


def _of_word(found: list[Word], one_each: bool) -> list[int]:
    """For each token of the words found, the index of its word."""
    if one_each and all(map(itemgetter(0), found)):  # as many tokens as words, none empty: one each
        return list(range(len(found)))
    return list(chain.from_iterable(map(repeat, range(len(found)), map(len, map(itemgetter(0), found)))))


def _word_indexes(of_word: Any, index: int) -> list[int]:
    of_word = of_word()
    return list(map(add, of_word, repeat(index))) if index else of_word


def _template_around(processor: Any) -> tuple | None:
    """For a TemplateProcessing whose single template is special tokens, sequence A, special
    tokens: (how many specials, A's type id, ids, tokens and type ids before A, the same after)."""
    if not isinstance(processor, post_processors.TemplateProcessing):
        return None
    steps = processor._steps[0]
    at = [k for k, step in enumerate(steps) if step[0] is not None]
    if len(at) != 1 or steps[at[0]][0] != 0:
        return None
    k = at[0]

    def specials(part: list) -> tuple[list[int], list[str], list[int]]:
        ids, tokens, types = [], [], []
        for _, type_id, special_ids, special_tokens in part:
            ids += special_ids
            tokens += special_tokens
            types += [type_id] * len(special_ids)
        return ids, tokens, types
    before, after = specials(steps[:k]), specials(steps[k + 1:])
    return (len(before[0]) + len(after[0]), steps[k][1], *before, *after)


def _lower(value: str) -> str:
    return {"LongestFirst": "longest_first", "OnlyFirst": "only_first", "OnlySecond": "only_second"}.get(
        value, value.lower())


def truncate(first: Encoding, second: Encoding | None, max_length: int, stride: int, strategy: str,
             direction: str) -> None:
    if max_length == 0:
        first.truncate(0, stride, direction)
        if second is not None:
            second.truncate(0, stride, direction)
        return
    total = len(first) + (len(second) if second is not None else 0)
    if total <= max_length:
        return
    to_remove = total - max_length
    if strategy == "longest_first":
        if second is None:
            first.truncate(total - to_remove, stride, direction)
            return
        n1, n2 = len(first), len(second)
        swap = n1 > n2
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > max_length else max(n1, max_length - n1)
        if n1 + n2 > max_length:
            n1 = max_length // 2
            n2 = n1 + max_length % 2
        if swap:
            n1, n2 = n2, n1
        first.truncate(n1, stride, direction)
        second.truncate(n2, stride, direction)
        return
    if strategy == "only_second" and second is None:
        raise ValueError("truncation only_second needs a pair of sequences")
    target = first if strategy == "only_first" else second
    if len(target) <= to_remove:
        raise ValueError(f"truncation {strategy}: the sequence to truncate ({len(target)} tokens) is too "
                         f"short to remove {to_remove} tokens and fit max_length {max_length}")
    target.truncate(len(target) - to_remove, stride, direction)
