"""Model file cache with Firefox's schema: file bodies, headers by [model, revision, file], task usage.

A file body, its headers and its task record are written in one transaction, so a reader never
sees half a file; a file is dropped when its last task or engine reference goes. Bodies are the host's
handles (platform.Body): this module never holds a file's bytes.
"""

from __future__ import annotations

import time
from typing import Any

from . import platform
from .errors import MLError

DB_NAME = "modelFiles"
NO_ETAG = "NO_ETAG"
KEPT_HEADERS = ("Content-Type", "ETag", "status", "fileSize", "Content-Length")
ABSENT = 404  # the status of a record that stands for a file the hub does not have
EXTERNAL_DATA = "externalData"  # a graph record's walk: {"sha256": of the walked bytes, "names": [files]}

SCHEMA: dict[str, Any] = {
    "version": 1,
    "stores": {
        "files": {"keyPath": "id", "indexes": {}},
        "headers": {
            "keyPath": ["model", "revision", "file"],
            "indexes": {"modelRevisionIndex": ["model", "revision"]},
        },
        "tasks": {
            "keyPath": ["taskName", "model", "revision", "file"],
            "indexes": {
                "modelRevisionIndex": ["model", "revision"],
                "modelRevisionFileIndex": ["model", "revision", "file"],
                "taskModelRevisionIndex": ["taskName", "model", "revision"],
            },
        },
    },
}


def file_id(model: str, revision: str, file: str) -> str:
    return f"{model}/{revision}/{file}"


def keep_headers(headers: dict[str, Any], size: int) -> dict[str, Any]:
    out = {k: v for k, v in headers.items() if k in KEPT_HEADERS and v is not None}
    out["Content-Type"] = (out.get("Content-Type") or "application/octet-stream").split(";")[0]
    out["ETag"] = out.get("ETag") or NO_ETAG
    out["fileSize"] = size
    return out


