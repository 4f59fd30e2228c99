"""Convert a Hugging Face checkpoint into the Transformers.js ONNX layout inside a hub folder.

Encoder models for feature-extraction, text-classification, zero-shot-classification,
token-classification, question-answering and fill-mask; modes fp16, q8, int8, uint8, q4, q4f16,
bnb4. Every produced file is run with onnxruntime and compared with the PyTorch model; the drift is
printed and written to validation.json beside the model, and a failed check exits non-zero.

    python -m tools.convert --model_id ORG/NAME --source DIR --task TASK \\
        --quantize --modes fp16 q8 q4 --output_parent_dir HUB --revision REV
"""

from .cli import ConversionError, convert, main, parse_args
from .quantize import MODES, SUFFIXES

__all__ = ["ConversionError", "MODES", "SUFFIXES", "convert", "main", "parse_args"]
