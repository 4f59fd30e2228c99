"""Decoders: tokens back to text. Only WordPiece for now."""

from __future__ import annotations

from typing import Any


def cleanup(text: str) -> str:
    """transformers' clean_up_tokenization: no space before punctuation and contractions."""
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                 (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(a, b)
    return text


class WordPieceDecoder:
    def __init__(self, prefix: str = "##", cleanup: bool = True, **_: Any) -> None:
        self.prefix = prefix
        self.cleanup = cleanup

    def decode(self, tokens: list[str]) -> str:
        parts = []
        for i, token in enumerate(tokens):
            if i and token.startswith(self.prefix):
                parts.append(token[len(self.prefix):])
            else:
                parts.append((" " if i else "") + token)
        text = "".join(parts)
        return cleanup(text) if self.cleanup else text


KINDS = {"WordPiece": WordPieceDecoder}


def from_config(config: dict[str, Any] | None):
    if config is None:
        return None
    kind = config.get("type")
    if kind not in KINDS:
        raise NotImplementedError(f"tokenizer.json: decoder {kind!r} is not supported yet")
    return KINDS[kind](**{k: v for k, v in config.items() if k != "type"})
