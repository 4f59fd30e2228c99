"""Model-type quirks of config.json, in one place: where a composite model keeps its decoder's settings,
what transformers calls the cache's heads and sizes per architecture, how many positions a model reads.

Everything that reads such a field asks here, so a new architecture's spelling is added once.
"""

from __future__ import annotations

from typing import Any

# Composite models keep the text decoder's settings (vocabulary, special tokens, positions) under "decoder".
COMPOSITE = frozenset({"vision-encoder-decoder", "speech-encoder-decoder", "encoder-decoder"})
# Position ids of these architectures start after the padding index (1), so two positions are unusable.
OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "camembert", "mpnet", "longformer", "data2vec-text"})
# Where each architecture family keeps its number of positions, first match wins.
POSITION_FIELDS = ("max_position_embeddings", "n_positions", "max_target_positions")


def decoder_config(config: dict[str, Any]) -> dict[str, Any]:
    """The settings the text decoder runs with: a composite model's `decoder` part over the outer ones
    (the outer config keeps the generation ids that win), else config.json itself."""
    if config.get("model_type") in COMPOSITE:
        return {**(config.get("decoder") or {}), **{k: v for k, v in config.items() if k != "decoder"}}
    return config


def cache_dims(config: dict[str, Any]) -> tuple[int, int]:
    """(heads, head size) of the decoder's key/value cache."""
    c = config.get("decoder") or config if config.get("model_type") in COMPOSITE else config
    kind = c.get("model_type")
    if kind == "t5":
        return int(c["num_heads"]), int(c["d_kv"])
    if "decoder_attention_heads" in c:
        heads = int(c["decoder_attention_heads"])
        return heads, int(c["d_model"]) // heads
    if kind == "gpt2" or "n_head" in c:
        heads = int(c["n_head"])
        return heads, int(c["n_embd"]) // heads
    heads = int(c["num_attention_heads"])
    return int(c.get("num_key_value_heads") or heads), int(c.get("head_dim") or int(c["hidden_size"]) // heads)


def positions(config: dict[str, Any]) -> int | None:
    """How many positions a model has embeddings for (none for relative positions, as in T5)."""
    for name in POSITION_FIELDS:
        if config.get(name):
            return int(config[name])
    return None


def decoder_positions(config: dict[str, Any]) -> int | None:
    """The positions a generating model's decoder has (a composite model's decoder part)."""
    if config.get("model_type") in COMPOSITE:
        return positions(config.get("decoder") or {})
    if config.get("max_target_positions"):  # encoder-decoders whose two sides differ (Whisper)
        return int(config["max_target_positions"])
    return positions(config)


def encoder_positions(config: dict[str, Any]) -> int | None:
    """The longest row a text encoder takes by its position embeddings (padding offsets removed)."""
    limit = config.get("max_position_embeddings")
    if not limit:
        return None
    return int(limit) - (2 if config.get("model_type") in OFFSET_POSITIONS else 0)


def labels(config: dict[str, Any]) -> dict[int, str]:
    """id2label with integer keys (JSON keeps them as strings)."""
    return {int(k): v for k, v in (config.get("id2label") or {}).items()}


def label_ids(config: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in (config.get("label2id") or {}).items()}


# Image processors that resize the shortest edge under a longest-edge cap and then cut each side down to a
# multiple (YOLOS: of its patch size, 16), where other processors keep the aspect-ratio size as it falls.
SIZE_MULTIPLE = {"YolosImageProcessor": 16}
# Model types whose pooled output is the CLS token of the last hidden state (DINOv2 pools no other way), so an
# export that only has last_hidden_state still pools as transformers does.
CLS_POOLED = frozenset({"dinov2"})


def size_multiple(preprocessor: dict[str, Any]) -> int | None:
    """The multiple a processor's resized sides are cut down to, if it has that quirk."""
    return SIZE_MULTIPLE.get(str(preprocessor.get("image_processor_type") or ""))


def pooled_by_cls(config: dict[str, Any]) -> bool:
    return config.get("model_type") in CLS_POOLED


def whisper_prompt(generation: dict[str, Any], config: dict[str, Any], timestamps: bool) -> list[int]:
    """A Whisper decoder's first tokens: <|startoftranscript|>, the forced language/task tokens a multilingual
    model's config names, and <|notimestamps|> unless timestamps are wanted (English-only models force only it)."""
    start = generation.get("decoder_start_token_id", config.get("decoder_start_token_id"))
    forced = sorted(generation.get("forced_decoder_ids") or config.get("forced_decoder_ids") or [])
    no_timestamps = generation.get("no_timestamps_token_id")
    prompt = [int(start)] + [int(token) for _, token in forced if token is not None and token != no_timestamps]
    return prompt if timestamps or no_timestamps is None else prompt + [int(no_timestamps)]
