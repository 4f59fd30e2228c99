"""token-classification (ner): a label per token, or entities grouped over words and spans.

Long texts are not cut off: with `stride` they are split into overlapping windows whose entities
are merged, as transformers does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from .activations import softmax
from .arguments import texts
from .base import Pipeline
from .loading import LoadContext
from .encoder import TextEncoder


class TokenClassificationPipeline(Pipeline):
    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder

    @classmethod
    async def load(cls, ctx: LoadContext) -> "TokenClassificationPipeline":
        return cls(await TextEncoder.load(ctx))

    def label(self, index: int) -> str:
        return self.encoder.labels.get(index, f"LABEL_{index}")

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        opts = self.options(options)
        strategy, ignore, stride = opts["aggregation_strategy"], opts["ignore_labels"], opts["stride"]
        sentences, single = texts(self.task, args)
        tok = self.encoder.tokenizer
        limit = self.encoder.max_length
        if stride is not None:
            if stride >= limit:
                raise RequestError(f"{self.task}: stride ({stride}) must be less than the model's maximum length ({limit})")
            if strategy == "none":
                raise RequestError(f"{self.task}: stride needs an aggregation_strategy other than 'none' "
                                   "to merge the windows")
        rows, sample_of = tok.encode_rows(sentences, truncation=True, max_length=limit, stride=stride or 0,
                                          return_overflowing_tokens=stride is not None)
        outputs = await self.encoder.run(rows)
        results: list[list[dict]] = [[] for _ in sentences]
        windows = [0] * len(sentences)
        for row, sample, out in zip(rows, sample_of, outputs):
            scores = softmax(out["logits"])
            entities = self.aggregate(self.gather(sentences[sample], row, scores, strategy), strategy)
            results[sample].extend(e for e in entities
                                   if e.get("entity") not in ignore and e.get("entity_group") not in ignore)
            windows[sample] += 1
        results = [merge_overlapping(r) if n > 1 else r for r, n in zip(results, windows)]
        return results[0] if single else results

    def gather(self, sentence: str, row: Any, scores: np.ndarray, strategy: str) -> list[dict]:
        """Tokens that are not special, with their text span and whether they continue a word."""
        tok = self.encoder.tokenizer
        prefix = tok.tokenizer.continuing_subword_prefix
        unk = tok.token_id("unk_token")
        found = []
        for index, token_scores in enumerate(scores):
            if row.special_tokens_mask[index]:
                continue
            word = tok.convert_ids_to_tokens([row.ids[index]])[0]
            start, end = row.offsets[index]
            reference = sentence[start:end]
            if prefix:
                is_subword = len(word) != len(reference)
            else:
                is_subword = start > 0 and " " not in sentence[start - 1:start + 1]
            if row.ids[index] == unk:
                word, is_subword = reference, False
            found.append({"word": word, "scores": token_scores, "start": start, "end": end, "index": index,
                          "is_subword": is_subword})
        return found

    def aggregate(self, tokens: list[dict], strategy: str) -> list[dict]:
        if strategy in ("none", "simple"):
            entities = []
            for t in tokens:
                best = int(t["scores"].argmax())
                entities.append({"entity": self.label(best), "score": float(t["scores"][best]), "index": t["index"],
                                 "word": t["word"], "start": t["start"], "end": t["end"]})
            if strategy == "none":
                return entities
        else:
            entities = self.aggregate_words(tokens, strategy)
        return self.group(entities)

    def aggregate_words(self, tokens: list[dict], strategy: str) -> list[dict]:
        words, group = [], []
        for t in tokens:
            if group and not t["is_subword"]:
                words.append(self.aggregate_word(group, strategy))
                group = []
            group.append(t)
        if group:
            words.append(self.aggregate_word(group, strategy))
        return words

    def aggregate_word(self, tokens: list[dict], strategy: str) -> dict:
        if strategy == "first":
            scores = tokens[0]["scores"]
        elif strategy == "max":
            scores = max(tokens, key=lambda t: t["scores"].max())["scores"]
        else:
            scores = np.nanmean(np.stack([t["scores"] for t in tokens]), axis=0)
        best = int(scores.argmax())
        word = self.encoder.tokenizer.convert_tokens_to_string([t["word"] for t in tokens])
        return {"entity": self.label(best), "score": float(scores[best]), "word": word,
                "start": tokens[0]["start"], "end": tokens[-1]["end"]}

    def group(self, entities: list[dict]) -> list[dict]:
        """Adjacent entities of one tag join unless the next begins a new one (B-)."""
        groups, current = [], []
        for entity in entities:
            if current:
                bi, tag = split_tag(entity["entity"])
                if not (tag == split_tag(current[-1]["entity"])[1] and bi != "B"):
                    groups.append(self.group_of(current))
                    current = []
            current.append(entity)
        if current:
            groups.append(self.group_of(current))
        return groups

    def group_of(self, entities: list[dict]) -> dict:
        return {"entity_group": entities[0]["entity"].split("-", 1)[-1],
                "score": float(np.nanmean([e["score"] for e in entities])),
                "word": self.encoder.tokenizer.convert_tokens_to_string([e["word"] for e in entities]),
                "start": entities[0]["start"], "end": entities[-1]["end"]}

    def release(self) -> None:
        self.encoder.release()


def split_tag(entity: str) -> tuple[str, str]:
    if entity.startswith("B-"):
        return "B", entity[2:]
    if entity.startswith("I-"):
        return "I", entity[2:]
    return "I", entity


def merge_overlapping(entities: list[dict]) -> list[dict]:
    """Of entities from overlapping windows that overlap, keep the longer one (then the surer one)."""
    if not entities:
        return entities
    entities = sorted(entities, key=lambda e: e["start"])
    merged, previous = [], entities[0]
    for entity in entities:
        if previous["start"] <= entity["start"] < previous["end"]:
            length, previous_length = entity["end"] - entity["start"], previous["end"] - previous["start"]
            if length > previous_length or (length == previous_length and entity["score"] > previous["score"]):
                previous = entity
        else:
            merged.append(previous)
            previous = entity
    merged.append(previous)
    return merged
