"""How much the page's main thread is blocked: the engine in its worker next to the main-thread engine before it.

For each engine, on a blank cross-origin isolated page of a fresh browser context (empty IndexedDB): a
'longtask' PerformanceObserver is installed, then createEngine('sentence-embeddings') (boot and downloads),
one warm-up run and 10 warm runs of all-MiniLM-L6-v2 on 20 sentences (2 threads). Printed: the longest
main-thread task and the total blocked time (the part of each overlapping task beyond 50 ms) in each window,
createEngine time and the warm-run median. The "before" engine is the engine.mjs, bridge.mjs and wheel of the
last commit before the worker, built from git into a temporary folder. A probe also reports whether ONNX
Runtime Web gets threads in a SharedWorker and in a dedicated Worker. Nothing passes or fails on time.

    python -m bench.main_thread [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.browser import config
from bench.report import print_table, save

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = json.loads((ROOT / "tests" / "data" / "sentences.json").read_text())

MEASURE = """async ([sentences, runs]) => {
  const tasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) tasks.push([e.startTime, e.startTime + e.duration]);
  }).observe({ type: 'longtask' });
  let start = performance.now();
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine({ featureId: 'sentence-embeddings', numThreads: 2 });
  const created = [start, performance.now()];
  const request = { args: [sentences], options: { pooling: 'mean', normalize: true } };
  await engine.run(request);
  const times = [];
  start = performance.now();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await engine.run(request);
    times.push(performance.now() - t);
  }
  const ran = [start, performance.now()];
  await new Promise((resolve) => setTimeout(resolve, 300));  // entries arrive after their task ends
  return { tasks, created, ran, times };
}"""

PROBE = """// Does ONNX Runtime Web get threads here? Answers {isolated, sharedArrayBuffer, threads, ran, error}.
async function probe() {
  const out = { isolated: self.crossOriginIsolated, sharedArrayBuffer: typeof SharedArrayBuffer === "function" };
  try {
    const ort = await import(new URL("vendor/ort/ort.wasm.min.mjs", self.location.href).href);
    ort.env.wasm.wasmPaths = { mjs: new URL("vendor/ort/ort-wasm-simd-threaded.mjs", self.location.href).href,
                               wasm: new URL("vendor/ort/ort-wasm-simd-threaded.wasm", self.location.href).href };
    ort.env.wasm.numThreads = 2;
    const model = new Uint8Array(await (await fetch(MODEL_URL)).arrayBuffer());
    const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
    const ids = new ort.Tensor("int64", new BigInt64Array([101n, 7592n, 102n]), [1, 3]);
    const feeds = {};
    for (const name of session.inputNames) feeds[name] = name === "input_ids" ? ids
      : new ort.Tensor("int64", new BigInt64Array(name === "attention_mask" ? [1n, 1n, 1n] : [0n, 0n, 0n]), [1, 3]);
    await session.run(feeds);
    Object.assign(out, { threads: ort.env.wasm.numThreads, ran: true });
  } catch (error) {
    out.error = String(error);
  }
  return out;
}
if (self.constructor.name === "SharedWorkerGlobalScope") {
  self.onconnect = (event) => probe().then((out) => event.ports[0].postMessage(out));
} else {
  probe().then((out) => self.postMessage(out));
}
"""

RUN_PROBES = """async () => {
  const url = new URL('probe_worker.mjs', location.href);
  const shared = await new Promise((resolve) => {
    const worker = new SharedWorker(url, { type: 'module', name: 'probe' });
    worker.port.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => resolve({ error: 'the SharedWorker failed to start: ' + (e.message || 'no message') });
  });
  const dedicated = await new Promise((resolve) => {
    const worker = new Worker(url, { type: 'module' });
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => resolve({ error: 'the Worker failed to start: ' + (e.message || 'no message') });
  });
  return { page: { isolated: crossOriginIsolated, sharedArrayBuffer: typeof SharedArrayBuffer === 'function' },
           shared, dedicated };
}"""


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def commit_before_worker() -> str | None:
    """The last commit whose engine.mjs ran Pyodide on the page (None if this tree has no worker engine)."""
    added = git("log", "--format=%H", "-S", "new Worker(", "--", "web/engine.mjs").split()
    return git("rev-parse", f"{added[-1]}^") if added else None


def old_web_root(commit: str, folder: Path) -> Path:
    """web/ and our wheel as they were at `commit`, with today's vendored Pyodide and ONNX Runtime Web."""
    source = folder / "src"
    source.mkdir()
    archive = subprocess.run(["git", "archive", commit, "web", "pyodide_pkg", "pyproject.toml"], cwd=ROOT,
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    web = source / "web"
    wheels = web / "vendor" / "wheels"
    wheels.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(wheels), str(source)], check=True, cwd=folder)
    index = json.loads((ROOT / "web" / "vendor" / "wheels" / "index.json").read_text())
    for name in index["dependencies"]:
        shutil.copy2(ROOT / "web" / "vendor" / "wheels" / name, wheels / name)
    index["wheel"] = next(wheels.glob("pyodide_pkg-*.whl")).name
    (wheels / "index.json").write_text(json.dumps(index))
    for name in ("pyodide", "ort"):
        (web / "vendor" / name).symlink_to(ROOT / "web" / "vendor" / name, target_is_directory=True)
    return web


