"""How the size of each write to an OPFS file changes a download's cost in Chromium.

A synthetic file (bench/storage.py's random bytes, cached in .cache/bench-storage/) is served by tools/serve.py and
fetched in a dedicated worker, as our download worker fetches a graph, three ways, interleaved:
  - fetch only: the body read chunk by chunk and dropped, the floor;
  - one write per chunk: each chunk, as fetch gives it, written at its offset with one
    FileSystemSyncAccessHandle.write() (what web/files.mjs's writeAt did before it sliced);
  - ours: web/files.mjs's writeAt itself, imported by the worker, which writes each chunk in slices of at most
    WRITE_SLICE bytes.
Each is timed from the fetch to the flushed file; "in write()" is the time spent inside the write calls. Profiles:
"disk" is a persistent profile (launch_persistent_context, like a user's); "incognito" is Playwright's new_context,
whose OPFS lives in memory behind IPC. Medians of --rounds; nothing passes or fails on time.

    python -m bench.opfs_writes [--size 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.browser import config
from bench.report import print_table, save
from bench.storage import synthetic

WAYS = {"fetch only": "none", "one write per chunk": "whole", "ours (writeAt)": "ours"}

WORKER = r"""
self.onmessage = async ({ data: { url, way, writeAt: ours } }) => {
  const { writeAt } = await import(ours);
  const root = await navigator.storage.getDirectory();
  const name = `bench-opfs-writes-${way}-${crypto.randomUUID()}`;
  const file = way === "none" ? null : await root.getFileHandle(name, { create: true });
  const access = await file?.createSyncAccessHandle();
  const start = performance.now();
  const reader = (await fetch(url, { cache: "no-store" })).body.getReader();
  let at = 0, writing = 0;
  const sizes = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    sizes.push(value.byteLength);
    const before = performance.now();
    if (way === "whole") access.write(value, { at });
    else if (way === "ours") writeAt(access, value, at, null);
    writing += performance.now() - before;
    at += value.byteLength;
  }
  access?.flush();
  const took = performance.now() - start;
  access?.close();
  if (access) await root.removeEntry(name);
  sizes.sort((a, b) => a - b);
  postMessage({ took, writing, size: at, chunks: sizes.length, medianChunk: sizes[sizes.length >> 1] });
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


def measure(page: Any, url: str, size: int, rounds: int) -> dict[str, object]:
    found: dict[str, dict[str, list[float]]] = {way: {"took": [], "writing": [], "chunks": [], "medianChunk": []}
                                                for way in WAYS}
    ours = page.evaluate("new URL('files.mjs', location.href).href")
    for _ in range(rounds):
        for way, mode in WAYS.items():
            answer = page.evaluate(RUN, [WORKER, {"url": url, "way": mode, "writeAt": ours}])
            if answer["size"] != size:
                raise SystemExit(f"{way}: {answer['size']} bytes arrived, not {size}")
            for key, values in found[way].items():
                values.append(answer[key])
    column: dict[str, object] = {}
    for way, values in found.items():
        column[f"{way} (ms)"] = round(statistics.median(values["took"]), 1)
        if way != "fetch only":
            column[f"{way}: in write() (ms)"] = round(statistics.median(values["writing"]), 1)
    chunks = found["fetch only"]
    column["chunks fetch gave"] = round(statistics.median(chunks["chunks"]))
    column["median chunk (KB)"] = round(statistics.median(chunks["medianChunk"]) / 1024)
    column["ours / one write per chunk"] = f"{column['ours (writeAt) (ms)'] / column['one write per chunk (ms)']:.2f}x"
    return column


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.opfs_writes")
    parser.add_argument("--size", type=int, default=100, help="file size in MB")
    parser.add_argument("--rounds", type=int, default=5, help="downloads per way; medians are printed")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tools import serve

    path, _ = synthetic(args.size)
    columns: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-opfs-writes-") as folder:
        hub = Path(folder) / "hub"
        hub.mkdir()
        (hub / path.name).symlink_to(path)
        server = serve.start(0, hub=hub)
        try:
            with sync_playwright() as p:
                for profile in ("disk", "incognito"):
                    if profile == "disk":
                        context = p.chromium.launch_persistent_context(f"{folder}/profile", **config().launch_args())
                    else:
                        browser = p.chromium.launch(**config().launch_args())
                        context = browser.new_context()
                    page = context.new_page()
                    page.goto(f"{server.origin}/blank.html")
                    column = measure(page, f"{server.origin}/hub/{path.name}", path.stat().st_size, args.rounds)
                    context.close()
                    if profile != "disk":
                        browser.close()
                    columns[f"{profile}, {args.size} MB"] = column
                    print(json.dumps({f"{profile}, {args.size} MB": column}), flush=True)
        finally:
            server.shutdown()
    print_table(f"a download written to OPFS in a worker, Chromium; medians of {args.rounds} per way, interleaved",
                columns)
    print(json.dumps({"saved": str(save("opfs_writes", columns))}))


if __name__ == "__main__":
    main()
