"""Loading a 1 GB model in Chromium: time and peak memory of our engine, bare onnxruntime-web and Transformers.js.

The model is the hub's test/tiny-bert-1gb v1, a feature-extraction BERT whose `onnx/model.onnx` (55 KB) keeps
its weights in two external data files named by the graph, `onnx/model.onnx_data` (1,074,374,400 bytes) and
`onnx/model.onnx_data_1` (117 KB); "model size" below is the three files together. The runners:
  - ours: `createEngine({taskName: 'feature-extraction', dtype: 'fp32', numThreads: 2, ...})` (the engine host
    Worker boots Pyodide, streams every file into OPFS, finds the data files by reading the graph and hands
    ONNX Runtime Web the stored Files), then one `run({args: [['a short sentence']]})`;
  - bare ORT (the floor): web/vendor/ort on the page, 2 threads, `InferenceSession.create(graph URL,
    {externalData: [{path, data: URL}, ...]})` (onnxruntime-web fetches the data files itself), then one run
    fed the token ids Hugging Face's AutoTokenizer gives under CPython;
  - Transformers.js 4.3.1 (2 threads, its default Cache API storage on): `pipeline('feature-extraction', ...,
    {revision: 'v1', dtype: 'fp32', use_external_data_format: {'model.onnx': 2}})`, then one call.
Each runner gets its own Chromium on a new temporary profile (launch_persistent_context: storage on disk, as a
user's; Playwright's new_context is an off-the-record profile that keeps storage in memory). A first session
loads on the fresh profile (downloads included); the browser is then closed and started again on the same
profile, and a second session loads again (ours: everything from OPFS; the others: whatever their caches
kept). Within a session the page imports its library, then load and the first run are each one awaited call,
timed in the page; after each, /proc is read: VmHWM (peak resident set) of the largest renderer (the page,
its workers and ONNX Runtime's threads) and of the browser process (Blob storage, the HTTP cache's writer),
the renderer's current VmRSS, and the network and storage services' peaks. The peaks are also given as a
multiple of the model size, and the renderer's as its rise over its level before load. The size of every
WebAssembly.Memory the page or our engine host made (ONNX Runtime's heap, Pyodide's) is read after load: a
wrapper is installed by an init script on the page and, for ours, prepended to engine_worker.mjs through a
Playwright route (the file on disk is unchanged); ours also reports Pyodide's own heap. Ours' ONNX Runtime heap
is not in that row: it lives in ort_worker.mjs, a worker the engine host starts, and Playwright's routes do not
reach a worker's own workers (the renderer's RSS rows include it); for the same reason the forced garbage
collection below does not reach it, so ours' RSS after it still holds what that worker let go of. After the run, a full
garbage collection (Chromium started with --js-flags=--expose-gc: gc() on the page and, for ours, in the
engine host) and a second's wait show what the renderer still holds once nothing references the file's
bytes. The hub's log gives the GETs of model.onnx_data each session made (200: the whole file). Outputs
(last_hidden_state of the one sentence) are compared with bare ORT's. A failure (out of memory, a crashed
renderer, a refused load) is a result: its first line is printed in the table, the whole message on stderr.
Cells are medians over rounds; nothing passes or fails.

    python -m bench.large_model [--rounds 1] [--runners ours,bare ORT,Transformers.js]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.browser import config, load_transformers_js
from bench.report import print_table, save
from bench.startup import peak_mb
from bench.storage import chromium

ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}

ROOT = Path(__file__).resolve().parent.parent
MODEL, REVISION = "test/tiny-bert-1gb", "v1"
BUILT = ROOT / "hub" / MODEL / REVISION
FILES = ("onnx/model.onnx", "onnx/model.onnx_data", "onnx/model.onnx_data_1")
TEXT = "a short sentence"
THREADS = 2
MB = 1 << 20
RUNNERS = {"ours": "ours", "bare ORT": "ort", "Transformers.js": "tjs"}

# Every WebAssembly.Memory made in this realm is kept in self.benchMemories (for their sizes).
WATCH_MEMORY = """(() => {
  const Memory = WebAssembly.Memory, made = [];
  const Watched = function (descriptor) { const memory = new Memory(descriptor); made.push(memory); return memory; };
  Watched.prototype = Memory.prototype;
  WebAssembly.Memory = Watched;
  self.benchMemories = made;
})();
"""

# Imports the runner's library and leaves window.benchLoad / window.benchRun for the timed calls.
PREPARE = """async ([kind, model, revision, text, feeds, threads]) => {
  const origin = location.origin;
  window.benchEvents = [];
  if (kind === 'ours') {
    const { createEngine, runPython } = await import('./engine.mjs');
    window.benchLoad = async () => {
      window.benchEngine = await createEngine({ taskName: 'feature-extraction', modelId: model, modelRevision: revision,
        dtype: 'fp32', numThreads: threads, modelHubRootUrl: origin + '/hub', modelHubUrlTemplate: '{model}/{revision}' },
        (p) => window.benchEvents.push([performance.now(), p.type, p.statusText, p.metadata?.file]));
    };
    window.benchRun = async () => (await window.benchEngine.run({ args: [[text]] })).flat(Infinity);
    window.benchMemory = () => runPython('import js\\n[int(m.buffer.byteLength) for m in js.benchMemories] '
                                         + "if hasattr(js, 'benchMemories') else []");
    window.benchPyodideHeap = () => runPython('import pyodide_js\\nint(pyodide_js._module.HEAPU8.length)');
    window.benchCollect = () => runPython("import js\\njs.gc() if hasattr(js, 'gc') else None");
  } else if (kind === 'tjs') {
    const tjs = window.transformersJs;
    tjs.env.useBrowserCache = true;  // its default; bench/browser.py turns it off for the tokenizer bench
    tjs.env.backends.onnx.wasm.numThreads = threads;
    window.benchLoad = async () => {
      window.benchPipe = await tjs.pipeline('feature-extraction', model,
        { revision, dtype: 'fp32', use_external_data_format: { 'model.onnx': 2 } });
    };
    window.benchRun = async () => Array.from((await window.benchPipe([text])).data);
  } else {
    const ort = await import(origin + '/vendor/ort/ort.wasm.min.mjs');
    ort.env.wasm.wasmPaths = { mjs: origin + '/vendor/ort/ort-wasm-simd-threaded.mjs',
                               wasm: origin + '/vendor/ort/ort-wasm-simd-threaded.wasm' };
    ort.env.wasm.numThreads = threads;
    const base = `${origin}/hub/${model}/${revision}/onnx/`;
    window.benchLoad = async () => {
      window.benchSession = await ort.InferenceSession.create(base + 'model.onnx', { executionProviders: ['wasm'],
        externalData: [{ path: 'model.onnx_data', data: base + 'model.onnx_data' },
                       { path: 'model.onnx_data_1', data: base + 'model.onnx_data_1' }] });
    };
    window.benchRun = async () => {
      const session = window.benchSession, inputs = {};
      for (const name of session.inputNames)
        inputs[name] = new ort.Tensor('int64', BigInt64Array.from(feeds[name], BigInt), [1, feeds[name].length]);
      return Array.from((await session.run(inputs)).last_hidden_state.data);
    };
  }
  window.benchMemory ??= async () => (self.benchMemories ?? []).map((m) => m.buffer.byteLength);
  window.benchPyodideHeap ??= async () => null;
  window.benchCollect ??= async () => null;
}"""

# After the run: a full garbage collection on the page and (ours) in the engine host, then a second's wait.
COLLECT = """async () => {
  window.gc?.();
  await window.benchCollect();
  await new Promise((resolve) => setTimeout(resolve, 1000));
}"""

TIMED = """async (step) => {
  const start = performance.now();
  const value = await (step === 'load' ? window.benchLoad() : window.benchRun());
  const end = performance.now();
  return { ms: end - start, start, value: step === 'run' ? value : null, events: window.benchEvents };
}"""


def model_bytes() -> int:
    """The model's size: the graph and its two external data files."""
    return sum((BUILT / name).stat().st_size for name in FILES)


