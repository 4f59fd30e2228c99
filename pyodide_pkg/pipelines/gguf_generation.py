"""Generation from a GGUF file on llama.cpp (wllama in the browser): text-generation's chat and prompt requests
and Firefox's link-preview request.

Python reads the request, renders a chat with the GGUF's own chat template, sets llama.cpp's sampler and
decides when to stop (stopTokens, aborting wllama); wllama only computes and streams tokens. The GGUF file comes
through the same hub rules, allow/deny list, cache, integrity checks and progress notifications as ONNX files,
and wllama is handed the cached file, never a URL.
"""

from __future__ import annotations

from typing import Any

from .. import platform
from ..errors import ModelError, RequestError
from ..tokenizers import ChatTemplateError
from ..tokenizers.chat_template import render
from .arguments import is_chat, prompts, with_reply
from .base import Pipeline
from .generative import GenerativePipeline, Piece
from .loading import LoadContext

LINK_PREVIEW_FIELDS = ("prompt", "nPredict", "stopTokens", "logit_bias_toks", "logit_bias_vals")


class LinkPreviewPrompt(list):
    """A chat that came in Firefox's link-preview request shape: its result has that shape too."""


def split_link_preview(request: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """`{prompt: [{role, content}], nPredict, stopTokens, logit_bias_toks, logit_bias_vals}` as (args, options)."""
    unknown = sorted(set(request) - set(LINK_PREVIEW_FIELDS))
    if unknown:
        raise RequestError(f"unknown link-preview request field(s): {', '.join(unknown)}; "
                           f"expected {', '.join(LINK_PREVIEW_FIELDS)}")
    prompt = request["prompt"]
    if not is_chat(prompt):
        raise RequestError("a link-preview request's prompt is a chat: a non-empty list of {role, content}")
    return [LinkPreviewPrompt(prompt)], {k: v for k, v in request.items() if k != "prompt"}


def check_chat(chat: list[Any]) -> None:
    for i, message in enumerate(chat):
        if not isinstance(message.get("role"), str) or not isinstance(message.get("content"), str):
            raise RequestError(f"chat message {i} must have a string role and a string content, got {message!r}")


def sampling(checked: dict[str, Any]) -> dict[str, Any]:
    """llama-server completion parameters for the request's generation options (already checked by rules)."""
    toks, vals = checked["logit_bias_toks"], checked["logit_bias_vals"]
    if len(toks) != len(vals):
        raise RequestError(f"wllama-text-generation: logit_bias_toks has {len(toks)} ids but logit_bias_vals has "
                           f"{len(vals)} values; give one value per id")
    n_predict, max_new = checked["nPredict"], checked["max_new_tokens"]
    params: dict[str, Any] = {"n_predict": n_predict or max_new, "cache_prompt": False, "n_probs": 1,
                              "logit_bias": [[t, v] for t, v in zip(toks, vals)]}
    if checked["do_sample"]:
        params.update(temperature=checked["temperature"], top_k=checked["top_k"], top_p=checked["top_p"])
        if checked["seed"] is not None:
            params["seed"] = checked["seed"]
    else:  # greedy: llama.cpp's sampler keeps only the most likely token
        params.update(temperature=0.0, top_k=1)
    return params


def load_params(options: Any) -> dict[str, Any]:
    """wllama's loadModel parameters from the engine options."""
    return {"n_ctx": options.numContext, "n_batch": min(options.numBatch, options.numContext),
            "n_ubatch": min(options.numUbatch, options.numBatch, options.numContext),
            "cache_type_k": options.kvCacheDtype, "cache_type_v": options.kvCacheDtype,
            "flash_attn": options.flashAttn, "n_gpu_layers": 0,
            **({"n_threads": options.numThreads} if options.numThreads else {})}


def chunk_tokens(chunk: dict[str, Any]) -> tuple[str, list[int]]:
    """A streamed chunk's text and token ids: llama-server's OpenAI-style completion chunks carry the ids only in
    their logprobs (asked for with n_probs 1), `{choices: [{text, logprobs: {content: [{id, ...}]}}]}`."""
    choice = (chunk.get("choices") or [{}])[0]
    content = (choice.get("logprobs") or {}).get("content") or []
    return choice.get("text") or "", [int(c["id"]) for c in content]


class GGUFGenerationPipeline(Pipeline):
    def __init__(self, model: Any, model_id: str) -> None:
        self.model = model
        self.model_id = model_id
        self.info = model.info

    @classmethod
    async def load(cls, ctx: LoadContext) -> "GGUFGenerationPipeline":
        o = ctx.options
        if not platform.IN_BROWSER:
            await platform.load_gguf(None, {})  # says that this host has no llama.cpp, before any download
        body = await ctx.files.body(*o.model_repo, o.modelFile)
        try:
            model = await platform.load_gguf(body, load_params(o))
        except RuntimeError as error:  # not a GGUF llama.cpp reads: never trusted again
            await ctx.files.evict(*o.model_repo, o.modelFile)
            raise ModelError(f"{o.modelId}@{o.modelRevision}: {o.modelFile}: {error}") from None
        return cls(model, o.modelId)

    def split_request(self, request: Any) -> tuple[list[Any], dict[str, Any]]:
        if isinstance(request, dict) and "prompt" in request and "args" not in request:
            return split_link_preview(request)
        return super().split_request(request)

    def prompt_text(self, prompt: Any) -> str:
        if is_chat(prompt):
            check_chat(prompt)
            template = self.info.get("chat_template")
            if not template:
                raise RequestError(f"{self.task}: {self.model_id}'s GGUF has no chat template; send a text prompt")
            try:
                return render(template, list(prompt), add_generation_prompt=True)
            except ChatTemplateError as error:
                raise RequestError(f"{self.task}: {error}") from None
        if not isinstance(prompt, str) or not prompt:
            raise RequestError(f"{self.task}: a prompt is a non-empty text or a chat (a list of {{role, content}})")
        return prompt

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        return await self.run(args, options, None)

    async def run(self, args: list[Any], options: dict[str, Any], emit: Piece | None) -> Any:
        checked = self.options(options)
        if checked["nPredict"] is not None and "max_new_tokens" in options \
                and checked["nPredict"] != checked["max_new_tokens"]:
            raise RequestError(f"{self.task}: nPredict ({checked['nPredict']}) and max_new_tokens "
                               f"({checked['max_new_tokens']}) disagree; give one")
        params = sampling(checked)
        items, many = prompts(self.task, args)
        texts = [self.prompt_text(p) for p in items]  # every prompt checked before any runs
        results = [await self.one(p, t, params, checked, emit if i == 0 else None)
                   for i, (p, t) in enumerate(zip(items, texts))]
        return results if many else results[0]

    async def one(self, prompt: Any, text: str, params: dict[str, Any], checked: dict[str, Any],
                  emit: Piece | None) -> Any:
        stops = set(checked["stopTokens"])
        reply, ids, last = "", [], {}
        async for chunk in self.model.complete({**params, "prompt": text}):
            last = chunk
            piece, tokens = chunk_tokens(chunk)
            stop_at = next((i for i, t in enumerate(tokens) if t in stops), None)
            if stop_at is not None:  # the text of a chunk that holds a stop token is left out
                ids += tokens[:stop_at]
                break
            ids += tokens
            if piece:
                reply += piece
                if emit:
                    emit({"text": piece, "tokens": tokens})
        timings = last.get("timings") or {}
        if isinstance(prompt, LinkPreviewPrompt):
            return {"finalOutput": reply, "tokens": ids,
                    "metrics": {"promptTokens": timings.get("prompt_n"), "generatedTokens": len(ids),
                                "promptTokensPerSecond": timings.get("prompt_per_second"),
                                "tokensPerSecond": timings.get("predicted_per_second")}}
        if not checked["return_full_text"]:
            return [{"generated_text": reply}]
        return [{"generated_text": with_reply(prompt, reply)}]

    stream = GenerativePipeline.stream  # a reader that stops early cancels the run, which aborts wllama

    def release(self) -> None:
        if self.model is not None:
            self.model.release()
            self.model = None
