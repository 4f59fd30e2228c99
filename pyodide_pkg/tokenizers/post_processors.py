"""Post-processors: special tokens, type ids and offset trimming around one sequence or a pair.

Each processor maps the list of sequence encodings (one or two) to a list of encodings that the
tokenizer then merges; overflowing windows go through the same steps.
"""

from __future__ import annotations

from typing import Any, Callable

from .components import build
from .encoding import Encoding
from .pre_tokenizers import bytes_to_unicode
from .unicode import WHITE_SPACE


def special(ids: list[int], tokens: list[str], type_id: int) -> Encoding:
    n = len(ids)
    return Encoding(list(ids), list(tokens), [(0, 0)] * n, [type_id] * n, [1] * n, [1] * n, [None] * n)


class TemplateProcessing:
    def __init__(self, single: list[dict], pair: list[dict], special_tokens: dict[str, dict], **_: Any) -> None:
        self.single = single
        self.pair = pair
        self.special_tokens = special_tokens
        for template in (single, pair):
            for piece in template:
                if "SpecialToken" in piece and piece["SpecialToken"]["id"] not in special_tokens:
                    raise ValueError(f"tokenizer.json: TemplateProcessing uses {piece['SpecialToken']['id']!r}, "
                                     "which is not in its special_tokens")
        # Each template as (sequence index or None, type id, special ids, special tokens) for `build`.
        self._steps = [[(0 if p["Sequence"]["id"] == "A" else 1, p["Sequence"]["type_id"], None, None)
                        if "Sequence" in p else
                        (None, p["SpecialToken"]["type_id"], special_tokens[p["SpecialToken"]["id"]]["ids"],
                         special_tokens[p["SpecialToken"]["id"]]["tokens"]) for p in template]
                       for template in (single, pair)]

    def added_tokens(self, is_pair: bool) -> int:
        return sum(len(ids) for sequence, _, ids, _ in self._steps[is_pair] if sequence is None)

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool) -> list[Encoding]:
        out = []
        for piece in self.pair if len(encodings) == 2 else self.single:
            if "Sequence" in piece:
                i = 0 if piece["Sequence"]["id"] == "A" else 1
                encoding = encodings[i]
                encoding.type_ids = [piece["Sequence"]["type_id"]] * len(encoding)
                encoding.set_sequence_id(i)
                out.append(encoding.copy())
            elif add_special_tokens:
                spec = self.special_tokens[piece["SpecialToken"]["id"]]
                out.append(special(spec["ids"], spec["tokens"], piece["SpecialToken"]["type_id"]))
        return out

    def build(self, encodings: list[Encoding], add_special_tokens: bool) -> Encoding:
        """process_encodings and the merge in one go, for encodings without overflowing windows."""
        ids: list[int] = []
        tokens: list = []  # like offsets
        offsets: list = []  # lists of offsets, and functions that compute some
        type_ids: list[int] = []
        special_mask: list[int] = []
        attention: list[int] = []
        words: list = []  # like offsets
        ranges: dict[int, tuple[int, int]] = {}
        for sequence, type_id, special_ids, special_tokens in self._steps[len(encodings) - 1]:
            if sequence is not None:
                e = encodings[sequence]
                start = len(ids)
                ids += e.ids
                tokens.append(e.lazy(_same, "_tokens"))
                offsets.append(e.lazy(_same))
                type_ids += [type_id] * len(e.ids)
                special_mask += e.special_tokens_mask
                attention += e.attention_mask
                words.append(e.lazy(_same, "_word_ids"))
                ranges[sequence] = (start, len(ids))
            elif add_special_tokens:
                n = len(special_ids)
                ids += special_ids
                tokens.append(list(special_tokens))
                offsets.append([(0, 0)] * n)
                type_ids += [type_id] * n
                special_mask += [1] * n
                attention += [1] * n
                words.append([None] * n)
        return Encoding(ids, joined(tokens), joined(offsets), type_ids, special_mask, attention, joined(words),
                        sequence_ranges=ranges)


def _same(values: list) -> list:
    return values


def joined(parts: list) -> list | Callable[[], list]:
    """The parts' lists (offsets, word ids) one after the other, now if every part has them, else
    when asked for."""
    for part in parts:
        if part.__class__ is not list:
            return lambda: _flat([part if part.__class__ is list else part() for part in parts])
    return _flat(parts)


def _flat(parts: list[list]) -> list:
    out: list = []
    for part in parts:
        out += part
    return out


def _wrap(encoding: Encoding, before: tuple[str, int], after: tuple[str, int], sequence_id: int) -> Encoding:
    """[before] + sequence + [after], the way BERT and RoBERTa processing build each part."""
    n = len(encoding)
    return Encoding(
        [before[1], *encoding.ids, after[1]], [before[0], *encoding.tokens, after[0]],
        [(0, 0), *encoding.offsets, (0, 0)], [0, *encoding.type_ids, 0], [1, *([0] * n), 1], [1] * (n + 2),
        [None, *encoding.word_ids, None], sequence_ranges={sequence_id: (1, n + 1)})


