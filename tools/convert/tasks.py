"""Which architectures each task exports, with the transformers head and the ONNX output names."""

from __future__ import annotations

from dataclasses import dataclass

ENCODERS = ("bert", "distilbert", "roberta", "xlm-roberta", "mpnet", "electra", "albert", "camembert")
DECODERS = ("llama", "qwen2")


@dataclass(frozen=True)
class Head:
    auto_class: str
    outputs: tuple[str, ...]
    per_token: bool  # outputs have a sequence axis
    pairs: bool = False  # sample inputs are (question, context) pairs
    decoder: bool = False  # causal LM with past key values in, present key values out


TASKS = {
    "feature-extraction": Head("AutoModel", ("last_hidden_state",), True),
    "text-classification": Head("AutoModelForSequenceClassification", ("logits",), False),
    "zero-shot-classification": Head("AutoModelForSequenceClassification", ("logits",), False, pairs=True),
    "token-classification": Head("AutoModelForTokenClassification", ("logits",), True),
    "question-answering": Head("AutoModelForQuestionAnswering", ("start_logits", "end_logits"), True, pairs=True),
    "fill-mask": Head("AutoModelForMaskedLM", ("logits",), True),
    "text-generation": Head("AutoModelForCausalLM", ("logits",), True, decoder=True),
}
ARCHITECTURES = {task: DECODERS if TASKS[task].decoder else ENCODERS for task in TASKS}

SAMPLES = ["Hello world", "The quick brown fox jumps over the lazy dog.",
           "Models run in the browser, privately, with ONNX Runtime Web."]
PAIRS = [("Where do models run?", "Models run in the browser, privately, with ONNX Runtime Web."),
         ("Who jumps?", "The quick brown fox jumps over the lazy dog."), ("Hi", "Hello world")]


def check(task: str, model_type: str) -> Head:
    if task not in TASKS:
        raise KeyError(task)
    if model_type not in ARCHITECTURES[task]:
        raise ValueError(f"task {task!r} is not supported for architecture {model_type!r} "
                         f"(supported: {', '.join(ARCHITECTURES[task])})")
    return TASKS[task]
