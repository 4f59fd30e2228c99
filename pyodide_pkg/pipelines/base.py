"""What every task pipeline shares: loading its files, running a request, streaming its result."""

from __future__ import annotations

import asyncio
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable

from .. import external_data, platform
from ..errors import DownloadError, ModelError
from ..model_files import FileSource
from ..options import PipelineOptions


async def _nothing() -> None:
    return None


@dataclass
class LoadContext:
    """What a pipeline needs to fetch its files and open sessions.

    `runtime` is ONNX Runtime's start, running beside the downloads: sessions wait for it, files do not.
    Pipelines ask for independent files together (asyncio.gather), so they download in parallel."""

    options: PipelineOptions
    files: FileSource
    runtime: Awaitable[Any] = field(default_factory=lambda: asyncio.ensure_future(_nothing()))
    _bodies: dict[str, asyncio.Future] = field(default_factory=dict)

    def model_body(self, path: str) -> asyncio.Future:
        """One download per path however many steps ask for it (config.json is read by several)."""
        if path not in self._bodies:
            self._bodies[path] = asyncio.ensure_future(
                self.files.body(self.options.modelId, self.options.modelRevision, path))
        return self._bodies[path]

    async def model_file(self, path: str) -> bytes:
        return await platform.read_body(await asyncio.shield(self.model_body(path)))

    async def tokenizer_file(self, path: str) -> bytes:
        o = self.options
        return await self.files.get(o.tokenizerId or o.modelId, o.tokenizerRevision or o.modelRevision, path)

    async def json(self, path: str, *, tokenizer: bool = False, optional: bool = False) -> dict[str, Any] | None:
        data = await self.optional_file(path, tokenizer=tokenizer) if optional else \
            await (self.tokenizer_file(path) if tokenizer else self.model_file(path))
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError as error:
            raise ModelError(f"{self.options.modelId}: {path} is not valid JSON ({error})") from None

    async def optional_file(self, path: str, *, tokenizer: bool = False) -> bytes | None:
        """A file the repository may lack (a 404 means absent; other failures are errors)."""
        try:
            return await (self.tokenizer_file(path) if tokenizer else self.model_file(path))
        except DownloadError as error:
            if error.status == 404:
                return None
            raise

    @property
    def tokenizer_name(self) -> str:
        return self.options.tokenizerId or self.options.modelId

    async def pretrained_tokenizer(self, chat: bool = False) -> Any:
        """tokenizer.json with tokenizer_config.json and special_tokens_map.json, as transformers loads them."""
        from ..tokenizers import PretrainedTokenizer

        data, config, special = await asyncio.gather(
            self.tokenizer_file("tokenizer.json"),
            self.json("tokenizer_config.json", tokenizer=True, optional=True),
            self.json("special_tokens_map.json", tokenizer=True, optional=True))
        template = None
        if chat and not (config or {}).get("chat_template"):  # newer repositories keep it in its own file
            found = await self.optional_file("chat_template.jinja", tokenizer=True)
            template = found.decode("utf-8") if found is not None else None
        try:
            return PretrainedTokenizer.from_data(data, config, special, chat_template=template)
        except (ValueError, NotImplementedError) as error:
            raise ModelError(f"{self.tokenizer_name}: tokenizer files: {error}") from None

    async def session(self, path: str) -> Any:
        graph = self.model_body(path)
        config = await self.json("config.json", optional=True)
        declared = {name: self.model_body(posixpath.join(posixpath.dirname(path), name))
                    for name in external_data.declared(config, path)}
        return await self._open(path, await asyncio.shield(graph), declared)

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
            raise errors[0]
        return results

    async def first_session(self, *paths: str) -> Any:
        """The first of these files the hub has (e.g. a merged decoder, else the plain one)."""
        for path in paths:
            try:
                await asyncio.shield(self.model_body(path))
            except DownloadError as error:
                if error.status == 404:
                    continue
                raise
            return await self.session(path)
        raise ModelError(f"{self.options.modelId}@{self.options.modelRevision} has none of {', '.join(paths)}")

    async def _open(self, path: str, body: platform.Body, declared: dict[str, asyncio.Future]) -> Any:
        """A session from the graph's body and every external data file it names (fetched if not declared)."""
        folder = posixpath.dirname(path)
        named = await external_data.referenced(lambda start, end: platform.read_body(body, start, end))
        for name in named:
            if name not in declared:
                declared[name] = self.model_body(posixpath.join(folder, name))
        external = dict(zip(declared, await asyncio.gather(*(asyncio.shield(f) for f in declared.values()))))
        await asyncio.shield(self.runtime)
        try:
            return await platform.create_session(body, self.options.numThreads, external)
        except RuntimeError as error:
            raise ModelError(f"{self.options.modelId}@{self.options.modelRevision}: {path}: {error}") from None


class Pipeline:
    task: str = ""
    aliases: tuple[str, ...] = ()

    @classmethod
    async def load(cls, ctx: LoadContext) -> "Pipeline":
        raise NotImplementedError

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        """Each task reads its args and options, runs the model and shapes the result as transformers does."""
        raise NotImplementedError

    async def stream(self, args: list[Any], options: dict[str, Any]) -> AsyncIterator[Any]:
        """Every stream ends with {output: what run returns}; tasks without partial results yield only that."""
        yield {"output": await self(args, options)}

    def release(self) -> None:
        """Free sessions; the base has none."""
