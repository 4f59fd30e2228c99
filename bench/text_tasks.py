"""Text tasks in Chromium: median `engine.run` next to the bare session calls it made, per task.

The session calls are the ones `run` itself made (captured, then replayed on the same tensors
through the platform's session, i.e. ONNX Runtime Web plus the Python/JS copy), so the gap is our
pre- and post-processing. Tiny models (hidden 32) make that gap as visible as it can be; categorium's
real (also small) classifier and MiniLM (all-MiniLM-L6-v2) show it next to real weights. Prints a table and writes
bench/results/text_tasks.json; nothing passes or fails on time.

    python -m bench.text_tasks [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile

from bench.browser import booted_page
from bench.report import print_table, save

SHORT = "Ann lives in Paris and works for Mozilla."
LONG = " ".join(["The committee in Paris approved the budget for Acme Corporation after a lengthy debate."] * 40)
MASKED = " ".join(LONG.split()[:380]) + " and the last word is [MASK]."
CASES = {
    "text-classification": {"short": [SHORT], "512 tokens": [LONG]},
    "token-classification": {"short": [SHORT], "512 tokens": [LONG]},
    "question-answering": {"short": ["Who lives in Paris?", SHORT], "512 tokens": ["Who approved the budget?", LONG]},
    "fill-mask": {"short": ["Ann lives in [MASK]."], "512 tokens": [MASKED]},
    "zero-shot-classification": {"short": [SHORT, ["travel", "work"]], "512 tokens": [LONG, ["travel", "work"]]},
}
MODELS = {task: f"test/tiny-bert-{task}" for task in CASES}

PAGE = """async ([task, model, revision, cases, repeat]) => {
  const { createEngine, runPython } = await import('./engine.mjs');
  const engineId = 'bench-' + task;
  const engine = await createEngine({ taskName: task, modelId: model, modelRevision: revision, dtype: 'fp32',
                                      numThreads: 2, engineId });
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const out = {};
  for (const [name, args] of Object.entries(cases)) {
    const request = { args, options: {} };
    await engine.run(request);
    const times = [];
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      await engine.run(request);
      times.push(performance.now() - t);
    }
    out[name + ': run'] = median(times);
    out[name + ': session calls'] = await runPython(`
import json, statistics, time
from pyodide_pkg import engine as engines
session = engines._engines[bench_engine].pipeline.encoder.session
captured, original = [], session.run
async def spy(feeds):
    captured.append(feeds)
    return await original(feeds)
session.run = spy
await engines._engines[bench_engine].run(json.loads(bench_request))
session.run = original
times = []
for _ in range(bench_repeat):
    t = time.perf_counter()
    for feeds in captured:
        await session.run(feeds)
    times.append(time.perf_counter() - t)
statistics.median(times) * 1000
`, { bench_request: JSON.stringify(request), bench_engine: engineId, bench_repeat: repeat });
  }
  await engine.terminate();
  return out;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.text_tasks")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    from tools import serve

    os.environ.setdefault("PYODIDE_PKG_STORE_DIR", tempfile.mkdtemp(prefix="bench-store-"))
    server = serve.start(0)
    runs = [(task, MODELS[task], "v1", CASES[task]) for task in CASES]
    runs.insert(1, ("text-classification", "categorium/topics-en", "v0.2.2", CASES["text-classification"]))
    runs.append(("feature-extraction", "sentence-transformers/all-MiniLM-L6-v2", "v1.0",
                 {"short": [SHORT], "512 tokens": [LONG]}))
    columns: dict[str, dict[str, object]] = {}
    with booted_page(server.origin) as page:
        for task, model, revision, cases in runs:
            found = page.evaluate(PAGE, [task, model, revision, cases, args.repeat])
            label = f"{task} ({model.split('/')[-1]})"
            for key, value in found.items():
                case, kind = key.split(": ")
                columns.setdefault(f"{case} {kind}", {})[label] = round(value, 1)
            for case in cases:
                run_ms, session_ms = columns[f"{case} run"][label], columns[f"{case} session calls"][label]
                columns.setdefault(f"{case} overhead", {})[label] = round(run_ms - session_ms, 1)
    server.shutdown()
    print_table(f"text tasks in Chromium, fp32, median ms over {args.repeat} runs, 2 threads "
                "(overhead = run - session calls: tokenizing, padding, post-processing)", columns)
    save("text_tasks", columns)


if __name__ == "__main__":
    main()
