"""Word error rates of Whisper tiny.en's q8 and q4 files against its fp32 files (our engine under CPython,
onnxruntime), and of each against the sentence espeak-ng was asked to say, on the test clips
(tests/audio_clips.py), with transformers' pipeline defaults (5 beams; the long clip in 30 s windows).
Also seconds per clip, and in Chromium (2 threads) seconds per clip for our engine and, greedy on the same hub
files, side by side with Transformers.js. Prints tables and writes bench/results/speech_recognition.json.

    python -m bench.speech_recognition [--no-browser]
"""

from __future__ import annotations

import argparse
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


BROWSER = """async ([options, clips, runOptions]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine(options);
  const out = {};
  for (const [name, samples] of Object.entries(clips)) {
    const started = performance.now();
    const result = await engine.run({ args: [Float32Array.from(samples)], options: runOptions });
    out[name] = { text: result.text, ms: performance.now() - started };
  }
  await engine.terminate();
  return out;
}"""

TRANSFORMERS_JS = """async ([dtype, clips, chunked]) => {
  const asr = await window.transformersJs.pipeline('automatic-speech-recognition', 'openai/whisper-tiny.en',
    { revision: 'v0.1.0', dtype, device: 'wasm' });
  const out = {};
  for (const [name, samples] of Object.entries(clips)) {
    const started = performance.now();
    const result = await asr(Float32Array.from(samples), name === 'long' ? chunked : {});
    out[name] = { text: result.text, ms: performance.now() - started };
  }
  await asr.dispose();
  return out;
}"""


def browser(origin: str) -> dict[str, dict[str, object]]:
    """Seconds per clip in Chromium: ours with the pipeline defaults, ours greedy, Transformers.js greedy."""
    from bench.browser import booted_page, load_transformers_js

    samples = {n: clips.samples(n).tolist() for n in NAMES}
    options = {"taskName": "automatic-speech-recognition", "modelId": "openai/whisper-tiny.en",
               "modelRevision": "v0.1.0", "numThreads": 2}
    columns: dict[str, dict[str, object]] = {}
    with booted_page(origin) as page:
        version = load_transformers_js(page, origin)
        for dtype in ("q8", "q4"):
            for label, run_options in (("5 beams", {}), ("greedy", {"num_beams": 1})):
                found = page.evaluate(BROWSER, [{**options, "dtype": dtype}, samples, run_options])
                columns[f"ours {dtype} {label} s"] = {n: f"{found[n]['ms'] / 1000:.2f}" for n in NAMES}
                print(f"ours {dtype} {label}: {[found[n]['text'] for n in NAMES]}")
            found = page.evaluate(TRANSFORMERS_JS, [dtype, samples, {"chunk_length_s": 30, "stride_length_s": 5}])
            columns[f"tjs {version} {dtype} greedy s"] = {n: f"{found[n]['ms'] / 1000:.2f}" for n in NAMES}
            print(f"Transformers.js {dtype}: {[found[n]['text'] for n in NAMES]}")
    return columns


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.speech_recognition")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    import tempfile
    from pathlib import Path

    from tests.conftest import linked_hub

    built = HUB / "openai" / "whisper-tiny.en" / "v0.1.0"
    # Transformers.js 4.3.1 reads the processor's files from the `main` revision whatever revision it is given
    hub = linked_hub(Path(tempfile.mkdtemp()), {"openai/whisper-tiny.en/v0.1.0": built,
                                                "openai/whisper-tiny.en/main": built})
    server = serve.start(0, ROOT / "web", hub)
    try:
        found = {dtype: asyncio.run(transcribe(server.origin, dtype)) for dtype in DTYPES}
        in_browser = {} if args.no_browser else browser(server.origin)
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
    if in_browser:
        print_table("Whisper tiny.en in Chromium (2 threads), seconds per clip", in_browser)
    print(f"wrote {save('speech_recognition', {**columns, **in_browser})}")


if __name__ == "__main__":
    main()
