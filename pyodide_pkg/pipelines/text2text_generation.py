"""text2text-generation, summarization, translation (and translation_xx_to_yy): encoder-decoder text models.

The prefix and generation settings a config keeps for the task (`task_specific_params`, e.g. T5's
"translate English to German: ") apply as in transformers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from ..generation.config import from_model
from ..generation.models import Seq2SeqModel
from .loading import LoadContext
from .generative import GenerativePipeline, Piece, TextPieces, check_prompt_length, decoder_start

async def load_seq2seq(ctx: LoadContext) -> tuple[Seq2SeqModel, Any, dict[str, Any], dict[str, Any]]:
    """Encoder and decoder sessions (the merged decoder, else the plain one: no cache then), the
    tokenizer, config.json and the model's generation values."""
    config, generation, encoder, decoder, tokenizer = await ctx.together(
        ctx.json("config.json"), ctx.json("generation_config.json", optional=True),
        ctx.model("encoder"), ctx.model("decoder"), ctx.pretrained_tokenizer())
    return Seq2SeqModel(encoder, decoder, config), tokenizer, config, from_model(generation, config)


class Text2TextGenerationPipeline(GenerativePipeline):
    return_name = "generated"

    def __init__(self, model: Any, tokenizer: Any, model_generation: dict[str, Any], config: dict[str, Any],
                 task: str) -> None:
        specific = (config.get("task_specific_params") or {}).get(task) or {}
        task_values = from_model({k: v for k, v in specific.items() if k != "prefix"}, config)
        super().__init__(model, tokenizer, {**model_generation, **task_values}, config)
        self.prefix = specific.get("prefix", config.get("prefix")) or ""

    @classmethod
    async def load(cls, ctx: LoadContext) -> "Text2TextGenerationPipeline":
        model, tokenizer, config, generation = await load_seq2seq(ctx)
        return cls(model, tokenizer, generation, config, ctx.options.taskName)

    async def run(self, args: list[Any], options: dict[str, Any], emit: Piece | None) -> Any:
        own, generation, use_cache = self.split_options(options)
        if not args:
            raise RequestError(f"{self.task}: args must hold a text or a list of texts")
        value = args[0]
        texts = value if isinstance(value, list) else [value]
        if not texts or not all(isinstance(t, str) for t in texts):
            raise RequestError(f"{self.task}: args[0] must be a text or a non-empty list of texts")
        results = [await self.one(t, own, generation, use_cache, emit if i == 0 else None)
                   for i, t in enumerate(texts)]
        if isinstance(value, list) and all(len(r) == 1 for r in results):
            return [r[0] for r in results]
        return results if isinstance(value, list) else results[0]

    async def one(self, text: str, own: dict[str, Any], generation: Any, use_cache: bool,
                  emit: Piece | None) -> list[dict]:
        truncation = own["truncation"]
        encoded = self.tokenizer(self.prefix + text, truncation=truncation)
        ids = encoded["input_ids"]
        check_prompt_length(self.task, len(ids), self.config)
        decoding = await self.model.encode({"input_ids": np.array([ids], dtype=np.int64),
                                            "attention_mask": np.array([encoded["attention_mask"]], dtype=np.int64)},
                                           use_cache)
        start = decoder_start(self.task, generation)
        clean = own["clean_up_tokenization_spaces"]

        def decode(tokens: list[int]) -> str:
            return self.tokenizer.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=clean)

        pieces = TextPieces(decode, 1, emit) if emit else None
        sequences = await self.decode_loop(decoding, np.array([[start]], dtype=np.int64), generation, pieces)
        if own["return_tensors"]:
            return [{f"{self.return_name}_token_ids": s} for s in sequences]
        records = [{f"{self.return_name}_text": decode(s)} for s in sequences]
        if pieces:
            pieces.finish(records[0][f"{self.return_name}_text"])
        return records


class SummarizationPipeline(Text2TextGenerationPipeline):
    return_name = "summary"


class TranslationPipeline(Text2TextGenerationPipeline):
    return_name = "translation"
