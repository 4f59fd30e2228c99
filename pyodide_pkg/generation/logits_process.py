"""Logits processors and warpers with transformers' rules and order, on numpy rows (one per hypothesis)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .config import GenerationConfig

Processor = Callable[[np.ndarray, np.ndarray], np.ndarray]
NEG_INF = -np.inf


def repetition_penalty(penalty: float) -> Processor:
    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        for row in range(len(ids)):
            seen = ids[row]
            picked = scores[row, seen]
            scores[row, seen] = np.where(picked < 0, picked * penalty, picked / penalty)
        return scores
    return apply


def no_repeat_ngram(n: int) -> Processor:
    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        length = ids.shape[1]
        if length + 1 < n:
            return scores
        for row in range(len(ids)):
            tokens = ids[row].tolist()
            tail = tuple(tokens[length - n + 1:])
            banned = {tokens[i + n - 1] for i in range(length - n + 1) if tuple(tokens[i:i + n - 1]) == tail}
            if banned:
                scores[row, list(banned)] = NEG_INF
        return scores
    return apply


def bad_words(words: list[list[int]], eos: list[int]) -> Processor:
    words = [w for w in words if not (len(w) == 1 and w[0] in eos)]
    single = sorted({w[0] for w in words if len(w) == 1})
    longer = [w for w in words if len(w) > 1]

    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if single:
            scores[:, single] = NEG_INF
        for row in range(len(ids)):
            tokens = ids[row].tolist()
            banned = [w[-1] for w in longer if len(w) - 1 <= len(tokens) and tokens[len(tokens) - len(w) + 1:] == w[:-1]]
            if banned:
                scores[row, banned] = NEG_INF
        return scores
    return apply


def min_length(minimum: int, eos: list[int]) -> Processor:
    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if ids.shape[1] < minimum:
            scores[:, eos] = NEG_INF
        return scores
    return apply


def min_new_tokens(prompt_length: int, minimum: int, eos: list[int]) -> Processor:
    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if ids.shape[1] - prompt_length < minimum:
            scores[:, eos] = NEG_INF
        return scores
    return apply


def forced_token(token_ids: list[int], at_length: int) -> Processor:
    """Forced BOS (at length 1) and forced EOS (at max_length - 1): only those tokens are possible."""
    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if ids.shape[1] == at_length:
            scores[:] = NEG_INF
            scores[:, token_ids] = 0.0
        return scores
    return apply


def suppress(token_ids: list[int], at_length: int | None = None) -> Processor:
    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if at_length is None or ids.shape[1] == at_length:
            scores[:, token_ids] = NEG_INF
        return scores
    return apply


def whisper_timestamps(no_timestamps: int, begin: int, eos: int, max_initial: int | None) -> Processor:
    """Whisper's timestamp rules (transformers' WhisperTimeStampLogitsProcessor): timestamps come in pairs
    (except right before the end), never go back, the first token is a timestamp (at most `max_initial` steps
    in), and a timestamp is forced when all of them together are likelier than the best text token."""
    first = no_timestamps + 1  # timestamp tokens are every id after <|notimestamps|>

    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        scores[:, no_timestamps] = NEG_INF
        for row in range(len(ids)):
            sampled = ids[row, begin:]
            last = len(sampled) >= 1 and sampled[-1] >= first
            before_last = len(sampled) < 2 or sampled[-2] >= first
            if last:
                if before_last:
                    scores[row, first:] = NEG_INF
                else:
                    scores[row, :eos] = NEG_INF
            stamps = sampled[sampled >= first]
            if stamps.size:
                scores[row, first:int(stamps[-1]) + (0 if last and not before_last else 1)] = NEG_INF
        if ids.shape[1] == begin:
            scores[:, :first] = NEG_INF
            if max_initial is not None:
                scores[:, first + max_initial + 1:] = NEG_INF
        shifted = scores - scores.max(axis=-1, keepdims=True)
        logprobs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        for row in range(len(ids)):
            stamp = logprobs[row, first:]
            top = stamp.max()
            stamp_logprob = top + np.log(np.exp(stamp - top).sum()) if np.isfinite(top) else top
            if stamp_logprob > logprobs[row, :first].max():
                scores[row, :first] = NEG_INF
        return scores
    return apply


def temperature(value: float) -> Processor:
    return lambda ids, scores: scores / np.float32(value)


def top_k(k: int, keep: int) -> Processor:
    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        kth = min(max(k, keep), scores.shape[-1])
        threshold = -np.sort(-scores, axis=-1)[:, kth - 1:kth]
        scores[scores < threshold] = NEG_INF
        return scores
    return apply


def top_p(p: float, keep: int) -> Processor:
    def apply(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        order = np.argsort(scores, axis=-1, kind="stable")
        ranked = np.take_along_axis(scores, order, axis=-1)
        shifted = np.exp(ranked - ranked.max(axis=-1, keepdims=True))
        cumulative = np.cumsum(shifted / shifted.sum(axis=-1, keepdims=True), axis=-1)
        remove = cumulative <= (1 - p)
        remove[:, -keep:] = False
        mask = np.zeros_like(remove)
        np.put_along_axis(mask, order, remove, axis=-1)
        scores[mask] = NEG_INF
        return scores
    return apply


def build(config: GenerationConfig, prompt_length: int, max_length: int) -> list[Processor]:
    """transformers' `_get_logits_processor` order: processors, then warpers when sampling."""
    eos = config.eos_ids
    out: list[Processor] = []
    if config.repetition_penalty != 1.0:
        out.append(repetition_penalty(config.repetition_penalty))
    if config.no_repeat_ngram_size > 0:
        out.append(no_repeat_ngram(config.no_repeat_ngram_size))
    if config.bad_words_ids:
        out.append(bad_words(config.bad_words_ids, eos))
    if config.min_length > 0 and eos:
        out.append(min_length(config.min_length, eos))
    if config.min_new_tokens and eos:
        out.append(min_new_tokens(prompt_length, config.min_new_tokens, eos))
    if config.forced_bos_token_id is not None:
        out.append(forced_token([config.forced_bos_token_id], 1))
    if config.forced_eos_token_id is not None:
        forced = config.forced_eos_token_id
        out.append(forced_token([forced] if isinstance(forced, int) else list(forced), max_length - 1))
    if config.suppress_tokens:
        out.append(suppress(config.suppress_tokens))
    if config.begin_suppress_tokens:
        begin = prompt_length if prompt_length > 1 or config.forced_bos_token_id is None else prompt_length + 1
        out.append(suppress(config.begin_suppress_tokens, begin))
    if config.do_sample:
        keep = 2 if config.num_beams > 1 else 1
        if config.temperature != 1.0:
            out.append(temperature(config.temperature))
        if config.top_k != 0:
            out.append(top_k(config.top_k, keep))
        if config.top_p < 1.0:
            out.append(top_p(config.top_p, keep))
    return out


def apply_all(processors: list[Processor], ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    for processor in processors:
        scores = processor(ids, scores)
    return scores