def blocked(tasks: list[list[float]], window: list[float]) -> tuple[float, float]:
    """(longest task, total blocked time) over the tasks that overlap the window, in ms."""
    overlapping = [end - start for start, end in tasks if end > window[0] and start < window[1]]
    return max(overlapping, default=0.0), sum(max(0.0, d - 50) for d in overlapping)


def measure(browser: Any, origin: str, runs: int) -> dict[str, float]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(config().TIMEOUT_MS)
        page.goto(f"{origin}/blank.html")
        found = page.evaluate(MEASURE, [SENTENCES, runs])
    finally:
        context.close()
    create_longest, create_blocked = blocked(found["tasks"], found["created"])
    run_longest, run_blocked = blocked(found["tasks"], found["ran"])
    return {"createEngine, fresh profile (ms)": found["created"][1] - found["created"][0],
            "longest task during createEngine (ms)": create_longest,
            "blocked during createEngine (ms)": create_blocked,
            f"warm run median of {runs} (ms)": statistics.median(found["times"]),
            f"longest task during {runs} runs (ms)": run_longest,
            f"blocked during {runs} runs (ms)": run_blocked}


def probe_workers(browser: Any, origin: str, folder: Path) -> dict[str, Any]:
    model = f"{origin}/hub/sentence-transformers/all-MiniLM-L6-v2/v1.0/onnx/model_quantized.onnx"
    (folder / "probe_worker.mjs").write_text(f"const MODEL_URL = {json.dumps(model)};\n" + PROBE)
    (folder / "probe.html").write_text("<!doctype html><title>probe</title>")
    (folder / "vendor").symlink_to(ROOT / "web" / "vendor", target_is_directory=True)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{origin}/probe.html")
        return page.evaluate(RUN_PROBES)
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.main_thread")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; medians are printed")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tools import serve

    with tempfile.TemporaryDirectory(prefix="bench-main-thread-") as temp:
        temp_path = Path(temp)
        servers = {"worker engine (this tree)": serve.start(0)}
        before = commit_before_worker()
        if before:
            web = old_web_root(before, temp_path)
            servers[f"main-thread engine ({before[:7]})"] = serve.start(0, web, ROOT / "hub")
        probe_root = temp_path / "probe"
        probe_root.mkdir()
        probe_server = serve.start(0, probe_root, ROOT / "hub")
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        with sync_playwright() as p:
            browser = p.chromium.launch(**config().launch_args())
            try:
                for _ in range(args.rounds):
                    for name, server in servers.items():
                        samples[name].append(measure(browser, server.origin, args.runs))
                probes = probe_workers(browser, probe_server.origin, probe_root)
            finally:
                browser.close()
        for server in [*servers.values(), probe_server]:
            server.shutdown()
    columns = {name: {key: round(statistics.median(s[key] for s in runs), 1) for key in runs[0]}
               for name, runs in samples.items()}
    print_table(f"main thread, all-MiniLM-L6-v2 fp32 on 20 sentences, 2 threads, median of {args.rounds} round(s)",
                columns)
    print("ONNX Runtime Web threads by host:", json.dumps(probes))
    save("main_thread", {**columns, "worker probes": probes})


if __name__ == "__main__":
    main()
