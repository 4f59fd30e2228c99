"""Tokenizers in pure Python, organised like Hugging Face tokenizers (one module per component kind)."""

from .encoding import Encoding
from .tokenizer import Tokenizer

__all__ = ["Encoding", "Tokenizer"]
