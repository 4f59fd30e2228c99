"""What every task pipeline shares: loading its files, running a request, streaming its result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, AsyncIterator

from .. import platform
from ..errors import DownloadError, ModelError
from ..model_files import FileSource
from ..options import PipelineOptions


@dataclass
class LoadContext:
    """What a pipeline needs to fetch its files and open sessions."""

    options: PipelineOptions
    files: FileSource

    async def model_file(self, path: str) -> bytes:
        return await self.files.get(self.options.modelId, self.options.modelRevision, path)

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

        data = await self.tokenizer_file("tokenizer.json")
        config = await self.json("tokenizer_config.json", tokenizer=True, optional=True)
        special = await self.json("special_tokens_map.json", tokenizer=True, optional=True)
        template = None
        if chat and not (config or {}).get("chat_template"):  # newer repositories keep it in its own file
            found = await self.optional_file("chat_template.jinja", tokenizer=True)
            template = found.decode("utf-8") if found is not None else None
        try:
            return PretrainedTokenizer.from_data(data, config, special, chat_template=template)
        except (ValueError, NotImplementedError) as error:
            raise ModelError(f"{self.tokenizer_name}: tokenizer files: {error}") from None

    async def session(self, path: str) -> Any:
        return await platform.create_session(await self.model_file(path), self.options.numThreads)

    async def first_session(self, *paths: str) -> Any:
        """The first of these files the hub has (e.g. a merged decoder, else the plain one)."""
        for path in paths:
            data = await self.optional_file(path)
            if data is not None:
                return await platform.create_session(data, self.options.numThreads)
        raise ModelError(f"{self.options.modelId}@{self.options.modelRevision} has none of {', '.join(paths)}")


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
