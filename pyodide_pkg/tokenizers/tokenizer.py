"""Tokenizer with the Python interface of Hugging Face `tokenizers`, read from tokenizer.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import decoders, models, normalizers, post_processors, pre_tokenizers
from .encoding import Encoding
from .normalized import Normalized


class Tokenizer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.normalizer = normalizers.from_config(config.get("normalizer"))
        self.pre_tokenizer = pre_tokenizers.from_config(config.get("pre_tokenizer"))
        self.model = models.from_config(config["model"])
        self.post_processor = post_processors.from_config(config.get("post_processor"))
        self.decoder = decoders.from_config(config.get("decoder"))
        self.added = {t["content"]: t for t in config.get("added_tokens", [])}
        self.vocab = dict(self.model.vocab)
        for token in self.added.values():
            self.vocab.setdefault(token["content"], token["id"])
        self.id_to_token_map = {v: k for k, v in self.vocab.items()}
        self.truncation: dict[str, Any] | None = config.get("truncation")
        self.padding: dict[str, Any] | None = config.get("padding")

    @classmethod
    def from_str(cls, json_text: str) -> "Tokenizer":
        return cls(json.loads(json_text))

    @classmethod
    def from_buffer(cls, data: bytes) -> "Tokenizer":
        return cls(json.loads(data))

    @classmethod
    def from_file(cls, path: str | Path) -> "Tokenizer":
        return cls.from_str(Path(path).read_text(encoding="utf-8"))

    def token_to_id(self, token: str) -> int | None:
        return self.vocab.get(token)

    def id_to_token(self, id_: int) -> str | None:
        return self.id_to_token_map.get(id_)

    def get_vocab_size(self, with_added_tokens: bool = True) -> int:
        return len(self.vocab) if with_added_tokens else len(self.model.vocab)

    def enable_truncation(self, max_length: int, stride: int = 0, strategy: str = "longest_first",
                          direction: str = "right") -> None:
        self.truncation = {"max_length": max_length, "stride": stride, "strategy": strategy, "direction": direction}

    def no_truncation(self) -> None:
        self.truncation = None

    def enable_padding(self, direction: str = "right", pad_id: int = 0, pad_type_id: int = 0,
                       pad_token: str = "[PAD]", length: int | None = None, pad_to_multiple_of: int | None = None) -> None:
        strategy = {"Fixed": length} if length else "BatchLongest"
        self.padding = {"strategy": strategy, "direction": direction.capitalize(), "pad_id": pad_id,
                        "pad_type_id": pad_type_id, "pad_token": pad_token, "pad_to_multiple_of": pad_to_multiple_of}

    def no_padding(self) -> None:
        self.padding = None

    def _split_added(self, text: str) -> list[tuple[str, int, bool]]:
        """Pieces of the input as (text, start, is_added_token), added tokens matched longest first."""
        contents = sorted(self.added, key=len, reverse=True)
        pieces, start, i = [], 0, 0
        while i < len(text):
            match = next((c for c in contents if c and text.startswith(c, i)), None)
            if match:
                if start < i:
                    pieces.append((text[start:i], start, False))
                pieces.append((match, i, True))
                i += len(match)
                start = i
            else:
                i += 1
        if start < len(text):
            pieces.append((text[start:], start, False))
        return pieces

    def _encode_one(self, text: str) -> Encoding:
        encoding, word = Encoding(), 0
        for piece, start, is_added in self._split_added(text):
            if is_added:
                token = self.added[piece]
                encoding.append(token["id"], piece, (start, start + len(piece)), 0, False, word)
                word += 1
                continue
            normalized = Normalized.of(piece, start)
            if self.normalizer:
                normalized = self.normalizer.normalize(normalized)
            words = self.pre_tokenizer.split(normalized) if self.pre_tokenizer else [normalized]
            for w in words:
                for token in self.model.tokenize(w):
                    encoding.append(token.id, token.value, token.offsets, 0, False, word)
                word += 1
        return encoding

    def _truncate(self, first: Encoding, second: Encoding | None, add_special_tokens: bool) -> None:
        if not self.truncation:
            return
        budget = self.truncation["max_length"]
        if add_special_tokens and self.post_processor:
            budget -= self.post_processor.added_tokens(second is not None)
        if second is None:
            first.truncate(max(budget, 0))
            return
        n1, n2 = len(first), len(second)
        while n1 + n2 > budget and (n1 or n2):
            if n1 >= n2:
                n1 -= 1
            else:
                n2 -= 1
        first.truncate(n1)
        second.truncate(n2)

    def encode(self, sequence: str, pair: str | None = None, add_special_tokens: bool = True) -> Encoding:
        encoding = self._encode_batch_unpadded([(sequence, pair)], add_special_tokens)[0]
        self._pad([encoding])
        return encoding

    def _encode_batch_unpadded(self, inputs: list[tuple[str, str | None]], add_special_tokens: bool) -> list[Encoding]:
        out = []
        for sequence, pair in inputs:
            first = self._encode_one(sequence)
            second = self._encode_one(pair) if pair is not None else None
            self._truncate(first, second, add_special_tokens)
            if add_special_tokens and self.post_processor:
                encoding = self.post_processor.process(first, second)
            elif second is not None:
                encoding = first
                for i in range(len(second)):
                    encoding.append(second.ids[i], second.tokens[i], second.offsets[i], 1, False, second.word_ids[i])
            else:
                encoding = first
            out.append(encoding)
        return out

    def encode_batch(self, inputs: list, add_special_tokens: bool = True) -> list[Encoding]:
        pairs = [(x, None) if isinstance(x, str) else (x[0], x[1]) for x in inputs]
        encodings = self._encode_batch_unpadded(pairs, add_special_tokens)
        self._pad(encodings)
        return encodings

    def _pad(self, encodings: list[Encoding]) -> None:
        if not self.padding or not encodings:
            return
        strategy = self.padding["strategy"]
        length = strategy["Fixed"] if isinstance(strategy, dict) else max(len(e) for e in encodings)
        multiple = self.padding.get("pad_to_multiple_of")
        if multiple and length % multiple:
            length += multiple - length % multiple
        for encoding in encodings:
            encoding.pad(length, self.padding["pad_id"], self.padding["pad_token"], self.padding["pad_type_id"],
                         left=self.padding["direction"] == "Left")

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        special = {t["id"] for t in self.added.values() if t.get("special")}
        tokens = [self.id_to_token_map[i] for i in ids if i in self.id_to_token_map
                  and not (skip_special_tokens and i in special)]
        return self.decoder.decode(tokens) if self.decoder else " ".join(tokens)

    def decode_batch(self, sequences: list[list[int]], skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in sequences]
