"""The compiled Hugging Face `tokenizers` behind our interface, for Pyodides that ship it.

Encodings come back as our `Encoding`, so callers never see which backend ran. Under CPython the
same adapter wraps the PyPI package, which is how it is tested.
"""

from __future__ import annotations

from typing import Any, Iterable

from .added_vocabulary import AddedToken
from .encoding import Encoding


def available() -> bool:
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


def _ranges(sequence_ids: list[int | None]) -> dict[int, tuple[int, int]]:
    """Sequence id → token range; an empty range when no token belongs to a sequence."""
    if sequence_ids and all(s is None for s in sequence_ids):
        return {0: (0, 0)}
    ranges: dict[int, tuple[int, int]] = {}
    for k, seq in enumerate(sequence_ids):
        if seq is not None:
            start = ranges.get(seq, (k, k))[0]
            ranges[seq] = (start, k + 1)
    return ranges


def to_encoding(compiled: Any) -> Encoding:
    return Encoding(list(compiled.ids), list(compiled.tokens), [tuple(o) for o in compiled.offsets],
                    list(compiled.type_ids), list(compiled.special_tokens_mask), list(compiled.attention_mask),
                    list(compiled.word_ids), [to_encoding(o) for o in compiled.overflowing],
                    _ranges(compiled.sequence_ids))


class CompiledTokenizer:
    backend = "compiled"

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @classmethod
    def from_str(cls, json_text: str) -> "CompiledTokenizer":
        import tokenizers
        try:
            return cls(tokenizers.Tokenizer.from_str(json_text))
        except Exception as error:
            raise ValueError(f"tokenizer.json: {error}") from None

    def encode(self, sequence: Any, pair: Any = None, is_pretokenized: bool = False,
               add_special_tokens: bool = True) -> Encoding:
        return to_encoding(self._call(self.inner.encode, sequence, pair, is_pretokenized=is_pretokenized,
                                      add_special_tokens=add_special_tokens))

    def encode_batch(self, inputs: list, is_pretokenized: bool = False, add_special_tokens: bool = True) -> list[Encoding]:
        found = self._call(self.inner.encode_batch, inputs, is_pretokenized=is_pretokenized,
                           add_special_tokens=add_special_tokens)
        return [to_encoding(e) for e in found]

    @staticmethod
    def _call(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BaseException as error:  # noqa: B036 - Rust panics arrive as BaseException
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            raise ValueError(str(error)) from None

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self.inner.decode(ids, skip_special_tokens=skip_special_tokens)

    def decode_batch(self, sequences: list[list[int]], skip_special_tokens: bool = True) -> list[str]:
        return self.inner.decode_batch(sequences, skip_special_tokens=skip_special_tokens)

    def decode_tokens(self, tokens: list[str]) -> str:
        decoder = self.inner.decoder
        return decoder.decode(list(tokens)) if decoder is not None else " ".join(tokens)

    @property
    def continuing_subword_prefix(self) -> str | None:
        return getattr(self.inner.model, "continuing_subword_prefix", None)

    def token_to_id(self, token: str) -> int | None:
        return self.inner.token_to_id(token)

    def id_to_token(self, id_: int) -> str | None:
        return self.inner.id_to_token(id_)

    def get_vocab(self, with_added_tokens: bool = True) -> dict[str, int]:
        return self.inner.get_vocab(with_added_tokens=with_added_tokens)

    def get_vocab_size(self, with_added_tokens: bool = True) -> int:
        return self.inner.get_vocab_size(with_added_tokens=with_added_tokens)

    def enable_truncation(self, max_length: int, stride: int = 0, strategy: str = "longest_first",
                          direction: str = "right") -> None:
        self._call(self.inner.enable_truncation, max_length, stride=stride, strategy=strategy, direction=direction)

    def no_truncation(self) -> None:
        self.inner.no_truncation()

    def enable_padding(self, direction: str = "right", pad_id: int = 0, pad_type_id: int = 0,
                       pad_token: str = "[PAD]", length: int | None = None,
                       pad_to_multiple_of: int | None = None) -> None:
        self.inner.enable_padding(direction=direction, pad_id=pad_id, pad_type_id=pad_type_id, pad_token=pad_token,
                                  length=length, pad_to_multiple_of=pad_to_multiple_of)

    def no_padding(self) -> None:
        self.inner.no_padding()

    @property
    def truncation(self) -> dict | None:
        return self.inner.truncation

    @property
    def padding(self) -> dict | None:
        return self.inner.padding

    def add_tokens(self, tokens: Iterable[AddedToken | str], special: bool = False) -> int:
        import tokenizers
        converted = [t if isinstance(t, str) else tokenizers.AddedToken(
            t.content, single_word=t.single_word, lstrip=t.lstrip, rstrip=t.rstrip, normalized=t.normalized,
            special=t.special or special) for t in tokens]
        return self.inner.add_special_tokens(converted) if special else self.inner.add_tokens(converted)

    def add_special_tokens(self, tokens: Iterable[AddedToken | str]) -> int:
        return self.add_tokens(tokens, special=True)
