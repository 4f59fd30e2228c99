"""Generation settings: transformers' defaults, then the model's generation_config.json, then the request.

The precedence is the one transformers' pipelines use: a request option wins; otherwise the model's
generation config where it differs from the global default; otherwise the pipeline's defaults
(e.g. text2text: 256 new tokens and 4 beams; text-generation: sampling at temperature 0.7).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import RequestError

PIPELINE_MAX_NEW_TOKENS = 256


@dataclass(frozen=True)
class GenerationConfig:
    max_length: int = 20
    max_new_tokens: int | None = None
    min_length: int = 0
    min_new_tokens: int | None = None
    do_sample: bool = False
    num_beams: int = 1
    num_return_sequences: int = 1
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    length_penalty: float = 1.0
    early_stopping: bool | str = False
    bad_words_ids: list[list[int]] | None = None
    suppress_tokens: list[int] | None = None
    begin_suppress_tokens: list[int] | None = None
    forced_bos_token_id: int | None = None
    forced_eos_token_id: int | list[int] | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    pad_token_id: int | None = None
    decoder_start_token_id: int | None = None
    stop_strings: list[str] | None = None
    seed: int | None = None

    @property
    def eos_ids(self) -> list[int]:
        eos = self.eos_token_id
        return [] if eos is None else [eos] if isinstance(eos, int) else list(eos)

    def limit(self, prompt_length: int) -> int:
        """max_length for a decoder prompt of this length (max_new_tokens wins when set)."""
        if self.max_new_tokens is not None:
            return prompt_length + self.max_new_tokens
        return self.max_length


NAMES = frozenset(f.name for f in fields(GenerationConfig))
DEFAULTS = GenerationConfig()
_INTS = {"max_length", "max_new_tokens", "min_length", "min_new_tokens", "num_beams", "num_return_sequences",
         "top_k", "no_repeat_ngram_size", "forced_bos_token_id", "bos_token_id", "pad_token_id",
         "decoder_start_token_id", "seed"}
_FLOATS = {"temperature", "top_p", "repetition_penalty", "length_penalty"}
_ID_LISTS = {"suppress_tokens", "begin_suppress_tokens"}
_MINIMUMS = {"max_new_tokens": 1, "num_beams": 1, "num_return_sequences": 1, "max_length": 1, "top_k": 0,
             "no_repeat_ngram_size": 0, "min_length": 0, "min_new_tokens": 0}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(name: str, value: Any, source: str) -> Any:
    def fail(expected: str) -> RequestError:
        return RequestError(f"{source}: '{name}' must be {expected}, got {value!r}")

    if value is None:
        return None
    if name in _INTS:
        if not _is_int(value) and not (isinstance(value, float) and value.is_integer()):
            raise fail("an integer")
        value = int(value)
        if name in _MINIMUMS and value < _MINIMUMS[name]:
            raise fail(f"an integer >= {_MINIMUMS[name]}")
    elif name in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail("a number")
        value = float(value)
        if name == "repetition_penalty" and value <= 0:
            raise fail("a number > 0")
        if name == "temperature" and value < 0:
            raise fail("a number >= 0 (0 means greedy)")
        if name == "top_p" and not 0 <= value <= 1:
            raise fail("a number between 0 and 1")
    elif name == "do_sample":
        if not isinstance(value, bool):
            raise fail("true or false")
    elif name == "early_stopping":
        if not isinstance(value, bool) and value != "never":
            raise fail("true, false or 'never'")
    elif name in ("eos_token_id", "forced_eos_token_id"):
        if not (_is_int(value) or (isinstance(value, list) and value and all(_is_int(v) for v in value))):
            raise fail("a token id or a list of token ids")
    elif name in _ID_LISTS:
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            raise fail("a list of token ids")
    elif name == "bad_words_ids":
        if not isinstance(value, list) or not all(isinstance(w, list) and w and all(_is_int(t) and t >= 0 for t in w)
                                                  for w in value):
            raise fail("a list of non-empty lists of token ids")
    elif name == "stop_strings":
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(s, str) and s for s in value):
            raise fail("a non-empty string or a list of them")
    return value


def from_model(generation_config: dict[str, Any] | None, config: dict[str, Any]) -> dict[str, Any]:
    """The model's values that differ from transformers' global defaults (generation_config.json, else config.json)."""
    source = generation_config if generation_config is not None else {
        **(config.get("decoder") or {}), **config} if config.get("model_type") == "vision-encoder-decoder" else config
    out = {}
    for name in NAMES - {"seed", "stop_strings"}:
        if name in source and source[name] is not None and source[name] != getattr(DEFAULTS, name):
            out[name] = _check(name, source[name], "generation_config.json")
    return out


def resolve(model_values: dict[str, Any], request: dict[str, Any],
            pipeline_defaults: dict[str, Any] | None = None) -> GenerationConfig:
    """Request options over the model's values over the pipeline's defaults."""
    checked = {name: _check(name, value, "generation option") for name, value in request.items()}
    values = {"max_new_tokens": PIPELINE_MAX_NEW_TOKENS, **(pipeline_defaults or {}), **model_values}
    if values["max_new_tokens"] == PIPELINE_MAX_NEW_TOKENS and values.get("max_length", 20) != 20:
        values["max_new_tokens"] = None  # a model's own max_length (e.g. Whisper's) beats the pipeline default
    values.update(checked)
    if values.get("temperature") == 0.0:
        values["do_sample"] = False
    config = replace(DEFAULTS, **values)
    if config.num_return_sequences > config.num_beams and not config.do_sample:
        raise RequestError(f"generation option 'num_return_sequences' ({config.num_return_sequences}) must not "
                           f"exceed num_beams ({config.num_beams}) without sampling")
    return config
