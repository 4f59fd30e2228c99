"""q4's block quantizer (tools/convert/blockwise.py) run by onnxruntime against numpy, and the fp32 gate."""

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from tools.convert.blockwise import BLOCK_SIZE, dequantize_weight, quantize_matmuls, quantize_weight
from tools.convert.validate import FP32_TOLERANCE, argmax_mismatches, fp32_failures, fp32_tolerance


def q4_1_weight(rng, k: int, n: int) -> np.ndarray:
    """A [K, N] matrix made the way llama.cpp's Q4_1 makes one: per 32 weights along K, fp16 scale and
    minimum, 4-bit codes with 0 and 15 both used."""
    count = -(-k // BLOCK_SIZE)
    scale = rng.uniform(0.001, 0.05, (n, count)).astype(np.float16).astype(np.float32)
    low = rng.uniform(-0.4, 0.0, (n, count)).astype(np.float16).astype(np.float32)
    codes = rng.integers(0, 16, (n, count, BLOCK_SIZE))
    codes[..., 0], codes[..., 1] = 0, 15
    values = codes * scale[..., None] + low[..., None]
    return values.reshape(n, -1)[:, :k].T.astype(np.float32)


def two_matmuls(hidden: np.ndarray, head: np.ndarray) -> onnx.ModelProto:
    """x @ hidden (an inner projection), then @ head into the graph output `logits`."""
    k, n = hidden.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "hidden"], ["h"], name="inner"),
         helper.make_node("MatMul", ["h", "head"], ["logits"], name="head")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, k])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(hidden, "hidden"), numpy_helper.from_array(head, "head")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 9
    return model


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("k", [96, 50])  # 50: a last block of 18 weights
def test_q4_1_weights_survive_exactly(k):
    """Weights already on a Q4_1 grid (SmolLM2's GGUF) come out of q4 unchanged: the product equals the
    float64 product as closely as fp32 itself does."""
    rng = np.random.default_rng(k)
    hidden, head = q4_1_weight(rng, k, 40), rng.standard_normal((40, 7)).astype(np.float32)
    packed, scales, minimums = quantize_weight(hidden)
    assert np.array_equal(dequantize_weight(packed, scales, minimums, k), hidden)
    model = quantize_matmuls(two_matmuls(hidden, head))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MatMulNBits") == 1 and [n.name for n in model.graph.node if n.op_type == "MatMul"][-1] == "head"
    x = rng.standard_normal((2, 5, k)).astype(np.float32)
    want = x.astype(np.float64) @ hidden.astype(np.float64) @ head.astype(np.float64)
    fp32 = run(two_matmuls(hidden, head), x)
    got = run(model, x)
    assert np.abs(got - want).max() <= 4 * max(np.abs(fp32 - want).max(), 1e-6)


def test_any_weights_within_half_a_step_and_onnxruntime_multiplies_by_them():
    rng = np.random.default_rng(1)
    hidden, head = rng.standard_normal((64, 24)).astype(np.float32), rng.standard_normal((24, 3)).astype(np.float32)
    packed, scales, minimums = quantize_weight(hidden)
    restored = dequantize_weight(packed, scales, minimums, 64)
    step = np.repeat(scales.reshape(24, -1), BLOCK_SIZE, axis=1)[:, :64].T
    assert np.all(np.abs(restored - hidden) <= step / 2 + 1e-6)
    x = rng.standard_normal((1, 3, 64)).astype(np.float32)
    got = run(quantize_matmuls(two_matmuls(hidden, head)), x)
    assert np.abs(got - x @ restored @ head).max() <= 1e-4 * np.abs(got).max()


def test_matmuls_inside_if_branches_are_quantized_once():
    """Merged decoders keep their MatMuls in If branches, both reading one outer weight."""
    rng = np.random.default_rng(2)
    weight = rng.standard_normal((32, 8)).astype(np.float32)

    def branch(name: str) -> onnx.GraphProto:
        return helper.make_graph([helper.make_node("MatMul", ["x", "w"], [f"{name}_y"], name=f"{name}_mm"),
                                  helper.make_node("Relu", [f"{name}_y"], [f"{name}_out"])], name, [],
                                 [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, None)])
    graph = helper.make_graph(
        [helper.make_node("If", ["flag"], ["y"], then_branch=branch("a"), else_branch=branch("b"))], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32]),
         helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 9
    quantized = quantize_matmuls(model)
    assert [t.name for t in quantized.graph.initializer if t.name == "w"] == []
    assert sum(t.name.endswith("_codes") for t in quantized.graph.initializer) == 1
    session = onnxruntime.InferenceSession(quantized.SerializeToString(), providers=["CPUExecutionProvider"])
    x = rng.standard_normal((1, 32)).astype(np.float32)
    restored = dequantize_weight(*quantize_weight(weight), 32)
    for flag in (True, False):
        got = session.run(None, {"x": x, "flag": np.array(flag)})[0]
        assert np.abs(got - np.maximum(x @ restored, 0)).max() <= 1e-5


def test_fp32_gate_is_not_looser_for_ordinary_outputs():
    assert all(fp32_tolerance(scale) == FP32_TOLERANCE for scale in (0.0, 0.5, 5.9, 10.0))
    assert fp32_tolerance(32.0) == pytest.approx(3.2e-4)
    ordinary = {"outputs": {"last_hidden_state": {"max_abs_diff": 1.1e-4, "max_abs_reference": 5.9}}}
    assert fp32_failures(ordinary) and "1.10e-04 > 1.00e-04" in fp32_failures(ordinary)[0]
    big = {"outputs": {"logits": {"max_abs_diff": 1.1e-4, "max_abs_reference": 32.3, "argmax_mismatches": 0}}}
    assert fp32_failures(big) == []
    assert "another best token" in fp32_failures({"outputs": {"logits": {**big["outputs"]["logits"],
                                                                          "argmax_mismatches": 1}}})[0]


def test_argmax_must_agree_unless_the_best_two_are_within_the_tolerance():
    want = np.array([[1.0, 3.0, 2.0], [0.5, 2.0, 2.00005], [4.0, 0.0, 0.0]], dtype=np.float32)
    got = want.copy()
    got[1] = [0.5, 2.00006, 2.0]  # a near tie swapped by rounding-sized noise: not counted
    assert argmax_mismatches(got, want) == 0
    got[2] = [0.0, 4.0, 0.0]
    assert argmax_mismatches(got, want) == 1
