"""A model's tokenizer as transformers' fast tokenizers load it: tokenizer.json plus its configs.

tokenizer_config.json and special_tokens_map.json say the special tokens, the maximum length, the
padding and truncation sides, the clean-up of decoded text and the chat template; calling the
tokenizer pads and truncates the way `PreTrainedTokenizerFast.__call__` does.
"""

from __future__ import annotations

import json
from typing import Any

from .chat_template import ChatTemplateError, render
from .decoders import cleanup

VERY_LARGE_INTEGER = int(1e30)
# tokenizer_class values (without "Fast") whose transformers class returns no token_type_ids.
WITHOUT_TYPE_IDS = frozenset(
    "Bart Barthez Bartpho BertGeneration BigBird BioGpt Blenderbot BlenderbotSmall Bloom ByT5 Camembert CLIP "
    "CodeLlama CodeGen Cohere Distilbert DistilBert DPRQuestionEncoder DPRContextEncoder DPRReader Esm FSMT Gemma "
    "GPT2 GPTNeoX GPTSw3 LayoutLMv3 LayoutXLM LED Llama Longformer Luke M2M100 Marian MBart MBart50 MPNet Mvp NLLB "
    "Nougat OpenAIGPT Pegasus Perceiver PLBart Qwen2 Reformer Roberta Siglip Speech2Text SpeechT5 T5 Udop Whisper "
    "XGLM XLMRoberta".split())
SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def _content(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


class PretrainedTokenizer:
    def __init__(self, tokenizer: Any, config: dict[str, Any] | None = None,
                 special_tokens_map: dict[str, Any] | None = None, chat_template: str | None = None) -> None:
        config = dict(config or {})
        special_tokens_map = special_tokens_map or {}
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.config = config
        for key in SPECIAL_KEYS:
            value = config.get(key, special_tokens_map.get(key))
            setattr(self, key, _content(value))
        extra = config.get("additional_special_tokens", special_tokens_map.get("additional_special_tokens")) or []
        self.additional_special_tokens = [t for t in (_content(v) for v in extra) if t]
        self.model_max_length = int(config.get("model_max_length", VERY_LARGE_INTEGER))
        self.padding_side = config.get("padding_side", "right")
        self.truncation_side = config.get("truncation_side", "right")
        for name, side in (("padding_side", self.padding_side), ("truncation_side", self.truncation_side)):
            if side not in ("left", "right"):
                raise ValueError(f"tokenizer_config.json: {name} must be 'left' or 'right', not {side!r}")
        self.clean_up_tokenization_spaces = bool(config.get("clean_up_tokenization_spaces", False))
        self.chat_template = chat_template if chat_template is not None else config.get("chat_template")
        names = config.get("model_input_names")
        if names is None:
            kind = str(config.get("tokenizer_class") or "").removesuffix("Fast").removesuffix("Tokenizer")
            names = ["input_ids", "attention_mask"] if kind in WITHOUT_TYPE_IDS else \
                ["input_ids", "token_type_ids", "attention_mask"]
        self.model_input_names = list(names)

    @classmethod
    def from_data(cls, tokenizer_json: bytes | str, tokenizer_config: bytes | str | dict | None = None,
                  special_tokens_map: bytes | str | dict | None = None,
                  chat_template: str | None = None, backend: str = "auto") -> "PretrainedTokenizer":
        def as_dict(value, name):
            if value is None or isinstance(value, dict):
                return value
            try:
                return json.loads(value)
            except ValueError as error:
                raise ValueError(f"{name} is not valid JSON: {error}") from None
        from . import load
        return cls(load(tokenizer_json, backend), as_dict(tokenizer_config, "tokenizer_config.json"),
                   as_dict(special_tokens_map, "special_tokens_map.json"), chat_template)

    @property
    def pad_token_id(self) -> int | None:
        return None if self.pad_token is None else self.tokenizer.token_to_id(self.pad_token)

    def special_tokens(self) -> dict[str, Any]:
        """What transformers calls special_tokens_map: the set ones, plus the additional list."""
        out: dict[str, Any] = {k: getattr(self, k) for k in SPECIAL_KEYS if getattr(self, k) is not None}
        if self.additional_special_tokens:
            out["additional_special_tokens"] = list(self.additional_special_tokens)
        return out

    def token_id(self, name: str) -> int | None:
        """The id of a special token by its role ('mask_token', 'cls_token', ...), None when unset."""
        token = getattr(self, name)
        return None if token is None else self.tokenizer.token_to_id(token)

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str | None]:
        return [self.tokenizer.id_to_token(int(i)) for i in ids]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self.tokenizer.decode_tokens(tokens)

    def prime(self) -> None:
        """Python's `re` compiles a pattern at its first use, and the normalizer and pre-tokenizer patterns are
        large (WordPiece's first encode took ~100 ms in Pyodide, the next ones under 2): encoding two short texts
        once, plain and not, compiles them while a model loads (beside its download or its session) instead of
        in the first request. Its few words join the per-word caches like any others (no cache changes a result)."""
        self.encode_rows(["Hello world, it's 2 o'clock.", "Ça va? Grüße, 你好 1.5"], truncation=True)

    def encode_rows(self, text: str | list[str], text_pair: str | list[str] | None = None, *,
                    add_special_tokens: bool = True, padding: bool | str = False,
                    truncation: bool | str | None = None, max_length: int | None = None, stride: int = 0,
                    pad_to_multiple_of: int | None = None,
                    return_overflowing_tokens: bool = False) -> tuple[list[Any], list[int]]:
        """The encodings `__call__` turns into columns, and for each the index of the input it came from."""
        batched = isinstance(text, (list, tuple))
        texts = list(text) if batched else [text]
        pairs = (list(text_pair) if batched else [text_pair]) if text_pair is not None else None
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(pairs)} text pairs")
        padding_strategy = {True: "longest", False: None, "longest": "longest", "max_length": "max_length",
                            "do_not_pad": None}.get(padding, "invalid")
        if padding_strategy == "invalid":
            raise ValueError(f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad', not {padding!r}")
        truncation_strategy = {True: "longest_first", False: None, None: None, "do_not_truncate": None,
                               "longest_first": "longest_first", "only_first": "only_first",
                               "only_second": "only_second"}.get(truncation, "invalid")
        if truncation_strategy == "invalid":
            raise ValueError(f"truncation must be a bool or a strategy name, not {truncation!r}")
        if truncation is None and max_length is not None and padding_strategy is None:
            truncation_strategy = "longest_first"  # as transformers does, with a warning there
        limit = max_length if max_length is not None else self.model_max_length
        tok = self.tokenizer
        try:
            if truncation_strategy and limit < VERY_LARGE_INTEGER:
                tok.enable_truncation(limit, stride=stride, strategy=truncation_strategy, direction=self.truncation_side)
            if padding_strategy:
                if self.pad_token is None:
                    raise ValueError("padding needs a pad_token, and this tokenizer has none")
                tok.enable_padding(direction=self.padding_side, pad_id=self.pad_token_id or 0, pad_type_id=0,
                                   pad_token=self.pad_token,
                                   length=limit if padding_strategy == "max_length" else None,
                                   pad_to_multiple_of=pad_to_multiple_of)
            inputs = list(zip(texts, pairs)) if pairs is not None else texts
            encodings = tok.encode_batch(inputs, add_special_tokens=add_special_tokens)
        finally:
            tok.no_truncation()
            tok.no_padding()
        rows, sample_of = [], []
        for i, encoding in enumerate(encodings):
            parts = [encoding, *encoding.overflowing] if return_overflowing_tokens else [encoding]
            rows.extend(parts)
            sample_of.extend([i] * len(parts))
        return rows, sample_of

    def __call__(self, text: str | list[str], text_pair: str | list[str] | None = None, *,
                 add_special_tokens: bool = True, padding: bool | str = False, truncation: bool | str | None = None,
                 max_length: int | None = None, stride: int = 0, pad_to_multiple_of: int | None = None,
                 return_overflowing_tokens: bool = False, return_offsets_mapping: bool = False,
                 return_special_tokens_mask: bool = False) -> dict[str, Any]:
        rows, sample_of = self.encode_rows(text, text_pair, add_special_tokens=add_special_tokens, padding=padding,
                                           truncation=truncation, max_length=max_length, stride=stride,
                                           pad_to_multiple_of=pad_to_multiple_of,
                                           return_overflowing_tokens=return_overflowing_tokens)
        columns = {"input_ids": [e.ids for e in rows], "token_type_ids": [e.type_ids for e in rows],
                   "attention_mask": [e.attention_mask for e in rows]}
        out: dict[str, Any] = {k: v for k, v in columns.items() if k in self.model_input_names}
        if return_offsets_mapping:
            out["offset_mapping"] = [list(e.offsets) for e in rows]
        if return_special_tokens_mask:
            out["special_tokens_mask"] = [e.special_tokens_mask for e in rows]
        if return_overflowing_tokens:
            out["overflow_to_sample_mapping"] = sample_of
        if not isinstance(text, (list, tuple)) and not return_overflowing_tokens:
            out = {k: v[0] for k, v in out.items()}
        return out

    def decode(self, ids: list[int], skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None) -> str:
        text = self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)
        clean = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None else clean_up_tokenization_spaces
        return cleanup(text) if clean else text

    def batch_decode(self, sequences: list[list[int]], **kwargs: Any) -> list[str]:
        return [self.decode(ids, **kwargs) for ids in sequences]

    def _template(self, name: str | None) -> str:
        template = self.chat_template
        if isinstance(template, list):
            named = {t.get("name"): t.get("template") for t in template}
            template = named.get(name or "default")
            if template is None:
                raise ChatTemplateError(f"no chat template named {name or 'default'!r}; have {sorted(named)}")
        if not template:
            raise ChatTemplateError("this tokenizer has no chat_template (tokenizer_config.json)")
        return template

    def apply_chat_template(self, conversation: list[dict[str, Any]], *, add_generation_prompt: bool = False,
                            continue_final_message: bool = False, tokenize: bool = True,
                            tools: list[dict] | None = None, documents: list[dict] | None = None,
                            chat_template: str | None = None, template_name: str | None = None,
                            **kwargs: Any) -> str | list[int]:
        source = chat_template or self._template(template_name)
        text = render(source, conversation, add_generation_prompt=add_generation_prompt,
                      continue_final_message=continue_final_message, tools=tools, documents=documents,
                      **{**self.special_tokens(), **kwargs})
        if not tokenize:
            return text
        return self.tokenizer.encode(text, add_special_tokens=False).ids
