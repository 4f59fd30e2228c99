"""Images of varied sizes and modes for the vision tasks, made with PIL and numpy, shared by CPython and
browser tests (as PNG data: URLs, which both can pass as requests)."""

import base64
import io

import numpy as np

# The hub's tiny vision models, built from the task table's exports (tools/tiny_models.py).
CLIP, YOLOS, DINOV2 = "test/tiny-clip", "test/tiny-yolos", "test/tiny-dinov2"
LABELS = ["a cat", "a dog", "a red circle", "noise", "stripes"]


def _image(kind: str, size: tuple[int, int], mode: str, seed: int):
    from PIL import Image, ImageDraw

    width, height = size
    rng = np.random.default_rng(seed)
    if kind == "gradient":
        x, y = np.meshgrid(np.linspace(0, 255, width), np.linspace(0, 255, height))
        pixels = np.stack([x, y, 255 - x], axis=-1).astype(np.uint8)
    elif kind == "noise":
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:  # shapes on a flat ground
        pixels = np.full((height, width, 3), rng.integers(0, 256, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if kind == "shapes":
        draw = ImageDraw.Draw(image)
        draw.ellipse([width * 0.1, height * 0.2, width * 0.6, height * 0.7], fill=(200, 30, 30))
        draw.rectangle([width * 0.5, height * 0.5, width * 0.95, height * 0.9], fill=(20, 40, 220))
        draw.line([0, 0, width, height], fill=(250, 250, 0), width=max(1, width // 20))
    if mode == "RGBA":
        image = image.convert("RGBA")
        alpha = np.linspace(0, 255, width * height).reshape(height, width).astype(np.uint8)
        image.putalpha(Image.fromarray(alpha, "L"))
    elif mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    elif mode != "RGB":
        image = image.convert(mode)
    return image


SPECS = [("gradient", (17, 31), "RGB"), ("noise", (640, 480), "RGB"), ("shapes", (300, 1200), "RGB"),
         ("shapes", (64, 64), "RGBA"), ("gradient", (200, 150), "L"), ("shapes", (120, 90), "P"),
         ("noise", (33, 47), "RGBA"), ("gradient", (1000, 240), "RGB"), ("shapes", (48, 40), "L"),
         ("noise", (96, 96), "P"), ("shapes", (81, 257), "RGB")]


def png(index: int) -> bytes:
    kind, size, mode = SPECS[index]
    buffer = io.BytesIO()
    _image(kind, size, mode, index).save(buffer, format="PNG")
    return buffer.getvalue()


def images() -> list[str]:
    """Every spec as a PNG data: URL."""
    return ["data:image/png;base64," + base64.b64encode(png(i)).decode() for i in range(len(SPECS))]


def decoded(index: int):
    """What transformers' pipeline is given: the PIL image the PNG decodes to."""
    from PIL import Image

    return Image.open(io.BytesIO(png(index)))


def raw_pixels(index: int) -> dict:
    """pdf.js' request shape for an image: its RGBA pixels with width, height and channels."""
    image = decoded(index).convert("RGBA")
    return {"data": image.tobytes(), "width": image.width, "height": image.height, "channels": 4}
