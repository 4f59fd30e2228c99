"""Loading a pipeline's files: configs, tokenizer and sessions from the cache or the hub.

Files download in parallel (pipelines ask for independent ones together) while ONNX Runtime starts
(`runtime`: sessions wait for it, files do not). A file that does not parse (JSON, tokenizer, ONNX) may be a
bad copy: it is evicted from the cache and fetched once more before the error, naming the file, reaches
the caller, so one bad transfer never poisons the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

from .. import external_data, platform
from ..errors import DownloadError, MLError, ModelError
from ..dtypes import onnx_file
from ..model_files import FileSource
from ..options import PipelineOptions
from ..tasks import Task

T = TypeVar("T")


async def _nothing() -> None:
    return None


def _seen(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _released(future: asyncio.Future) -> None:
    """A session nobody will take: released once it is made (a failure to make it is nobody's to see)."""
    if not future.cancelled() and future.exception() is None:
        future.result().release()


class _Unparsable(Exception):
    """A file's bytes are not what its name promises (the cause is kept for the final message)."""


@dataclass
class LoadContext:
    options: PipelineOptions
    files: FileSource
    task: Task
    runtime: Awaitable[Any] = field(default_factory=lambda: asyncio.ensure_future(_nothing()))
    runtime_starting: asyncio.Event = field(default_factory=asyncio.Event)  # set once the start is posted
    _bodies: dict[tuple[str, str, str], asyncio.Future] = field(default_factory=dict)
    _optional: set[tuple[str, str, str]] = field(default_factory=set)  # bodies only optional asks have asked for
    _sessions: dict[str, asyncio.Future] = field(default_factory=dict)
    _handed: dict[str, asyncio.Event] = field(default_factory=dict)  # a session's graph is with the runtime

    def body(self, path: str, repo: tuple[str, str] | None = None, optional: bool = False) -> asyncio.Future:
        """One download per file however many steps ask for it (config.json is read by several). An optional
        ask's absence (None) is not a required ask's answer: that one then asks the hub itself, and gets its 404
        as an error."""
        key = (*(repo or self.options.model_repo), path)
        if key not in self._bodies:
            self._bodies[key] = asyncio.ensure_future(self.files.body(*key, optional=optional))
            if optional:
                self._optional.add(key)
        elif not optional and key in self._optional:
            self._bodies[key] = asyncio.ensure_future(self._required(self._bodies[key], key))
            self._optional.discard(key)
        return self._bodies[key]

    async def _required(self, optional: asyncio.Future, key: tuple[str, str, str]) -> Any:
        body = await asyncio.shield(optional)
        return body if body is not None else await self.files.body(*key)

    async def start_sessions(self, meanwhile: Callable[[], Awaitable[None]]) -> None:
        """Each role's first graph starts downloading, and its session is made as soon as the graph and the
        runtime's start are there, before the pipeline asks. `meanwhile` (importing numpy) holds the host's
        thread for a while, as importing the task's code after this does: with the graphs cached it runs once
        their sessions are with the runtime's worker (which starts, then makes them, while Python imports); with
        graphs to download it runs at once, while they arrive. A failure is the pipeline's to see when it asks;
        a fallback's 404 is nobody's."""
        paths = [onnx_file(names[0], self.options.dtype) for names in self.task.files.values() if names]
        for path in paths:
            self.session(path).add_done_callback(_seen)
        cached = await asyncio.gather(*(self.files.is_cached(*self.options.model_repo, p) for p in paths))
        if paths and all(cached):
            await asyncio.gather(*(self._either(self._handed.setdefault(p, asyncio.Event()), self._sessions[p])
                                   for p in paths))
        await meanwhile()

    @staticmethod
    async def _either(event: asyncio.Event, future: asyncio.Future) -> None:
        """Until the event is set or the future is done (it failed, or never needed the event)."""
        waiting = asyncio.ensure_future(event.wait())
        await asyncio.wait([waiting, future], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()

    def release_sessions(self) -> None:
        """Sessions this load opened, released (a load that failed before the pipeline took them)."""
        for future in self._sessions.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().release()

    async def _evict(self, path: str, repo: tuple[str, str], body: Any = None) -> None:
        """Drops a file this load found bad. A step that read it from `body` leaves it alone when another step
        has dropped that body already (and perhaps fetched the file anew)."""
        key = (*repo, path)
        if body is not None and not self._holds(key, body):
            return
        self._bodies.pop(key, None)
        self._optional.discard(key)
        await self.files.evict(*repo, path)

    async def _parsed(self, paths: list[str], repo: tuple[str, str], parse: Callable[..., T],
                      optional: tuple[bool, ...] = ()) -> T:
        """`parse(*bytes)` over these files; when it fails they are evicted and fetched once more."""
        for attempt in (1, 2):
            read = await asyncio.gather(*(self._read(p, repo, i < len(optional) and optional[i])
                                          for i, p in enumerate(paths)))
            try:
                return parse(*(data for _, data in read))
            except _Unparsable as error:
                for path, (body, _) in zip(paths, read):
                    if body is not None:
                        await self._evict(path, repo, body)
                if attempt == 2:
                    raise ModelError(f"{repo[0]}@{repo[1]}: {error}") from None
        raise AssertionError("unreachable")

    def _holds(self, key: tuple[str, str, str], body: Any) -> bool:
        """Whether `body` is still this load's copy of the file (no step has dropped it)."""
        asked = self._bodies.get(key)
        return (asked is not None and asked.done() and not asked.cancelled() and asked.exception() is None
                and asked.result() is body)

    async def _read(self, path: str, repo: tuple[str, str], optional: bool) -> tuple[Any, bytes | None]:
        """A small file's body and bytes; None for an optional one the hub does not have. Two steps may parse
        one file (config.json): when the other found it bad and dropped it while this one read, it is asked
        for anew."""
        while True:
            body = await asyncio.shield(self.body(path, repo, optional))
            if body is None:
                return None, None
            try:
                return body, await platform.read_body(body)
            except Exception:
                if self._holds((*repo, path), body):
                    raise

    async def json(self, path: str, *, tokenizer: bool = False, processor: bool = False,
                   optional: bool = False) -> dict[str, Any] | None:
        def parse(data: bytes | None) -> dict[str, Any] | None:
            if data is None:
                return None
            try:
                return json.loads(data)
            except ValueError as error:
                raise _Unparsable(f"{path} is not valid JSON ({error})") from None
        o = self.options
        repo = o.tokenizer_repo if tokenizer else o.processor_repo if processor else o.model_repo
        return await self._parsed([path], repo, parse, (optional,))

    async def pretrained_tokenizer(self, chat: bool = False) -> Any:
        """tokenizer.json with tokenizer_config.json and special_tokens_map.json, as transformers loads them."""
        from ..tokenizers import PretrainedTokenizer

        config = await self.json("tokenizer_config.json", tokenizer=True, optional=True)
        paths = ["tokenizer.json", "special_tokens_map.json"]
        if chat and not (config or {}).get("chat_template"):  # newer repositories keep it in its own file
            paths.append("chat_template.jinja")

        def parse(data: bytes, special: bytes | None, template: bytes | None = None) -> Any:
            try:
                tokenizer = PretrainedTokenizer.from_data(
                    data, config, json.loads(special) if special is not None else None,
                    chat_template=template.decode("utf-8") if template is not None else None)
                tokenizer.prime()
                return tokenizer
            except (ValueError, KeyError, TypeError, NotImplementedError) as error:
                raise _Unparsable(f"tokenizer files {', '.join(paths)}: {error}") from None
        return await self._parsed(paths, self.options.tokenizer_repo, parse, (False, True, True))

    def session(self, path: str) -> asyncio.Future:
        """One session per graph however many steps ask for it (start_sessions asks first)."""
        if path not in self._sessions:
            self._sessions[path] = asyncio.ensure_future(self._open_session(path))
        return self._sessions[path]

    async def _open_session(self, path: str) -> Any:
        """A session from the graph and every external data file it names; declared ones start downloading
        with the graph, the others once the graph names them."""
        graph = self.body(path)
        config = await self.json("config.json", optional=True)
        folder = posixpath.dirname(path)
        declared = [posixpath.join(folder, n) for n in external_data.declared(config, path)]
        for name in declared:
            self.body(name)
        for attempt in (1, 2):
            body = await asyncio.shield(graph)
            suspects = [path]  # a graph that does not parse is the only suspect; a session that fails, all files
            try:
                return await self._session_of(path, body, declared, suspects)
            except (ModelError, RuntimeError) as failure:  # the graph walk's and the session's own errors
                await asyncio.wait([asyncio.ensure_future(self.runtime)])
                if self.runtime.exception() is not None:  # the runtime failed, not this model's files
                    raise self.runtime.exception() from None
                error = failure
            for suspect in suspects:
                await self._evict(suspect, self.options.model_repo)
            if attempt == 2:
                raise ModelError(f"{self.options.modelId}@{self.options.modelRevision}: {path}: {error}") from None
            graph = self.body(path)
        raise AssertionError("unreachable")

    async def _session_of(self, path: str, body: Any, declared: list[str], suspects: list[str]) -> Any:
        """Which data files the graph names is walked once per copy of it and kept in its cache record (a warm
        start reads it there). While a new copy is walked, its session is made with the files config.json
        declares (the walk of a 90 MB graph took 165-310 ms on a fresh profile, all of it before the session); only
        when the walk names more is that session dropped for one with them all."""
        cache, repo, folder = self.files.cache, self.options.model_repo, posixpath.dirname(path)
        sha256, named = await cache.external_data(*repo, path)
        if named is None:
            walk = external_data.referenced(lambda start, end: platform.read_body(body, start, end))
            early = asyncio.ensure_future(self._create_session(path, body, declared))
            try:
                named = await walk
                if sha256:
                    with contextlib.suppress(MLError):  # not remembered (a full store): the next load walks again
                        await cache.remember_external_data(*repo, path, sha256, named)
            except BaseException:
                early.add_done_callback(_released)
                raise
            if {posixpath.join(folder, n) for n in named} <= set(declared):
                suspects += declared
                return await early
            early.add_done_callback(_released)
        data = list(dict.fromkeys([*declared, *(posixpath.join(folder, n) for n in named)]))
        suspects += data
        return await self._create_session(path, body, data)

    async def _create_session(self, path: str, body: Any, data: list[str]) -> Any:
        folder = posixpath.dirname(path)
        external = dict(zip([posixpath.relpath(d, folder) for d in data],
                            await asyncio.gather(*(asyncio.shield(self.body(d)) for d in data))))
        runtime = asyncio.ensure_future(self.runtime)
        await self._either(self.runtime_starting, runtime)  # its worker makes sessions once it is up
        if runtime.done() and runtime.exception() is not None:
            raise runtime.exception()
        self._handed.setdefault(path, asyncio.Event()).set()
        return await platform.create_session(body, self.options.numThreads, external,
                                             optimize=self.task.optimizes(self.options.dtype))

    async def first_session(self, *paths: str) -> Any:
        """The first of these files the hub has (e.g. a merged decoder, else the plain one)."""
        for path in paths:
            try:
                await asyncio.shield(self.body(path))
            except DownloadError as error:
                if error.status == 404:
                    continue
                raise
            return await self.session(path)
        raise ModelError(f"{self.options.modelId}@{self.options.modelRevision} has none of {', '.join(paths)}")

    async def model(self, role: str = "model") -> Any:
        """The session of one of the task's ONNX files (tasks.py: a role's names, the first one the hub has);
        a single-file task's model must have the outputs its pipeline reads."""
        names = [onnx_file(name, self.options.dtype) for name in self.task.files[role]]
        session = await (self.session(names[0]) if len(names) == 1 else self.first_session(*names))
        missing = [o for o in self.task.outputs if o not in session.output_names] if role == "model" else []
        if missing:
            session.release()
            raise ModelError(f"{self.options.modelId}: task {self.task.name!r} needs the ONNX output(s) "
                             f"{', '.join(missing)}, but {names[0]} has {', '.join(session.output_names)}")
        return session

    @staticmethod
    async def together(*steps: Awaitable[Any]) -> list[Any]:
        """Load steps at once, so their downloads overlap; when one fails, sessions the others opened are
        released before its error is raised."""
        results = await asyncio.gather(*steps, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            for result in results:
                if not isinstance(result, BaseException) and hasattr(result, "release"):
                    result.release()
            raise next((e for e in errors if isinstance(e, MLError)), errors[0])
        return results
