"""Decoders: tokens back to text. Only WordPiece for now."""

from __future__ import annotations

from typing import Any

from .components import build


def cleanup(text: str) -> str:
    """clean_up_tokenization: no space before punctuation and contractions."""
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                 (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(a, b)
    return text


class WordPieceDecoder:
    def __init__(self, prefix: str = "##", cleanup: bool = True, **_: Any) -> None:
        self.prefix = prefix
        self.cleanup = cleanup

    def decode(self, tokens: list[str]) -> str:
        """Like the reference, the clean-up applies to each token on its own, not to the joined text."""
        parts = []
        for i, token in enumerate(tokens):
            if i and token.startswith(self.prefix):
                token = token[len(self.prefix):]
            elif i:
                token = " " + token
            parts.append(cleanup(token) if self.cleanup else token)
        return "".join(parts)


KINDS = {"WordPiece": WordPieceDecoder}


def from_config(config: dict[str, Any] | None):
    return build("decoder", KINDS, config)
