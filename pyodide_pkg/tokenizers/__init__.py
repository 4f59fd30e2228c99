"""Tokenizers in pure Python, organised like Hugging Face tokenizers (one module per component kind).

`load` picks the backend: the compiled `tokenizers` package when the Pyodide in use ships it,
otherwise our pure-Python implementation; both give the same `Encoding`s.
"""

from __future__ import annotations

from .added_vocabulary import AddedToken
from .chat_template import ChatTemplateError
from .compiled import CompiledTokenizer
from .encoding import Encoding
from .pretrained import PretrainedTokenizer
from .tokenizer import Tokenizer

BACKENDS = ("auto", "python", "compiled")


def load(json_text: str | bytes, backend: str = "auto") -> Tokenizer | CompiledTokenizer:
    """'auto' uses the compiled package only inside Pyodide, so CPython runs check our own code."""
    from . import compiled
    from ..platform import IN_BROWSER

    if backend not in BACKENDS:
        raise ValueError(f"tokenizer backend {backend!r} is unknown; expected one of {', '.join(BACKENDS)}")
    text = json_text if isinstance(json_text, str) else json_text.decode("utf-8")
    if backend == "compiled" or (backend == "auto" and IN_BROWSER and compiled.available()):
        if not compiled.available():
            raise ValueError("tokenizer backend 'compiled' needs the tokenizers package, which is not installed")
        return CompiledTokenizer.from_str(text)
    return Tokenizer.from_str(text)


__all__ = ["AddedToken", "BACKENDS", "ChatTemplateError", "CompiledTokenizer", "Encoding", "PretrainedTokenizer",
           "Tokenizer", "load"]
