"""object-detection: labelled boxes in the original image's pixels (YOLOS-style detectors: class logits with a
last "no object" class, and centre/size boxes relative to the image)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..processors import load_image
from .activations import softmax
from .arguments import images
from .image_encoder import ImageEncoder


def corners(centres: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[queries, 4] (xmin, ymin, xmax, ymax) in pixels of an image of `size` (width, height), in float32 as
    transformers computes them, from (centre x, centre y, width, height) relative to the image."""
    cx, cy, w, h = (centres.astype(np.float32)[:, i] for i in range(4))
    half = np.float32(0.5)
    width, height = size
    box = np.stack([cx - half * w, cy - half * h, cx + half * w, cy + half * h], axis=-1)
    return box * np.array([width, height, width, height], dtype=np.float32)


class ObjectDetectionPipeline(ImageEncoder):
    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        threshold = self.options(options)["threshold"]
        items, single = images(self.task, args)
        results = []
        for item in items:
            image = await load_image(item)
            out = await self.session.run({"pixel_values": self.processor(image)})
            results.append(self.boxes(out["logits"][0], out["pred_boxes"][0], image.size, threshold))
        return results[0] if single else results

    def boxes(self, logits: np.ndarray, centres: np.ndarray, size: tuple[int, int],
              threshold: float) -> list[dict[str, Any]]:
        """Boxes in query order scoring above the threshold; corners truncated to whole pixels as transformers'
        pipeline does (`int()` of float32 values)."""
        probabilities = softmax(logits.astype(np.float32))[:, :-1]
        scores, classes = probabilities.max(-1), probabilities.argmax(-1)
        found = []
        for score, label, box in zip(scores, classes, corners(centres, size)):
            if score > threshold:
                xmin, ymin, xmax, ymax = (int(v) for v in box)
                found.append({"score": float(score), "label": self.labels.get(int(label), f"LABEL_{int(label)}"),
                              "box": {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}})
        return found
