"""Cache-or-download against a real loopback hub: revalidation, failures, notifications."""

import asyncio
import json

import pytest

from pyodide_pkg.cache import Cache
from pyodide_pkg.errors import DownloadError, HubError, IntegrityError
from pyodide_pkg.hub import ModelHub
from pyodide_pkg.model_files import FileSource
from tests.conftest import run
from tools import serve


@pytest.fixture
def tiny_hub(tmp_path):
    hub = tmp_path / "hub"
    for revision in ("main", "v1"):
        folder = hub / "org" / "tiny" / revision
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"revision": revision}))
        (folder / "onnx").mkdir()
        (folder / "onnx" / "model.onnx").write_bytes(bytes(range(256)) * 4096)
    srv = serve.start(0, tmp_path, hub)
    yield srv, hub
    srv.shutdown()


def source(srv, notes, allow=True):
    allow_deny = [{"filter": "ALLOW", "urlPrefix": f"{srv.origin}/hub/"}] if allow else []
    async def make():
        return FileSource(ModelHub(f"{srv.origin}/hub", "{model}/{revision}"), await Cache.open(), allow_deny,
                          "feature-extraction", "e1", notes.append)
    return run(make())


def kinds(notes):
    return [(n["type"], n["statusText"]) for n in notes]


def test_pinned_revision_downloads_once_and_never_sends_head(tiny_hub, store_dir):
    srv, _ = tiny_hub
    notes = []
    files = source(srv, notes)
    data = run(files.get("org/tiny", "v1", "onnx/model.onnx"))
    assert len(data) == 256 * 4096
    download = kinds(notes)
    assert download[0] == ("downloading", "initiate") and download[1] == ("downloading", "size_estimate")
    assert download[-1] == ("downloading", "done") and ("downloading", "in_progress") in download
    assert notes[-1]["ok"] and notes[-1]["total"] == len(data) and notes[-1]["units"] == "bytes"
    assert notes[0]["metadata"] == {"model": "org/tiny", "revision": "v1", "file": "onnx/model.onnx",
                                    "url": f"{srv.origin}/hub/org/tiny/v1/onnx/model.onnx", "taskName": "feature-extraction"}
    notes.clear()
    assert run(files.get("org/tiny", "v1", "onnx/model.onnx")) == data
    assert kinds(notes) == [("loading_from_cache", "initiate"), ("loading_from_cache", "done")]
    assert srv.requests("GET", "/hub") == ["/hub/org/tiny/v1/onnx/model.onnx"]
    assert srv.requests("HEAD") == []


def test_main_revalidates_with_etag(tiny_hub, store_dir):
    srv, hub = tiny_hub
    notes = []
    files = source(srv, notes)
    assert json.loads(run(files.get("org/tiny", "main", "config.json"))) == {"revision": "main"}
    assert json.loads(run(files.get("org/tiny", "main", "config.json"))) == {"revision": "main"}
    assert srv.requests("HEAD") == ["/hub/org/tiny/main/config.json"]
    assert len(srv.requests("GET", "/hub")) == 1
    (hub / "org" / "tiny" / "main" / "config.json").write_text(json.dumps({"revision": "main", "changed": True}))
    assert json.loads(run(files.get("org/tiny", "main", "config.json")))["changed"] is True
    assert len(srv.requests("GET", "/hub")) == 2


def test_main_keeps_cached_file_when_hub_unreachable(tiny_hub, store_dir):
    srv, _ = tiny_hub
    notes = []
    files = source(srv, notes)
    first = run(files.get("org/tiny", "main", "config.json"))
    srv.shutdown()
    srv.server_close()
    notes.clear()
    assert run(files.get("org/tiny", "main", "config.json")) == first
    assert kinds(notes) == [("loading_from_cache", "initiate"), ("loading_from_cache", "done")]


def test_failed_download_names_url_reports_and_caches_nothing(tiny_hub, store_dir):
    srv, _ = tiny_hub
    notes = []
    files = source(srv, notes)
    with pytest.raises(DownloadError, match=r"could not download .*/org/tiny/v1/missing.json: HTTP 404"):
        run(files.get("org/tiny", "v1", "missing.json"))
    assert notes[-1]["statusText"] == "done" and notes[-1]["ok"] is False
    srv.hook = lambda method, path: (500, b"boom") if path.endswith("config.json") else None
    with pytest.raises(DownloadError, match="HTTP 500"):
        run(files.get("org/tiny", "v1", "config.json"))
    assert run(files.cache.list_models()) == []
    srv.hook = None
    assert run(files.get("org/tiny", "v1", "config.json"))  # nothing stuck: the next try works


def test_hash_mismatch_is_refused_and_not_cached(tiny_hub, store_dir):
    srv, _ = tiny_hub
    files = source(srv, [])
    with pytest.raises(IntegrityError, match=r"sha256 mismatch for .*config.json: expected 00+"):
        run(files.get("org/tiny", "v1", "config.json", sha256="0" * 64))
    assert not run(files.cache.file_exists("org/tiny", "v1", "config.json"))


def test_disallowed_url_sends_nothing(tiny_hub, store_dir):
    srv, _ = tiny_hub
    files = source(srv, [], allow=False)
    with pytest.raises(HubError, match="not allowed by ml-model-allow-deny-list"):
        run(files.get("org/tiny", "v1", "config.json"))
    with pytest.raises(HubError, match="invalid revision"):
        run(files.get("org/tiny", "v1/../../x", "config.json"))
    assert srv.log == []



def test_an_absent_optional_file_is_asked_for_once_however_many_ask(tiny_hub, store_dir, monkeypatch):
    """Asks arriving while the hub's 404 is being remembered share that step (the race that once fetched
    sentence_bert_config.json twice for two engines); a required ask among them still gets its error."""
    srv, _ = tiny_hub
    writing = asyncio.Event()
    remember = Cache.put_absent

    async def slow_remember(self, **record):
        writing.set()
        await asyncio.sleep(0.3)
        await remember(self, **record)
    monkeypatch.setattr(Cache, "put_absent", slow_remember)

    async def asks():
        one, two, three = [await source_in_loop(srv, engine) for engine in ("e1", "e2", "e3")]
        first = asyncio.ensure_future(one.body("org/tiny", "v1", "absent.json", optional=True))
        await writing.wait()
        return await asyncio.gather(first, two.body("org/tiny", "v1", "absent.json", optional=True),
                                    three.body("org/tiny", "v1", "absent.json"), return_exceptions=True)
    first, second, required = run(asks())
    assert first is None and second is None
    assert isinstance(required, DownloadError) and str(required).endswith("/org/tiny/v1/absent.json: HTTP 404")
    assert srv.requests("GET", "/hub") == ["/hub/org/tiny/v1/absent.json"] * 2  # the optional asks', the required one's
    assert run(is_absent("org/tiny", "v1", "absent.json"))


async def source_in_loop(srv, engine_id):
    return FileSource(ModelHub(f"{srv.origin}/hub", "{model}/{revision}"), await Cache.open(),
                      [{"filter": "ALLOW", "urlPrefix": f"{srv.origin}/hub/"}], "feature-extraction", engine_id)


async def is_absent(model, revision, file):
    return await (await Cache.open()).is_absent(model, revision, file)
