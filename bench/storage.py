"""Where model file bodies should live in Chromium: IndexedDB Blobs or the Origin Private File System.

Synthetic files of 100 MB, 500 MB and 1 GB (MB = 2**20 bytes; random bytes, numpy's default_rng(0), cached in
.cache/bench-storage/) are served from a temporary hub by tools/serve.py (cross-origin isolated). A dedicated
module Worker, as our engine host is (bench/storage_worker.mjs), fetches one and reads the body chunk by chunk,
hashing each chunk with hash-wasm's incremental SHA-256, and stores it one of these ways:
  - IDB Blob, 16 MB parts: the chunks become a Blob every 16 MB, the parts one Blob at the end, put as
    {id, data: blob} in an object store in one readwrite transaction (timed to `complete`);
  - IDB Blob, one Blob: the same, but every chunk is kept until a single `new Blob(chunks)` at the end;
  - OPFS sync handle: each chunk written at its offset with a FileSystemSyncAccessHandle, flushed and closed,
    and a metadata record put in IndexedDB;
  - fetch + hash only: nothing stored, the floor the others are compared with.
The browser is then closed and started again on the same profile, and a new worker reads the file back whole
(IDB: get → blob.arrayBuffer(); OPFS: getFile() → arrayBuffer()) and checks its length and first/last bytes.
Each mechanism × size gets its own browser on a new temporary profile (launch_persistent_context: on disk,
like a user's; Playwright's new_context would be an off-the-record profile, storage in memory), so the peak
memory figures are high-water marks of that measurement alone: VmHWM (/proc) of the main browser process
(which holds Blob storage), of the largest renderer (the page and its worker), of the network service and of
the storage service. "idle" is a peak read after the blank page loaded, before the worker started; "RSS 2 s
after" is the browser's current resident set 2 s after the worker answered and was terminated. Times are
measured in the worker from the message to the answer; the write includes the download from 127.0.0.1, in
fetch's default cache mode as the engine's (Chromium's HTTP cache writes the first ~160 MB of each download
to the profile too, then gives up on it). A failure (QuotaExceededError, NotReadableError, a crashed
renderer...) is a result: its name is printed in the table, its message on stderr. Cells are medians over
rounds.

    python -m bench.storage [--sizes 100,500,1000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench.browser import config
from bench.report import print_table, save
from bench.startup import peak_mb, renderers

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench-storage"
HASH_WASM = ROOT / "node_modules" / "hash-wasm" / "dist" / "index.esm.min.js"
MB = 1 << 20
MECHANISMS = {"IDB Blob, 16 MB parts": "idb-parts", "IDB Blob, one Blob": "idb-one",
              "OPFS sync handle": "opfs", "fetch + hash only": "none"}

# Runs one message in a new storage worker and resolves with its answer.
RUN = """(message) => new Promise((resolve) => {
  const worker = new Worker('storage_worker.mjs', { type: 'module' });
  worker.onmessage = ({ data }) => { worker.terminate(); resolve({ ...data, isolated: crossOriginIsolated }); };
  worker.onerror = (event) => resolve({ error: `worker: ${event.message}` });
  worker.postMessage(message);
})"""


def synthetic(megabytes: int) -> tuple[Path, str]:
    """The cached random file of `megabytes` MB (made if missing) and its SHA-256."""
    import numpy as np

    path, size = CACHE / f"random-{megabytes}MB.bin", megabytes * MB
    digest = hashlib.sha256()
    if path.is_file() and path.stat().st_size == size:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(64 * MB), b""):
                digest.update(chunk)
        return path, digest.hexdigest()
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with path.open("wb") as f:
        for start in range(0, size, 64 * MB):
            piece = rng.integers(0, 256, min(64 * MB, size - start), dtype=np.uint8).tobytes()
            digest.update(piece)
            f.write(piece)
    return path, digest.hexdigest()


def chromium() -> dict[int, str]:
    """Chromium processes this Python process started (read from /proc), by pid: "browser" for the main
    process, a utility's --utility-sub-type= (network.mojom.NetworkService...), else --type= (renderer...)."""
    parents, kinds = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            parents[pid] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if os.path.basename(os.readlink(stat.parent / "exe")) in ("chromium", "chrome"):
                args = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").split()  # children retitle
                flags = dict(a[2:].decode().split("=", 1) for a in args if a.startswith((b"--type=", b"--utility-sub-type=")))
                kinds[pid] = flags.get("utility-sub-type", flags.get("type", "browser"))
        except (OSError, ValueError, IndexError):
            pass
    mine, me = {}, os.getpid()
    for pid, kind in kinds.items():
        ancestor = pid
        while ancestor > 1 and ancestor != me:
            ancestor = parents.get(ancestor, 0)
        if ancestor == me:
            mine[pid] = kind
    return mine


def peaks() -> dict[str, float]:
    """Peak resident set (VmHWM, MB) of the browser process, the largest renderer, the network and the storage service."""
    processes = chromium()
    return {"browser": peak_mb({p for p, k in processes.items() if k == "browser"}),
            "renderer": peak_mb(renderers()),
            "network": peak_mb({p for p, k in processes.items() if k == "network.mojom.NetworkService"}),
            "storage": peak_mb({p for p, k in processes.items() if k == "storage.mojom.StorageService"})}


