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


_TEXT = Rule("string")
RULES: dict[str, Rule] = {
    **{f.name: _TEXT for f in fields(PipelineOptions)},
    "engineId": Rule("string", nonempty=True),
    "timeoutMS": Rule("integer", minimum=0, maximum=MAX_TIMEOUT_MS, also=(-1,), doc="-1: never released"),
    "numThreads": Rule("integer", minimum=0),
    "dtype": Rule("string", choices=tuple(SUFFIXES)),
    "device": Rule("string", choices=DEVICES),
    "logLevel": Rule("string", choices=LOG_LEVELS),
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
    return PipelineOptions(**merged)
