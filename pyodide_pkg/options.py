"""Firefox-style PipelineOptions: validation and the merge of settings records with caller options."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from .dtypes import DEFAULT_DTYPE, SUFFIXES
from .errors import OptionsError

LOG_LEVELS = ("All", "Trace", "Debug", "Info", "Warn", "Error", "Critical", "Off")
DEVICES = ("wasm", "cpu")
DEFAULT_ENGINE_ID = "default-engine"
DEFAULT_TIMEOUT_MS = 120_000
MAX_TIMEOUT_MS = 2**31 - 1  # the browser's timers overflow past this (about 24.8 days): -1 means never
DEFAULT_URL_TEMPLATE = "{model}/{revision}"

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


_TYPES: dict[str, type] = {
    f.name: (int if f.name in ("timeoutMS", "numThreads") else str)
    for f in fields(PipelineOptions)
}
OPTION_NAMES = frozenset(_TYPES)


def _check_value(name: str, value: Any, source: str) -> Any:
    expected = _TYPES[name]
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or int(value) != value:
            raise OptionsError(f"{source}: option '{name}' must be an integer, got {value!r}")
        value = int(value)
    elif not isinstance(value, str):
        raise OptionsError(f"{source}: option '{name}' must be a string, got {value!r}")
    if name == "dtype" and value not in SUFFIXES:
        raise OptionsError(
            f"{source}: unknown dtype {value!r}; expected one of {', '.join(SUFFIXES)}"
        )
    if name == "device" and value not in DEVICES:
        raise OptionsError(f"{source}: unknown device {value!r}; expected one of {', '.join(DEVICES)}")
    if name == "logLevel" and value not in LOG_LEVELS:
        raise OptionsError(f"{source}: unknown logLevel {value!r}; expected one of {', '.join(LOG_LEVELS)}")
    if name == "timeoutMS" and not -1 <= value <= MAX_TIMEOUT_MS:
        raise OptionsError(f"{source}: option 'timeoutMS' must be -1 (never) or from 0 to {MAX_TIMEOUT_MS}, "
                           f"got {value}")
    if name == "numThreads" and value < 0:
        raise OptionsError(f"{source}: option 'numThreads' must be >= 0 (0 = automatic), got {value}")
    if name == "engineId" and not value:
        raise OptionsError(f"{source}: option 'engineId' must not be empty")
    return value


def check_caller_options(options: Any) -> dict[str, Any]:
    """Validate what a page script passed; unknown names and wrong types are errors, not defaults."""
    if isinstance(options, str):
        options = {"featureId": options}
    if not isinstance(options, dict):
        raise OptionsError(f"options must be a featureId string or an object, got {type(options).__name__}")
    checked = {}
    for name, value in options.items():
        if name not in OPTION_NAMES:
            raise OptionsError(f"unknown option {name!r}; known options: {', '.join(sorted(OPTION_NAMES))}")
        if value is None:
            continue
        checked[name] = _check_value(name, value, "options")
    return checked


def record_options(record: dict[str, Any], collection: str) -> dict[str, Any]:
    """The pipeline options a settings record carries, checked with the record named in errors."""
    source = f"{collection} record {record.get('id') or record.get('featureId') or record.get('taskName')!r}"
    out = {}
    for name, value in record.items():
        if name in RECORD_METADATA or value is None:
            continue
        if name not in OPTION_NAMES:
            raise OptionsError(f"{source}: unknown option {name!r}")
        out[name] = _check_value(name, value, source)
    return out


def merge(record: dict[str, Any], caller: dict[str, Any]) -> PipelineOptions:
    """Record values fill what the caller left out; the caller's explicit values win."""
    merged = {**record, **caller}
    if not merged.get("taskName"):
        raise OptionsError(
            "no taskName: pass taskName, or a featureId that has a record in ml-inference-options"
        )
    if not merged.get("modelId"):
        raise OptionsError(f"no modelId for task {merged['taskName']!r}: pass modelId or use a featureId with a record")
    return PipelineOptions(**merged)
