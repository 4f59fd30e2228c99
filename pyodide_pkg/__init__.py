"""A browser-side inference runtime: Firefox's ML engine lifecycle in Python, on ONNX Runtime."""

from __future__ import annotations

from typing import Any

from .errors import MLError

__version__ = "0.1.0"
__all__ = ["Engine", "MLError", "create_engine", "delete_models", "list_engines", "list_files", "list_models"]

_ENGINE_API = {"Engine", "create_engine", "delete_models", "list_engines", "list_files", "list_models"}


def __getattr__(name: str) -> Any:
    """The engine's API, imported when first asked for rather than with the package: the engine host's memory
    snapshot imports the package's pure modules (tools/vendor.py), and the engine brings the platform layer,
    which holds JavaScript objects no snapshot may keep."""
    if name in _ENGINE_API:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
