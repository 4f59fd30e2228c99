"""How the size of each write to an OPFS file changes what writing a download costs in Chromium.

A synthetic file (bench/storage.py's random bytes, cached in .cache/bench-storage/) is served by tools/serve.py and
fetched by a dedicated worker, as our download worker fetches a graph, which writes each chunk fetch gives it to a
new OPFS file through a FileSystemSyncAccessHandle, then flushes and closes it. Each download is the first of a
new persistent profile (launch_persistent_context, on disk, like a user's first visit, as bench.startup's fresh
profiles): later downloads in the same profile wrote large buffers as fast as small ones. Ways, interleaved:
  - one write() per chunk, as fetch gives them (what web/files.mjs's writeAt did with any chunk);
  - ours: web/files.mjs's writeAt itself, imported by the worker, which writes a chunk in slices of at most
    WRITE_SLICE bytes.
Timed from the fetch to the closed file, and inside the write() calls; fetch's chunk sizes are reported too (they
vary with how busy the process is). Medians of --rounds; nothing passes or fails on time.

    python -m bench.opfs_writes [--size 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench.browser import config
from bench.report import print_table, save
from bench.storage import synthetic

WAYS = {"one write per chunk": "write", "ours (writeAt)": "writeAt"}

WORKER = r"""
self.onmessage = async ({ data: { url, how, writeAt: ours } }) => {
  const { writeAt } = await import(ours);
  const root = await navigator.storage.getDirectory();
  const access = await (await root.getFileHandle("bench-opfs-writes", { create: true })).createSyncAccessHandle();
  const start = performance.now();
  const reader = (await fetch(url, { cache: "no-store" })).body.getReader();
  let at = 0, writing = 0;
  const sizes = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    sizes.push(value.byteLength);
    const before = performance.now();
    if (how === "writeAt") writeAt(access, value, at, null);
    else if (access.write(value, { at }) !== value.byteLength) throw new Error(`short write at ${at}`);
    writing += performance.now() - before;
    at += value.byteLength;
  }
  access.flush();
  access.close();
  sizes.sort((a, b) => a - b);
  postMessage({ took: performance.now() - start, writing, size: at, medianChunk: sizes[sizes.length >> 1],
                largestChunk: sizes[sizes.length - 1] });
};"""

RUN = """async ([code, message]) => {
  const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
  try {
    return await new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => resolve(data);
      worker.onerror = (event) => reject(new Error(event.message));
      worker.postMessage(message);
    });
  } finally {
    worker.terminate();
  }
}"""

KEYS = {"took": "{} (ms)", "writing": "{}: in write() (ms)", "medianChunk": "{}: median chunk (KB)",
        "largestChunk": "{}: largest chunk (KB)"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.opfs_writes")
    parser.add_argument("--size", type=int, default=100, help="file size in MB")
    parser.add_argument("--rounds", type=int, default=5, help="downloads per way, each on a new profile")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tools import serve

    path, _ = synthetic(args.size)
    found: dict[str, dict[str, list[float]]] = {way: {key: [] for key in KEYS} for way in WAYS}
    with tempfile.TemporaryDirectory(prefix="bench-opfs-writes-") as folder:
        hub = Path(folder) / "hub"
        hub.mkdir()
        (hub / path.name).symlink_to(path)
        server = serve.start(0, hub=hub)
        try:
            with sync_playwright() as p:
                for round_ in range(args.rounds):
                    for way, how in WAYS.items():
                        context = p.chromium.launch_persistent_context(f"{folder}/profile-{round_}-{how}",
                                                                       **config().launch_args())
                        page = context.new_page()
                        page.goto(f"{server.origin}/blank.html")
                        ours = page.evaluate("new URL('files.mjs', location.href).href")
                        answer = page.evaluate(RUN, [WORKER, {"url": f"{server.origin}/hub/{path.name}", "how": how,
                                                              "writeAt": ours}])
                        context.close()
                        if answer["size"] != path.stat().st_size:
                            raise SystemExit(f"{way}: {answer['size']} bytes arrived, not {path.stat().st_size}")
                        for key, values in found[way].items():
                            values.append(answer[key])
                        print(json.dumps({way: answer}), flush=True)
        finally:
            server.shutdown()
    column: dict[str, object] = {}
    for way, values in found.items():
        for key, label in KEYS.items():
            scale = 1024 if key.endswith("Chunk") else 1
            column[label.format(way)] = round(statistics.median(values[key]) / scale, 1)
    first, second = (column[KEYS["writing"].format(way)] for way in WAYS)
    column["in write(), ours / one write per chunk"] = f"{second / first:.2f}x"
    columns = {f"first download of a profile, {args.size} MB": column}
    print_table(f"a download written to OPFS in a worker, Chromium; medians of {args.rounds} per way, interleaved",
                columns)
    print(json.dumps({"saved": str(save("opfs_writes", columns))}))


if __name__ == "__main__":
    main()
