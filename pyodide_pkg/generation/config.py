"""Generation settings: transformers' defaults, then the model's generation_config.json, then the request.

The precedence is the one transformers' pipelines use: a request option wins; otherwise the model's
generation config where it differs from the global default; otherwise the pipeline's defaults
(e.g. text2text: 256 new tokens and 4 beams; text-generation: sampling at temperature 0.7).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import ModelError, RequestError
from ..model_config import decoder_config
from ..option_rules import Rule, check_one

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


DEFAULTS = GenerationConfig()
_ID = Rule("integer", minimum=0)
# Rules for every generation option; a request's, generation_config.json's and config.json's values all pass them.
RULES: dict[str, Rule] = {
    "max_length": Rule("integer", minimum=1), "max_new_tokens": Rule("integer", minimum=1),
    "min_length": Rule("integer", minimum=0), "min_new_tokens": Rule("integer", minimum=0),
    "do_sample": Rule("boolean"), "num_beams": Rule("integer", minimum=1),
    "num_return_sequences": Rule("integer", minimum=1),
    "temperature": Rule("number", minimum=0, doc="0 means greedy"), "top_k": Rule("integer", minimum=0),
    "top_p": Rule("number", minimum=0, maximum=1), "repetition_penalty": Rule("number", above=0),
    "no_repeat_ngram_size": Rule("integer", minimum=0), "length_penalty": Rule("number"),
    "early_stopping": Rule("boolean", also=("never",)), "bad_words_ids": Rule("token_id_lists"),
    "suppress_tokens": Rule("token_ids"), "begin_suppress_tokens": Rule("token_ids"),
    "forced_bos_token_id": _ID, "forced_eos_token_id": Rule("token_id_or_ids"),
    "bos_token_id": _ID, "eos_token_id": Rule("token_id_or_ids"), "pad_token_id": _ID,
    "decoder_start_token_id": _ID, "stop_strings": Rule("strings", nonempty=True),
    "seed": Rule("integer", minimum=0, doc="sampling draws repeat with it"),
}
NAMES = frozenset(RULES)


def from_model(generation_config: dict[str, Any] | None, config: dict[str, Any]) -> dict[str, Any]:
    """The model's values that differ from transformers' global defaults (generation_config.json, else the
    decoder's part of config.json)."""
    source, where = (generation_config, "generation_config.json") if generation_config is not None \
        else (decoder_config(config), "config.json")
    return {name: check_one(RULES, name, source[name], where, ModelError) for name in NAMES - {"seed", "stop_strings"}
            if source.get(name) is not None and source[name] != getattr(DEFAULTS, name)}


def resolve(model_values: dict[str, Any], request: dict[str, Any],
            pipeline_defaults: dict[str, Any] | None = None) -> GenerationConfig:
    """Request options (checked by the task's rules) over the model's values over the pipeline's defaults."""
    checked = {name: value for name, value in request.items() if value is not None}
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
