"""Dynamically quantized models (q8, int8, uint8) compute the same integers on every CPU kind.

ONNX Runtime multiplies uint8 activations by int8 weights with VPMADDUBSW on x86 CPUs without VNNI; its
pairwise int16 sums saturate when weights use the full int8 range, so such a model answered differently
on an AVX2-only EPYC than on an AVX-512/VNNI Xeon or in ONNX Runtime Web. The hub's weights must be of a
kind no kernel can saturate (uint8, or int8 of magnitude 64 at most), and that is checked here on the real kernels:
natively and on an emulated AVX2-only CPU (tools/cpu_emulation.py), against exact integer arithmetic.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests import text_task_cases as cases
from tests.conftest import HUB, REAL_MODEL, REAL_REVISION
from tools.convert.quantize import DYNAMIC, settings_of
from tools.cpu_emulation import run_onnx

SUFFIX_MODE = {"_quantized": "q8", "_int8": "int8", "_uint8": "uint8"}
DYNAMIC_FILES = sorted(p for sfx in SUFFIX_MODE for p in HUB.glob(f"**/onnx/*{sfx}.onnx"))
CATEGORIUM = HUB / "categorium" / "topics-en" / "v0.2.2"
INTEGER_OPS = {"MatMulInteger": 1, "ConvInteger": 1}  # op type -> index of its weight input


def graphs(graph):
    """A graph and every subgraph (merged decoders keep their MatMuls in If branches)."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from graphs(attribute.g)


