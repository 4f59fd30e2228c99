"""Score functions with the numerics of transformers' pipelines (max-shifted softmax, plain sigmoid)."""

from __future__ import annotations

from typing import Any

import numpy as np


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(logits - np.max(logits, axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def classification_function(config: dict[str, Any]) -> str:
    """The function classification pipelines apply by default, from the model's problem type and labels."""
    problem = config.get("problem_type")
    labels = len(config.get("id2label") or {})
    if problem == "regression":
        return "none"
    if problem == "multi_label_classification" or labels == 1:
        return "sigmoid"
    if problem == "single_label_classification" or labels > 1:
        return "softmax"
    return str(config.get("function_to_apply", "none")).lower()


def scores_of(logits: np.ndarray, function: str) -> np.ndarray:
    return {"softmax": softmax, "sigmoid": sigmoid, "none": lambda x: x}[function](logits.astype(np.float32))