def token_feeds() -> dict[str, list[int]]:
    """The ids Hugging Face's tokenizer gives for TEXT: bare ORT's inputs."""
    from transformers import AutoTokenizer

    return {k: list(v) for k, v in AutoTokenizer.from_pretrained(str(BUILT))(TEXT).items()}


def rss_mb(pids: set[int]) -> float:
    """The largest current resident set (VmRSS) among `pids`, in MB."""
    sizes = [0.0]
    for pid in pids:
        try:
            sizes += [int(line.split()[1]) / 1024 for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS:")]
        except OSError:
            pass
    return max(sizes)


def snapshot() -> dict[str, float]:
    """Peaks (VmHWM) and current sizes (VmRSS) of this Python process's Chromium processes, in MB."""
    processes = chromium()
    kind = lambda name: {p for p, k in processes.items() if k == name}
    return {"renderer peak": peak_mb(kind("renderer")), "renderer now": rss_mb(kind("renderer")),
            "browser peak": peak_mb(kind("browser")), "browser now": rss_mb(kind("browser")),
            "network peak": peak_mb(kind("network.mojom.NetworkService")),
            "storage peak": peak_mb(kind("storage.mojom.StorageService"))}


def short(error: BaseException | str) -> str:
    """The first line of an error for the table; the whole message goes to stderr."""
    text = str(error)
    print(text, file=sys.stderr)
    return text.strip().splitlines()[0][:120] if text.strip() else type(error).__name__


def session(p: Any, profile: str, server: Any, kind: str, feeds: dict[str, list[int]]) -> dict[str, Any]:
    """Start Chromium on `profile`, load the model with one runner and run it once, close the browser."""
    from playwright.sync_api import Error

    origin, logged = server.origin, len(server.log)

    launch = config().launch_args()
    launch["args"] = [*launch["args"], "--js-flags=--expose-gc"]  # for the garbage collection after the run
    context = p.chromium.launch_persistent_context(profile, **launch)
    result: dict[str, Any] = {}
    try:
        context.add_init_script(WATCH_MEMORY)
        context.route(f"{origin}/large.html", lambda route: route.fulfill(
            body="<!doctype html><title>large model</title>", content_type="text/html", headers=ISOLATION))

        def worker(route: Any) -> None:  # the engine host watches its WebAssembly memories (Pyodide's) too
            response = route.fetch()
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            route.fulfill(status=response.status, headers=headers, body=WATCH_MEMORY + response.text())

        context.route(f"{origin}/engine_worker.mjs", worker)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(30 * 60_000)
        page.goto(f"{origin}/large.html")
        if kind == "tjs":
            load_transformers_js(page, origin)
        page.evaluate(PREPARE, [kind, MODEL, REVISION, TEXT, feeds, THREADS])
        result["before"] = snapshot()
        for step in ("load", "run"):
            try:
                result[step] = page.evaluate(TIMED, step)
            except Error as error:
                result[f"{step} error"] = short(error)
            result[f"after {step}"] = snapshot()
            if f"{step} error" in result:
                break
            if step == "load":
                try:
                    result["memories"] = sorted(page.evaluate("() => window.benchMemory()"), reverse=True)
                    result["pyodide heap"] = page.evaluate("() => window.benchPyodideHeap()")
                except Error as error:
                    short(error)
            else:
                try:
                    page.evaluate(COLLECT)
                    result["after gc"] = snapshot()
                except Error as error:
                    short(error)
    finally:
        try:
            context.close()
        except Error as error:  # a crashed browser
            short(error)
    result["gets"] = [status for method, path, status in server.log[logged:]
                      if method == "GET" and path.endswith("/onnx/model.onnx_data")]
    return result


def files_ready(load: dict[str, Any]) -> float | None:
    """Ours: ms from the start of createEngine to the last file's 'done' notification (all files stored or read)."""
    done = [t for t, _, status, _ in load.get("events", []) if status == "done"]
    return max(done) - load["start"] if done else None


def cells(visit: dict[str, Any], size: int, label: str) -> dict[str, object]:
    """One session's rows, named after `label` (fresh profile / after restart)."""
    model_mb = size / MB
    row: dict[str, object] = {}
    load, run = visit.get("load"), visit.get("run")
    row[f"{label}: error"] = visit.get("load error") or visit.get("run error") or "-"
    row[f"{label}: load (ms)"] = round(load["ms"]) if load else "-"
    ready = files_ready(load) if load else None
    row[f"{label}: of which until all files stored/read (ms)"] = round(ready) if ready is not None else "-"
    row[f"{label}: first run (ms)"] = round(run["ms"]) if run else "-"
    last = visit.get("after run") or visit.get("after load") or {}
    before = visit.get("before", {})
    loaded = visit.get("after load", {})
    if last:
        renderer, browser = last["renderer peak"], last["browser peak"]
        row[f"{label}: renderer RSS before load (MB)"] = round(before.get("renderer now", 0))
        row[f"{label}: peak renderer RSS (MB)"] = round(renderer)
        row[f"{label}: peak renderer RSS (x model size)"] = round(renderer / model_mb, 2)
        row[f"{label}: peak renderer rise over before load (x model size)"] = \
            round((renderer - before.get("renderer now", 0)) / model_mb, 2)
        row[f"{label}: renderer RSS after load (MB)"] = round(loaded.get("renderer now", 0))
        row[f"{label}: renderer RSS after first run (MB)"] = round(last["renderer now"]) if run else "-"
        row[f"{label}: renderer RSS after a forced GC (MB)"] = \
            round(visit["after gc"]["renderer now"]) if "after gc" in visit else "-"
        row[f"{label}: peak browser process RSS (MB)"] = round(browser)
        row[f"{label}: peak browser process RSS (x model size)"] = round(browser / model_mb, 2)
        row[f"{label}: peak network service RSS (MB)"] = round(last["network peak"])
        row[f"{label}: peak storage service RSS (MB)"] = round(last["storage peak"])
    memories = visit.get("memories")
    row[f"{label}: WebAssembly memories after load (MB)"] = \
        " + ".join(str(round(m / MB)) for m in memories) if memories else "-"
    heap = visit.get("pyodide heap")
    row[f"{label}: of which Pyodide's heap (MB)"] = round(heap / MB) if heap else "-"
    row[f"{label}: GETs of model.onnx_data (status)"] = " ".join(str(status) for status in visit.get("gets", [])) or "-"
    return row


def measure(p: Any, server: Any, kind: str, feeds: dict[str, list[int]], size: int) -> dict[str, Any]:
    """A fresh profile: load and run once, restart the browser on the same profile, load and run again."""
    with tempfile.TemporaryDirectory(prefix="bench-large-model-profile-") as profile:
        fresh = session(p, profile, server, kind, feeds)
        warm = session(p, profile, server, kind, feeds)
    row = {**cells(fresh, size, "fresh profile"), **cells(warm, size, "after restart")}
    return {"row": row, "outputs": [v["run"]["value"] if "run" in v else None for v in (fresh, warm)]}


def median(values: list[object]) -> object:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return round(statistics.median(values), 2)
    return " / ".join(dict.fromkeys(map(str, values)))


def largest_difference(output: list[float] | None, reference: list[float] | None) -> str:
    if output is None or reference is None:
        return "-"
    if len(output) != len(reference):
        return f"{len(output)} vs {len(reference)} values"
    return f"{max(abs(a - b) for a, b in zip(output, reference)):.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.large_model")
    parser.add_argument("--rounds", type=int, default=1, help="measurements per runner; medians are printed")
    parser.add_argument("--runners", default=",".join(RUNNERS), help="comma-separated, of: " + ", ".join(RUNNERS))
    args = parser.parse_args()
    names = [n.strip() for n in args.runners.split(",") if n.strip()]
    if unknown := [n for n in names if n not in RUNNERS]:
        raise SystemExit(f"unknown runner(s): {', '.join(unknown)}")
    if not all((BUILT / name).is_file() for name in FILES):
        raise SystemExit(f"{BUILT} is not built: run `python -m tools.build_hub`")
    if not Path(config().EXECUTABLE).exists():
        raise SystemExit(f"{config().EXECUTABLE} is missing: run `make chromium`")
    from playwright.sync_api import sync_playwright

    from tests.conftest import linked_hub
    from tools import serve

    size, feeds = model_bytes(), token_feeds()
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-large-model-") as folder:
        # Transformers.js reads tokenizer_config.json at `main`, as bench/startup.py says
        hub = linked_hub(Path(folder), {f"{MODEL}/{REVISION}": BUILT, f"{MODEL}/main": BUILT})
        server = serve.start(0, hub=hub)
        try:
            for revision in (REVISION, "main"):  # hashed once here (ETag), not during a timed download
                for name in FILES:
                    server.etag(hub / MODEL / revision / name)
            with sync_playwright() as p:
                for _ in range(args.rounds):
                    for name in names:
                        samples[name].append(measure(p, server, RUNNERS[name], feeds, size))
                        print(json.dumps({name: samples[name][-1]["row"]}), flush=True)
        finally:
            server.shutdown()
    columns: dict[str, dict[str, object]] = {}
    for name, runs in samples.items():
        keys = list(dict.fromkeys(k for r in runs for k in r["row"]))
        columns[name] = {k: median([r["row"].get(k, "-") for r in runs]) for k in keys}
    reference = next((s["outputs"][0] for s in samples.get("bare ORT", []) if s["outputs"][0] is not None), None)
    for name, runs in samples.items():
        for i, label in enumerate(("fresh profile", "after restart")):
            columns[name][f"{label}: max |last_hidden_state - bare ORT's|"] = " / ".join(dict.fromkeys(
                largest_difference(s["outputs"][i], reference) for s in runs))
        columns[name]["output values (tokens x hidden)"] = " / ".join(dict.fromkeys(
            str(len(o)) if o is not None else "-" for s in runs for o in s["outputs"]))
    print_table(f"loading {MODEL} {REVISION} ({size:,} bytes = {size / MB:.0f} MB, fp32) in Chromium, "
                f"{THREADS} threads; median of {args.rounds} round(s), each runner on a fresh profile, "
                "then again after a browser restart", columns)
    print(json.dumps({"saved": str(save("large_model", columns))}))


if __name__ == "__main__":
    main()
