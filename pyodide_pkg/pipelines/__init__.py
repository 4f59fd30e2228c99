"""Task registry: task names and aliases to pipeline classes, one module per task."""

from __future__ import annotations

from ..errors import OptionsError
from .base import Pipeline
from .loading import LoadContext
from .feature_extraction import FeatureExtractionPipeline
from .fill_mask import FillMaskPipeline
from .image_classification import ImageClassificationPipeline
from .image_to_text import ImageToTextPipeline
from .question_answering import QuestionAnsweringPipeline
from .text2text_generation import TRANSLATION, SummarizationPipeline, Text2TextGenerationPipeline, TranslationPipeline
from .text_classification import TextClassificationPipeline
from .text_generation import TextGenerationPipeline
from .token_classification import TokenClassificationPipeline
from .zero_shot_classification import ZeroShotClassificationPipeline

PIPELINES: dict[str, type[Pipeline]] = {}

for _cls in (FeatureExtractionPipeline, TextClassificationPipeline, TokenClassificationPipeline,
             QuestionAnsweringPipeline, FillMaskPipeline, ZeroShotClassificationPipeline, TextGenerationPipeline,
             Text2TextGenerationPipeline, SummarizationPipeline, TranslationPipeline, ImageToTextPipeline,
             ImageClassificationPipeline):
    for _name in (_cls.task, *_cls.aliases):
        PIPELINES[_name] = _cls


def pipeline_class(task: str) -> type[Pipeline]:
    if TRANSLATION.match(task or ""):
        return TranslationPipeline
    if task not in PIPELINES:
        raise OptionsError(f"unknown taskName {task!r}; known tasks: {', '.join(sorted(PIPELINES))}")
    return PIPELINES[task]


__all__ = ["PIPELINES", "LoadContext", "Pipeline", "pipeline_class"]
