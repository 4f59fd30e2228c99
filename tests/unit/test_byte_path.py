"""The CPython byte path: downloads stream to a file hashed on the way, the store adopts files instead of
bytes, and a body never outlives its record (replaced, deleted, failed writes, earlier stores migrated)."""

import gc
import hashlib
import json
import sqlite3

import pytest

from pyodide_pkg import platform
from pyodide_pkg.cache import SCHEMA
from pyodide_pkg.platform.cpython import FileBody
from tests.conftest import run
from tools import serve

PAYLOAD = bytes(range(256)) * 20_000  # 5 MB: several reads of the platform's 1 MB chunks


@pytest.fixture
def payload_server(tmp_path):
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "blob.bin").write_bytes(PAYLOAD)
    srv = serve.start(0, tmp_path, hub)
    yield srv
    srv.shutdown()


def test_download_streams_into_a_hashed_file(payload_server, store_dir):
    seen = []
    got = run(platform.download(f"{payload_server.origin}/hub/blob.bin", on_progress=lambda *a: seen.append(a)))
    assert got.ok and got.size == len(PAYLOAD) and got.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert isinstance(got.body, FileBody) and got.body.path.read_bytes() == PAYLOAD
    assert len(seen) >= 5 and [s[0] for s in seen] == sorted(s[0] for s in seen)
    assert seen[-1] == (len(PAYLOAD), seen[-1][1], len(PAYLOAD))
    assert run(platform.read_body(got.body, 256, 512)) == PAYLOAD[256:512]
    path = got.body.path
    del got
    gc.collect()
    assert not path.exists()  # a download nobody stored leaves nothing behind


def test_a_missing_file_has_a_status_and_no_body(payload_server, store_dir):
    got = run(platform.download(f"{payload_server.origin}/hub/nothing.bin"))
    assert got.status == 404 and got.body is None and not (store_dir / "incoming").exists()


def files_of(store_dir):
    return sorted(p.read_bytes() for p in (store_dir / "modelFiles.files").iterdir())


def test_store_adopts_replaces_and_deletes_body_files(payload_server, store_dir):
    async def go():
        store = await platform.open_store("modelFiles", SCHEMA)
        got = await platform.download(f"{payload_server.origin}/hub/blob.bin")
        await store.write([("files", {"id": "a", "data": got.body})], [])
        assert not any((store_dir / "incoming").iterdir()) and files_of(store_dir) == [PAYLOAD]
        await store.write([("files", {"id": "a", "data": b"second"})], [])
        assert files_of(store_dir) == [b"second"]
        assert await platform.read_body(await store.get_body("files", "a")) == b"second"
        with pytest.raises(KeyError):  # the second record has no key: the whole write fails
            await store.write([("files", {"id": "b", "data": b"third"}), ("files", {"data": b"x"})], [])
        assert files_of(store_dir) == [b"second"] and await store.get_body("files", "b") is None
        await store.write([], [("files", "a")])
        assert files_of(store_dir) == [] and await store.get_body("files", "a") is None
    run(go())


def test_a_store_with_bytes_in_its_records_is_moved_to_files(store_dir):
    """Stores written before bodies became files kept bytes in column b: they read back, once moved out."""
    store_dir.mkdir(parents=True)
    db = sqlite3.connect(store_dir / "modelFiles.sqlite")
    db.execute('CREATE TABLE "files" (k TEXT PRIMARY KEY, v TEXT NOT NULL, b BLOB)')
    db.execute('INSERT INTO "files" VALUES (?, ?, ?)', (json.dumps("old"), json.dumps({"id": "old"}), b"old bytes"))
    db.commit()
    db.close()

    async def go():
        store = await platform.open_store("modelFiles", SCHEMA)
        assert await platform.read_body(await store.get_body("files", "old")) == b"old bytes"
        assert files_of(store_dir) == [b"old bytes"]
        assert await platform.read_body(await store.get_body("files", "old")) == b"old bytes"
        assert files_of(store_dir) == [b"old bytes"]
    run(go())
