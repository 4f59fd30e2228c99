"""External data: which files a graph needs (config.json's declaration, the graph's own locations), and
models stored that way loading through createEngine under CPython with the results transformers gives."""

import hashlib
from pathlib import Path

import numpy as np
import onnx
import pytest
import transformers
from onnx import helper, numpy_helper
from onnx.external_data_helper import uses_external_data

from pyodide_pkg import external_data, platform
from pyodide_pkg.cache import Cache
from pyodide_pkg.errors import ModelError, StorageError
from tests import text_task_cases as cases
from tests.conftest import HUB, run
from tests.unit.test_text_tasks import our_results
from tools.build_hub import tiny_source
from tools.external_models import EXTERNAL, GIANT, GIANT_BYTES, UNDECLARED


@pytest.mark.parametrize("setting, path, names", [
    (True, "onnx/model.onnx", ["model.onnx_data"]),
    (3, "onnx/model_q4.onnx", ["model_q4.onnx_data", "model_q4.onnx_data_1", "model_q4.onnx_data_2"]),
    (False, "onnx/model.onnx", []),
    (0, "onnx/model.onnx", []),
    ({"model_quantized.onnx": 2}, "onnx/model_quantized.onnx", ["model_quantized.onnx_data", "model_quantized.onnx_data_1"]),
    ({"model": True}, "onnx/model_fp16.onnx", ["model_fp16.onnx_data"]),  # by the name without its dtype suffix
    ({"decoder_model": True}, "onnx/model.onnx", []),
])
def test_declared_files_follow_transformers_js(setting, path, names):
    assert external_data.declared({"transformers.js_config": {"use_external_data_format": setting}}, path) == names


def test_no_declaration_means_none():
    assert external_data.declared(None, "onnx/model.onnx") == []
    assert external_data.declared({"transformers.js_config": {}}, "onnx/model.onnx") == []


@pytest.mark.parametrize("bad", [101, -1, "yes", 1.5])
def test_bad_declaration_names_the_setting(bad):
    with pytest.raises(ModelError, match=r"config.json: transformers.js_config.use_external_data_format for model.onnx"):
        external_data.declared({"transformers.js_config": {"use_external_data_format": bad}}, "onnx/model.onnx")


def reader(data: bytes, reads: list):
    async def read(start: int, end: int) -> bytes:
        reads.append((start, end))
        return data[start:end]
    return read


def onnx_locations(path: Path) -> list[str]:
    """What onnx itself says the graph's initializers keep outside it (the reference)."""
    model = onnx.load(path, load_external_data=False)
    found = []
    for tensor in [*model.graph.initializer, *(s.values for s in model.graph.sparse_initializer)]:
        if uses_external_data(tensor):
            location = next(e.value for e in tensor.external_data if e.key == "location")
            if location not in found:
                found.append(location)
    return found


