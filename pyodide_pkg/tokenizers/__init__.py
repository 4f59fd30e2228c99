"""Tokenizers in pure Python, organised like Hugging Face tokenizers (one module per component kind)."""

from .added_vocabulary import AddedToken
from .encoding import Encoding
from .tokenizer import Tokenizer

__all__ = ["AddedToken", "Encoding", "Tokenizer"]
