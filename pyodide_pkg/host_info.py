"""Read-only facts the demo page (about:inference) asks the engine host for, so its JavaScript never repeats
the task table, the option rules or the dtype file names: what each task takes, what options an engine would
really run with, which dtypes a hub folder has, and which runtime this host is.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import asdict
from typing import Any, Mapping

from . import platform
from . import settings as remote_settings
from .dtypes import SUFFIXES, onnx_file
from .engine import resolve_options, within_host
from .errors import DownloadError, MLError
from .hub import ModelHub, is_allowed
from .option_rules import Rule
from .options import RULES as ENGINE_RULES
from .tasks import TABLE, find as find_task, for_backend


BOOT: dict[str, Any] = {"snapshot": None}  # the engine host's boot: whether Python came from a memory snapshot


def _rule(rule: Rule) -> dict[str, Any]:
    """A rule as the page shows it: the raw fields to build a field from, `describe` for the hint."""
    return {"kind": rule.kind, "default": rule.default, "choices": list(rule.choices), "minimum": rule.minimum,
            "maximum": rule.maximum, "nullable": rule.nullable, "also": list(rule.also), "describe": rule.describe()}


def _rules(rules: Mapping[str, Rule]) -> dict[str, dict[str, Any]]:
    return {name: _rule(rule) for name, rule in rules.items()}


def describe() -> dict[str, Any]:
    """Every task (name, aliases, inputs, form, example, request options) and the engine options' rules."""
    tasks = [{"name": t.name, "aliases": list(t.aliases), "inputs": t.inputs, "form": list(t.form),
              "example": dict(t.example), "streams": t.generation is not None, "options": _rules(t.request_rules)}
             for t in TABLE]
    return {"tasks": tasks, "engineOptions": _rules(ENGINE_RULES), "dtypes": list(SUFFIXES)}


async def resolved(options: Any) -> dict[str, Any]:
    """The options an engine made from `options` would run with (the settings record under the caller's
    fields, threads brought within the host), so a page shows what will really be used."""
    merged, _, _ = await resolve_options(options)
    merged, notes = within_host(merged)
    return {"options": asdict(merged), "notes": notes}


async def hub_dtypes(options: Any) -> list[str]:
    """The dtypes whose first ONNX file the model's hub folder answers a HEAD for (the hub has no listing);
    a URL the allow/deny list refuses is not asked for."""
    merged, allow_deny, _ = await resolve_options(options)
    task = for_backend(find_task(merged.taskName), merged.backend)
    hub = ModelHub.allowed_by(merged.modelHubRootUrl, merged.modelHubUrlTemplate, allow_deny)
    first = next(iter(task.files.values()))

    async def has(dtype: str) -> bool:
        for name in first:
            url = hub.file_url(merged.modelId, merged.modelRevision, onnx_file(name, dtype))
            if not is_allowed(url, allow_deny):
                continue
            try:
                if (await platform.fetch(url, method="HEAD", timeout_s=10)).ok:
                    return True
            except DownloadError:
                continue
        return False

    found = await asyncio.gather(*(has(dtype) for dtype in SUFFIXES))
    return [dtype for dtype, ok in zip(SUFFIXES, found) if ok]


async def runtime(settings_base_url: str | None) -> dict[str, Any]:
    """Versions, cores, the settings collections' record counts (None for one that cannot be read),
    whether the host's Python was restored from a memory snapshot ("used", why not, None with none) and what
    the started ONNX Runtime's WASM was compiled from (a slow start's first suspect: only the HTTP cache's
    copy gets the browser's code cache)."""
    await platform.load_packages(["numpy"])
    import numpy

    pyodide_version = None
    if platform.IN_BROWSER:
        import pyodide

        pyodide_version = pyodide.__version__
    counts: dict[str, int | None] = {}
    runtimes: list[dict] = []
    for name in (remote_settings.INFERENCE_OPTIONS, remote_settings.ALLOW_DENY, remote_settings.ONNX_RUNTIME):
        try:
            records = await remote_settings.load_collection(settings_base_url, name)
        except MLError:
            counts[name] = None
            continue
        counts[name] = len(records)
        if name == remote_settings.ONNX_RUNTIME:
            runtimes = records
    return {"python": sys.version.split()[0], "pyodide": pyodide_version, "numpy": numpy.__version__,
            "onnxRuntime": sorted({str(r.get("version")) for r in runtimes if r.get("version")}),
            "cores": platform.cores(), "settingsBaseUrl": settings_base_url, "collections": counts,
            "snapshot": BOOT["snapshot"],
            "onnxRuntimeWasm": platform.runtime_wasm_source() if platform.RUNTIME_BINARY else None}
