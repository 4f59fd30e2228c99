"""What the generating tasks share: generation options, the decoding loop, and streaming text pieces.

A request's options are split in two: the task's own (e.g. `return_full_text`) and generation
options (`max_new_tokens`, `num_beams`, `do_sample`, ...), which override generation_config.json.
`stream` runs the same work and yields `{text, tokens}` pieces as tokens are produced, then
`{output}` with the result `run` would return.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable, Sequence

import numpy as np

from ..errors import RequestError
from ..generation.config import RULES as GENERATION_RULES
from ..generation.config import GenerationConfig, resolve
from ..generation.logits_process import Processor, build
from ..generation.search import StepModel, generate
from ..generation.stopping import Stopping
from ..model_config import decoder_positions, positions
from .base import Pipeline

Piece = Callable[[dict[str, Any]], None]


class TextPieces:
    """The first sequence's text, handed out as it grows; never a half-decoded character.

    `text_of` turns a whole sequence into the text the final result holds, so the pieces join to it.
    """

    def __init__(self, text_of: Callable[[list[int]], str], prompt_length: int, emit: Piece) -> None:
        self.text_of = text_of
        self.emit = emit
        self.sent = ""
        self.count = prompt_length

    def __call__(self, ids: np.ndarray) -> None:
        tokens = ids[0].tolist()
        text = self.text_of(tokens)
        if text.endswith("\ufffd") or not text.startswith(self.sent) or len(text) == len(self.sent):
            return
        piece, self.sent = text[len(self.sent):], text
        new_tokens, self.count = tokens[self.count:], len(tokens)
        self.emit({"text": piece, "tokens": new_tokens})

    def finish(self, final_text: str) -> None:
        if final_text.startswith(self.sent) and len(final_text) > len(self.sent):
            self.emit({"text": final_text[len(self.sent):], "tokens": []})


class GenerativePipeline(Pipeline):
    def __init__(self, model: Any, tokenizer: Any, model_generation: dict[str, Any], config: dict[str, Any]) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_generation = model_generation
        self.config = config

    def split_options(self, options: dict[str, Any]) -> tuple[dict[str, Any], GenerationConfig, bool]:
        """(task options, generation settings, use_cache): all of it the request's own, none kept here.
        Generation options override the model's generation config, which overrides the task's defaults."""
        checked = self.options(options)
        own = {name: checked[name] for name in self.spec.options}
        generation = resolve(self.model_generation, {k: checked[k] for k in options if k in GENERATION_RULES},
                             dict(self.spec.generation or {}))
        return own, generation, checked["use_cache"]

    async def decode_loop(self, decoding: StepModel, ids: np.ndarray, generation: GenerationConfig,
                          pieces: TextPieces | None = None, extra: Sequence[Processor] = ()) -> list[list[int]]:
        prompt = ids.shape[1]
        positions = decoder_positions(self.config)
        max_length = min(generation.limit(prompt), positions) if positions else generation.limit(prompt)
        stop_decode = (lambda t: self.tokenizer.decode(t, skip_special_tokens=False)) if generation.stop_strings else None
        stopping = Stopping(generation, max_length, stop_decode)
        on_token = pieces if pieces is not None and generation.num_beams == 1 else None
        return await generate(decoding, ids, generation, [*build(generation, prompt, max_length), *extra], stopping,
                              max_length, on_token)

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        return await self.run(args, options, None)

    async def run(self, args: list[Any], options: dict[str, Any], emit: Piece | None) -> Any:
        raise NotImplementedError

    async def stream(self, args: list[Any], options: dict[str, Any]) -> AsyncIterator[Any]:
        queue: asyncio.Queue = asyncio.Queue()
        work = asyncio.ensure_future(self.run(args, options, queue.put_nowait))
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, work}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                    continue
                getter.cancel()
                while not queue.empty():
                    yield queue.get_nowait()
                yield {"output": work.result()}
                return
        finally:  # a reader that stops early (or fails) stops the generation too
            if not work.done():
                work.cancel()

    def release(self) -> None:
        self.model.release()


def check_prompt_length(task: str, length: int, config: dict[str, Any], room: int = 0) -> None:
    """A prompt past the model's position embeddings cannot be read: say so before running it.

    Generation itself stops at the last position the model has (transformers would fail there).
    """
    limit = positions(config)
    if limit and length + room > limit:
        raise RequestError(f"{task}: the prompt has {length} tokens but the model reads at most {limit}"
                           f"{' including one new token' if room else ''}; shorten it")


def decoder_start(task: str, generation: GenerationConfig) -> int:
    """The token an encoder-decoder's decoder starts from (decoder_start_token_id, else bos_token_id)."""
    start = generation.decoder_start_token_id if generation.decoder_start_token_id is not None \
        else generation.bos_token_id
    if start is None:
        raise RequestError(f"{task}: the model's config has neither decoder_start_token_id nor bos_token_id")
    return start
