"""Transformers.js file-name suffixes per dtype, so existing ONNX hub repositories load unchanged."""

SUFFIXES: dict[str, str] = {
    "fp32": "",
    "fp16": "_fp16",
    "q8": "_quantized",
    "int8": "_int8",
    "uint8": "_uint8",
    "q4": "_q4",
    "q4f16": "_q4f16",
    "bnb4": "_bnb4",
}

DEFAULT_DTYPE = "q8"


def onnx_file(name: str, dtype: str) -> str:
    """Path of an ONNX graph inside a model repository, e.g. onnx/model_quantized.onnx."""
    return f"onnx/{name}{SUFFIXES[dtype]}.onnx"


def base_name(file_name: str) -> str:
    """A graph's name without its dtype suffix, e.g. model_quantized.onnx -> model (Transformers.js' fileName)."""
    stem = file_name.removesuffix(".onnx")
    for suffix in sorted(filter(None, SUFFIXES.values()), key=len, reverse=True):
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem
