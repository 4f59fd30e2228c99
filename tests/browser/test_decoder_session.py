"""A converted decoder (past key values in, presents out) runs in ONNX Runtime Web, empty past included."""

import json

import numpy as np
import onnxruntime
import pytest

from tests.conftest import HUB
from tools.convert import decoder

RUN = """async ([url, feedsJson]) => {
  const { runPython } = await import('./engine.mjs');
  return await runPython(`
import json
import numpy as np
from pyodide_pkg import platform
response = await platform.fetch(model_url)
session = await platform.create_session(response.body, 1)
out = {}
for k, feeds in enumerate(json.loads(feeds_json)):
    arrays = {n: np.array(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for n, v in feeds.items()}
    result = await session.run(arrays)
    out[k] = {n: {"shape": list(a.shape), "data": a.ravel().tolist()} for n, a in result.items()}
session.release()
json.dumps(out)
`, { model_url: url, feeds_json: feedsJson });
}"""


@pytest.mark.parametrize("dtype_file", ["model.onnx", "model_q4.onnx"])
def test_decoder_runs_in_ort_web_like_cpython(page, server, dtype_file):
    import transformers
    folder = HUB / "test" / "tiny-llama" / "v1"
    config = transformers.AutoConfig.from_pretrained(folder)
    samples = [decoder.feeds(config, past, length, seed=seed) for seed, (past, length) in enumerate([(0, 4), (5, 1)])]
    # An engine initialises ONNX Runtime Web (the verified runtime binary) for the page.
    page.evaluate("async () => { const { createEngine } = await import('./engine.mjs'); await createEngine('sentence-embeddings'); }")
    payload = [{n: {"dtype": a.dtype.name, "shape": list(a.shape), "data": a.ravel().tolist()} for n, a in s.items()}
               for s in samples]
    got = json.loads(page.evaluate(RUN, [f"{server.origin}/hub/test/tiny-llama/v1/onnx/{dtype_file}", json.dumps(payload)]))
    session = onnxruntime.InferenceSession(str(folder / "onnx" / dtype_file))
    names = [o.name for o in session.get_outputs()]
    for k, sample in enumerate(samples):
        for name, want in zip(names, session.run(None, sample)):
            value = got[str(k)][name]
            assert value["shape"] == list(want.shape), (k, name)
            assert np.abs(np.array(value["data"], dtype=np.float32).reshape(want.shape) - want).max() <= 1e-4, (k, name)
