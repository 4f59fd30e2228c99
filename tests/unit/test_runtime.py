"""The runtime binary's step: its warm-up graph, written by hand as protobuf (Pyodide has no onnx package), so it
is checked here by onnx itself and run by onnxruntime, as ONNX Runtime Web runs it before a model's session; and
what Python hands ONNX Runtime's worker, with the browser platform's calls recorded."""

import asyncio
import hashlib

import numpy as np
import onnx
import onnxruntime
import pytest

from pyodide_pkg import platform, runtime
from pyodide_pkg.cache import Cache
from pyodide_pkg.errors import BackendError
from pyodide_pkg.model_files import fetch_cached
from pyodide_pkg.runtime import WASM_NAME, warmup_graph
from tests.conftest import ROOT, run
from tools import serve


def test_the_warmup_graph_is_a_valid_model_that_onnxruntime_runs():
    model = onnx.load_from_string(warmup_graph())
    onnx.checker.check_model(model, full_check=True)
    assert [n.op_type for n in model.graph.node] == ["Identity"]
    session = onnxruntime.InferenceSession(warmup_graph(), providers=["CPUExecutionProvider"])
    x = np.array([2.5], dtype=np.float32)
    assert session.run(None, {"x": x})[0].tolist() == x.tolist()


@pytest.fixture
def runtime_server(tmp_path):
    """The vendored runtime binary behind a loopback server, and its record as ml-onnx-runtime states it."""
    folder = tmp_path / "web"
    (folder / "ort").mkdir(parents=True)
    binary = (ROOT / "web" / "vendor" / "ort" / WASM_NAME).read_bytes()
    (folder / "ort" / WASM_NAME).write_bytes(binary)
    srv = serve.start(0, folder, tmp_path / "hub")
    record = {"name": WASM_NAME, "version": "1", "sha256": hashlib.sha256(binary).hexdigest(),
              "url": f"{srv.origin}/ort/{WASM_NAME}"}
    yield srv, record
    srv.shutdown()


def test_the_runtime_binary_is_kept_by_the_http_cache_and_started_with_its_url(runtime_server, store_dir,
                                                                               monkeypatch):
    """ONNX Runtime's worker compiles the binary from the browser's HTTP cache, where only the runtime's own
    download leaves it (model files bypass that cache), and falls back to the cached copy it is also given. The
    first start, with no copy yet, is from the network (no body), and is then given the copy (its warm-start plan
    names it)."""
    srv, record = runtime_server
    downloads, starts = [], []
    real_download = platform.download

    async def download(url, *args, **kwargs):
        downloads.append((url, kwargs.get("http_cache", False)))
        return await real_download(url, *args, **kwargs)

    async def started():
        return None

    monkeypatch.setattr(platform, "RUNTIME_BINARY", True)
    monkeypatch.setattr(platform, "download", download)
    monkeypatch.setattr(platform, "runtime_running", lambda: False, raising=False)  # the browser's alone
    monkeypatch.setattr(platform, "init_runtime", lambda *args: starts.append(args) or started(), raising=False)
    monkeypatch.setattr(runtime, "_initialised", None)

    async def twice():
        cache = await Cache.open()
        await runtime.ensure_runtime([record], cache, 2)
        runtime._initialised = None  # a new page: the binary is in the cache, the runtime is not started
        await runtime.ensure_runtime([record], cache, 2)
        model = await fetch_cached(cache, f"{srv.origin}/ort/{WASM_NAME}", model="org/m", revision="v1",
                                   file="onnx/model.onnx", task="feature-extraction", engine_id="e", notify=None)
        return [await platform.read_body(body) for body, *_ in starts[1:]], await platform.read_body(model)

    bodies, model = run(twice())
    assert downloads == [(record["url"], True), (record["url"], False)]
    assert starts[0][0] is None
    assert [args[1:] for args in starts] == [(record["url"], 2, runtime.warmup_graph(), record["sha256"])] * 3
    assert [hashlib.sha256(body).hexdigest() for body in bodies] == [record["sha256"]] * 2
    assert model == bodies[0]


@pytest.mark.parametrize("network", ["up", "failed"])
def test_a_first_start_is_from_the_network_and_a_failed_one_starts_from_the_copy(runtime_server, store_dir,
                                                                                 monkeypatch, network):
    """Sessions are asked for (`starting`) once the start from the network is up; when it fails (e.g. the
    network, or a cross-origin binary served without CORS headers, which the worker cannot read), the copy its
    download stored is started instead, and the engine does not fail."""
    srv, record = runtime_server
    starts, seen = [], []

    def init_runtime(wasm, *args):
        starts.append(wasm)
        seen.append(starting.is_set())  # as the start is posted

        async def start():
            if wasm is None and network == "failed":
                raise BackendError("ONNX Runtime Web could not start: TypeError: Failed to fetch")
        return start()

    monkeypatch.setattr(platform, "RUNTIME_BINARY", True)
    monkeypatch.setattr(platform, "runtime_running", lambda: False, raising=False)
    monkeypatch.setattr(platform, "init_runtime", init_runtime, raising=False)
    monkeypatch.setattr(runtime, "_initialised", None)
    starting = asyncio.Event()

    async def first():
        return await runtime.ensure_runtime([record], await Cache.open(), 2, starting=starting)

    assert run(first()) == record
    assert starts[0] is None and starts[1] is not None and len(starts) == 2
    assert seen == [False, network == "up"] and starting.is_set()
    assert runtime._initialised == record["sha256"]
