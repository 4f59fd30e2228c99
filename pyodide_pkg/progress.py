"""Progress notifications with Firefox's fields and order: initiate, size_estimate, in_progress, done."""

from __future__ import annotations

from typing import Any, Callable

Notify = Callable[[dict[str, Any]], None]

DOWNLOADING = "downloading"
LOADING_FROM_CACHE = "loading_from_cache"
RUNNING_INFERENCE = "running_inference"
INITIATE, SIZE_ESTIMATE, IN_PROGRESS, DONE = "initiate", "size_estimate", "in_progress", "done"


class FileProgress:
    """Reports one file's life; `notify` may be None when nobody listens."""

    def __init__(self, notify: Notify | None, *, url: str, model: str, revision: str, file: str,
                 task: str) -> None:
        self.notify = notify
        self.url = url
        self.metadata = {"model": model, "revision": revision, "file": file, "url": url, "taskName": task}
        self.sized = False

    def emit(self, kind: str, status: str, *, ok: bool = True, total_loaded: int | None = None,
             current_loaded: int | None = None, total: int | None = None) -> None:
        if self.notify is None:
            return
        progress = None
        if total and total_loaded is not None:
            progress = round(100.0 * total_loaded / total, 2)
        self.notify({
            "type": kind, "statusText": status, "id": self.url, "ok": ok, "progress": progress,
            "totalLoaded": total_loaded, "currentLoaded": current_loaded, "total": total,
            "units": "bytes", "metadata": dict(self.metadata),
        })

    def on_bytes(self, total_loaded: int, chunk: int, length: int | None) -> None:
        self.size_estimate(length)
        self.emit(DOWNLOADING, IN_PROGRESS, total_loaded=total_loaded, current_loaded=chunk, total=length)

    def size_estimate(self, length: int | None) -> None:
        if not self.sized:
            self.sized = True
            self.emit(DOWNLOADING, SIZE_ESTIMATE, total_loaded=0, current_loaded=0, total=length)
