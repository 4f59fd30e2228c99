"""onnxruntime as an AVX2-only x86 CPU (no AVX-512, no VNNI) runs it, on any x86-64 machine.

ONNX Runtime picks its integer kernels by CPUID, so a quantized model can compute differently on
another CPU of the same kind. qemu-user (Debian's qemu-user) reports the CPU model we name and
emulates its instructions, so both kinds are checked here: measured, a uint8 x int8 MatMulInteger
with full-range weights saturated under `-cpu Haswell-v4` exactly as on a real AVX2-only EPYC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QEMU = "qemu-x86_64"
AVX2_ONLY_CPU = "Haswell-v4"


def qemu() -> str | None:
    return shutil.which(QEMU)


def run_onnx(models: list[Path], rows: list[dict[str, np.ndarray]], emulate_avx2: bool) -> dict[str, list[np.ndarray]]:
    """First output of each model for each row (one row per run), natively or on the emulated CPU."""
    with tempfile.TemporaryDirectory() as tmp:
        feeds, out = Path(tmp) / "feeds.npz", Path(tmp) / "out.npz"
        np.savez(feeds, **{f"{i}.{name}": value for i, row in enumerate(rows) for name, value in row.items()})
        command = [os.path.realpath(sys.executable), "-m", "tools.ort_run", str(feeds), str(out), *map(str, models)]
        if emulate_avx2:
            if qemu() is None:
                raise RuntimeError(f"{QEMU} is not installed (Debian package qemu-user; `make test` installs it)")
            command = [QEMU, "-cpu", AVX2_ONLY_CPU, *command]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command[:4])} ... failed:\n{done.stderr[-2000:]}")
        results = np.load(out)
        return {Path(m).stem: [results[f"{Path(m).stem}.{i}"] for i in range(len(rows))] for m in models}
