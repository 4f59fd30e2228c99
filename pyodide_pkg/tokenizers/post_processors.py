"""Post-processors: add special tokens and type ids around one sequence or a pair."""

from __future__ import annotations

from typing import Any

from .components import build
from .encoding import Encoding


class TemplateProcessing:
    def __init__(self, single: list[dict], pair: list[dict], special_tokens: dict[str, dict], **_: Any) -> None:
        self.single = single
        self.pair = pair
        self.special_tokens = special_tokens

    def added_tokens(self, is_pair: bool) -> int:
        template = self.pair if is_pair else self.single
        return sum(len(self.special_tokens[p["SpecialToken"]["id"]]["ids"]) for p in template if "SpecialToken" in p)

    def process(self, first: Encoding, second: Encoding | None) -> Encoding:
        out = Encoding()
        sequences = {"A": first, "B": second}
        for piece in self.pair if second is not None else self.single:
            if "SpecialToken" in piece:
                spec = self.special_tokens[piece["SpecialToken"]["id"]]
                for id_, token in zip(spec["ids"], spec["tokens"]):
                    out.append(id_, token, (0, 0), piece["SpecialToken"]["type_id"], True, None)
            else:
                seq = sequences[piece["Sequence"]["id"]]
                for i in range(len(seq)):
                    out.append(seq.ids[i], seq.tokens[i], seq.offsets[i], piece["Sequence"]["type_id"],
                               bool(seq.special_tokens_mask[i]), seq.word_ids[i])
        return out


class BertProcessing(TemplateProcessing):
    def __init__(self, sep: list, cls: list, **_: Any) -> None:
        (sep_token, sep_id), (cls_token, cls_id) = sep, cls
        special = {sep_token: {"id": sep_token, "ids": [sep_id], "tokens": [sep_token]},
                   cls_token: {"id": cls_token, "ids": [cls_id], "tokens": [cls_token]}}
        c, s = {"SpecialToken": {"id": cls_token, "type_id": 0}}, {"SpecialToken": {"id": sep_token, "type_id": 0}}
        single = [c, {"Sequence": {"id": "A", "type_id": 0}}, s]
        pair = single + [{"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": sep_token, "type_id": 1}}]
        super().__init__(single, pair, special)


KINDS = {"TemplateProcessing": TemplateProcessing, "BertProcessing": BertProcessing}


def from_config(config: dict[str, Any] | None):
    return build("post_processor", KINDS, config)