def integer_weights(path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(node name, weight, weight zero point) of every integer matmul or convolution with constant weights."""
    model = onnx.load(str(path))
    every = list(graphs(model.graph))
    constants = {t.name: numpy_helper.to_array(t) for g in every for t in g.initializer}
    found = []
    for g in every:
        for node in g.node:
            if node.op_type in INTEGER_OPS and node.input[INTEGER_OPS[node.op_type]] in constants:
                weight = constants[node.input[INTEGER_OPS[node.op_type]]]
                zero = constants.get(node.input[3]) if len(node.input) > 3 else None
                found.append((node.name, weight, np.zeros((), weight.dtype) if zero is None else zero))
    return found


def mode_of(path) -> str:
    return next(mode for sfx, mode in SUFFIX_MODE.items() if path.stem.endswith(sfx))


def test_hub_has_dynamic_quantized_files():
    assert {mode_of(p) for p in DYNAMIC_FILES} == set(DYNAMIC)


@pytest.mark.parametrize("path", DYNAMIC_FILES, ids=lambda p: str(p.relative_to(HUB)))
def test_weights_cannot_saturate_and_settings_are_recorded(path):
    """uint8 weights, or int8 weights in [-64, 64]: 2 * 255 * 64 fits the int16 pair sums of any kernel."""
    weights = integer_weights(path)
    assert weights, f"{path} has no integer matmul"
    for name, weight, _ in weights:
        if weight.dtype == np.int8:
            assert np.abs(weight.astype(np.int16)).max() <= 64, f"{name}: int8 weights beyond [-64, 64]"
        else:
            assert weight.dtype == np.uint8, f"{name}: {weight.dtype}"
    folder = path.parent.parent
    mode = mode_of(path)
    recorded = json.loads((folder / "quantize_config.json").read_text())["modes"][mode]
    assert {k: v for k, v in recorded.items() if k != "files"} == settings_of(mode)
    assert f"onnx/{path.name}" in recorded["files"]
    expected_type = np.uint8 if DYNAMIC[mode].weight_type == "QUInt8" else np.int8
    assert all(w.dtype == expected_type for _, w, _ in weights)


def one_matmul(weight: np.ndarray, zero: np.ndarray, name: str) -> onnx.ModelProto:
    """A MatMulInteger over one model weight, activations and their zero point as inputs."""
    k = weight.shape[0]
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w", "a_zero", "w_zero"], ["y"])], name,
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [None, k]),
         helper.make_tensor_value_info("a_zero", TensorProto.UINT8, [])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(zero, "w_zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 9
    return model


def activations(k: int) -> list[dict[str, np.ndarray]]:
    """The worst case for saturation (every activation 255) and random activations, with zero points."""
    rng = np.random.default_rng(0)
    return [{"a": np.full((4, k), 255, np.uint8), "a_zero": np.array(0, np.uint8)},
            {"a": rng.integers(0, 256, (8, k), dtype=np.uint8), "a_zero": np.array(0, np.uint8)},
            {"a": rng.integers(0, 256, (8, k), dtype=np.uint8), "a_zero": np.array(131, np.uint8)}]


def kernels_against_exact(tmp_path, weights, emulate_avx2: bool) -> dict[str, float]:
    """Largest |kernel - exact integer product| per weight, for the kernels a CPU of that kind picks."""
    models = []
    for i, (name, weight, zero) in enumerate(weights):
        models.append(tmp_path / f"w{i}.onnx")
        onnx.save(one_matmul(weight, zero, name), str(models[-1]))
    worst = {}
    by_width: dict[int, list] = {}
    for model, (name, weight, zero) in zip(models, weights):
        by_width.setdefault(weight.shape[0], []).append((model, name, weight, zero))
    for k, group in by_width.items():
        rows = activations(k)
        got = run_onnx([m for m, *_ in group], rows, emulate_avx2)
        for model, name, weight, zero in group:
            exact = [(row["a"].astype(np.int64) - row["a_zero"]) @ (weight.astype(np.int64) - zero) for row in rows]
            worst[name] = max(float(np.abs(g - e).max()) for g, e in zip(got[model.stem], exact))
    return worst


SHIPPED = [HUB / REAL_MODEL / REAL_REVISION / "onnx" / "model_quantized.onnx",
           CATEGORIUM / "onnx" / "model_quantized.onnx",
           HUB / "test" / "tiny-bert-feature-extraction" / "v1" / "onnx" / "model_int8.onnx",
           HUB / "test" / "tiny-t5" / "v1" / "onnx" / "decoder_model_merged_quantized.onnx"]


@pytest.mark.parametrize("emulate_avx2", [False, True], ids=["this-cpu", "avx2-only-cpu"])
def test_shipped_weights_give_exact_integers_on_every_cpu(tmp_path, emulate_avx2):
    weights = [w for path in SHIPPED for w in integer_weights(path)]
    worst = kernels_against_exact(tmp_path, weights, emulate_avx2)
    assert max(worst.values()) == 0, {k: v for k, v in worst.items() if v}


def test_full_range_int8_weights_do_saturate_on_the_emulated_cpu(tmp_path):
    """The control: the previous q8 settings (int8 over the full range) are caught by the check above."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    full_range = tmp_path / "full_range.onnx"
    quantize_dynamic(str(CATEGORIUM / "onnx" / "model.onnx"), str(full_range), weight_type=QuantType.QInt8,
                     per_channel=True)
    weights = integer_weights(full_range)
    assert any(np.abs(w.astype(np.int16)).max() > 64 for _, w, _ in weights)
    worst = kernels_against_exact(tmp_path, weights, emulate_avx2=True)
    assert max(worst.values()) > 1000


def categorium_rows() -> list[dict[str, np.ndarray]]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(CATEGORIUM))
    return [{k: v for k, v in tokenizer(text, return_tensors="np").items()} for text in cases.SENTENCES + [cases.MEDIUM]]


def test_real_classifier_answers_alike_on_both_cpu_kinds():
    """The whole q8 graph (fused kernels included): only float rounding may differ between the two."""
    model = CATEGORIUM / "onnx" / "model_quantized.onnx"
    rows = categorium_rows()
    native = run_onnx([model], rows, emulate_avx2=False)[model.stem]
    emulated = run_onnx([model], rows, emulate_avx2=True)[model.stem]
    assert max(float(np.abs(a - b).max()) for a, b in zip(native, emulated)) <= 1e-5
