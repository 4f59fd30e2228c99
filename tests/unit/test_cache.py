"""Cache semantics on the CPython store: header rules, listings, reference-counted deletion."""

import hashlib

import pytest

from pyodide_pkg import platform
from pyodide_pkg.cache import NO_ETAG, Cache
from pyodide_pkg.errors import MLError
from tests.conftest import run


def body_of(data: bytes) -> dict:
    """What a download hands the cache: the body, its size and its sha256."""
    return {"body": data, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


async def filled(cache: Cache) -> Cache:
    for task, model, revision, file, data in [
        ("feature-extraction", "org/a", "v1", "config.json", b"{}"),
        ("feature-extraction", "org/a", "v1", "onnx/model.onnx", b"x" * 100),
        ("feature-extraction", "org/a", "v2", "onnx/model.onnx", b"y" * 50),
        ("summarization", "org/b", "main", "config.json", b"{1}"),
        ("summarization", "org/a", "v1", "config.json", b"{}"),
    ]:
        await cache.put(task=task, model=model, revision=revision, file=file, **body_of(data),
                        headers={"Content-Type": "application/json; charset=utf-8", "X-Secret": "s", "ETag": '"e1"'},
                        engine_id=f"engine-{task}")
    return cache


def test_put_get_and_header_rules(store_dir):
    async def go():
        cache = await Cache.open()
        record = await cache.put(task="t", model="org/m", revision="v1", file="config.json", **body_of(b"abc"),
                                 headers={"Content-Type": "text/plain; charset=utf-8", "Set-Cookie": "no",
                                          "Content-Length": "3", "status": 200}, engine_id="e1")
        assert record["headers"] == {"Content-Type": "text/plain", "Content-Length": "3", "status": 200,
                                     "ETag": NO_ETAG, "fileSize": 3}
        assert record["sha256"] == hashlib.sha256(b"abc").hexdigest()
        assert record["engines"] == ["e1"] and record["lastUsed"] == record["lastUpdated"] > 0
        body, stored = await cache.get_file("org/m", "v1", "config.json")
        assert await platform.read_body(body) == b"abc" and stored["headers"] == record["headers"]
        assert await cache.file_exists("org/m", "v1", "config.json")
        assert not await cache.file_exists("org/m", "v2", "config.json")
        assert await cache.get_file("org/m", "v2", "config.json") is None
    run(go())


def test_persists_on_disk_across_opens(store_dir):
    async def go():
        await filled(await Cache.open())
        again = await Cache.open()
        assert await platform.read_body((await again.get_file("org/b", "main", "config.json"))[0]) == b"{1}"
    run(go())


def test_list_models_and_files(store_dir):
    async def go():
        cache = await filled(await Cache.open())
        models = {(m["name"], m["revision"]): m for m in await cache.list_models()}
        assert set(models) == {("org/a", "v1"), ("org/a", "v2"), ("org/b", "main")}
        assert models[("org/a", "v1")]["size"] == 102 and models[("org/a", "v1")]["files"] == 2
        assert models[("org/a", "v1")]["taskNames"] == ["feature-extraction", "summarization"]
        paths = sorted(f["path"] for f in await cache.list_files(model="org/a", revision="v1"))
        assert paths == ["config.json", "onnx/model.onnx"]
        by_task = sorted((f["model"], f["revision"], f["path"]) for f in await cache.list_files(task="summarization"))
        assert by_task == [("org/a", "v1", "config.json"), ("org/a", "v1", "onnx/model.onnx"), ("org/b", "main", "config.json")]
        with pytest.raises(MLError, match="needs a taskName"):
            await cache.list_files(model="org/a")
    run(go())


def test_delete_by_task_keeps_files_other_tasks_use(store_dir):
    async def go():
        cache = await filled(await Cache.open())
        assert await cache.delete_models(task="summarization") == 1  # only org/b's file had no other task
        assert await cache.file_exists("org/a", "v1", "config.json")
        assert not await cache.file_exists("org/b", "main", "config.json")
        assert await cache.delete_models(task="feature-extraction") == 3
        assert await cache.list_models() == []
    run(go())


def test_delete_by_model_revision_and_keep_revision(store_dir):
    async def go():
        cache = await filled(await Cache.open())
        assert await cache.delete_models(task="feature-extraction", model="org/a", keep_revision="v1") == 1
        assert not await cache.file_exists("org/a", "v2", "onnx/model.onnx")
        assert await cache.file_exists("org/a", "v1", "onnx/model.onnx")
        assert await cache.delete_models(model="org/a", revision="v1") == 2
        assert [m["name"] for m in await cache.list_models()] == ["org/b"]
        with pytest.raises(MLError, match="a revision needs a model"):
            await cache.delete_models(revision="v1")
    run(go())


def test_delete_by_engine(store_dir):
    async def go():
        cache = await filled(await Cache.open())
        await cache.record_use(task="summarization", model="org/a", revision="v1", file="onnx/model.onnx",
                               engine_id="engine-summarization")
        assert await cache.delete_models(engine_id="engine-feature-extraction") == 1  # org/a v2 was its alone
        assert await cache.file_exists("org/a", "v1", "onnx/model.onnx")
        assert await cache.delete_models(engine_id="engine-summarization") == 3
        assert await cache.list_models() == []
    run(go())


def test_delete_everything(store_dir):
    async def go():
        cache = await filled(await Cache.open())
        assert await cache.delete_models() == 4
        assert await cache.list_models() == []
    run(go())
