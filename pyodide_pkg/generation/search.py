"""Decoding strategies over a model that gives next-token logits: greedy, sampling and beam search.

They follow transformers' `_sample` and (vectorized) `_beam_search` step for step, in float32, so the
same logits give the same tokens. Sampling draws with numpy's PCG64 from `seed`: reproducible here,
not the same draws as torch.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from .config import GenerationConfig
from .logits_process import Processor, apply_all
from .stopping import Stopping

OnToken = Callable[[np.ndarray], None]


class StepModel(Protocol):
    async def step(self, ids: np.ndarray) -> np.ndarray:
        """Next-token logits [rows, vocab] for every row of ids [rows, length]."""

    def reorder(self, index: np.ndarray) -> None:
        """Keep the cache of these rows, in this order (beam search)."""


def log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def draw(rng: np.random.Generator, scores: np.ndarray) -> int:
    """One token from softmax(scores): tokens at -inf (filtered out) are never drawn."""
    weights = np.exp(scores.astype(np.float64) - np.max(scores))
    cumulative = np.cumsum(weights)
    return int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))


def _fill_value(config: GenerationConfig) -> int:
    eos = config.eos_ids
    return (config.pad_token_id or eos[0]) if eos else -1


async def greedy_or_sample(model: StepModel, ids: np.ndarray, config: GenerationConfig, processors: list[Processor],
                           stopping: Stopping, rng: np.random.Generator | None,
                           on_token: OnToken | None = None) -> np.ndarray:
    unfinished = np.ones(len(ids), dtype=bool)
    pad = config.pad_token_id if config.pad_token_id is not None else (config.eos_ids or [0])[0]
    while True:
        logits = (await model.step(ids)).astype(np.float32)
        scores = apply_all(processors, ids, logits.copy())
        if config.do_sample:
            tokens = np.array([draw(rng, row) for row in scores], dtype=np.int64)
        else:
            tokens = scores.argmax(axis=-1).astype(np.int64)
        if config.eos_ids:
            tokens = np.where(unfinished, tokens, pad)
        ids = np.concatenate([ids, tokens[:, None]], axis=1)
        if on_token:
            on_token(ids)
        unfinished &= ~stopping(ids)
        if not unfinished.any():
            return ids


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """The first k of a stable descending sort, in linear time (beams x vocabulary scores are many)."""
    if values.size <= k:
        return np.argsort(-values, kind="stable")
    kth = -np.partition(-values, k - 1)[k - 1]
    above = np.flatnonzero(values > kth)
    chosen = np.concatenate([above, np.flatnonzero(values == kth)[: k - above.size]])
    return chosen[np.argsort(-values[chosen], kind="stable")]


def _sample_without_replacement(rng: np.random.Generator, scores: np.ndarray, k: int) -> np.ndarray:
    chosen = []
    scores = scores.copy()
    for _ in range(k):
        pick = draw(rng, scores)
        chosen.append(pick)
        scores[pick] = -np.inf
    return np.array(chosen)


async def beam_search(model: StepModel, ids: np.ndarray, config: GenerationConfig, processors: list[Processor],
                      stopping: Stopping, max_length: int,
                      rng: np.random.Generator | None = None) -> list[tuple[list[int], float]]:
    """One prompt ([1, length]) in, num_return_sequences (tokens, score) out, best first."""
    beams, prompt = config.num_beams, ids.shape[1]
    eos = config.eos_ids
    keep = max(2, 1 + len(eos)) * beams
    top_mask = np.arange(keep) < beams
    penalty, early = np.float32(config.length_penalty), config.early_stopping
    big = np.float32(-1.0e9)
    running = np.full((beams, max_length), _fill_value(config), dtype=np.int64)
    running[:, :prompt] = ids[0]
    sequences = running.copy()
    running_scores = np.zeros(beams, dtype=np.float32)
    running_scores[1:] = big
    beam_scores = np.full(beams, big, dtype=np.float32)
    finished = np.zeros(beams, dtype=bool)
    improvable = True
    running_origin = np.full((beams, max_length - prompt), -1, dtype=np.int64)
    origins = running_origin.copy()
    cur = prompt
    while True:
        flat = running[:, :cur]
        logits = (await model.step(flat)).astype(np.float32)
        vocab = logits.shape[-1]
        scores = apply_all(processors, flat, log_softmax(logits))
        scores = (scores + running_scores[:, None]).reshape(-1)
        picked = _sample_without_replacement(rng, scores, keep) if config.do_sample else _top(scores, keep)
        picked_scores = scores[picked]
        beam_of, token = picked // vocab, picked % vocab
        candidates = running[beam_of].copy()
        candidates[:, cur] = token
        candidate_origin = running_origin[beam_of].copy()
        candidate_origin[:, cur - prompt] = beam_of
        hits = stopping(candidates[:, :cur + 1])

        alive_scores = picked_scores + hits.astype(np.float32) * big
        alive = _top(alive_scores, beams)
        running, running_scores, running_origin = candidates[alive], alive_scores[alive], candidate_origin[alive]

        just_finished = hits & top_mask
        normalized = picked_scores / np.float32((cur + 1 - prompt) ** penalty)
        normalized = normalized + np.float32(finished.all() and early is True) * big
        normalized = normalized + np.float32(not improvable) * big
        normalized = normalized + (~just_finished).astype(np.float32) * big
        merged = np.concatenate([beam_scores, normalized])
        best = _top(merged, beams)
        sequences = np.concatenate([sequences, candidates])[best]
        origins = np.concatenate([origins, candidate_origin])[best]
        finished = np.concatenate([finished, just_finished])[best]
        beam_scores = merged[best]

        model.reorder(running_origin[:, cur - prompt])
        cur += 1
        length = max_length - prompt if early == "never" and penalty > 0 else cur - prompt
        best_possible = running_scores[0] / np.float32(length ** penalty)
        worst_finished = np.where(finished, beam_scores.min(), big)
        improvable = improvable and bool(np.any(best_possible > worst_finished))
        if not (improvable and not (finished.all() and early is True) and not hits.all()):
            break
    count = config.num_return_sequences
    generated = int(((origins[:count] + 1) > 0).sum(axis=1).max())
    return [(sequences[i, :prompt + generated].tolist(), float(beam_scores[i])) for i in range(count)]


async def generate(model: StepModel, ids: np.ndarray, config: GenerationConfig, processors: list[Processor],
                   stopping: Stopping, max_length: int, on_token: OnToken | None = None) -> list[list[int]]:
    """Token ids of every returned sequence (with the decoder prompt), best first for beam search."""
    rng = np.random.default_rng(config.seed) if config.do_sample else None
    if config.num_beams > 1:
        return [tokens for tokens, _ in await beam_search(model, ids, config, processors, stopping, max_length, rng)]
    rows = np.repeat(ids, config.num_return_sequences, axis=0)
    return (await greedy_or_sample(model, rows, config, processors, stopping, rng, on_token)).tolist()

