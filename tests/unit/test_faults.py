"""Faults injected through the loopback hub under CPython: each gives a named error naming the file, leaves
every cached file equal to the hub's, and the next attempt works."""

import random

import pytest

import pyodide_pkg
from pyodide_pkg.errors import DownloadError, IntegrityError, ModelError
from tests.conftest import HUB, assert_cache_intact, run

MODEL, REVISION = "test/tiny-bert-feature-extraction", "v1"
GRAPH = "onnx/model_quantized.onnx"


def options(server):
    return {"taskName": "feature-extraction", "modelId": MODEL, "modelRevision": REVISION, "dtype": "q8",
            "settingsBaseUrl": f"{server.origin}/settings", "numThreads": 1}


def real(path: str) -> bytes:
    return (HUB / MODEL / REVISION / path).read_bytes()


def garbage(length: int) -> bytes:
    return random.Random(0).randbytes(length)


def faulty(path: str, answer, times: int | None = None):
    """A hook answering GETs of `path` with `answer(bytes)` (a hook reply), `times` times or always."""
    served = [0]

    def hook(method, url):
        if method == "GET" and url == f"/hub/{MODEL}/{REVISION}/{path}" and (times is None or served[0] < times):
            served[0] += 1
            return answer(real(path))
        return None
    return hook


def attempt(server):
    async def go():
        engine = await pyodide_pkg.create_engine(options(server))
        try:
            return await engine.run({"args": [["one sentence"]]})
        finally:
            await engine.terminate()
    return run(go())


def cached():
    return run(pyodide_pkg.list_files(MODEL, REVISION))


CELLS = {
    "truncated, with its Content-Length": (GRAPH, lambda b: (200, b[: len(b) // 2], {"Content-Length": str(len(b))}),
                                           DownloadError, "model_quantized.onnx: the connection ended after"),
    "wrong bytes, the hub's hash stated": (GRAPH, lambda b: (200, garbage(len(b)), {"X-Linked-Etag": None}),
                                           ModelError, "@v1: onnx/model_quantized.onnx: "),
    "truncated, no Content-Length, no hash": (GRAPH, lambda b: (200, b[: len(b) // 2], {"Content-Length": None}),
                                              ModelError, "model_quantized.onnx"),
    "corrupt tokenizer.json": ("tokenizer.json", lambda b: (200, b[:-40], {}),
                               ModelError, "test/tiny-bert-feature-extraction@v1: tokenizer files tokenizer.json"),
    "corrupt config.json": ("config.json", lambda b: (200, b"{not json", {}),
                            ModelError, "config.json is not valid JSON"),
}


@pytest.mark.parametrize("cell", list(CELLS))
def test_a_bad_file_is_never_kept(fresh_log, store_dir, cell):
    path, answer, error, message = CELLS[cell]
    expected = attempt(fresh_log)
    run(pyodide_pkg.delete_models(MODEL, REVISION))
    fresh_log.hook = faulty(path, answer)
    with pytest.raises(error, match=message):
        attempt(fresh_log)
    assert_cache_intact(cached())
    assert path not in {f["path"] for f in cached()}
    fresh_log.hook = None
    assert attempt(fresh_log) == expected
    assert_cache_intact(cached())


def test_the_hubs_stated_hash_is_checked_before_caching(fresh_log, store_dir):
    def wrong_with_hash(body):
        import hashlib
        return 200, garbage(len(body)), {"X-Linked-Etag": f'"{hashlib.sha256(body).hexdigest()}"'}
    fresh_log.hook = faulty(GRAPH, wrong_with_hash)
    with pytest.raises(IntegrityError, match=r"sha256 mismatch for .*model_quantized.onnx: the hub states"):
        attempt(fresh_log)
    assert GRAPH not in {f["path"] for f in cached()}
    assert_cache_intact(cached())


def test_one_bad_transfer_is_mended_by_the_second_fetch(fresh_log, store_dir):
    fresh_log.hook = faulty(GRAPH, lambda b: (200, garbage(len(b)), {"X-Linked-Etag": None}), times=1)
    assert attempt(fresh_log)
    assert fresh_log.requests("GET", f"/hub/{MODEL}/{REVISION}/{GRAPH}").count(f"/hub/{MODEL}/{REVISION}/{GRAPH}") == 2
    assert_cache_intact(cached())


def cut_once(body: bytes):
    """The first answer dies half-way, from a server that takes ranges."""
    return 200, body[: len(body) // 2], {"Content-Length": str(len(body)), "Accept-Ranges": "bytes", "ETag": '"v1"'}


def test_a_download_cut_off_resumes_where_it_stopped(fresh_log, store_dir):
    fresh_log.hook = faulty(GRAPH, cut_once, times=1)
    assert attempt(fresh_log)
    url = f"/hub/{MODEL}/{REVISION}/{GRAPH}"
    assert fresh_log.requests("GET", url) == [url, url]
    assert [s for m, p, s in fresh_log.log if p == url] == [200, 206]
    assert_cache_intact(cached())


def test_a_cached_model_starts_with_the_hub_out_of_reach(fresh_log, store_dir):
    """The model has no sentence_bert_config.json (an optional file): the hub's 404 is remembered, so the
    second start asks the hub for nothing and needs it for nothing; deleting the model forgets the absence."""
    optional = f"/hub/{MODEL}/{REVISION}/sentence_bert_config.json"
    assert not (HUB / MODEL / REVISION / "sentence_bert_config.json").exists()
    first = attempt(fresh_log)
    assert fresh_log.requests("GET", optional) == [optional]
    assert "sentence_bert_config.json" not in {f["path"] for f in cached()}
    fresh_log.log.clear()
    fresh_log.hook = lambda method, url: (503, b"down", {}) if url.startswith("/hub/") else None
    assert attempt(fresh_log) == first
    assert fresh_log.requests(prefix="/hub/") == []
    assert run(_absent(MODEL, REVISION, "sentence_bert_config.json"))
    run(pyodide_pkg.delete_models(MODEL, REVISION))
    assert not run(_absent(MODEL, REVISION, "sentence_bert_config.json"))
    with pytest.raises(DownloadError, match="HTTP 503"):
        attempt(fresh_log)


async def _absent(model: str, revision: str, file: str) -> bool:
    from pyodide_pkg.cache import Cache

    return await (await Cache.open()).is_absent(model, revision, file)
