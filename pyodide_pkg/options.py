"""Firefox-style PipelineOptions: validation and the merge of settings records with caller options."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .dtypes import DEFAULT_DTYPE, SUFFIXES
from .errors import OptionsError
from .option_rules import Rule, check

LOG_LEVELS = ("All", "Trace", "Debug", "Info", "Warn", "Error", "Critical", "Off")
DEVICES = ("wasm", "cpu")
DEFAULT_ENGINE_ID = "default-engine"
DEFAULT_TIMEOUT_MS = 120_000
MAX_TIMEOUT_MS = 2**31 - 1  # the browser's timers overflow past this (about 24.8 days): -1 means never
DEFAULT_URL_TEMPLATE = "{model}/{revision}"
BACKENDS = ("onnx", "wllama")
KV_CACHE_DTYPES = ("f32", "f16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0")  # llama.cpp's cache types
# Options only the wllama backend reads: set with backend onnx they would be silently ignored, so they are an error.
WLLAMA_OPTIONS = ("modelFile", "numContext", "numBatch", "numUbatch", "kvCacheDtype", "flashAttn")

# Remote Settings record fields that describe the record rather than the pipeline.
RECORD_METADATA = frozenset({"id", "last_modified", "schema", "version", "description"})


@dataclass(frozen=True)
class PipelineOptions:
    featureId: str | None = None
    taskName: str | None = None
    engineId: str = DEFAULT_ENGINE_ID
    timeoutMS: int = DEFAULT_TIMEOUT_MS
    settingsBaseUrl: str | None = None
    modelHubRootUrl: str | None = None
    modelHubUrlTemplate: str = DEFAULT_URL_TEMPLATE
    modelId: str | None = None
    modelRevision: str = "main"
    tokenizerId: str | None = None
    tokenizerRevision: str | None = None
    processorId: str | None = None
    processorRevision: str | None = None
    dtype: str = DEFAULT_DTYPE
    device: str = "wasm"
    numThreads: int = 0
    logLevel: str = "Error"
    backend: str = "onnx"
    modelFile: str | None = None
    numContext: int = 1024
    numBatch: int = 512
    numUbatch: int = 512
    kvCacheDtype: str = "f16"
    flashAttn: bool = False

    @property
    def model_repo(self) -> tuple[str, str]:
        return self.modelId, self.modelRevision

    @property
    def tokenizer_repo(self) -> tuple[str, str]:
        """Where the tokenizer files come from: tokenizerId, or the model's own repository."""
        return self.tokenizerId or self.modelId, self.tokenizerRevision or self.modelRevision

    @property
    def processor_repo(self) -> tuple[str, str]:
        """Where preprocessor_config.json comes from: processorId, as Firefox uses it, or the model's own."""
        return self.processorId or self.modelId, self.processorRevision or self.modelRevision


_TEXT = Rule("string")
RULES: dict[str, Rule] = {
    **{f.name: _TEXT for f in fields(PipelineOptions)},
    "engineId": Rule("string", nonempty=True),
    "timeoutMS": Rule("integer", minimum=0, maximum=MAX_TIMEOUT_MS, also=(-1,), doc="-1: never released"),
    "numThreads": Rule("integer", minimum=0),
    "dtype": Rule("string", choices=tuple(SUFFIXES)),
    "device": Rule("string", choices=DEVICES),
    "logLevel": Rule("string", choices=LOG_LEVELS),
    "backend": Rule("string", "onnx", choices=BACKENDS, doc="wllama: a GGUF file run by llama.cpp (browser only)"),
    "modelFile": Rule("string", nonempty=True, doc="wllama: the GGUF file's path in the model repository"),
    "numContext": Rule("integer", 1024, minimum=16, doc="wllama: context size in tokens (n_ctx)"),
    "numBatch": Rule("integer", 512, minimum=1, doc="wllama: logical batch size (n_batch)"),
    "numUbatch": Rule("integer", 512, minimum=1, doc="wllama: physical batch size (n_ubatch)"),
    "kvCacheDtype": Rule("string", "f16", choices=KV_CACHE_DTYPES, doc="wllama: the KV cache's type (K and V)"),
    "flashAttn": Rule("boolean", False, doc="wllama: flash attention"),
}
OPTION_NAMES = frozenset(RULES)


def _checked(values: dict[str, Any], where: str) -> dict[str, Any]:
    return check(RULES, {k: v for k, v in values.items() if v is not None}, where, OptionsError, defaults=False)


def check_caller_options(options: Any) -> dict[str, Any]:
    """Validate what a page script passed; unknown names and wrong types are errors, not defaults."""
    if isinstance(options, str):
        options = {"featureId": options}
    if not isinstance(options, dict):
        raise OptionsError(f"options must be a featureId string or an object, got {type(options).__name__}")
    return _checked(options, "options")


def record_options(record: dict[str, Any], collection: str) -> dict[str, Any]:
    """The pipeline options a settings record carries, checked with the record named in errors."""
    source = f"{collection} record {record.get('id') or record.get('featureId') or record.get('taskName')!r}"
    return _checked({k: v for k, v in record.items() if k not in RECORD_METADATA}, source)


def merge(record: dict[str, Any], caller: dict[str, Any]) -> PipelineOptions:
    """Record values fill what the caller left out; the caller's explicit values win."""
    merged = {**record, **caller}
    if not merged.get("taskName"):
        raise OptionsError(
            "no taskName: pass taskName, or a featureId that has a record in ml-inference-options"
        )
    if not merged.get("modelId"):
        raise OptionsError(f"no modelId for task {merged['taskName']!r}: pass modelId or use a featureId with a record")
    check_backend(merged)
    return PipelineOptions(**merged)


def check_backend(merged: dict[str, Any]) -> None:
    """The wllama options go with backend wllama, which needs a GGUF modelFile."""
    if merged.get("backend", "onnx") == "wllama":
        file = merged.get("modelFile")
        if not file:
            raise OptionsError("backend 'wllama' needs modelFile: the GGUF file's path in the model repository")
        if not file.lower().endswith(".gguf") or file.startswith("/") or ".." in file.split("/"):
            raise OptionsError(f"option 'modelFile' must be a relative path to a .gguf file, got {file!r}")
        if "numBatch" in merged and merged["numBatch"] > merged.get("numContext", 1024):
            raise OptionsError(f"option 'numBatch' ({merged['numBatch']}) cannot exceed numContext "
                               f"({merged.get('numContext', 1024)})")
        return
    stray = [name for name in WLLAMA_OPTIONS if merged.get(name) is not None]
    if stray:
        raise OptionsError(f"option(s) {', '.join(map(repr, stray))} are for backend 'wllama', but backend is "
                           f"{merged.get('backend', 'onnx')!r}")
