"""zero-shot-image-classification: a CLIP-style dual encoder scores "This is a photo of {label}." against an
image; the labels' texts are one padded batch, as transformers' pipeline tokenizes them."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from ..model_config import positions
from ..processors import ImageProcessor, load_image
from .activations import softmax
from .arguments import images
from .base import Pipeline
from .loading import LoadContext


class ZeroShotImageClassificationPipeline(Pipeline):
    def __init__(self, session: Any, processor: ImageProcessor, tokenizer: Any, config: dict[str, Any]) -> None:
        self.session = session
        self.processor = processor
        self.tokenizer = tokenizer
        self.max_length = positions(config.get("text_config") or {})

    @classmethod
    async def load(cls, ctx: LoadContext) -> "ZeroShotImageClassificationPipeline":
        config, preprocessor, tokenizer, session = await ctx.together(
            ctx.json("config.json"), ctx.json("preprocessor_config.json", processor=True),
            ctx.pretrained_tokenizer(), ctx.model())
        return cls(session, ImageProcessor(preprocessor), tokenizer, config)

    def labels(self, args: list[Any], options: dict[str, Any]) -> tuple[list[str], str]:
        """candidate_labels, from args[1] (transformers' second argument) or the option, and the template."""
        if len(args) > 1:
            if options.get("candidate_labels") is not None:
                raise RequestError(f"{self.task}: candidate labels given both as args[1] and as an option")
            options = {**options, "candidate_labels": args[1]}
        opts = self.options(options)
        labels, template = opts["candidate_labels"], opts["hypothesis_template"]
        if labels is None:
            raise RequestError(f"{self.task}: candidate_labels is missing; pass them as args[1] or the "
                               "candidate_labels option")
        return labels, template

    def text_feeds(self, labels: list[str], template: str) -> dict[str, np.ndarray]:
        encoded = self.tokenizer([template.format(label) for label in labels], padding=True)
        ids = np.array(encoded["input_ids"], dtype=np.int64)
        if self.max_length and ids.shape[1] > self.max_length:
            raise RequestError(f"{self.task}: a label's text is {ids.shape[1]} tokens long with the "
                               f"hypothesis_template; the model reads at most {self.max_length}")
        feeds = {"input_ids": ids, "attention_mask": np.array(encoded["attention_mask"], dtype=np.int64)}
        return {k: v for k, v in feeds.items() if k in self.session.input_names}

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        labels, template = self.labels(args, options)
        items, single = images(self.task, args)
        feeds = self.text_feeds(labels, template)
        results = []
        for item in items:
            pixels = self.processor(await load_image(item))
            logits = (await self.session.run({**feeds, "pixel_values": pixels}))["logits_per_image"][0]
            scores = softmax(logits.astype(np.float32))
            order = sorted(range(len(labels)), key=lambda i: -scores[i])
            results.append([{"score": float(scores[i]), "label": labels[i]} for i in order])
        return results[0] if single else results

    def release(self) -> None:
        self.session.release()
