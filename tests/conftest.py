"""Shared fixtures: a real HTTP server on loopback serving web/, the settings and a hub folder."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import serve  # noqa: E402

REAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
REAL_REVISION = "v1.0"
HUB = ROOT / "hub"


def linked_hub(folder: Path, links: dict[str, Path]) -> Path:
    """A hub folder whose model revisions are symlinks to built ones (no copies of big files)."""
    for name, target in links.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.symlink_to(target, target_is_directory=True)
    return folder


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The real page and settings; a hub of links to the built model, published as v1.0 and as main."""
    built = HUB / REAL_MODEL / REAL_REVISION
    if not (built / "validation.json").is_file():
        pytest.fail("the local hub is not built: run `make test` (or python -m tools.build_hub)")
    hub = linked_hub(tmp_path_factory.mktemp("hub"), {f"{REAL_MODEL}/{REAL_REVISION}": built,
                                                      f"{REAL_MODEL}/main": built, "test": HUB / "test",
                                                      "categorium": HUB / "categorium",
                                                      "HuggingFaceTB": HUB / "HuggingFaceTB", "openai": HUB / "openai",
                                                      "audio-clips": ROOT / ".cache" / "audio-clips-1"})
    srv = serve.start(0, ROOT / "web", hub)
    yield srv
    srv.shutdown()


@pytest.fixture
def fresh_log(server):
    """The server's request log, emptied, with any fault hook removed afterwards."""
    server.log.clear()
    yield server
    server.hook = None


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    """CPython platform: a new on-disk cache for each test."""
    monkeypatch.setenv("PYODIDE_PKG_STORE_DIR", str(tmp_path / "store"))
    return tmp_path / "store"


@pytest.fixture(autouse=True)
def no_engines_left():
    yield
    from pyodide_pkg import engine

    engine._engines.clear()
    engine._pending.clear()


def run(coro):
    """Run a coroutine to completion; on a worker thread when a loop is already running (Playwright)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def assert_cache_intact(files: list[dict]) -> None:
    """Every stored file (listFiles' records) has the length and sha256 of the hub's copy."""
    import hashlib

    for record in files:
        source = HUB / record["model"] / record["revision"] / record["path"]
        digest = hashlib.sha256()
        with source.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 24), b""):
                digest.update(chunk)
        assert record["headers"]["fileSize"] == source.stat().st_size, record["path"]
        assert record["sha256"] == digest.hexdigest(), record["path"]
