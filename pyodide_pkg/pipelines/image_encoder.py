"""What single-session image tasks share: one ONNX session fed an image processor's pixel_values, and the
model's config (labels, model type)."""

from __future__ import annotations

from typing import Any

from ..model_config import labels
from ..processors import ImageProcessor
from .base import Pipeline
from .loading import LoadContext


class ImageEncoder(Pipeline):
    def __init__(self, session: Any, processor: ImageProcessor, config: dict[str, Any]) -> None:
        self.session = session
        self.processor = processor
        self.config = config
        self.labels = labels(config)

    @classmethod
    async def load(cls, ctx: LoadContext) -> "ImageEncoder":
        config, preprocessor, session = await ctx.together(
            ctx.json("config.json"), ctx.json("preprocessor_config.json", processor=True), ctx.model())
        return cls(session, ImageProcessor(preprocessor), config)

    def release(self) -> None:
        self.session.release()
