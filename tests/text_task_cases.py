"""Requests for the text tasks, shared by the CPython parity tests and the browser tests.

Each case is (args, options) as `engine.run` takes them, with the same call for transformers'
pipeline: `pipe(*args, **options)` (question-answering: `pipe(question=..., context=...)`).
"""

import json
from pathlib import Path

SENTENCES = json.loads((Path(__file__).parent / "data" / "sentences.json").read_text())
LONG = " ".join(["The committee in Paris approved the budget for Acme Corporation after a lengthy debate."] * 50)
MEDIUM = " ".join(SENTENCES[:12])  # about 200 tokens: long, within every model's limit
CONTEXT = ("Firefox runs machine learning models locally in the browser. The engine downloads model files from "
           "a hub, keeps them in IndexedDB, and runs them with ONNX Runtime on WebAssembly. Mozilla trained "
           "distilvit in 2024 to describe images in PDF documents. Private inference means the data never "
           "leaves the computer of the user.")
QUESTIONS = ["Where do models run?", "What stores the model files?", "Who trained distilvit?", "When was it trained?",
             "What does distilvit describe?", "What never leaves the computer?", "How are models run?",
             "Which runtime is used?", "What is Firefox?", "Why is inference private?", "Où sont les modèles ?",
             "What is the capital of France?", "", "a" * 30, "Describe the hub."]


def text_classification():
    texts = SENTENCES[:15] + [MEDIUM]
    cases = [([t], {}) for t in texts[:8]]
    cases += [([texts], {}), ([texts[:5]], {"top_k": 2}), ([texts[3]], {"top_k": None}),
              ([texts[4]], {"function_to_apply": "sigmoid", "top_k": 3}), ([texts[5]], {"function_to_apply": "none"}),
              ([{"text": "A question?", "text_pair": "An answer."}], {}),
              ([[{"text": t, "text_pair": u} for t, u in zip(texts[:4], texts[4:8])]], {"top_k": 1}),
              ([LONG], {"truncation": True}), ([texts[8:15]], {"top_k": None})]
    return cases


def token_classification():
    texts = SENTENCES[:15] + [MEDIUM, "Angela Merkel met Emmanuel Macron in Berlin with the CEO of Siemens AG."]
    cases = [([t], {"ignore_labels": []}) for t in texts[:6]]
    cases += [([texts], {}), ([texts[6:12]], {"ignore_labels": []})]
    cases += [([texts[-1]], {"aggregation_strategy": s, "ignore_labels": []})
              for s in ("simple", "first", "average", "max")]
    cases += [([texts[12:17]], {"aggregation_strategy": "simple", "ignore_labels": ["O", "B-PER"]}),
              ([texts[16]], {"aggregation_strategy": "first"}),
              ([LONG], {"aggregation_strategy": "simple", "ignore_labels": []}),
              ([LONG], {"aggregation_strategy": "max", "stride": 32, "ignore_labels": []})]
    return cases


def question_answering():
    long_context = " ".join([CONTEXT] * 12)
    cases = [([q, CONTEXT], {}) for q in QUESTIONS[:10]]
    cases += [([QUESTIONS[10], CONTEXT], {"top_k": 3}), ([QUESTIONS[11], CONTEXT], {"handle_impossible_answer": True}),
              ([QUESTIONS[2], CONTEXT], {"max_answer_len": 3, "top_k": 2}),
              ([QUESTIONS[3], CONTEXT], {"align_to_words": False}),
              ([QUESTIONS[14], long_context], {"top_k": 2}),
              ([QUESTIONS[0], long_context], {"max_seq_len": 64, "doc_stride": 16, "top_k": 3}),
              ([QUESTIONS[:4], [CONTEXT] * 4], {})]
    return cases


def fill_mask(mask: str):
    texts = [f"The capital of France is {mask}.", f"{mask} is the best way to learn.", f"I love {mask} very much!",
             f"Models run in the {mask}, privately.", f"Le chat est {mask}.", f"{mask}", f"e = mc^2 and 2 + 2 = {mask}",
             f"The {mask} jumped over the {mask}.", f"Emoji 😀 are {mask}.", f"{mask} {mask} {mask}",
             f"{MEDIUM} And the last word is {mask}.", f"naïve {mask} résumé", f"Hello {mask} world",
             f"A {mask} B", f"It was a {mask} day in the {mask}."]
    cases = [([t], {}) for t in texts[:10]]
    cases += [([texts[10:15]], {}), ([texts[0]], {"top_k": 2}), ([texts[1]], {"targets": ["the", "a", "zzzz"]}),
              ([texts[7]], {"top_k": 3}), ([texts[2]], {"targets": "love", "top_k": 3})]
    return cases


def zero_shot_classification():
    labels = ["politics", "sports", "technology", "cooking"]
    texts = SENTENCES[:12] + [MEDIUM, LONG]
    cases = [([t, labels], {}) for t in texts[:10]]
    cases += [([texts[10], "urgent, not urgent"], {}), ([texts[11], labels], {"multi_label": True}),
              ([texts[12], ["browser"]], {}), ([texts[13], labels], {"hypothesis_template": "The topic is {}."}),
              ([texts[:4], labels], {"multi_label": True}), ([texts[1], labels + labels[:1]], {})]
    return cases


def feature_extraction():
    return [([SENTENCES[:15]], {}), ([SENTENCES[15]], {})]
