"""A browser-side inference runtime: Firefox's ML engine lifecycle in Python, on ONNX Runtime."""

from .engine import Engine, create_engine, delete_models, list_engines, list_files, list_models
from .errors import MLError

__version__ = "0.1.0"
__all__ = ["Engine", "MLError", "create_engine", "delete_models", "list_engines", "list_files", "list_models"]
