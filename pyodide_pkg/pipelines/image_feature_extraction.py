"""image-feature-extraction: the vision model's hidden states per patch, or its pooled vector."""

from __future__ import annotations

from typing import Any

from ..errors import RequestError
from ..model_config import pooled_by_cls
from ..processors import load_image
from .arguments import images
from .image_encoder import ImageEncoder


class ImageFeatureExtractionPipeline(ImageEncoder):
    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        """Like transformers, each image's result keeps its batch axis: [1][patches][hidden], or [1][hidden]
        pooled."""
        pool = self.options(options)["pool"]
        pooler = "pooler_output" in self.session.output_names
        if pool and not pooler and not pooled_by_cls(self.config):
            raise RequestError(f"{self.task}: option 'pool' needs a pooled output, and this model "
                               f"({self.config.get('model_type')}) has none: its ONNX outputs are "
                               f"{', '.join(self.session.output_names)}")
        items, single = images(self.task, args)
        results = []
        for item in items:
            out = await self.session.run({"pixel_values": self.processor(await load_image(item))})
            if pool:
                vector = out["pooler_output"] if pooler else out["last_hidden_state"][:, 0]
            else:
                vector = out["last_hidden_state"]
            results.append(vector)
        return results[0] if single else results
