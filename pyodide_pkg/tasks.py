"""The task table: everything that says what a task is, in one place.

The engine finds a task's pipeline here (by name or alias), the pipelines read their ONNX files, head
and request options from here, the converter (tools/convert) and the local hub (tools/build_hub,
tools/tiny_models) read which architectures each task exports and how, and the README's task table is
written from it (tools/docs.py). Adding a task is an entry here and a module in pipelines/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import OptionsError
from .generation.config import RULES as GENERATION_RULES
from .option_rules import Rule

ENCODERS = ("bert", "distilbert", "roberta", "xlm-roberta", "mpnet", "electra", "albert", "camembert")
TINY_ENCODERS = ("bert", "distilbert", "roberta", "xlm-roberta", "mpnet")
DECODERS = ("llama", "qwen2")
SEQ2SEQ = ("t5", "bart", "marian", "mbart")
VISION = ("vit", "deit", "beit", "convnext")
IMAGE = "image (as above) or a list"
EXAMPLE_IMAGE = "page/example.png"  # beside the demo page (web/page/)
EXAMPLE_AUDIO = "page/example.wav"

ONE_MODEL = {"model": ("model",)}
# A merged decoder (past inputs, use_cache_branch) where the hub has one, else the plain decoder (no cache).
ENCODER_DECODER = {"encoder": ("encoder_model",), "decoder": ("decoder_model_merged", "decoder_model")}


@dataclass(frozen=True)
class Export:
    """How tools.convert makes a task's ONNX files for some architectures: our own torch.onnx export of
    a transformers head class (`auto_class`), or Optimum's exporter (`optimum_task`)."""

    architectures: tuple[str, ...]
    tiny: tuple[str, ...] = ()  # architectures the local hub has tiny random-weight models of
    auto_class: str = ""
    optimum_task: str = ""
    outputs: tuple[str, ...] = ()  # ONNX output names written, when they differ from the task's
    pairs: bool = False  # sample inputs are (question, context) pairs
    decoder: bool = False  # causal LM with past key values in, present key values out
    needs_tokenizer: bool = True


@dataclass(frozen=True)
class Task:
    name: str
    module: str  # in pyodide_pkg.pipelines
    pipeline: str  # class name in that module
    inputs: str  # what args holds, as the README says it
    exports: tuple[Export, ...]
    aliases: tuple[str, ...] = ()
    files: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: ONE_MODEL)  # role -> names, fallbacks after
    head: str = ""  # the class suffix config.json `architectures` must name (e.g. ForMaskedLM)
    outputs: tuple[str, ...] = ()  # ONNX outputs the pipeline reads
    per_token: bool = False  # outputs have a sequence axis
    options: Mapping[str, Rule] = field(default_factory=dict)  # the task's own request options
    generation: Mapping[str, Any] | None = None  # generating tasks: the pipeline's generation defaults
    # The demo page's input widgets, one per args item: text, prompt (a text, or as a chat of one user message),
    # texts (one per line, a list), labels (comma separated, a list), image or audio (a URL or a dropped file); and a ready request for its Run tab
    # ({"args": [...], "options": {...}}; an image/audio arg is a URL relative to the page).
    form: tuple[str, ...] = ("text",)
    example: Mapping[str, Any] = field(default_factory=dict)
    backends: tuple[str, ...] = ("onnx",)  # the `backend` option values that can run it
    # ONNX Runtime's graph optimizations for fp32 graphs. Text encoders do without them: in ONNX Runtime Web
    # all-MiniLM-L6-v2's runs took as long either way and its session came ~150 ms sooner on a fresh profile, where
    # the optimizer's code is still cold; their quantized graphs ran ~5% faster optimized, and SmolLM2's 10-30%.
    graph_optimization: bool = True

    def optimizes(self, dtype: str) -> bool:
        """Whether a session of this task's graphs in `dtype` gets ONNX Runtime's graph optimizations."""
        return self.graph_optimization or dtype != "fp32"

    @property
    def request_rules(self) -> dict[str, Rule]:
        """Every option a run request of this task may carry."""
        if self.generation is None:
            return dict(self.options)
        return {**GENERATION_RULES, **MODEL_OPTIONS, **self.options}

    def export_for(self, model_type: str) -> Export | None:
        return next((e for e in self.exports if model_type in e.architectures), None)


