"""Getting one model file: from the cache when it is valid, else from the hub, then into the cache.

Revision `main` is revalidated with a HEAD request (ETag) and the cached copy is kept when the hub
cannot be reached; a pinned revision is trusted as cached and never sends HEAD. Bodies stream from the
hub into the cache inside the host (hashed on the way) and Python passes handles; only the small files
Python parses are read. An engine downloads up to PARALLEL_DOWNLOADS files at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from . import platform
from .cache import ABSENT, Cache, is_absent_record
from .errors import DownloadError, IntegrityError
from .hub import ModelHub, check_allowed
from .progress import DONE, DOWNLOADING, INITIATE, LOADING_FROM_CACHE, FileProgress, Notify

HEAD_TIMEOUT_S = 1.0
STALL_TIMEOUT_S = 30.0  # a download that receives nothing for this long fails
PARALLEL_DOWNLOADS = 4


@dataclass
class FileSource:
    """Where an engine's files come from and who is told about them."""

    hub: ModelHub
    cache: Cache
    allow_deny: list[dict]
    task: str
    engine_id: str | None = None
    notify: Notify | None = None
    downloads: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(PARALLEL_DOWNLOADS))

    async def body(self, model: str, revision: str, file: str, *, sha256: str | None = None,
                   optional: bool = False) -> platform.Body | None:
        """A file's body as the host holds it: what sessions are made from. An optional file the hub answers
        404 for is None, and remembered so in the cache: asked for again on every start, it would keep a cached
        model from starting offline."""
        url = self.hub.file_url(model, revision, file)
        check_allowed(url, self.allow_deny)
        return await fetch_cached(self.cache, url, model=model, revision=revision, file=file, task=self.task,
                                  engine_id=self.engine_id, notify=self.notify, sha256=sha256,
                                  downloads=self.downloads, optional=optional)

    async def evict(self, model: str, revision: str, file: str) -> None:
        await self.cache.evict(model, revision, file)

    async def is_cached(self, model: str, revision: str, file: str) -> bool:
        record = await self.cache.get_record(model, revision, file)
        return record is not None and record.get("sha256") is not None  # an absent file's record has none

    async def get(self, model: str, revision: str, file: str, *, sha256: str | None = None) -> bytes:
        """A small file Python parses (configs, tokenizers), read whole."""
        return await platform.read_body(await self.body(model, revision, file, sha256=sha256))


_in_flight: dict[tuple[str, str, str], asyncio.Future] = {}


async def fetch_cached(cache: Cache, url: str, *, model: str, revision: str, file: str, task: str,
                       engine_id: str | None, notify: Notify | None, sha256: str | None = None,
                       downloads: asyncio.Semaphore | None = None, optional: bool = False,
                       http_cache: bool = False) -> platform.Body | None:
    """The cache-or-download step shared by model files and the runtime binary. Engines asking for a file
    that is already on its way wait for that one step (one GET), then record their own use of it. The step
    ends only once the cache holds its outcome (an absent file's too), so a later ask finds it there."""
    key = (model, revision, file)
    shared = _in_flight.get(key)
    if shared is not None:
        try:
            body = await asyncio.shield(shared)
        except DownloadError as error:
            if not (optional and error.status == ABSENT):
                raise
            await cache.put_absent(task=task, model=model, revision=revision, file=file)
            return None
        if body is None and not optional:  # that ask took a 404 for absence; this one needs the file
            return await fetch_cached(cache, url, model=model, revision=revision, file=file, task=task,
                                      engine_id=engine_id, notify=notify, sha256=sha256, downloads=downloads,
                                      http_cache=http_cache)
        if body is not None:
            await cache.record_use(task=task, model=model, revision=revision, file=file, engine_id=engine_id)
        return body
    step = _in_flight[key] = asyncio.get_event_loop().create_future()
    try:
        body = await _fetch_cached(cache, url, model=model, revision=revision, file=file, task=task,
                                   engine_id=engine_id, notify=notify, sha256=sha256, downloads=downloads,
                                   optional=optional, http_cache=http_cache)
        step.set_result(body)
        return body
    except BaseException as error:
        step.set_exception(error)
        step.exception()  # retrieved: waiters re-raise it, and nobody waiting is no failure
        raise
    finally:
        del _in_flight[key]


