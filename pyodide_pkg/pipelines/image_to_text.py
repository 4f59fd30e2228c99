"""image-to-text: a vision encoder-decoder (e.g. mozilla/distilvit, ViT + GPT-2) captions an image."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from ..processors import ImageProcessor, load_image
from .loading import LoadContext
from .generative import GenerativePipeline, Piece, TextPieces, decoder_start
from .text2text_generation import load_seq2seq


class ImageToTextPipeline(GenerativePipeline):
    def __init__(self, model: Any, tokenizer: Any, model_generation: dict[str, Any], config: dict[str, Any],
                 processor: ImageProcessor) -> None:
        super().__init__(model, tokenizer, model_generation, config)
        self.processor = processor

    @classmethod
    async def load(cls, ctx: LoadContext) -> "ImageToTextPipeline":
        processor = ImageProcessor(await ctx.json("preprocessor_config.json", processor=True))
        model, tokenizer, config, generation = await load_seq2seq(ctx)
        return cls(model, tokenizer, generation, config, processor)

    async def run(self, args: list[Any], options: dict[str, Any], emit: Piece | None) -> Any:
        own, generation, use_cache = self.split_options(options)
        if not args:
            raise RequestError("image-to-text: args must hold an image or a list of images")
        value = args[0]
        images = value if isinstance(value, list) else [value]
        if not images:
            raise RequestError("image-to-text: the list of images is empty")
        results = [await self.one(image, own, generation, use_cache, emit if i == 0 else None)
                   for i, image in enumerate(images)]
        return results if isinstance(value, list) else results[0]

    async def one(self, image: Any, own: dict[str, Any], generation: Any, use_cache: bool,
                  emit: Piece | None) -> list[dict]:
        pixels = self.processor(await load_image(image))
        decoding = await self.model.encode({"pixel_values": pixels}, use_cache)
        start = decoder_start(self.task, generation)

        def decode(tokens: list[int]) -> str:
            return self.tokenizer.decode(tokens, skip_special_tokens=True)

        pieces = TextPieces(decode, 1, emit) if emit else None
        sequences = await self.decode_loop(decoding, np.array([[start]], dtype=np.int64), generation, pieces)
        if own["return_tensors"]:
            return [{"generated_token_ids": s} for s in sequences]
        records = [{"generated_text": decode(s)} for s in sequences]
        if pieces:
            pieces.finish(records[0]["generated_text"])
        return records
