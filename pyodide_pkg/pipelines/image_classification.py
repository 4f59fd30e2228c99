"""image-classification: labels and scores for an image (ViT-style classifiers)."""

from __future__ import annotations

from typing import Any

from ..errors import RequestError
from ..model_config import labels
from ..processors import ImageProcessor, load_image
from .activations import classification_function, scores_of
from .base import Pipeline
from .loading import LoadContext


class ImageClassificationPipeline(Pipeline):
    def __init__(self, session: Any, processor: ImageProcessor, config: dict[str, Any]) -> None:
        self.session = session
        self.processor = processor
        self.config = config
        self.labels = labels(config)

    @classmethod
    async def load(cls, ctx: LoadContext) -> "ImageClassificationPipeline":
        config, preprocessor, session = await ctx.together(
            ctx.json("config.json"), ctx.json("preprocessor_config.json", processor=True),
            ctx.model())
        processor = ImageProcessor(preprocessor)
        return cls(session, processor, config)

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        opts = self.options(options)
        top_k = min(opts["top_k"], len(self.labels) or 1)
        function = opts["function_to_apply"]
        function = classification_function(self.config) if function == "default" else function
        if not args:
            raise RequestError("image-classification: args must hold an image or a list of images")
        images = args[0] if isinstance(args[0], list) else [args[0]]
        if not images:
            raise RequestError("image-classification: the list of images is empty")
        results = []
        for image in images:
            logits = (await self.session.run({"pixel_values": self.processor(await load_image(image))}))["logits"][0]
            ranked = [{"label": self.labels.get(i, f"LABEL_{i}"), "score": float(s)}
                      for i, s in enumerate(scores_of(logits, function))]
            ranked.sort(key=lambda r: r["score"], reverse=True)
            results.append(ranked[:top_k])
        return results if isinstance(args[0], list) else results[0]

    def release(self) -> None:
        self.session.release()
