"""Remote Settings collections: static JSON files by default, or a real Remote Settings server.

A base URL containing `/buckets/` is a server (`.../collections/<name>/records`); anything else is a
folder of `<name>.json` files. Both answer `{"data": [records]}`. Relative URLs inside records are
resolved against the collection's own URL, so the bundled settings work on any origin.

Without a base URL the collections bundled with the package are read (pyodide_pkg/collections, the files
the page serves): the Python API needs no server. Their relative URLs name things beside the page (its
hub, its runtime binary), so there they are left out: a caller names the hub with modelHubRootUrl.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any
from urllib.parse import urljoin

from . import platform
from .errors import DownloadError, SettingsError

FILTERS = ("ALLOW", "DENY")

INFERENCE_OPTIONS = "ml-inference-options"
ONNX_RUNTIME = "ml-onnx-runtime"
ALLOW_DENY = "ml-model-allow-deny-list"
URL_FIELDS = ("modelHubRootUrl", "urlPrefix", "url")


def collection_url(base_url: str, name: str) -> str:
    base = base_url.rstrip("/")
    if "/buckets/" in base:
        return f"{base}/collections/{name}/records"
    return f"{base}/{name}.json"


async def load_collection(base_url: str | None, name: str) -> list[dict[str, Any]]:
    if base_url is None:
        url = f"the bundled {name}.json"
        data = resources.files(__package__).joinpath("collections", f"{name}.json").read_bytes()
    else:
        url = collection_url(base_url, name)
        try:
            response = await platform.fetch(url)
        except DownloadError as error:
            raise SettingsError(f"settings collection {name}: {error}") from None
        if not response.ok:
            raise SettingsError(f"settings collection {name}: HTTP {response.status} from {url}")
        data = response.body
    try:
        body = json.loads(data)
        records = body["data"]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise SettingsError(f"settings collection {name} at {url} is not {{\"data\": [records]}}") from None
    if name == ALLOW_DENY:
        for record in records:
            if record.get("filter") not in FILTERS or not isinstance(record.get("urlPrefix"), str) \
                    or not record["urlPrefix"]:
                raise SettingsError(f"settings collection {name}: record {record.get('id')!r} needs a filter "
                                    f"({' or '.join(FILTERS)}) and a non-empty string urlPrefix, got "
                                    f"filter={record.get('filter')!r}, urlPrefix={record.get('urlPrefix')!r}")
    if base_url is None:
        return [r for r in map(_absolute_only, records) if name != ALLOW_DENY or "urlPrefix" in r]
    return [_resolve_urls(r, url) for r in records]


def _resolve_urls(record: dict[str, Any], base: str) -> dict[str, Any]:
    out = dict(record)
    for key in URL_FIELDS:
        if isinstance(out.get(key), str) and "://" not in out[key]:
            out[key] = urljoin(base, out[key])
    return out


def _absolute_only(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not (k in URL_FIELDS and isinstance(v, str) and "://" not in v)}


def find_record(records: list[dict[str, Any]], feature_id: str | None, task: str | None) -> dict[str, Any]:
    """The record for a featureId, falling back to the first record of the task; empty if none."""
    if feature_id:
        for record in records:
            if record.get("featureId") == feature_id:
                return record
    if task:
        for record in records:
            if record.get("taskName") == task and not record.get("featureId"):
                return record
        for record in records:
            if record.get("taskName") == task:
                return record
    return {}