class Cache:
    def __init__(self, store: Any) -> None:
        self.store = store

    @classmethod
    async def open(cls, name: str = DB_NAME) -> "Cache":
        return cls(await platform.open_store(name, SCHEMA))

    async def put(self, *, task: str, model: str, revision: str, file: str, body: platform.Body, size: int,
                  sha256: str, headers: dict[str, Any], engine_id: str | None = None) -> dict[str, Any]:
        now = int(time.time() * 1000)
        record = {
            "model": model, "revision": revision, "file": file,
            "headers": keep_headers(headers, size),
            "sha256": sha256,
            "lastUsed": now, "lastUpdated": now, "engines": [engine_id] if engine_id else [],
        }
        await self.store.write([  # engines other callers recorded are kept inside the same transaction
            ("files", {"id": file_id(model, revision, file), "data": body}),
            ("tasks", {"taskName": task, "model": model, "revision": revision, "file": file}),
            ("headers", record, {"union": ["engines"]}),
        ], [])
        return await self.get_record(model, revision, file)

    async def put_absent(self, *, task: str, model: str, revision: str, file: str) -> None:
        """An optional file the hub answered 404 for, remembered as cached files are (so a cached model
        starts with the hub out of reach); it has no body, no listing shows it, and it goes with its model."""
        now = int(time.time() * 1000)
        await self.store.write([
            ("tasks", {"taskName": task, "model": model, "revision": revision, "file": file}),
            ("headers", {"model": model, "revision": revision, "file": file, "sha256": None,
                         "headers": {"status": ABSENT, "fileSize": 0}, "lastUsed": now, "lastUpdated": now,
                         "engines": []}),
        ], [])

    async def is_absent(self, model: str, revision: str, file: str) -> bool:
        record = await self.get_record(model, revision, file)
        return record is not None and is_absent_record(record)

    async def get_record(self, model: str, revision: str, file: str) -> dict[str, Any] | None:
        return await self.store.get("headers", [model, revision, file])

    async def get_headers(self, model: str, revision: str, file: str) -> dict[str, Any] | None:
        record = await self.get_record(model, revision, file)
        return record["headers"] if record else None

    async def file_exists(self, model: str, revision: str, file: str) -> bool:
        return await self.get_record(model, revision, file) is not None

    async def get_file(self, model: str, revision: str, file: str) -> tuple[platform.Body, dict[str, Any]] | None:
        record = await self.get_record(model, revision, file)
        if record is None:
            return None
        body = await self.store.get_body("files", file_id(model, revision, file))
        return None if body is None else (body, record)

    async def record_use(self, *, task: str, model: str, revision: str, file: str,
                         engine_id: str | None = None) -> None:
        """The record changes in one transaction, and only if it is still there then."""
        if await self.get_record(model, revision, file) is None:
            return
        use = {"model": model, "revision": revision, "file": file, "lastUsed": int(time.time() * 1000),
               "engines": [engine_id] if engine_id else []}
        await self.store.write([
            ("headers", use, {"union": ["engines"], "existing": True}),
            ("tasks", {"taskName": task, "model": model, "revision": revision, "file": file}),
        ], [])

    async def external_data(self, model: str, revision: str, file: str) -> tuple[str | None, list[str] | None]:
        """(the cached graph's sha256, the external data files its walk found, if it was walked). The walk reads
        a page of the graph per large initializer: 110-270 ms of the host's thread on a warm start (90 MB)."""
        record = await self.get_record(model, revision, file) or {}
        walked = record.get(EXTERNAL_DATA) or {}
        sha256 = record.get("sha256")
        return sha256, (walked.get("names") if sha256 and walked.get("sha256") == sha256 else None)

    async def remember_external_data(self, model: str, revision: str, file: str, sha256: str,
                                     names: list[str]) -> None:
        """Kept beside the graph's headers for the bytes it was found in: a new copy's record has none."""
        await self.store.write([("headers", {"model": model, "revision": revision, "file": file,
                                             EXTERNAL_DATA: {"sha256": sha256, "names": names}},
                                 {"existing": True})], [])

    async def evict(self, model: str, revision: str, file: str) -> None:
        """Drop one file whatever references it: a copy that failed to parse must not be trusted again."""
        tasks = await self.store.get_all("tasks", "modelRevisionFileIndex", (model, revision, file))
        await self.store.write([], [("tasks", [t["taskName"], model, revision, file]) for t in tasks]
                               + [("files", file_id(model, revision, file)), ("headers", [model, revision, file])])

    async def list_models(self) -> list[dict[str, Any]]:
        models: dict[tuple[str, str], dict[str, Any]] = {}
        for record in await self.store.get_all("headers"):
            if is_absent_record(record):
                continue
            key = (record["model"], record["revision"])
            entry = models.setdefault(key, {"name": key[0], "revision": key[1], "size": 0, "files": 0,
                                            "lastUsed": 0, "taskNames": set(), "engines": set()})
            entry["size"] += record["headers"]["fileSize"]
            entry["files"] += 1
            entry["lastUsed"] = max(entry["lastUsed"], record["lastUsed"])
            entry["engines"].update(record["engines"])
        for task in await self.store.get_all("tasks"):
            entry = models.get((task["model"], task["revision"]))
            if entry:
                entry["taskNames"].add(task["taskName"])
        return [{**m, "taskNames": sorted(m["taskNames"]), "engines": sorted(m["engines"])}
                for m in models.values()]

    async def list_files(self, *, model: str | None = None, revision: str | None = None,
                         task: str | None = None) -> list[dict[str, Any]]:
        if task:
            tasks = await self.store.get_all("tasks", "taskModelRevisionIndex",
                                             tuple(v for v in (task, model, revision) if v))
            pairs = sorted({(t["model"], t["revision"]) for t in tasks})
        elif model and revision:
            pairs = [(model, revision)]
        else:
            raise MLError("listFiles needs a taskName, or a model and a revision")
        files = []
        for m, r in pairs:
            for record in await self.store.get_all("headers", "modelRevisionIndex", (m, r)):
                if is_absent_record(record):
                    continue
                files.append({"model": m, "revision": r, "path": record["file"], "headers": record["headers"],
                              "sha256": record["sha256"], "lastUsed": record["lastUsed"],
                              "lastUpdated": record.get("lastUpdated"), "engines": record["engines"]})
        return files

    async def delete_models(self, *, task: str | None = None, model: str | None = None,
                            revision: str | None = None, engine_id: str | None = None,
                            keep_revision: str | None = None) -> int:
        """Drop task (or engine) references; files left without any reference go. Returns files deleted."""
        if revision and not model:
            raise MLError("deleteModels: a revision needs a model")
        if keep_revision and not (task and model):
            raise MLError("deleteModels: keeping one revision needs a taskName and a model")
        if engine_id:
            return await self._delete_engine(engine_id)
        if task:
            prefix = tuple(v for v in (task, model, revision) if v)
            tasks = await self.store.get_all("tasks", "taskModelRevisionIndex", prefix)
        else:
            tasks = await self.store.get_all("tasks", "modelRevisionIndex", tuple(v for v in (model, revision) if v))
        if keep_revision:
            tasks = [t for t in tasks if t["revision"] != keep_revision]
        dropped = [(t["taskName"], t["model"], t["revision"], t["file"]) for t in tasks]
        await self.store.write([], [("tasks", list(k)) for k in dropped])
        candidates = {(m, r, f) for _, m, r, f in dropped}
        return await self._drop_unreferenced(candidates)

    async def _delete_engine(self, engine_id: str) -> int:
        puts, gone = [], set()
        for record in await self.store.get_all("headers"):
            if engine_id not in record["engines"]:
                continue
            record["engines"] = [e for e in record["engines"] if e != engine_id]
            if record["engines"]:
                puts.append(("headers", record))
            else:
                gone.add((record["model"], record["revision"], record["file"]))
        tasks = [t for t in await self.store.get_all("tasks") if (t["model"], t["revision"], t["file"]) in gone]
        await self.store.write(puts, [("tasks", [t["taskName"], t["model"], t["revision"], t["file"]]) for t in tasks])
        return await self._drop_unreferenced(gone)

    async def _drop_unreferenced(self, candidates: set[tuple[str, str, str]]) -> int:
        remaining = {(t["model"], t["revision"], t["file"]) for t in await self.store.get_all("tasks")}
        gone = sorted(candidates - remaining)
        deletes: list[tuple[str, Any]] = []
        for m, r, f in gone:
            deletes += [("files", file_id(m, r, f)), ("headers", [m, r, f])]
        await self.store.write([], deletes)
        return len(gone)


def is_absent_record(record: dict[str, Any]) -> bool:
    return record["headers"].get("status") == ABSENT and record["sha256"] is None
