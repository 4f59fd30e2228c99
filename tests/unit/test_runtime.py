"""The runtime's warm-up graph: written by hand as protobuf (Pyodide has no onnx package), so it is checked here
by onnx itself and run by onnxruntime, as ONNX Runtime Web runs it before a model's session."""

import numpy as np
import onnx
import onnxruntime

from pyodide_pkg.runtime import warmup_graph


def test_the_warmup_graph_is_a_valid_model_that_onnxruntime_runs():
    model = onnx.load_from_string(warmup_graph())
    onnx.checker.check_model(model, full_check=True)
    assert [n.op_type for n in model.graph.node] == ["Identity"]
    session = onnxruntime.InferenceSession(warmup_graph(), providers=["CPUExecutionProvider"])
    x = np.array([2.5], dtype=np.float32)
    assert session.run(None, {"x": x})[0].tolist() == x.tolist()
