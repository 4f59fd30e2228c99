"""Start-up against Transformers.js: our engine, Transformers.js and bare onnxruntime-web side by side.

One Chromium run, all-MiniLM-L6-v2 fp32 (`onnx/model.onnx`, 90 MB) from the local hub, feature-extraction
with mean pooling and normalization on the 20 sentences of tests/data/sentences.json. The runners:
  - ours: `createEngine` (the engine host Worker boots Pyodide, downloads into IndexedDB), 2 threads;
  - Transformers.js 4.3.1 with 1 and with 2 ONNX Runtime threads: `pipeline` on the page, its default
    Cache API storage on (`env.useBrowserCache`), the onnxruntime-web build it pins;
  - bare onnxruntime-web (web/vendor/ort, 2 threads): `InferenceSession.create` on the model's URL, fed the
    token ids Hugging Face's AutoTokenizer gives under CPython, pooled in a few lines of JS (the floor): once
    as one padded batch, as Transformers.js runs it, and once in the batches of similar length our engine
    makes (pipelines/encoder.length_batches), so that ours / that column is our overhead on the same work.
Each runner gets a new profile on disk (empty HTTP cache, code cache, IndexedDB, Cache API and origin
private file system) and the dev server's cross-origin isolated blank page, where it is measured from
navigation start: the library is imported, then load (createEngine / pipeline / session create, downloads
included), a first run, and N warm runs. That tab is then closed and a new one opened on the same profile
(everything cached; a new renderer process, so no compiled WASM of the first visit's is left in memory) and
timed from navigation start (performance.timeOrigin) to the first result: what a returning user waits. A
profile on disk, as a returning user has: an in-memory (incognito) context has no code cache, and
Playwright's routing turns the HTTP cache off, so either would deny every runner the compiled WASM (ONNX
Runtime's, Pyodide's) that Chromium keeps for a URL. A 'longtask' observer installed
before any page script (buffered) gives the longest main-thread task and the blocked time (the part of
each overlapping task beyond 50 ms) during load and during the warm runs; a 20 ms setInterval heartbeat
is a second view: its longest gap is how long the page's timers could not run. The two can disagree both
ways: Chromium has reported one 'longtask' spanning onnxruntime-web's multi-threaded load and runs on the
page while the heartbeat kept beating, and, on a loaded machine, beats stopped for seconds with no long
task (many short tasks starve timers). Peak memory is the largest
VmHWM (peak resident set, /proc) among the renderer processes the context started: workers and ONNX
Runtime's threads live in the renderer, so it covers them. Runners take turns round by round; cells are
medians over rounds; the ratio columns divide ours by the other runner. Nothing passes or fails on time.
The navigation times include Playwright's round trips (a few ms) between the load event and the work.

    python -m bench.startup [--rounds 3] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.browser import config, load_transformers_js
from bench.report import print_table, save

ROOT = Path(__file__).resolve().parent.parent
MODEL, REVISION = "sentence-transformers/all-MiniLM-L6-v2", "v1.0"
SENTENCES = json.loads((ROOT / "tests" / "data" / "sentences.json").read_text())
RUNNERS = {"ours": ("ours", 2), "TJS 1 thread": ("tjs", 1), "TJS 2 threads": ("tjs", 2), "bare ORT": ("ort", 2),
           "bare ORT, length batches": ("ort-batches", 2)}

OBSERVE = """window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.startTime + e.duration]);
}).observe({ type: 'longtask', buffered: true });
window.__beats = [];  // a 20 ms heartbeat: the longest gap between beats is how long the page could not react
setInterval(() => window.__beats.push(performance.now()), 20);"""

# One page visit: import, load, first run, `runs` warm runs. Times are performance.now(): ms since navigation.
VISIT = """async ([kind, threads, model, revision, texts, feeds, runs]) => {
  const origin = location.origin;
  let load, run;
  if (kind === 'ours') {
    const { createEngine } = await import('./engine.mjs');
    load = async () => {
      const engine = await createEngine({ taskName: 'feature-extraction', modelId: model, modelRevision: revision,
        dtype: 'fp32', numThreads: threads, modelHubRootUrl: origin + '/hub', modelHubUrlTemplate: '{model}/{revision}' });
      run = () => engine.run({ args: [texts], options: { pooling: 'mean', normalize: true } });
    };
  } else if (kind === 'tjs') {
    const tjs = window.transformersJs;
    tjs.env.useBrowserCache = true;  // its default; bench/browser.py turns it off for the tokenizer bench
    tjs.env.backends.onnx.wasm.numThreads = threads;
    load = async () => {
      const pipe = await tjs.pipeline('feature-extraction', model, { revision, dtype: 'fp32' });
      run = async () => (await pipe(texts, { pooling: 'mean', normalize: true })).tolist();
    };
  } else {
    const ort = await import(origin + '/vendor/ort/ort.wasm.min.mjs');
    ort.env.wasm.wasmPaths = { mjs: origin + '/vendor/ort/ort-wasm-simd-threaded.mjs',
                               wasm: origin + '/vendor/ort/ort-wasm-simd-threaded.wasm' };
    ort.env.wasm.numThreads = threads;
    load = async () => {
      const session = await ort.InferenceSession.create(`${origin}/hub/${model}/${revision}/onnx/model.onnx`,
                                                        { executionProviders: ['wasm'] });
      run = async () => {
        const vectors = [];
        for (const batch of feeds) {  // {rows: the sentences' places, input_ids, ...: padded to its longest}
          const [rows, cols] = [batch.input_ids.length, batch.input_ids[0].length];
          const mask = batch.attention_mask.flat();
          const inputs = {};
          for (const name of session.inputNames)
            inputs[name] = new ort.Tensor('int64', BigInt64Array.from(batch[name].flat(), BigInt), [rows, cols]);
          const out = (await session.run(inputs))[session.outputNames[0]];
          const width = out.dims[2], data = out.data;
          for (let r = 0; r < rows; r++) {  // mean over the real tokens, then L2-normalize
            const v = new Float64Array(width);
            let n = 0;
            for (let c = 0; c < cols; c++) {
              if (!mask[r * cols + c]) continue;
              n++;
              for (let k = 0; k < width; k++) v[k] += data[(r * cols + c) * width + k];
            }
            const norm = Math.hypot(...v.map((x) => x / n)) || 1;
            vectors[batch.rows[r]] = Array.from(v, (x) => x / n / norm);
          }
        }
        return vectors;
      };
    };
  }
  const loadStart = performance.now();
  await load();
  const loadEnd = performance.now();
  const first = await run();
  const firstAt = performance.now();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  const runsEnd = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 300));  // entries arrive after their task ends
  return { load: [loadStart, loadEnd], firstAt, first, times, ran: [firstAt, runsEnd], tasks: window.__longtasks, beats: window.__beats };
}"""


def blocked(tasks: list[list[float]], window: list[float]) -> tuple[float, float]:
    """(longest task, total blocked time) over the tasks that overlap the window, in ms."""
    overlapping = [end - start for start, end in tasks if end > window[0] and start < window[1]]
    return max(overlapping, default=0.0), sum(max(0.0, d - 50) for d in overlapping)


def longest_gap(beats: list[float], window: list[float]) -> float:
    """The longest time between heartbeats across the window (from the last beat before it to the first after)."""
    times = [t for t in beats if t < window[0]][-1:] + [t for t in beats if window[0] <= t <= window[1]] \
        + [t for t in beats if t > window[1]][:1]
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def renderers() -> set[int]:
    """Pids of the Chromium renderer processes this Python process started (read from /proc)."""
    parents, renderer = {}, set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            parents[pid] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if b"--type=renderer" in (stat.parent / "cmdline").read_bytes():
                renderer.add(pid)
        except (OSError, ValueError, IndexError):
            pass
    mine, me = set(), os.getpid()
    for pid in renderer:
        ancestor = pid
        while ancestor > 1 and ancestor != me:
            ancestor = parents.get(ancestor, 0)
        if ancestor == me:
            mine.add(pid)
    return mine


def peak_mb(pids: set[int]) -> float:
    """The largest VmHWM (peak resident set) among `pids`, in MB."""
    peaks = [0.0]
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return max(peaks)


def token_feeds(by_length: bool) -> list[dict[str, list]]:
    """Bare ORT's inputs: the padded batches Hugging Face's tokenizer makes of the sentences, one, or cut by
    length as our engine cuts them; each with `rows`, the places of its sentences."""
    from transformers import AutoTokenizer

    from pyodide_pkg.pipelines.encoder import length_batches

    tokenizer = AutoTokenizer.from_pretrained(str(ROOT / "hub" / MODEL / REVISION))
    lengths = [len(ids) for ids in tokenizer(SENTENCES, truncation=True)["input_ids"]]
    batches = length_batches(lengths) if by_length else [list(range(len(SENTENCES)))]
    return [{"rows": rows, **tokenizer([SENTENCES[i] for i in rows], padding=True, truncation=True)}
            for rows in batches]


def visit(page: Any, origin: str, kind: str, threads: int, feeds: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    page.goto(f"{origin}/blank.html")
    if kind == "tjs":
        load_transformers_js(page, origin)
    return page.evaluate(VISIT, [kind.removesuffix("-batches"), threads, MODEL, REVISION, SENTENCES, feeds, runs])


def measure(playwright: Any, profile: str, origin: str, kind: str, threads: int, feeds: list[dict[str, Any]],
            runs: int) -> dict[str, Any]:
    """A fresh profile: first visit (load, runs, memory), then a second visit with everything cached."""
    before = renderers()
    context = playwright.chromium.launch_persistent_context(profile, **config().launch_args())
    try:
        context.add_init_script(OBSERVE)
        page = context.new_page()
        page.set_default_timeout(config().TIMEOUT_MS)
        fresh = visit(page, origin, kind, threads, feeds, runs)
        memory = peak_mb(renderers() - before)
        page.close()  # its renderer process goes with it, and the WASM it compiled (a returning user's is gone)
        page = context.new_page()
        page.set_default_timeout(config().TIMEOUT_MS)
        warm = visit(page, origin, kind, threads, feeds, 0)
    finally:
        context.close()
    load_longest, load_blocked = blocked(fresh["tasks"], fresh["load"])
    run_longest, run_blocked = blocked(fresh["tasks"], fresh["ran"])
    return {"row": {
        "load, fresh profile (ms)": fresh["load"][1] - fresh["load"][0],
        "navigation → first result, fresh profile (ms)": fresh["firstAt"],
        "navigation → first result, warm cache (ms)": warm["firstAt"],
        "first run, fresh profile (ms)": fresh["firstAt"] - fresh["load"][1],
        f"warm run median of {runs} (ms)": statistics.median(fresh["times"]),
        "longest task during load (ms)": load_longest,
        "blocked during load (ms)": load_blocked,
        "longest heartbeat gap during load (ms)": longest_gap(fresh["beats"], fresh["load"]),
        f"longest task during {runs} runs (ms)": run_longest,
        f"blocked during {runs} runs (ms)": run_blocked,
        f"longest heartbeat gap during {runs} runs (ms)": longest_gap(fresh["beats"], fresh["ran"]),
        "peak renderer RSS, fresh profile (MB)": memory,
    }, "first": fresh["first"]}


def largest_difference(vectors: list[list[float]], reference: list[list[float]]) -> float:
    return max(abs(a - b) for u, v in zip(vectors, reference) for a, b in zip(u, v))


def ratio(a: object, b: object) -> str:
    return f"{a / b:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed")
    parser.add_argument("--runs", type=int, default=10, help="warm runs after the first")
    args = parser.parse_args()
    if not (ROOT / "hub" / MODEL / REVISION / "onnx" / "model.onnx").is_file():
        raise SystemExit("the local hub is not built: run `python -m tools.build_hub`")
    from playwright.sync_api import sync_playwright

    from tests.conftest import linked_hub
    from tools import serve

    feeds = {"ort": token_feeds(by_length=False), "ort-batches": token_feeds(by_length=True)}
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in RUNNERS}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder, \
            tempfile.TemporaryDirectory(prefix="bench-startup-profiles-") as profiles:
        built = ROOT / "hub" / MODEL / REVISION  # Transformers.js reads tokenizer_config.json at `main`
        server = serve.start(0, hub=linked_hub(Path(folder), {f"{MODEL}/{REVISION}": built, f"{MODEL}/main": built}))
        server.precompute_digests()
        try:
            with sync_playwright() as p:
                for round_ in range(args.rounds):
                    for name, (kind, threads) in RUNNERS.items():
                        profile = f"{profiles}/{round_}-{kind}-{threads}"
                        samples[name].append(measure(p, profile, server.origin, kind, threads, feeds.get(kind, []),
                                                     args.runs))
        finally:
            server.shutdown()
    columns: dict[str, dict[str, object]] = {
        name: {key: round(statistics.median(s["row"][key] for s in runs), 1) for key in runs[0]["row"]}
        for name, runs in samples.items()}
    reference = samples["TJS 2 threads"][0]["first"]
    for name, runs in samples.items():
        columns[name]["max |embedding - TJS's|"] = f"{max(largest_difference(s['first'], reference) for s in runs):.1e}"
    ours = columns["ours"]
    for other in ("TJS 1 thread", "TJS 2 threads", "bare ORT", "bare ORT, length batches"):
        columns[f"ours / {other}"] = {key: ratio(ours[key], columns[other][key]) for key in samples["ours"][0]["row"]}
    print_table(f"start-up, {MODEL} fp32, 20 sentences, Chromium; median of {args.rounds} interleaved round(s), "
                "each on a fresh profile on disk", columns)
    print(json.dumps({"saved": str(save("startup", columns))}))


if __name__ == "__main__":
    main()
