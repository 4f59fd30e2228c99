"""How fast a file reaches the cache through our download path, against plain fetches of the same bytes.

Synthetic files (bench/storage.py's, random bytes cached in .cache/bench-storage/) are served by tools/serve.py,
their digests computed before anything is timed. Each size is downloaded three ways, interleaved, in each kind
of browser profile:
  - plain fetch: `fetch` + `arrayBuffer()` in the page, the floor;
  - fetch + SHA-256: the same, then WebCrypto's digest of the bytes, the floor for a hashed download;
  - ours: `ml_bridge.download` called from Python in the engine host (what `platform.download` runs): the engine
    host's download worker streams the body into an OPFS file and hashes it (web/downloads.mjs: whole once
    written up to WHOLE_HASH, on the way in by hash_worker.mjs above it).
Profiles: "disk" is a persistent profile (launch_persistent_context, like a user's); "incognito" is Playwright's
new_context, whose storage (OPFS included) lives in memory behind IPC, as bench.startup's contexts do. Times are
medians of --rounds downloads; nothing passes or fails on time.

    python -m bench.downloads [--sizes 100,200] [--rounds 3]
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

FLOOR = """async ([url, hash]) => {
  const start = performance.now();
  const bytes = await (await fetch(url, { cache: 'no-store' })).arrayBuffer();
  if (hash) await crypto.subtle.digest('SHA-256', bytes);
  return [performance.now() - start, bytes.byteLength];
}"""

OURS = """async (url) => {
  const { runPython } = await import('./engine.mjs');
  return runPython(`
import js, ml_bridge
start = js.performance.now()
found = await ml_bridge.download(URL, 0, 0, None)
[js.performance.now() - start, found.size, found.sha256]`.replace('URL', JSON.stringify(url)));
}"""

WAYS = ("plain fetch", "fetch + SHA-256", "ours")


def measure(page: Any, url: str, sha256: str, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    page.evaluate("async () => (await import('./engine.mjs')).runPython('1')")  # the host booted, not timed
    for _ in range(rounds):
        for way in WAYS:
            if way == "ours":
                took, size, digest = page.evaluate(OURS, url)
                if digest != sha256:
                    raise SystemExit(f"{url}: our download's sha256 is {digest}, not {sha256}")
            else:
                took, size = page.evaluate(FLOOR, [url, way != "plain fetch"])
            times[way].append(took)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.downloads")
    parser.add_argument("--sizes", default="100,200", help="file sizes in MB, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="downloads per way; medians are printed")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tools import serve

    files = {int(size): synthetic(int(size)) for size in args.sizes.split(",")}
    columns: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-downloads-") as folder:
        hub = Path(folder) / "hub"
        hub.mkdir()
        for path, _ in files.values():
            (hub / path.name).symlink_to(path)
        server = serve.start(0, hub=hub)
        server.precompute_digests()
        try:
            with sync_playwright() as p:
                for profile in ("disk", "incognito"):
                    for size, (path, sha256) in files.items():
                        if profile == "disk":
                            context = p.chromium.launch_persistent_context(f"{folder}/profile-{size}",
                                                                           **config().launch_args())
                        else:
                            browser = p.chromium.launch(**config().launch_args())
                            context = browser.new_context()
                        page = context.new_page()
                        page.goto(f"{server.origin}/blank.html")
                        times = measure(page, f"{server.origin}/hub/{path.name}", sha256, args.rounds)
                        context.close()
                        if profile != "disk":
                            browser.close()
                        column = {f"{way} (ms)": round(statistics.median(t), 1) for way, t in times.items()}
                        column["ours / fetch + SHA-256"] = f"{column['ours (ms)'] / column['fetch + SHA-256 (ms)']:.2f}x"
                        column["ours (MB/s)"] = round(size * (1 << 20) / 1e3 / column["ours (ms)"], 1)
                        columns[f"{profile}, {size} MB"] = column
                        print(json.dumps({f"{profile}, {size} MB": column}), flush=True)
        finally:
            server.shutdown()
    print_table(f"downloads into the cache, Chromium; medians of {args.rounds} per way, interleaved", columns)
    print(json.dumps({"saved": str(save("downloads", columns))}))


if __name__ == "__main__":
    main()