MODEL_OPTIONS = {"use_cache": Rule("boolean", True, doc="false re-reads the whole sequence each step")}
_TOP_K_LABELS = Rule("integer", 5, minimum=1)
_FUNCTION = Rule("string", "default", choices=("softmax", "sigmoid", "none", "default"), fold_case=True,
                 doc="default: sigmoid for one label or multi-label models, softmax otherwise")
_RETURN_TENSORS = Rule("boolean", False, doc="token ids instead of text")


def _text2text(name: str, pipeline: str, tiny: tuple[str, ...], text: str) -> Task:
    """text2text-generation and the tasks that are it with another result name (summary, translation)."""
    return Task(name, "text2text_generation", pipeline, "text or list",
                (Export(SEQ2SEQ, tiny, optimum_task="text2text-generation-with-past"),), files=ENCODER_DECODER,
                options={"return_tensors": _RETURN_TENSORS, "truncation": Rule("boolean", False),
                         "clean_up_tokenization_spaces": Rule("boolean", False)},
                generation={"max_new_tokens": 256, "num_beams": 4},
                example={"args": [text], "options": {"max_new_tokens": 20}})


_ENCODER_TORCH = dict(architectures=ENCODERS, tiny=TINY_ENCODERS)

TABLE: tuple[Task, ...] = (
    Task("feature-extraction", "feature_extraction", "FeatureExtractionPipeline", "text or list",
         (Export(**_ENCODER_TORCH, auto_class="AutoModel", outputs=("last_hidden_state",)),),
         aliases=("sentence-similarity",), per_token=True, graph_optimization=False,
         options={"pooling": Rule("string", "none", choices=("none", "mean", "cls", "max"), fold_case=True),
                  "normalize": Rule("boolean", False, doc="unit length (L2)")},
         form=("texts",), example={"args": [["A cat sits on the mat.", "A kitten rests on a rug.",
                                             "Stocks fell sharply today."]],
                                   "options": {"pooling": "mean", "normalize": True}}),
    Task("text-classification", "text_classification", "TextClassificationPipeline",
         "text, `{text, text_pair}`, or a list",
         (Export(**_ENCODER_TORCH, auto_class="AutoModelForSequenceClassification"),),
         aliases=("sentiment-analysis",), head="ForSequenceClassification", outputs=("logits",),
         graph_optimization=False,
         options={"top_k": Rule("integer", 1, minimum=1, nullable=True, doc="null: every label"),
                  "function_to_apply": _FUNCTION, "truncation": Rule("boolean", True)},
         example={"args": ["I love how fast this page answers!"], "options": {"top_k": None}}),
    Task("token-classification", "token_classification", "TokenClassificationPipeline", "text or list",
         (Export(**_ENCODER_TORCH, auto_class="AutoModelForTokenClassification"),),
         aliases=("ner",), head="ForTokenClassification", outputs=("logits",), per_token=True, graph_optimization=False,
         options={"aggregation_strategy": Rule("string", "none", choices=("none", "simple", "first", "average", "max"),
                                               fold_case=True),
                  "ignore_labels": Rule("strings", ["O"]),
                  "stride": Rule("integer", None, minimum=0, nullable=True, doc="long texts in overlapping windows")},
         example={"args": ["Ann Smith moved from Berlin to Paris to work for Mozilla."],
                  "options": {"aggregation_strategy": "simple"}}),
    Task("question-answering", "question_answering", "QuestionAnsweringPipeline",
         "`[question, context]`, `[{question, context}]`, or lists",
         (Export(**_ENCODER_TORCH, auto_class="AutoModelForQuestionAnswering", pairs=True),),
         head="ForQuestionAnswering", outputs=("start_logits", "end_logits"), per_token=True, graph_optimization=False,
         options={"top_k": Rule("integer", 1, minimum=1), "max_answer_len": Rule("integer", 15, minimum=1),
                  "max_seq_len": Rule("integer", None, minimum=1, derived="the tokenizer's limit, at most 384"),
                  "doc_stride": Rule("integer", None, minimum=0, derived="half of max_seq_len, at most 128"),
                  "max_question_len": Rule("integer", 64, minimum=1, doc="taken, unused by fast tokenizers"),
                  "handle_impossible_answer": Rule("boolean", False), "align_to_words": Rule("boolean", True)},
         form=("text", "text"), example={"args": ["Who lives in Paris?", "Ann lives in Paris with her cat."],
                                         "options": {}}),
    Task("fill-mask", "fill_mask", "FillMaskPipeline", "text (one or more mask tokens) or list",
         (Export(**_ENCODER_TORCH, auto_class="AutoModelForMaskedLM"),),
         head="ForMaskedLM", outputs=("logits",), per_token=True, graph_optimization=False,
         options={"top_k": _TOP_K_LABELS, "targets": Rule("strings", None)},
         example={"args": ["The capital of France is [MASK]."], "options": {"top_k": 5}}),
    Task("zero-shot-classification", "zero_shot_classification", "ZeroShotClassificationPipeline",
         "`[text or list, labels]`",
         (Export(**_ENCODER_TORCH, auto_class="AutoModelForSequenceClassification", pairs=True),),
         head="ForSequenceClassification", outputs=("logits",), graph_optimization=False,
         options={"candidate_labels": Rule("strings", None, separator=",", nonempty=True, doc="or as args[1]"),
                  "hypothesis_template": Rule("string", "This example is {}."),
                  "multi_label": Rule("boolean", False)},
         form=("text", "labels"), example={"args": ["The new phone has a great camera.", ["technology", "cooking",
                                                                                           "sports"]],
                                           "options": {}}),
    Task("text-generation", "text_generation", "TextGenerationPipeline",
         "prompt, chat (`[{role, content}, ...]`, rendered by the tokenizer's chat template), or a list",
         (Export(DECODERS, DECODERS, auto_class="AutoModelForCausalLM", decoder=True, outputs=("logits",)),
          Export(("gpt2",), ("gpt2",), optimum_task="text-generation-with-past")),
         options={"return_full_text": Rule("boolean", True), "return_tensors": _RETURN_TENSORS,
                  "add_special_tokens": Rule("boolean", True, doc="prompts only; a chat's template places them")},
         generation={"max_new_tokens": 256, "do_sample": True, "temperature": 0.7}, backends=("onnx", "wllama"),
         form=("prompt",), example={"args": ["Once upon a time"], "options": {"max_new_tokens": 30, "do_sample": False}}),
    Task("wllama-text-generation", "gguf_generation", "GGUFGenerationPipeline",
         "chat (`[{role, content}, ...]`, rendered by the GGUF's chat template) or prompt, or a list; or Firefox's "
         "link-preview request `{prompt: chat, nPredict, stopTokens, logit_bias_toks, logit_bias_vals}` in place of "
         "`{args, options}`",
         (), files={"model": ()}, backends=("wllama",),
         options={"max_new_tokens": Rule("integer", 256, minimum=1, doc="or nPredict"),
                  "nPredict": Rule("integer", None, minimum=1, doc="Firefox's name of max_new_tokens"),
                  "stopTokens": Rule("token_ids", [], doc="token ids that end the generation (not in the text)"),
                  "logit_bias_toks": Rule("token_ids", [], doc="token ids biased by logit_bias_vals"),
                  "logit_bias_vals": Rule("numbers", [], doc="a bias per logit_bias_toks id"),
                  "do_sample": Rule("boolean", False, doc="false: greedy"),
                  "temperature": Rule("number", 0.8, above=0), "top_k": Rule("integer", 40, minimum=0),
                  "top_p": Rule("number", 0.95, minimum=0, maximum=1),
                  "seed": Rule("integer", None, minimum=0, nullable=True, doc="sampling seed; null: random"),
                  "return_full_text": Rule("boolean", True, doc="args requests: the prompt or chat and the reply")},
         form=("prompt",),
         example={"args": [[{"role": "user", "content": "What is the capital of France?"}]], "options": {"max_new_tokens": 30}}),
    _text2text("text2text-generation", "Text2TextGenerationPipeline", ("t5", "bart"), "question: Where is Paris?"),
    _text2text("summarization", "SummarizationPipeline", (),
               "The page runs models in a worker, caches their files and releases idle engines to free memory."),
    _text2text("translation", "TranslationPipeline", ("marian",), "The weather is nice today."),
    Task("image-to-text", "image_to_text", "ImageToTextPipeline",
         "image: URL, `data:image/...` URL, bytes, the page's `Blob`/`File`/`ImageData`, or pdf.js' "
         "`{data, width, height, channels}`; or a list",
         (Export(("vision-encoder-decoder",), ("vision-encoder-decoder",), optimum_task="image-to-text-with-past"),),
         files=ENCODER_DECODER, options={"return_tensors": _RETURN_TENSORS}, generation={"max_new_tokens": 256},
         form=("image",), example={"args": [EXAMPLE_IMAGE], "options": {"max_new_tokens": 20}}),
    Task("automatic-speech-recognition", "automatic_speech_recognition", "AutomaticSpeechRecognitionPipeline",
         "audio: URL, WAV bytes, the page's `Blob`/`File`, a `Float32Array` of 16 kHz samples (Python: a list or "
         "numpy array), or `{raw, sampling_rate}` (resampled to 16 kHz); or a list",
         (Export(("whisper",), optimum_task="automatic-speech-recognition-with-past"),), files=ENCODER_DECODER,
         options={"return_timestamps": Rule("boolean", False, doc="segment-level `chunks: [{timestamp, text}]`"),
                  "chunk_length_s": Rule("number", None, minimum=0,
                                         derived="30 when the audio is longer than 30 s, else none (0: none)",
                                         doc="long audio in windows of this many seconds"),
                  "stride_length_s": Rule("number", None, minimum=0, derived="chunk_length_s / 6",
                                          doc="overlap on each side of a window")},
         generation={"max_new_tokens": 256, "num_beams": 5},  # transformers' pipeline defaults (openai's beams)
         form=("audio",), example={"args": [EXAMPLE_AUDIO], "options": {"return_timestamps": True}}),
    Task("image-classification", "image_classification", "ImageClassificationPipeline", IMAGE,
         (Export(VISION, ("vit",), optimum_task="image-classification", needs_tokenizer=False),),
         outputs=("logits",), options={"top_k": _TOP_K_LABELS, "function_to_apply": _FUNCTION},
         form=("image",), example={"args": [EXAMPLE_IMAGE], "options": {"top_k": 5}}),
    Task("zero-shot-image-classification", "zero_shot_image_classification", "ZeroShotImageClassificationPipeline",
         "`[image or list, labels]` (image as above)",
         (Export(("clip",), ("clip",), optimum_task="zero-shot-image-classification"),),
         outputs=("logits_per_image",),
         options={"candidate_labels": Rule("strings", None, separator=",", nonempty=True, doc="or as args[1]"),
                  "hypothesis_template": Rule("string", "This is a photo of {}.")},
         form=("image", "labels"), example={"args": [EXAMPLE_IMAGE, ["a cat", "a dog", "a landscape"]], "options": {}}),
    Task("object-detection", "object_detection", "ObjectDetectionPipeline", IMAGE,
         (Export(("yolos",), ("yolos",), optimum_task="object-detection", needs_tokenizer=False),),
         outputs=("logits", "pred_boxes"),
         options={"threshold": Rule("number", 0.5, minimum=0, maximum=1, doc="boxes scoring above it are kept")},
         form=("image",), example={"args": [EXAMPLE_IMAGE], "options": {"threshold": 0.1}}),
    Task("image-feature-extraction", "image_feature_extraction", "ImageFeatureExtractionPipeline", IMAGE,
         (Export(("dinov2", "vit"), ("dinov2",), optimum_task="feature-extraction", needs_tokenizer=False),),
         outputs=("last_hidden_state",),
         options={"pool": Rule("boolean", False, doc="true: the pooled vector (pooler_output, or the CLS token for "
                                                     "DINOv2), false: one vector per patch")},
         form=("image",), example={"args": [EXAMPLE_IMAGE], "options": {"pool": True}}),
)
TASKS: dict[str, Task] = {t.name: t for t in TABLE}
NAMES: dict[str, Task] = {**TASKS, **{alias: t for t in TABLE for alias in t.aliases}}
TRANSLATION = re.compile(r"^translation_([A-Za-z_-]+)_to_([A-Za-z_-]+)$")  # translation_en_to_fr


def for_backend(task: Task, backend: str) -> Task:
    """The entry that runs a task on a backend (text-generation on wllama is wllama-text-generation)."""
    if backend not in task.backends:
        raise OptionsError(f"task {task.name!r} does not run on backend {backend!r}; it runs on "
                           f"{', '.join(task.backends)}")
    if "onnx" in task.backends and backend != "onnx":
        return next(t for t in TABLE if t.backends == (backend,))
    return task


def find(name: str) -> Task:
    """A task by name or alias (translation_xx_to_yy is translation); unknown ones are an OptionsError."""
    found = NAMES.get("translation" if TRANSLATION.match(name or "") else name)
    if found is None:
        raise OptionsError(f"unknown taskName {name!r}; known tasks: {', '.join(sorted(NAMES))}")
    return found