def mixed_model(folder: Path) -> Path:
    """Small tensors inline, large ones in two files, a sparse initializer among them."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), f"w{i}") for i in range(4)]
    small = numpy_helper.from_array(np.ones(4, np.float32), "small")
    sparse = helper.make_sparse_tensor(numpy_helper.from_array(rng.standard_normal(300).astype(np.float32), "s"),
                                       numpy_helper.from_array(np.arange(300, dtype=np.int64), "s_i"), [1000])
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["y0"]), helper.make_node("MatMul", ["y0", "w1"], ["y1"]),
             helper.make_node("MatMul", ["y1", "w2"], ["y2"]), helper.make_node("MatMul", ["y2", "w3"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 64])],
                              [*weights, small], sparse_initializer=[sparse])
    model = helper.make_model(graph)
    for i, tensor in enumerate(weights):
        onnx.external_data_helper.set_external_data(tensor, f"part_{i % 2}.bin")
    onnx.external_data_helper.convert_model_to_external_data(model, all_tensors_to_one_file=False, size_threshold=1024)
    for i, tensor in enumerate(model.graph.initializer[:4]):  # regroup the four weights into two files
        onnx.external_data_helper.set_external_data(tensor, f"part_{i % 2}.bin")
    onnx.save_model(model, folder / "mixed.onnx")
    return folder / "mixed.onnx"


@pytest.mark.parametrize("path", [
    pytest.param(HUB / EXTERNAL / "v1" / "onnx" / "model.onnx", id="onnx-community-style"),
    pytest.param(HUB / GIANT / "v1" / "onnx" / "model.onnx", id="two-chunks"),
    pytest.param(HUB / "sentence-transformers/all-MiniLM-L6-v2/v1.0/onnx/model_quantized.onnx", id="no-external"),
])
def test_graph_walk_finds_what_onnx_finds(path):
    reads = []
    data = path.read_bytes()
    assert run(external_data.referenced(reader(data, reads))) == onnx_locations(path)
    assert sum(end - start for start, end in reads) < max(len(data) // 4, 1 << 20)  # tensor data is skipped


def test_graph_walk_with_inline_sparse_and_two_files(tmp_path):
    path = mixed_model(tmp_path)
    expected = onnx_locations(path)
    assert sorted(expected) == ["part_0.bin", "part_1.bin"]
    assert run(external_data.referenced(reader(path.read_bytes(), []))) == expected


def test_a_cut_graph_is_a_model_error(tmp_path):
    data = (HUB / EXTERNAL / "v1" / "onnx" / "model.onnx").read_bytes()
    with pytest.raises(ModelError, match="cut short or malformed"):
        run(external_data.referenced(reader(data[: len(data) // 2 + 3], [])))


@pytest.fixture(scope="module")
def transformers_vectors():
    pipe = transformers.pipeline("feature-extraction", model=str(tiny_source("bert", "feature-extraction")()), device=-1)
    requests = cases.feature_extraction()
    return requests, [pipe(args[0]) for args, _ in requests]


def assert_like_transformers(ours, requests, wants):
    for (args, _), got, want in zip(requests, ours, wants):
        want = [w[0] for w in want] if isinstance(args[0], list) else [want[0]]
        for a, b in zip(got, want):
            assert np.abs(np.array(a) - np.array(b)).max() <= 1e-4


def test_onnx_community_style_export_runs_like_transformers(server, store_dir, transformers_vectors):
    """Opset 21, com.microsoft MultiHeadAttention, weights in onnx/model.onnx_data that config.json declares."""
    graph = onnx.load(HUB / EXTERNAL / "v1" / "onnx" / "model.onnx", load_external_data=False)
    assert {"MultiHeadAttention", "EmbedLayerNormalization"} <= {n.op_type for n in graph.graph.node}
    assert any(o.domain == "" and o.version == 21 for o in graph.opset_import)
    requests, wants = transformers_vectors
    server.log.clear()
    assert_like_transformers(our_results(server, EXTERNAL, "feature-extraction", requests), requests, wants)
    assert f"/hub/{EXTERNAL}/v1/onnx/model.onnx_data" in server.requests("GET")


def test_gigabyte_model_in_two_undeclared_chunks(server, store_dir, transformers_vectors):
    """Only the graph names its data files; the 1 GiB table streams to disk and is never read into Python."""
    requests, wants = transformers_vectors
    assert_like_transformers(our_results(server, GIANT, "feature-extraction", requests[:3]), requests[:3], wants[:3])
    stored = sorted(p.stat().st_size for p in (store_dir / "modelFiles.files").iterdir())
    assert stored[-1] >= GIANT_BYTES


def test_a_graph_is_walked_once_per_copy_of_it(server, store_dir, transformers_vectors, monkeypatch):
    """The walk's answer is kept in the graph's cache record for the bytes it was found in; the next load reads
    it there instead of walking the graph again."""
    requests, wants = transformers_vectors
    graph, file = HUB / EXTERNAL / "v1" / "onnx" / "model.onnx", "onnx/model.onnx"
    our_results(server, EXTERNAL, "feature-extraction", requests[:1])
    cache = run(Cache.open())
    assert run(cache.external_data(EXTERNAL, "v1", file)) == (hashlib.sha256(graph.read_bytes()).hexdigest(),
                                                              onnx_locations(graph))

    async def walked(read):
        raise AssertionError("the graph was walked again")
    monkeypatch.setattr(external_data, "referenced", walked)
    assert_like_transformers(our_results(server, EXTERNAL, "feature-extraction", requests), requests, wants)


def test_a_walk_that_cannot_be_remembered_leaves_the_engine_as_it_was(server, store_dir, transformers_vectors,
                                                                      monkeypatch):
    requests, wants = transformers_vectors

    async def full(*args):
        raise StorageError("the browser's storage quota for this site is used up")
    monkeypatch.setattr(Cache, "remember_external_data", full)
    assert_like_transformers(our_results(server, EXTERNAL, "feature-extraction", requests[:2]), requests[:2], wants[:2])
    assert run(run(Cache.open()).external_data(EXTERNAL, "v1", "onnx/model.onnx"))[1] is None


def test_a_walk_found_in_other_bytes_is_not_trusted(server, store_dir):
    file = "onnx/model.onnx"
    our_results(server, EXTERNAL, "feature-extraction", [(["one sentence"], {})])
    cache = run(Cache.open())
    sha256, names = run(cache.external_data(EXTERNAL, "v1", file))
    run(cache.remember_external_data(EXTERNAL, "v1", file, "0" * 64, ["elsewhere.bin"]))
    assert run(cache.external_data(EXTERNAL, "v1", file)) == (sha256, None)
    assert run(cache.external_data(EXTERNAL, "v1", "onnx/nothing.onnx")) == (None, None)


@pytest.fixture
def sessions_made(monkeypatch):
    """The data files each session of a load was asked for with, and whether it failed or was released."""
    made, create = [], platform.create_session

    async def spy(model, num_threads, external=None, optimize=True):
        entry = {"external": sorted(external or {}), "released": False, "failed": False}
        made.append(entry)
        try:
            session = await create(model, num_threads, external, optimize=optimize)
        except RuntimeError:
            entry["failed"] = True
            raise
        release = session.release

        def released():
            entry["released"] = True
            release()
        session.release = released
        return session
    monkeypatch.setattr(platform, "create_session", spy)
    return made


@pytest.mark.parametrize("model, made", [
    pytest.param(EXTERNAL, [["model.onnx_data"]], id="declared"),
    pytest.param(UNDECLARED, [[], ["model.onnx_data"]], id="only-the-graph-names-it"),
])
def test_a_new_graph_is_walked_while_its_session_is_made_with_what_config_declares(
        server, store_dir, transformers_vectors, sessions_made, model, made):
    """The session made during the walk is the one kept unless the walk names more; then it is dropped (made or
    not: without its data file ONNX Runtime may refuse it) for one with every file."""
    requests, wants = transformers_vectors
    assert_like_transformers(our_results(server, model, "feature-extraction", requests), requests, wants)
    assert [s["external"] for s in sessions_made] == made
    if len(made) == 2:
        assert sessions_made[0]["failed"] or sessions_made[0]["released"]
