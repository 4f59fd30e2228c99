"""When a hypothesis is done: max length, an end-of-sequence token, or a stop string at its end."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .config import GenerationConfig


class Stopping:
    def __init__(self, config: GenerationConfig, max_length: int,
                 decode: Callable[[list[int]], str] | None = None) -> None:
        self.max_length = max_length
        self.eos = np.array(config.eos_ids, dtype=np.int64)
        self.stop_strings = config.stop_strings or []
        self.decode = decode
        # A stop string is found within the text of the last few tokens; a token spans at least one character.
        self.window = max((len(s) for s in self.stop_strings), default=0) + 1

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """One flag per row of ids (every hypothesis with its prompt)."""
        done = np.full(len(ids), ids.shape[1] >= self.max_length)
        if self.eos.size:
            done |= np.isin(ids[:, -1], self.eos)
        if self.stop_strings and self.decode is not None:
            for row in range(len(ids)):
                if not done[row]:
                    done[row] = self.ends_with_stop_string(ids[row].tolist())
        return done

    def ends_with_stop_string(self, tokens: list[int]) -> bool:
        """A stop string that ends inside the last token's text (the token may run past it)."""
        tail = tokens[-self.window:]
        before, text = self.decode(tail[:-1]), self.decode(tail)
        shared = len(before) if text.startswith(before) else 0
        return any(text.find(s, max(0, shared - len(s) + 1)) >= 0 for s in self.stop_strings)