def browser_rss_mb() -> float:
    """The current resident set (VmRSS) of the browser process, in MB."""
    for pid in [p for p, k in chromium().items() if k == "browser"]:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def session(p: Any, profile: str, origin: str, message: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float], dict[str, float]]:
    """Start Chromium on `profile`, run `message` in a storage worker on a blank page, close it: (the worker's
    answer, peaks before the worker started, peaks after it answered and the browser's RSS 2 s after that)."""
    from playwright.sync_api import Error

    context = p.chromium.launch_persistent_context(profile, **config().launch_args())
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{origin}/index.html")
        idle = peaks()
        try:
            answer = page.evaluate(RUN, message)
        except Error as error:  # e.g. the renderer ran out of memory
            answer = {"error": f"page: {str(error).splitlines()[0]}"}
        after = peaks()
        page.wait_for_timeout(2000)  # the worker was terminated: is the browser still holding the bytes?
        return answer, idle, {**after, "browser now": browser_rss_mb()}
    finally:
        context.close()


def failure(answer: dict[str, Any]) -> str:
    """The error's name for the table ("-" if none); the whole message goes to stderr."""
    if "error" not in answer:
        return "-"
    print(answer["error"], file=sys.stderr)
    return answer["error"].split(":")[0]


def measure(p: Any, origin: str, mechanism: str, megabytes: int, path: Path, sha256: str) -> dict[str, object]:
    """Write then (after a restart) read one file with one mechanism on a new profile: one column's cells."""
    size, url = megabytes * MB, f"{origin}/hub/{path.name}"
    with path.open("rb") as f:
        head = list(f.read(16))
        f.seek(size - 16)
        tail = list(f.read(16))
    with tempfile.TemporaryDirectory(prefix="bench-storage-profile-") as profile:
        wrote, idle, written = session(p, profile, origin, {"op": "write", "mechanism": mechanism, "url": url, "id": path.name})
        row: dict[str, object] = {
            "write error": failure(wrote),
            "write (s)": round(wrote["seconds"], 2) if "error" not in wrote else "-",
            "write (MB/s)": round(megabytes / wrote["seconds"], 1) if "error" not in wrote else "-",
            "sha256 correct": wrote.get("sha256") == sha256 and wrote.get("size") == size,
            "storage usage after write (MB)": round(wrote["usage"] / MB, 1) if "usage" in wrote else "-",
            "storage quota reported (MB)": round(wrote["quota"] / MB) if "quota" in wrote else "-",
            "idle browser process RSS (MB)": round(idle["browser"]),
            "idle renderer RSS (MB)": round(idle["renderer"]),
            "write: peak browser process RSS (MB)": round(written["browser"]),
            "write: peak renderer RSS (MB)": round(written["renderer"]),
            "write: browser process RSS 2 s after (MB)": round(written["browser now"]),
            "write: peak network service RSS (MB)": round(written["network"]),
            "write: peak storage service RSS (MB)": round(written["storage"]),
        }
        if not wrote.get("isolated", True):
            row["write error"] = "page not cross-origin isolated"
        if mechanism == "none" or "error" in wrote:
            return row
        read, _, reading = session(p, profile, origin, {"op": "read", "mechanism": mechanism, "id": path.name,
                                                          "size": size, "head": head, "tail": tail})
        row.update({
            "read error": failure(read),
            "read after restart (s)": round(read["seconds"], 2) if "error" not in read else "-",
            "read (MB/s)": round(megabytes / read["seconds"], 1) if "error" not in read else "-",
            "read: length and bytes correct": bool(read.get("ok")),
            "read: peak browser process RSS (MB)": round(reading["browser"]),
            "read: peak renderer RSS (MB)": round(reading["renderer"]),
            "read: peak network service RSS (MB)": round(reading["network"]),
            "read: peak storage service RSS (MB)": round(reading["storage"]),
        })
    return row


def median(values: list[object]) -> object:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return round(statistics.median(values), 2)
    return " / ".join(dict.fromkeys(map(str, values)))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storage")
    parser.add_argument("--sizes", default="100,500,1000", help="file sizes in MB, comma-separated")
    parser.add_argument("--rounds", type=int, default=1, help="measurements per mechanism and size; medians are printed")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if not Path(config().EXECUTABLE).exists():
        raise SystemExit(f"{config().EXECUTABLE} is missing: run `make chromium`")
    from playwright.sync_api import sync_playwright

    from tools.serve import Server

    files = {size: synthetic(size) for size in sizes}
    columns: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as folder:
        web, hub = Path(folder) / "web", Path(folder) / "hub"
        web.mkdir()
        hub.mkdir()
        (web / "index.html").write_text("<!doctype html><title>storage</title>")
        shutil.copy(Path(__file__).with_name("storage_worker.mjs"), web)
        shutil.copy(HASH_WASM, web)
        server = Server(0, web, hub)
        for path, _ in files.values():
            (hub / path.name).symlink_to(path)
            server.etag(hub / path.name)  # hashed once here, not during the first timed download
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                for size, (path, sha256) in files.items():
                    for name, mechanism in MECHANISMS.items():
                        rows = [measure(p, server.origin, mechanism, size, path, sha256) for _ in range(args.rounds)]
                        keys = list(dict.fromkeys(k for r in rows for k in r))
                        columns[f"{name}, {size} MB"] = {k: median([r.get(k, "-") for r in rows]) for k in keys}
                        print(json.dumps({f"{name}, {size} MB": columns[f"{name}, {size} MB"]}), flush=True)
        finally:
            server.shutdown()
    for size in sizes:
        print()
        print_table(f"model file storage in Chromium, {size} MB file, {args.rounds} round(s), "
                    "each write and read on a fresh browser", {k: v for k, v in columns.items() if k.endswith(f", {size} MB")})
    print(json.dumps({"saved": str(save("storage", columns))}))


if __name__ == "__main__":
    main()
