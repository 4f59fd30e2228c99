"""One place for browser settings: which Chromium, which flags, timeouts. Imported by tests and tools."""

import os

EXECUTABLE = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Without this Chromium keeps looking up Google hosts on a machine with no internet.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
HEADLESS = os.environ.get("HEADED") != "1"
# Booting Pyodide takes ~3 s and a first model download a few more on a 2-core machine.
TIMEOUT_MS = 120_000
BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000/")


def launch_args() -> dict:
    return {"executable_path": EXECUTABLE, "args": ARGS, "headless": HEADLESS}