async def _fetch_cached(cache: Cache, url: str, *, model: str, revision: str, file: str, task: str,
                        engine_id: str | None, notify: Notify | None, sha256: str | None,
                        downloads: asyncio.Semaphore | None, optional: bool,
                        http_cache: bool) -> platform.Body | None:
    progress = FileProgress(notify, url=url, model=model, revision=revision, file=file, task=task)
    record = await cache.get_record(model, revision, file)
    if optional and record is not None and is_absent_record(record):
        return None
    use_cached = record is not None and (sha256 is None or record["sha256"] == sha256)
    if use_cached and revision == "main":
        hub_etag = await head_etag(url)
        use_cached = hub_etag is None or hub_etag == record["headers"]["ETag"]

    if use_cached:
        cached = await _from_cache(cache, progress, model, revision, file, task, engine_id)
        if cached is not None:
            return cached

    response = None
    try:
        async with downloads or asyncio.Semaphore():
            progress.emit(DOWNLOADING, INITIATE)
            response = await platform.download(url, on_progress=progress.on_bytes, stall_s=STALL_TIMEOUT_S,
                                               http_cache=http_cache)
        if not response.ok:
            raise DownloadError(f"could not download {url}: HTTP {response.status}", response.status)
        verify(response, sha256)
    except Exception as error:
        if response is not None and response.body is not None:
            await platform.discard(response.body)
        progress.emit(DOWNLOADING, DONE, ok=False)
        if record is not None and sha256 is None:
            fallback = await _from_cache(cache, progress, model, revision, file, task, engine_id)
            if fallback is not None:
                return fallback
        if optional and isinstance(error, DownloadError) and error.status == ABSENT:
            await cache.put_absent(task=task, model=model, revision=revision, file=file)
            return None
        raise
    progress.size_estimate(response.size)
    try:
        await cache.put(task=task, model=model, revision=revision, file=file, body=response.body,
                        size=response.size, sha256=response.sha256, engine_id=engine_id, headers={
                            "Content-Type": response.header("content-type"),
                            "Content-Length": response.header("content-length"),
                            "ETag": response.header("etag"),
                            "status": response.status,
                        })
    except Exception:
        await platform.discard(response.body)
        progress.emit(DOWNLOADING, DONE, ok=False)
        raise
    progress.emit(DOWNLOADING, DONE, total_loaded=response.size, current_loaded=0, total=response.size)
    return response.body


def stated_sha256(response: platform.Download) -> str | None:
    """The hash the hub states for a file: Hugging Face sends an LFS file's sha256 as X-Linked-Etag."""
    value = (response.header("x-linked-etag") or "").removeprefix("W/").strip('"').lower()
    return value if len(value) == 64 and all(c in "0123456789abcdef" for c in value) else None


def verify(response: platform.Download, sha256: str | None) -> None:
    """Nothing unverified is cached: the length the server announced, then the hash settings or the hub give."""
    announced = response.header("content-length")
    if announced and announced.isdigit() and not response.header("content-encoding") and int(announced) != response.size:
        raise DownloadError(f"{response.url} was cut short: {response.size} of {announced} bytes arrived")
    expected = sha256 or stated_sha256(response)
    if expected and response.sha256 != expected:
        source = "expected" if sha256 else "the hub states"
        raise IntegrityError(f"sha256 mismatch for {response.url}: {source} {expected}, got {response.sha256}")


async def _from_cache(cache: Cache, progress: FileProgress, model: str, revision: str, file: str,
                      task: str, engine_id: str | None) -> platform.Body | None:
    found = await cache.get_file(model, revision, file)
    if found is None:
        return None
    body, record = found
    size = record["headers"]["fileSize"]
    progress.emit(LOADING_FROM_CACHE, INITIATE)
    await cache.record_use(task=task, model=model, revision=revision, file=file, engine_id=engine_id)
    progress.emit(LOADING_FROM_CACHE, DONE, total_loaded=size, current_loaded=0, total=size)
    return body


async def head_etag(url: str) -> str | None:
    """The hub's current ETag, or None when the hub does not answer in time."""
    try:
        response = await platform.fetch(url, method="HEAD", timeout_s=HEAD_TIMEOUT_S)
    except DownloadError:
        return None
    return response.header("etag") if response.ok else None
