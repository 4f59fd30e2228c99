"""image-classification: labels and scores for an image (ViT-style classifiers)."""

from __future__ import annotations

from typing import Any

from ..processors import load_image
from .activations import classification_function, scores_of
from .arguments import images
from .image_encoder import ImageEncoder


class ImageClassificationPipeline(ImageEncoder):
    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        opts = self.options(options)
        top_k = min(opts["top_k"], len(self.labels) or 1)
        function = opts["function_to_apply"]
        function = classification_function(self.config) if function == "default" else function
        items, single = images(self.task, args)
        results = []
        for image in items:
            logits = (await self.session.run({"pixel_values": self.processor(await load_image(image))}))["logits"][0]
            ranked = [{"label": self.labels.get(i, f"LABEL_{i}"), "score": float(s)}
                      for i, s in enumerate(scores_of(logits, function))]
            ranked.sort(key=lambda r: r["score"], reverse=True)
            results.append(ranked[:top_k])
        return results[0] if single else results