class BertProcessing:
    def __init__(self, sep: list, cls: list, **_: Any) -> None:
        self.sep, self.cls = tuple(sep), tuple(cls)

    def added_tokens(self, is_pair: bool) -> int:
        return 3 if is_pair else 2

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool) -> list[Encoding]:
        if not add_special_tokens:
            return encodings
        out = []
        for i, encoding in enumerate(encodings):
            def build_one(e: Encoding) -> Encoding:
                if i == 0:
                    return _wrap(e, self.cls, self.sep, 0)
                n = len(e)
                return Encoding([*e.ids, self.sep[1]], [*e.tokens, self.sep[0]], [*e.offsets, (0, 0)],
                                [*e.type_ids, 1], [*([0] * n), 1], [1] * (n + 1), [*e.word_ids, None],
                                sequence_ranges={1: (0, n)})
            main = build_one(encoding)
            main.overflowing = [build_one(o) for o in encoding.overflowing]
            out.append(main)
        return out


def trim_offsets(encoding: Encoding, add_prefix_space: bool) -> None:
    """Offsets of byte-level tokens leave out the spaces the tokens carry."""
    space = bytes_to_unicode()[ord(" ")]
    for i, token in enumerate(encoding.tokens):
        lead = 0
        while lead < len(token) and (token[lead] == space or token[lead] in WHITE_SPACE):
            lead += 1
        trail = 0
        while trail < len(token) and (token[-1 - trail] == space or token[-1 - trail] in WHITE_SPACE):
            trail += 1
        if not lead and not trail:
            continue
        start, end = encoding.offsets[i]
        if lead:
            if (i == 0 or start == 0) and add_prefix_space and lead == 1:
                lead = 0
            start = min(start + lead, end)
        if trail and end >= trail:
            end = max(end - trail, start)
        encoding.offsets[i] = (start, end)


def trim_all(encodings: list[Encoding], add_prefix_space: bool) -> None:
    for encoding in encodings:
        for part in (encoding, *encoding.overflowing):
            trim_offsets(part, add_prefix_space)


class RobertaProcessing:
    def __init__(self, sep: list, cls: list, trim_offsets: bool = True, add_prefix_space: bool = True,
                 **_: Any) -> None:
        self.sep, self.cls = tuple(sep), tuple(cls)
        self.trim_offsets, self.add_prefix_space = trim_offsets, add_prefix_space

    def added_tokens(self, is_pair: bool) -> int:
        return 4 if is_pair else 2

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool) -> list[Encoding]:
        if self.trim_offsets:
            trim_all(encodings, self.add_prefix_space)
        for encoding in encodings:
            encoding.type_ids = [0] * len(encoding)
        if not add_special_tokens:
            return encodings
        out = []
        for i, encoding in enumerate(encodings):
            before = self.cls if i == 0 else self.sep
            for o in encoding.overflowing:
                o.type_ids = [0] * len(o)
            main = _wrap(encoding, before, self.sep, i)
            main.overflowing = [_wrap(o, before, self.sep, i) for o in encoding.overflowing]
            out.append(main)
        return out


class ByteLevel:
    def __init__(self, trim_offsets: bool = True, add_prefix_space: bool = True, **_: Any) -> None:
        self.trim_offsets, self.add_prefix_space = trim_offsets, add_prefix_space

    def added_tokens(self, is_pair: bool) -> int:
        return 0

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool) -> list[Encoding]:
        if self.trim_offsets:
            trim_all(encodings, self.add_prefix_space)
        for i, encoding in enumerate(encodings):
            encoding.set_sequence_id(i)
        return encodings


class Sequence:
    def __init__(self, processors: list[dict], **_: Any) -> None:
        self.processors = [from_config(c) for c in processors]

    def added_tokens(self, is_pair: bool) -> int:
        return sum(p.added_tokens(is_pair) for p in self.processors)

    def process_encodings(self, encodings: list[Encoding], add_special_tokens: bool) -> list[Encoding]:
        for processor in self.processors:
            encodings = processor.process_encodings(encodings, add_special_tokens)
        return encodings


KINDS = {"TemplateProcessing": TemplateProcessing, "BertProcessing": BertProcessing,
         "RobertaProcessing": RobertaProcessing, "ByteLevel": ByteLevel, "Sequence": Sequence}


def from_config(config: dict[str, Any] | None):
    return build("post_processor", KINDS, config)


def process(processor: Any, first: Encoding, second: Encoding | None, add_special_tokens: bool) -> Encoding:
    """Type ids by position, the processor's own steps, then one merged encoding."""
    encodings = [first] if second is None else [first, second]
    if isinstance(processor, TemplateProcessing) and not first.overflowing and not (second and second.overflowing):
        return processor.build(encodings, add_special_tokens)
    if processor is None:
        if len(encodings) == 1:
            return first
        out = Encoding()
        for i, encoding in enumerate(encodings):
            encoding.set_sequence_id(i)
            out.merge_with(encoding)
        return out
    for i, encoding in enumerate(encodings):
        encoding.set_sequence_id(i)
        for other in encoding.overflowing:
            other.set_sequence_id(i)
        encoding.type_ids = [i] * len(encoding)
    out = processor.process_encodings(encodings, add_special_tokens)
    if len(out) == 1 and not out[0].overflowing:
        return out[0]  # what merging it alone would copy
    return Encoding.merge(out)
