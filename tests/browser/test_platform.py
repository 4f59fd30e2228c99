"""The browser platform layer on its own: ONNX Runtime Web tensors, IndexedDB upgrades, cache queries."""

import base64
import json

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper

from tests.browser.conftest import call
from tests.conftest import REAL_MODEL, REAL_REVISION

Q8_ON_MAIN = {"taskName": "feature-extraction", "modelId": REAL_MODEL, "modelRevision": "main", "dtype": "q8"}

# Runs in the engine host's Pyodide: the same create_session/run pyodide_pkg uses, on a model given as base64,
# and the thread count ONNX Runtime Web was set up with there.
RUN_IN_PYODIDE = """async ([modelB64, feedsJson]) => {
  const { createEngine, runPython } = await import('./engine.mjs');
  await createEngine({ featureId: 'sentence-embeddings', numThreads: 2 });
  return await runPython(`
import base64, json
import numpy as np
import ml_bridge
from pyodide_pkg import platform
session = await platform.create_session(base64.b64decode(model_b64), 2)
feeds = {k: np.array(v["data"], dtype=v["dtype"]) for k, v in json.loads(feeds_json).items()}
out = await session.run(feeds)
session.release()
started = ml_bridge.ortInfo().to_py()  # as ONNX Runtime's own worker reports it
{"out": json.dumps({k: {"dtype": v.dtype.name, "shape": list(v.shape), "data": v.tolist()} for k, v in out.items()}),
 "threads": started["numThreads"], "isolated": started["isolated"]}
`, { model_b64: modelB64, feeds_json: feedsJson });  // out is JSON text: int64 survives
}"""


def three_dtype_model() -> bytes:
    """float32, int64 and bool in and out, so every conversion of the bridge is exercised."""
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["y"]),
        helper.make_node("Add", ["ids", "one"], ["ids_plus_one"]),
        helper.make_node("Not", ["mask"], ["not_mask"]),
        helper.make_node("Cast", ["mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["x", "mask_f"], ["x_masked"]),
    ]
    graph = helper.make_graph(
        nodes, "bridge",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3]),
         helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", 3]),
         helper.make_tensor_value_info("mask", TensorProto.BOOL, ["b", 3])],
        [helper.make_tensor_value_info(n, t, ["b", 3]) for n, t in
         [("y", TensorProto.FLOAT), ("ids_plus_one", TensorProto.INT64), ("not_mask", TensorProto.BOOL),
          ("x_masked", TensorProto.FLOAT)]],
        [helper.make_tensor("two", TensorProto.FLOAT, [], [2.0]), helper.make_tensor("one", TensorProto.INT64, [], [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_ort_bridge_round_trips_float32_int64_bool(page):
    model = three_dtype_model()
    feeds = {"x": np.array([[0.5, -1.25, 3e-8], [1e6, 7.0, -0.0]], dtype=np.float32),
             "ids": np.array([[0, 2**40, -5], [101, 102, 9_007_199_254_740_993]], dtype=np.int64),
             "mask": np.array([[True, False, True], [False, True, False]])}
    expected = dict(zip(["y", "ids_plus_one", "not_mask", "x_masked"],
                        onnxruntime.InferenceSession(model).run(None, feeds)))
    payload = {k: {"dtype": v.dtype.name, "data": v.tolist()} for k, v in feeds.items()}
    result = page.evaluate(RUN_IN_PYODIDE, [base64.b64encode(model).decode(), json.dumps(payload)])
    assert result["threads"] == 2 and result["isolated"]
    out = json.loads(result["out"])
    assert set(out) == set(expected)
    for name, want in expected.items():
        got = out[name]
        assert got["dtype"] == want.dtype.name and got["shape"] == list(want.shape), name
        assert np.array_equal(np.array(got["data"], dtype=want.dtype), want), name


def test_task_queries_and_pinned_start_drops_other_revisions(page):
    assert call(page, "create", Q8_ON_MAIN)["ok"]
    on_main = call(page, "listFiles", {"taskName": "feature-extraction"})["value"]
    assert {f["revision"] for f in on_main} == {"main"} and "onnx/model_quantized.onnx" in {f["path"] for f in on_main}

    # The featureId record pins v1.0 for the same task: main's files go, v1.0's stay.
    assert call(page, "create", {"featureId": "sentence-embeddings", "engineId": "pinned"})["ok"]
    pinned = call(page, "listFiles", {"taskName": "feature-extraction"})["value"]
    assert {f["revision"] for f in pinned} == {REAL_REVISION} and "onnx/model.onnx" in {f["path"] for f in pinned}
    models = [(m["name"], m["revision"]) for m in call(page, "listModels")["value"]]
    assert (REAL_MODEL, "main") not in models and (REAL_MODEL, REAL_REVISION) in models

    assert call(page, "deleteModels", {"taskName": "feature-extraction"})["ok"]
    assert call(page, "listFiles", {"taskName": "feature-extraction"})["value"] == []
    left = [m["name"] for m in call(page, "listModels")["value"]]
    assert REAL_MODEL not in left and "onnxruntime/onnxruntime-web" in left  # the runtime has its own task

    bad = call(page, "listFiles", {"revision": "v1.0"})
    assert not bad["ok"] and "listFiles needs a taskName, or a model and a revision" in bad["message"]


UPGRADE = """async ([bumpTasksKeyPath]) => {
  const { createEngine, runPython } = await import('./engine.mjs');
  await createEngine({ featureId: 'sentence-embeddings' });
  return JSON.parse(await runPython(`
import copy, json
from pyodide_pkg import cache, platform
schema = copy.deepcopy(cache.SCHEMA)
schema["version"] += 1
schema["stores"]["headers"]["indexes"]["lastUsedIndex"] = "lastUsed"
if bump_tasks_key_path:
    schema["stores"]["tasks"]["keyPath"] = ["model", "revision", "file", "taskName"]
upgraded = cache.Cache(await platform.open_store(cache.DB_NAME, schema))
json.dumps({"headers": len(await upgraded.store.get_all("headers")),
            "by_new_index": len(await upgraded.store.get_all("headers", "lastUsedIndex")),
            "tasks": len(await upgraded.store.get_all("tasks")),
            "body": len(await platform.read_body((await upgraded.get_file("${REAL_MODEL}", "${REAL_REVISION}", "config.json"))[0]))})
`, { bump_tasks_key_path: bumpTasksKeyPath }));
}""".replace("${REAL_MODEL}", REAL_MODEL).replace("${REAL_REVISION}", REAL_REVISION)


def test_schema_upgrade_keeps_data_unless_a_key_path_changes(page, browser):
    kept = page.evaluate(UPGRADE, [False])
    assert kept["headers"] >= 5 and kept["by_new_index"] == kept["headers"]
    assert kept["tasks"] == kept["headers"] and kept["body"] > 0

    other = browser.new_context()
    tab = other.new_page()
    tab.goto(page.url)
    tab.wait_for_function("document.body.dataset.ready === 'true'")
    rebuilt = tab.evaluate(UPGRADE, [True])
    other.close()
    assert rebuilt["headers"] == kept["headers"] and rebuilt["body"] == kept["body"]
    assert rebuilt["tasks"] == 0
