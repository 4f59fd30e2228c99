"""zero-shot-classification: an NLI model scores "This example is {label}." against each text.

Every (text, hypothesis) pair of a request goes to the model in one batched run, where transformers
runs them one at a time; each row is cut back to its own tokens, so the scores are the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from .arguments import Options, texts
from .base import Pipeline
from .loading import LoadContext
from .encoder import TextEncoder

OPTIONS = ("candidate_labels", "hypothesis_template", "multi_label")
DEFAULT_TEMPLATE = "This example is {}."


class ZeroShotClassificationPipeline(Pipeline):
    task = "zero-shot-classification"

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder

    @classmethod
    async def load(cls, ctx: LoadContext) -> "ZeroShotClassificationPipeline":
        return cls(await TextEncoder.load(ctx, cls.task, ("logits",), per_token=False, head="ForSequenceClassification"))

    @property
    def entailment_id(self) -> int:
        for label, index in (self.encoder.config.get("label2id") or {}).items():
            if label.lower().startswith("entail"):
                return int(index)
        return -1

    def labels(self, args: list[Any], opts: Options) -> list[str]:
        value = args[1] if len(args) > 1 else opts.values.get("candidate_labels")
        if len(args) > 1 and "candidate_labels" in opts:
            raise RequestError("zero-shot-classification: candidate labels given both as args[1] and as an option")
        if isinstance(value, str):
            value = [label.strip() for label in value.split(",") if label.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RequestError("zero-shot-classification: candidate_labels must be a list of strings or a "
                               f"comma-separated string, got {value!r}")
        if not value:
            raise RequestError("zero-shot-classification: candidate_labels is empty; give at least one label")
        return value

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        opts = Options(self.task, options, OPTIONS)
        template = opts.string("hypothesis_template", DEFAULT_TEMPLATE)
        multi_label = opts.boolean("multi_label", False)
        sequences, single = texts(self.task, args)
        labels = self.labels(args, opts)
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
        """Truncate the text, never the hypothesis; untruncated when the hypothesis alone is too long."""
        tok = self.encoder.tokenizer
        try:
            return tok.encode_rows(sequence, hypothesis, truncation="only_first", max_length=self.encoder.max_length)[0]
        except ValueError as error:
            if "too short" not in str(error):
                raise
            return tok.encode_rows(sequence, hypothesis, truncation=False)[0]

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
