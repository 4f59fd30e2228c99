"""zero-shot-classification: an NLI model scores "This example is {label}." against each text.

Every (text, hypothesis) pair of a request goes to the model in one batched run, where transformers
runs them one at a time; each row is cut back to its own tokens, so the scores are the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from ..model_config import label_ids
from .arguments import texts
from .base import Pipeline
from .loading import LoadContext
from .encoder import TextEncoder


class ZeroShotClassificationPipeline(Pipeline):
    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder

    @classmethod
    async def load(cls, ctx: LoadContext) -> "ZeroShotClassificationPipeline":
        return cls(await TextEncoder.load(ctx))

    @property
    def entailment_id(self) -> int:
        for label, index in label_ids(self.encoder.config).items():
            if label.lower().startswith("entail"):
                return index
        return -1

    def labels(self, args: list[Any], options: dict[str, Any]) -> list[str]:
        """candidate_labels, from args[1] (transformers' second argument) or the option of that name."""
        if len(args) > 1:
            if options.get("candidate_labels") is not None:
                raise RequestError("zero-shot-classification: candidate labels given both as args[1] and as an option")
            options = {**options, "candidate_labels": args[1]}
        labels = self.options(options)["candidate_labels"]
        if labels is None:
            raise RequestError("zero-shot-classification: candidate_labels is missing; pass them as args[1] or "
                               "the candidate_labels option")
        return labels

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        labels = self.labels(args, options)
        opts = self.options(options)
        template, multi_label = opts["hypothesis_template"], opts["multi_label"]
        sequences, single = texts(self.task, args)
        if template.format(labels[0]) == template:
            raise RequestError(f"zero-shot-classification: hypothesis_template {template!r} has no {{}} "
                               "where the label goes")
        rows = []
        for sequence in sequences:
            for label in labels:
                rows.extend(self.encode_pair(sequence, template.format(label)))
        self.encoder.check_lengths(self.task, rows)
        outputs = await self.encoder.run(rows)
        logits = np.stack([o["logits"] for o in outputs]).reshape(len(sequences), len(labels), -1)
        results = [self.rank(sequence, labels, logits[i], multi_label) for i, sequence in enumerate(sequences)]
        return results[0] if single else results

    def encode_pair(self, sequence: str, hypothesis: str) -> list[Any]:
        """Truncate the text, never the hypothesis; untruncated when the hypothesis leaves the text no room
        (transformers' pipeline falls back to no truncation there)."""
        limit = self.encoder.max_length
        fits = self.encoder.pair_room(hypothesis, limit) > 0
        return self.encoder.tokenizer.encode_rows(sequence, hypothesis, truncation="only_first" if fits else False,
                                                  max_length=limit if fits else None)[0]

    def rank(self, sequence: str, labels: list[str], logits: np.ndarray, multi_label: bool) -> dict[str, Any]:
        entail = self.entailment_id
        if multi_label or len(labels) == 1:
            contradiction = -1 if entail == 0 else 0
            pair = logits[:, [contradiction, entail]]
            scores = (np.exp(pair) / np.exp(pair).sum(-1, keepdims=True))[:, 1]
        else:
            column = logits[:, entail]
            scores = np.exp(column) / np.exp(column).sum(-1, keepdims=True)
        order = list(reversed(scores.argsort()))
        return {"sequence": sequence, "labels": [labels[i] for i in order], "scores": [float(scores[i]) for i in order]}

    def release(self) -> None:
        self.encoder.release()
