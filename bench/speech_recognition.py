"""Word error rates of Whisper tiny.en's q8 and q4 files against its fp32 files (our engine under CPython,
onnxruntime), and of each against the sentence espeak-ng was asked to say, on the test clips
(tests/audio_clips.py), with transformers' pipeline defaults (5 beams; the long clip in 30 s windows).
Also seconds per clip. Prints a table and writes bench/results/speech_recognition.json.

    python -m bench.speech_recognition
"""

from __future__ import annotations

import asyncio
import re
import time

import pyodide_pkg
from bench.report import print_table, save
from tests import audio_clips as clips
from tools import serve
from tools.build_hub import HUB, ROOT

DTYPES = ["fp32", "q8", "q4"]
NAMES = ["weather", "numbers", "browser", "fox", "short", "long"]


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def wer(hypothesis: str, reference: str) -> float:
    """Word-level edit distance over the reference's word count."""
    hyp, ref = words(hypothesis), words(reference)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / max(1, len(ref))


def spoken(name: str) -> str:
    return " ".join(clips.SENTENCES[n] for n in clips.LONG) if name == "long" else clips.SENTENCES[name]


async def transcribe(origin: str, dtype: str) -> tuple[dict[str, str], dict[str, float]]:
    engine = await pyodide_pkg.create_engine({"taskName": "automatic-speech-recognition",
                                              "modelId": "openai/whisper-tiny.en", "modelRevision": "v0.1.0",
                                              "dtype": dtype, "settingsBaseUrl": f"{origin}/settings"})
    texts, seconds = {}, {}
    try:
        for name in NAMES:
            started = time.perf_counter()
            texts[name] = (await engine.run({"args": [clips.samples(name)], "options": {}}))["text"]
            seconds[name] = time.perf_counter() - started
    finally:
        await engine.terminate()
    return texts, seconds


def main() -> None:
    server = serve.start(0, ROOT / "web", HUB)
    try:
        found = {dtype: asyncio.run(transcribe(server.origin, dtype)) for dtype in DTYPES}
    finally:
        server.shutdown()
    fp32 = found["fp32"][0]
    columns: dict[str, dict[str, object]] = {}

    def rates(texts: dict[str, str], references: dict[str, str]) -> dict[str, str]:
        sizes = {n: len(words(references[n])) for n in NAMES}
        each = {n: wer(texts[n], references[n]) for n in NAMES}
        overall = sum(each[n] * sizes[n] for n in NAMES) / sum(sizes.values())
        return {**{n: f"{each[n]:.3f}" for n in NAMES}, "all words": f"{overall:.3f}"}

    said = {n: spoken(n) for n in NAMES}
    for dtype, (texts, seconds) in found.items():
        columns[f"{dtype} WER vs spoken"] = rates(texts, said)
        if dtype != "fp32":
            columns[f"{dtype} WER vs fp32"] = rates(texts, fp32)
        columns[f"{dtype} s"] = {n: f"{seconds[n]:.2f}" for n in NAMES}
    for dtype, (texts, _) in found.items():
        for n in NAMES:
            print(f"{dtype:5} {n:8} {texts[n]!r}")
    print_table("Whisper tiny.en, our engine under CPython (5 beams)", columns)
    print(f"wrote {save('speech_recognition', columns)}")


if __name__ == "__main__":
    main()
