"""Generation over ONNX decoders: settings, logits processors, stopping, decoding strategies, step models."""

from .config import GenerationConfig, from_model, resolve
from .models import CausalModel, Seq2SeqModel
from .search import generate

__all__ = ["CausalModel", "GenerationConfig", "Seq2SeqModel", "from_model", "generate", "resolve"]
