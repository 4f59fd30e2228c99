"""Decoders: tokens back to text. Each one maps a list of token strings to a new list (a chain)."""

from __future__ import annotations

from typing import Any

from .components import build
from .normalized import find_matches
from .normalizers import pattern_of
from .pre_tokenizers import bytes_to_unicode


def cleanup(text: str) -> str:
    """clean_up_tokenization: no space before punctuation and English contractions."""
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                 (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(a, b)
    return text


class WordPiece:
    def __init__(self, prefix: str = "##", cleanup: bool = True, **_: Any) -> None:
        self.prefix = prefix
        self.cleanup = cleanup

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for i, token in enumerate(tokens):
            if i:
                token = token[len(self.prefix):] if token.startswith(self.prefix) else " " + token
            out.append(cleanup(token) if self.cleanup else token)
        return out


class ByteLevel:
    def __init__(self, **_: Any) -> None:
        self.char_bytes = {c: b for b, c in bytes_to_unicode().items()}

    def decode_chain(self, tokens: list[str]) -> list[str]:
        data = bytearray()
        for token in tokens:
            codes = [self.char_bytes.get(c) for c in token]
            data += token.encode("utf-8") if None in codes else bytes(codes)
        return [data.decode("utf-8", errors="replace")]


class Metaspace:
    def __init__(self, replacement: str = "\u2581", prepend_scheme: str = "always",
                 add_prefix_space: bool | None = None, **_: Any) -> None:
        self.replacement = replacement
        self.strip_first = prepend_scheme != "never" and add_prefix_space is not False

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for i, token in enumerate(tokens):
            first = i == 0 and self.strip_first
            out.append("".join(("" if first else " ") if c == self.replacement else c for c in token))
        return out


class BPEDecoder:
    def __init__(self, suffix: str = "</w>", **_: Any) -> None:
        self.suffix = suffix

    def decode_chain(self, tokens: list[str]) -> list[str]:
        last = len(tokens) - 1
        return [t.replace(self.suffix, "" if i == last else " ") for i, t in enumerate(tokens)]


def _byte_of(token: str) -> int | None:
    if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
        try:
            return int(token[3:5], 16)
        except ValueError:
            return None
    return None


class ByteFallback:
    def __init__(self, **_: Any) -> None:
        pass

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        pending = bytearray()

        def flush() -> None:
            if pending:
                try:
                    out.append(pending.decode("utf-8"))
                except UnicodeDecodeError:
                    out.extend("\ufffd" for _ in pending)
                pending.clear()

        for token in tokens:
            byte = _byte_of(token)
            if byte is not None:
                pending.append(byte)
            else:
                flush()
                out.append(token)
        flush()
        return out


class Fuse:
    def __init__(self, **_: Any) -> None:
        pass

    def decode_chain(self, tokens: list[str]) -> list[str]:
        return ["".join(tokens)]


class Strip:
    def __init__(self, content: str = " ", start: int = 0, stop: int = 0, **_: Any) -> None:
        self.content, self.start, self.stop = content, start, stop

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for token in tokens:
            a = 0
            while a < min(self.start, len(token)) and token[a] == self.content:
                a += 1
            b = len(token)
            for _ in range(self.stop):
                if b > 0 and token[b - 1] == self.content:
                    b -= 1
                else:
                    break
            out.append(token[a:b] if a <= b else "")
        return out


class Replace:
    def __init__(self, pattern: dict[str, str], content: str, **_: Any) -> None:
        self.pattern = pattern_of(pattern, "Replace decoder")
        self.content = content

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for token in tokens:
            out.append("".join(self.content if m else token[a:b] for (a, b), m in find_matches(self.pattern, token)))
        return out


class CTC:
    def __init__(self, pad_token: str = "<pad>", word_delimiter_token: str = "|", cleanup: bool = True,
                 **_: Any) -> None:
        self.pad, self.delimiter, self.cleanup = pad_token, word_delimiter_token, cleanup

    def decode_chain(self, tokens: list[str]) -> list[str]:
        out = []
        for i, token in enumerate(tokens):
            if i and token == tokens[i - 1]:
                continue
            text = token.replace(self.pad, "")
            if self.cleanup:
                text = cleanup(text).replace(self.delimiter, " ")
            if text:
                out.append(text)
        return out


class Sequence:
    def __init__(self, decoders: list[dict], **_: Any) -> None:
        self.decoders = [from_config(c) for c in decoders]

    def decode_chain(self, tokens: list[str]) -> list[str]:
        for decoder in self.decoders:
            tokens = decoder.decode_chain(tokens)
        return tokens


KINDS = {"WordPiece": WordPiece, "ByteLevel": ByteLevel, "Metaspace": Metaspace, "BPEDecoder": BPEDecoder,
         "ByteFallback": ByteFallback, "Fuse": Fuse, "Strip": Strip, "Replace": Replace, "CTC": CTC,
         "Sequence": Sequence}


def from_config(config: dict[str, Any] | None):
    return build("decoder", KINDS, config)


def decode(decoder: Any, tokens: list[str]) -> str:
    return "".join(decoder.decode_chain(tokens)) if decoder else " ".join(tokens)
