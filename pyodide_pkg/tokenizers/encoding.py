"""The result of encoding, with the attribute names of Hugging Face tokenizers' Encoding."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Encoding:
    ids: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)
    type_ids: list[int] = field(default_factory=list)
    special_tokens_mask: list[int] = field(default_factory=list)
    word_ids: list[int | None] = field(default_factory=list)
    attention_mask: list[int] = field(default_factory=list)
    overflowing: list["Encoding"] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, id_: int, token: str, offsets: tuple[int, int], type_id: int, special: bool,
               word: int | None) -> None:
        self.ids.append(id_)
        self.tokens.append(token)
        self.offsets.append(offsets)
        self.type_ids.append(type_id)
        self.special_tokens_mask.append(int(special))
        self.word_ids.append(word)
        self.attention_mask.append(1)

    def truncate(self, max_length: int) -> None:
        for name in ("ids", "tokens", "offsets", "type_ids", "special_tokens_mask", "word_ids", "attention_mask"):
            setattr(self, name, getattr(self, name)[:max_length])

    def pad(self, length: int, pad_id: int, pad_token: str, pad_type_id: int = 0, left: bool = False) -> None:
        n = length - len(self.ids)
        if n <= 0:
            return
        fills = {"ids": pad_id, "tokens": pad_token, "offsets": (0, 0), "type_ids": pad_type_id,
                 "special_tokens_mask": 1, "word_ids": None, "attention_mask": 0}
        for name, fill in fills.items():
            pad = [fill] * n
            value = getattr(self, name)
            setattr(self, name, pad + value if left else value + pad)
