"""Text that remembers, for every character, which character of the original input it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass
class Normalized:
    text: str
    origin: list[int]  # origin[i] = index in the original string of text[i]

    @classmethod
    def of(cls, text: str, start: int = 0) -> "Normalized":
        return cls(text, list(range(start, start + len(text))))

    def slice(self, i: int, j: int) -> "Normalized":
        return Normalized(self.text[i:j], self.origin[i:j])

    def span(self) -> tuple[int, int]:
        """(start, end) character offsets in the original string."""
        return (self.origin[0], self.origin[-1] + 1) if self.origin else (0, 0)

    def map_chars(self, fn: Callable[[str], str]) -> "Normalized":
        """Replace each character by fn(char): a string that may be empty or longer."""
        text, origin = [], []
        for ch, at in zip(self.text, self.origin):
            out = fn(ch)
            text.append(out)
            origin.extend([at] * len(out))
        return Normalized("".join(text), origin)
