"""Tokenization models: a pre-tokenized piece of text to tokens with offsets inside the piece."""

from __future__ import annotations

from typing import Any

from ..components import build
from .bpe import BPE
from .common import Token
from .unigram import Unigram
from .wordlevel import WordLevel
from .wordpiece import WordPiece

KINDS = {"WordPiece": WordPiece, "BPE": BPE, "Unigram": Unigram, "WordLevel": WordLevel}


def from_config(config: dict[str, Any]):
    if "type" not in config:
        config = {**config, "type": _guess_type(config)}
    return build("model", KINDS, config)


def _guess_type(config: dict[str, Any]) -> str:
    """Old tokenizer.json files leave out the model type; the fields tell it."""
    if "merges" in config:
        return "BPE"
    if "max_input_chars_per_word" in config or "continuing_subword_prefix" in config:
        return "WordPiece"
    if isinstance(config.get("vocab"), list):
        return "Unigram"
    return "WordLevel"


__all__ = ["BPE", "Token", "Unigram", "WordLevel", "WordPiece", "from_config"]
