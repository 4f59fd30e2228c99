"""Images: reading what a page passes (URL, data URL, bytes, Blob, ImageData), then the ViT-style steps
of transformers' image processors (resize, center crop, rescale, normalize) with Pillow.

Pillow is loaded on first use (Pyodide ships it as a package of its own), so text-only pages never pay for it.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .. import platform
from ..model_config import size_multiple
from ..errors import ModelError, RequestError
from .media import url_bytes

# PIL's resampling filters by number, as transformers' configs give them: nearest, Lanczos, bilinear,
# bicubic, box, Hamming.
RESAMPLE_FILTERS = range(6)
# Raw pixels as Firefox's pdf.js sends them, {data, width, height, channels}: PIL's mode per channel count.
CHANNEL_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


async def pil() -> Any:
    await platform.load_packages(["pillow"])
    from PIL import Image

    return Image


async def load_image(value: Any) -> Any:
    """An RGB PIL image from a URL, data URL, bytes, or a page's Blob/ImageData; EXIF rotation applied."""
    Image = await pil()
    from PIL import ImageOps, UnidentifiedImageError

    if isinstance(value, dict) and {"data", "width", "height"} <= set(value):
        return _raw_pixels(Image, value)
    if isinstance(value, str):
        data = await url_bytes(value, "image")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        found = await platform.page_image(value)
        if found is None:
            raise RequestError("an image is a URL, a data: URL, bytes, a Blob, an ImageData or "
                               f"{{data, width, height, channels}}, not {type(value).__name__}")
        if isinstance(found, tuple):
            width, height, rgba = found
            return Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1).convert("RGB")
        data = found
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise RequestError(f"the image could not be decoded ({len(data)} bytes): {error}") from None
    return ImageOps.exif_transpose(image).convert("RGB")


def _raw_pixels(Image: Any, value: dict[str, Any]) -> Any:
    """pdf.js' request shape: row-major 8-bit pixels (a typed array arrives as a memoryview)."""
    width, height, channels = value["width"], value["height"], value.get("channels", 4)
    if channels not in CHANNEL_MODES:
        raise RequestError(f"an image's channels must be one of {sorted(CHANNEL_MODES)}, got {channels!r}")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in (width, height)):
        raise RequestError(f"an image's width and height must be positive integers, got {width!r} and {height!r}")
    data = value["data"]
    if isinstance(data, list):
        data = bytes(data)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise RequestError(f"an image's data must be 8-bit pixels (a Uint8Array or Uint8ClampedArray), "
                           f"not {type(data).__name__}")
    data = memoryview(data).cast("B")
    if len(data) != width * height * channels:
        raise RequestError(f"an image of {width}x{height} with {channels} channel(s) has "
                           f"{width * height * channels} bytes, got {len(data)}")
    mode = CHANNEL_MODES[channels]
    return Image.frombuffer(mode, (width, height), data, "raw", mode, 0, 1).convert("RGB")


class ImageProcessor:
    """preprocessor_config.json of ViT-, CLIP-, DINOv2- and YOLOS-like processors: resize, center crop, rescale,
    normalize, pad, channels first."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.do_resize = config.get("do_resize", True)
        self.size = config.get("size") or {"height": 224, "width": 224}
        if isinstance(self.size, int):
            self.size = {"height": self.size, "width": self.size}
        if not ({"height", "width"} <= set(self.size) or "shortest_edge" in self.size):
            raise ModelError(f"preprocessor_config.json: size {self.size!r} has neither height/width nor shortest_edge")
        resample = config.get("resample", 2)
        if resample not in RESAMPLE_FILTERS:
            raise ModelError(f"preprocessor_config.json: unknown resample {resample!r}")
        self.resample = resample
        self.do_center_crop = config.get("do_center_crop", False)
        self.crop_size = config.get("crop_size") or self.size
        self.do_rescale = config.get("do_rescale", True)
        self.rescale_factor = float(config.get("rescale_factor", 1 / 255))
        self.do_normalize = config.get("do_normalize", True)
        self.mean = np.array(config.get("image_mean", [0.5, 0.5, 0.5]), dtype=np.float32)
        self.std = np.array(config.get("image_std", [0.5, 0.5, 0.5]), dtype=np.float32)
        self.multiple = size_multiple(config)
        self.pad_size = config.get("pad_size") if config.get("do_pad") else None

    def target_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) after resizing."""
        if self.multiple and "shortest_edge" in self.size:
            return self.capped_size(width, height, int(self.size["shortest_edge"]), self.size.get("longest_edge"))
        if "shortest_edge" in self.size:
            short = int(self.size["shortest_edge"])
            if width <= height:
                return short, int(short * height / width)
            return int(short * width / height), short
        return int(self.size["width"]), int(self.size["height"])

    def capped_size(self, width: int, height: int, size: int, longest: int | None) -> tuple[int, int]:
        """The shortest edge at `size` unless the longest would pass `longest`, then each side cut down to the
        multiple (transformers' YOLOS rule, whose sizes follow the unrounded capped edge)."""
        raw = None
        if longest is not None:
            short, long = float(min(height, width)), float(max(height, width))
            if long / short * size > longest:
                raw = longest * short / long
                size = int(round(raw))
        base = raw if raw is not None else size
        if width < height:
            new_w, new_h = size, int(base * height / width)
        elif (height <= width and height == size) or (width <= height and width == size):
            new_w, new_h = width, height
        else:
            new_w, new_h = int(base * width / height), size
        new_w, new_h = new_w - new_w % self.multiple, new_h - new_h % self.multiple
        if new_w <= 0 or new_h <= 0:
            raise RequestError(f"an image of {width}x{height} is too narrow for this model: it would be resized "
                               f"to {new_w}x{new_h}")
        return new_w, new_h

    def __call__(self, image: Any) -> np.ndarray:
        """pixel_values [1, 3, height, width] float32."""
        if self.do_resize:
            image = image.resize(self.target_size(*image.size), resample=self.resample)
        pixels = np.asarray(image)
        if self.do_center_crop:
            crop_h, crop_w = int(self.crop_size["height"]), int(self.crop_size["width"])
            top, left = (pixels.shape[0] - crop_h) // 2, (pixels.shape[1] - crop_w) // 2
            pixels = pixels[max(top, 0):max(top, 0) + crop_h, max(left, 0):max(left, 0) + crop_w]
        values = pixels.astype(np.float32)
        if self.do_rescale:
            values = (pixels.astype(np.float64) * self.rescale_factor).astype(np.float32)
        if self.do_normalize:
            values = (values - self.mean) / self.std
        if self.pad_size:
            height, width = int(self.pad_size["height"]), int(self.pad_size["width"])
            if values.shape[0] > height or values.shape[1] > width:
                raise RequestError(f"an image resized to {values.shape[1]}x{values.shape[0]} is larger than the "
                                   f"model's pad_size {width}x{height}")
            values = np.pad(values, ((0, height - values.shape[0]), (0, width - values.shape[1]), (0, 0)))
        return values.transpose(2, 0, 1)[None].astype(np.float32)
