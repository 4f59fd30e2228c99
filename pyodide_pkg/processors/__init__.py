"""Processors that turn non-text inputs into model tensors, as transformers' processors do."""

from .image import ImageProcessor, load_image

__all__ = ["ImageProcessor", "load_image"]
