"""A result's arrays on their way to the caller: lists for Python, bytes beside JSON text for the page."""

import json

import numpy as np

import pyodide_pkg
from pyodide_pkg.results import ARRAY, as_lists, to_json
from tests.conftest import REAL_MODEL, REAL_REVISION, run


def revived(text, buffers):
    """What web/engine.mjs does with the page's answer, in Python: each named array back as nested lists."""
    def hook(found):
        if ARRAY not in found:
            return found
        floats = np.frombuffer(buffers[found[ARRAY]], dtype="<f4")
        return floats.reshape(found["shape"]).tolist()
    return json.loads(text, object_hook=hook)


def test_float32_arrays_travel_as_bytes_and_arrive_as_the_same_numbers():
    rng = np.random.default_rng(0)
    value = {"ok": True, "value": [
        rng.standard_normal(384).astype(np.float32),                  # a pooled embedding
        rng.standard_normal((7, 384)).astype(np.float32),             # token embeddings
        {"scores": rng.random(3).astype(np.float32), "label": "x"},
        np.arange(4, dtype=np.int64),                                 # not float32: plain numbers
        rng.standard_normal(2),                                       # float64: plain numbers
        np.float32(0.1), np.zeros((0, 384), np.float32), 1.5, None]}
    text, buffers = to_json(value)
    assert len(buffers) == 4 and text.count(ARRAY) == 4
    assert revived(text, buffers) == as_lists(value)
    assert json.loads(json.dumps(as_lists(value))) == as_lists(value)  # nothing but JSON's own types is left


def test_python_callers_get_lists_and_the_page_protocol_gets_arrays(server, store_dir):
    async def go():
        engine = await pyodide_pkg.create_engine({
            "taskName": "feature-extraction", "modelId": REAL_MODEL, "modelRevision": REAL_REVISION,
            "settingsBaseUrl": f"{server.origin}/settings", "numThreads": 1})
        request = {"args": [["one sentence", "and a second, longer one"]],
                   "options": {"pooling": "mean", "normalize": True}}
        return await engine.run(request), await engine.run(request, arrays=True)
    lists, arrays = run(go())
    assert all(type(v) is list and all(type(x) is float for x in v) for v in lists)
    assert all(a.dtype == np.float32 and a.shape == (384,) for a in arrays)
    text, buffers = to_json(arrays)
    assert revived(text, buffers) == lists
