"""question-answering: the span of the context that answers the question, with character offsets.

Contexts longer than `max_seq_len` are read in overlapping windows (`doc_stride`); the windows of all
questions go to the model in one batched run, and answers found in several windows add up, as in
transformers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from .base import Pipeline
from .loading import LoadContext
from .encoder import TextEncoder

NULL_SCORE = 1000000.0


class QuestionAnsweringPipeline(Pipeline):
    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder

    @classmethod
    async def load(cls, ctx: LoadContext) -> "QuestionAnsweringPipeline":
        return cls(await TextEncoder.load(ctx))

    def examples(self, args: list[Any]) -> tuple[list[tuple[str, str]], bool]:
        """(question, context) pairs from [question, context], [{question, context}] or lists of either."""
        def pair(item: Any) -> tuple[str, str]:
            if isinstance(item, dict) and isinstance(item.get("question"), str) and isinstance(item.get("context"), str):
                if not item["context"]:
                    raise RequestError("question-answering: the context is empty")
                return item["question"], item["context"]
            raise RequestError("question-answering: each example needs a question and a context (strings)")

        if len(args) == 2:
            questions, contexts = args
            if isinstance(questions, str) and isinstance(contexts, str):
                return [pair({"question": questions, "context": contexts})], True
            if isinstance(questions, str) and isinstance(contexts, list):
                questions = [questions] * len(contexts)
            if isinstance(questions, list) and isinstance(contexts, list) and len(questions) == len(contexts) and questions:
                return [pair({"question": q, "context": c}) for q, c in zip(questions, contexts)], False
            raise RequestError("question-answering: args [question, context] must be two strings, or lists of equal length")
        if len(args) == 1:
            if isinstance(args[0], dict):
                return [pair(args[0])], True
            if isinstance(args[0], list) and args[0]:
                return [pair(item) for item in args[0]], len(args[0]) == 1
        if len(args) == 1 and isinstance(args[0], str):
            raise RequestError("question-answering: a question needs a context: args [question, context]")
        raise RequestError("question-answering: args must be [question, context], [{question, context}] "
                           "or [[{question, context}, ...]]")

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        opts = self.options(options)
        top_k, max_answer_len = opts["top_k"], opts["max_answer_len"]
        tok = self.encoder.tokenizer
        max_seq_len = opts["max_seq_len"] if opts["max_seq_len"] is not None else min(tok.model_max_length, 384)
        max_seq_len = min(max_seq_len, self.encoder.max_length)
        doc_stride = opts["doc_stride"] if opts["doc_stride"] is not None else min(max_seq_len // 2, 128)
        impossible, align = opts["handle_impossible_answer"], opts["align_to_words"]
        if doc_stride > max_seq_len:
            raise RequestError(f"question-answering: doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len})")
        examples, single = self.examples(args)
        question_first = tok.padding_side == "right"
        rows, owners = [], []
        for k, (question, context) in enumerate(examples):
            room = self.encoder.pair_room(question, max_seq_len)
            if (room < 1 or doc_stride >= room) and self.encoder.token_count(context) > room:
                raise RequestError(f"question-answering: the question leaves {max(room, 0)} of max_seq_len "
                                   f"{max_seq_len} tokens for the context, which needs windows with doc_stride "
                                   f"{doc_stride} (less than that room); shorten the question or raise max_seq_len")
            found, _ = tok.encode_rows(question if question_first else context,
                                       context if question_first else question,
                                       truncation="only_second" if question_first else "only_first",
                                       max_length=max_seq_len, stride=doc_stride, return_overflowing_tokens=True)
            rows.extend(found)
            owners.extend([k] * len(found))
        outputs = await self.encoder.run(rows)
        per_example: list[list[tuple[Any, dict]]] = [[] for _ in examples]
        for row, owner, out in zip(rows, owners, outputs):
            per_example[owner].append((row, out))
        results = [self.answers(context, windows, top_k, max_answer_len, impossible, align, question_first)
                   for (_, context), windows in zip(examples, per_example)]
        return results[0] if single else results

    def answers(self, context: str, windows: list[tuple[Any, dict]], top_k: int, max_answer_len: int,
                impossible: bool, align: bool, question_first: bool) -> Any:
        tok = self.encoder.tokenizer
        cls_id = tok.token_id("cls_token")
        null_score = NULL_SCORE
        found: list[dict] = []
        for row, out in windows:
            p_mask = np.array([int(s != 1) if question_first else 0 for s in row.sequence_ids])
            if cls_id is not None:
                p_mask[np.array(row.ids) == cls_id] = 0
            starts, ends, scores, null_score = select_spans(
                out["start_logits"], out["end_logits"], p_mask, np.array(row.attention_mask), null_score,
                top_k * 2 + 10 if align else top_k, impossible, max_answer_len)
            sequence = 1 if question_first else 0
            for s, e, score in zip(starts, ends, scores):
                start, end = char_span(row, int(s), int(e), sequence, align)
                text = context[start:end]
                same = next((a for a in found if a["answer"].lower() == text.lower()), None)
                if same:
                    same["score"] += float(score)
                else:
                    found.append({"score": float(score), "start": start, "end": end, "answer": text})
        if impossible:
            found.append({"score": float(null_score), "start": 0, "end": 0, "answer": ""})
        found = sorted(found, key=lambda a: a["score"], reverse=True)[:top_k]
        return found[0] if len(found) == 1 else found

    def release(self) -> None:
        self.encoder.release()


def select_spans(start: np.ndarray, end: np.ndarray, p_mask: np.ndarray, attention_mask: np.ndarray,
                 null_score: float, top_k: int, impossible: bool, max_answer_len: int):
    """Span probabilities over the allowed tokens, the best top_k, and the running null score."""
    allowed = np.abs(p_mask - 1) & attention_mask
    blocked = allowed == 0
    start = np.where(blocked, np.float32(-10000.0), start.astype(np.float32))
    end = np.where(blocked, np.float32(-10000.0), end.astype(np.float32))
    start = np.exp(start - start.max())
    start = start / start.sum()
    end = np.exp(end - end.max())
    end = end / end.sum()
    if impossible:
        null_score = min(null_score, float(start[0] * end[0]))
    start[0] = end[0] = 0.0
    candidates = np.tril(np.triu(np.outer(start, end)), max_answer_len - 1)
    flat = candidates.flatten()
    if top_k == 1:
        order = np.array([np.argmax(flat)])
    elif len(flat) < top_k:
        order = np.argsort(-flat)
    else:
        best = np.argpartition(-flat, top_k)[0:top_k]
        order = best[np.argsort(-flat[best])]
    starts, ends = np.unravel_index(order, candidates.shape)
    # transformers tests membership against both halves of nonzero() of a (1, n) mask, whose row
    # indices are all 0: token 0 always counts as allowed when any token is.
    tokens = np.nonzero(allowed)[0]
    permitted = np.concatenate([np.zeros(len(tokens), dtype=tokens.dtype), tokens])
    keep = np.isin(starts, permitted) & np.isin(ends, permitted)
    starts, ends = starts[keep], ends[keep]
    return starts, ends, candidates[starts, ends], null_score


def char_span(row: Any, s: int, e: int, sequence: int, align: bool) -> tuple[int, int]:
    """Character offsets of tokens s..e in the context, widened to whole words when `align`."""
    if align:
        start_word, end_word = row.word_ids[s], row.word_ids[e]
        if start_word is not None and end_word is not None:
            first = word_chars(row, start_word, sequence)
            last = word_chars(row, end_word, sequence)
            if first is not None and last is not None:
                return first[0], last[1]
    return row.offsets[s][0], row.offsets[e][1]


def word_chars(row: Any, word: int, sequence: int) -> tuple[int, int] | None:
    tokens = [k for k, (w, q) in enumerate(zip(row.word_ids, row.sequence_ids)) if w == word and q == sequence]
    if not tokens:
        return None
    return row.offsets[tokens[0]][0], row.offsets[tokens[-1]][1]
