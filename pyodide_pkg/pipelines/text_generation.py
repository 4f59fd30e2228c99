"""text-generation: a decoder-only model continues a prompt, or answers a chat rendered by its template."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from ..generation.config import from_model
from ..generation.models import CausalModel
from ..tokenizers import ChatTemplateError
from .arguments import is_chat, prompts, with_reply
from .loading import LoadContext
from .generative import GenerativePipeline, Piece, TextPieces, check_prompt_length


class TextGenerationPipeline(GenerativePipeline):
    @classmethod
    async def load(cls, ctx: LoadContext) -> "TextGenerationPipeline":
        config, generation, tokenizer, session = await ctx.together(
            ctx.json("config.json"), ctx.json("generation_config.json", optional=True),
            ctx.pretrained_tokenizer(chat=True), ctx.model())
        return cls(CausalModel(session, config), tokenizer, from_model(generation, config), config)

    def prompt_ids(self, prompt: Any, add_special_tokens: bool) -> list[int]:
        if is_chat(prompt):
            try:
                return self.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
            except ChatTemplateError as error:
                raise RequestError(f"text-generation: {error}") from None
        if not isinstance(prompt, str):
            raise RequestError("text-generation: a prompt is a text or a chat (a list of {role, content})")
        return self.tokenizer(prompt, add_special_tokens=add_special_tokens)["input_ids"]

    async def run(self, args: list[Any], options: dict[str, Any], emit: Piece | None) -> Any:
        own, generation, use_cache = self.split_options(options)
        items, many = prompts(self.task, args)
        results = [await self.one(p, own, generation, use_cache, emit if i == 0 else None)
                   for i, p in enumerate(items)]
        return results if many else results[0]

    async def one(self, prompt: Any, own: dict[str, Any], generation: Any, use_cache: bool,
                  emit: Piece | None) -> list[dict]:
        ids = self.prompt_ids(prompt, own["add_special_tokens"])
        if not ids:
            raise RequestError("text-generation: the prompt is empty after tokenization")
        check_prompt_length(self.task, len(ids), self.config, room=1)

        def decode(tokens: list[int]) -> str:
            return self.tokenizer.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=True)

        prompt_length = len(decode(ids))
        pieces = TextPieces(lambda tokens: decode(tokens)[prompt_length:], len(ids), emit) if emit else None
        sequences = await self.decode_loop(self.model.start(use_cache), np.array([ids], dtype=np.int64), generation,
                                           pieces)
        records = []
        for sequence in sequences:
            if own["return_tensors"]:
                records.append({"generated_token_ids": sequence})
                continue
            text = decode(sequence)[prompt_length:]
            if pieces and not records:
                pieces.finish(text)
            if own["return_full_text"]:
                text = with_reply(prompt, text)
            records.append({"generated_text": text})
        return records
