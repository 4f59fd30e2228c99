"""Task registry: task names and aliases to pipeline classes, one module per task.

A task's module is imported when the task is first used, so the engine host's boot imports none of them
(nor the tokenizers, generation and image code they bring)."""

from __future__ import annotations

import importlib
import re

from ..errors import OptionsError
from .base import Pipeline
from .loading import LoadContext

# task name -> (module in this package, pipeline class)
TASKS: dict[str, tuple[str, str]] = {
    "feature-extraction": ("feature_extraction", "FeatureExtractionPipeline"),
    "sentence-similarity": ("feature_extraction", "FeatureExtractionPipeline"),
    "text-classification": ("text_classification", "TextClassificationPipeline"),
    "sentiment-analysis": ("text_classification", "TextClassificationPipeline"),
    "token-classification": ("token_classification", "TokenClassificationPipeline"),
    "ner": ("token_classification", "TokenClassificationPipeline"),
    "question-answering": ("question_answering", "QuestionAnsweringPipeline"),
    "fill-mask": ("fill_mask", "FillMaskPipeline"),
    "zero-shot-classification": ("zero_shot_classification", "ZeroShotClassificationPipeline"),
    "text-generation": ("text_generation", "TextGenerationPipeline"),
    "text2text-generation": ("text2text_generation", "Text2TextGenerationPipeline"),
    "summarization": ("text2text_generation", "SummarizationPipeline"),
    "translation": ("text2text_generation", "TranslationPipeline"),
    "image-to-text": ("image_to_text", "ImageToTextPipeline"),
    "image-classification": ("image_classification", "ImageClassificationPipeline"),
}
TRANSLATION = re.compile(r"^translation_([A-Za-z_-]+)_to_([A-Za-z_-]+)$")  # translation_en_to_fr


def pipeline_class(task: str) -> type[Pipeline]:
    name = "translation" if TRANSLATION.match(task or "") else task
    if name not in TASKS:
        raise OptionsError(f"unknown taskName {task!r}; known tasks: {', '.join(sorted(TASKS))}")
    module, cls = TASKS[name]
    return getattr(importlib.import_module(f".{module}", __name__), cls)


__all__ = ["TASKS", "TRANSLATION", "LoadContext", "Pipeline", "pipeline_class"]
