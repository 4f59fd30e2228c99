"""The quantized and half-precision variants, each written next to the fp32 file.

q8/int8/uint8: ONNX Runtime dynamic quantization (DYNAMIC below). q4: 4-bit MatMul weights
(MatMulNBits, block 32). bnb4: bitsandbytes-style NF4 MatMul weights. fp16: weights and compute
in half precision with fp32 inputs and outputs kept. q4f16: q4, then fp16. What each mode did is
returned by `quantize` and recorded in quantize_config.json beside the files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pyodide_pkg.dtypes import SUFFIXES

from .export import cap_ir_version
from . import external
from .external import save_graph

MODES = tuple(m for m in SUFFIXES if m != "fp32")
BLOCK_SIZE = 32


def gelu_fed_matmuls(graph) -> list[str]:
    """MatMuls whose input is a GELU output: the FFN down-projections of BERT-style encoders.

    Their activations carry large outliers, so per-tensor dynamic activation quantization costs
    more there than everywhere else together (all-MiniLM-L6-v2: min sentence cosine 0.986 with
    them quantized, 0.993 without, for 10.6 MB more).
    """
    producer = {out: node for node in graph.node for out in node.output}

    def from_gelu(name: str, depth: int = 5) -> bool:
        node = producer.get(name)
        if node is None or depth == 0:
            return False
        if node.op_type in ("Erf", "Gelu", "FastGelu", "BiasGelu"):
            return True
        return node.op_type in ("Mul", "Add", "Div") and any(from_gelu(i, depth - 1) for i in node.input)

    return [n.name for n in graph.node if n.op_type == "MatMul" and from_gelu(n.input[0])]


@dataclass(frozen=True)
class Dynamic:
    """Settings of one dynamic 8-bit mode (activations: uint8, per tensor, computed at run time)."""
    weight_type: str  # QUInt8 or QInt8
    reduce_range: bool  # int8 weights within [-64, 64]
    per_channel: bool = True
    keep_float: str = "gelu_fed_matmuls"


# x86 CPUs without VNNI multiply uint8 activations by int8 weights with VPMADDUBSW, whose pairwise int16
# sums saturate at full-range weights: the same q8 MiniLM gave min cosine 0.988 on an AVX2-only CPU
# against 0.993 with VNNI and in ONNX Runtime Web, and categorium's scores moved by 0.26 (measured under
# qemu -cpu Haswell). uint8 x uint8 kernels and reduce_range's int8 weights (|w| <= 64, 2 * 255 * 64 < 2^15) are exact
# everywhere, so these modes give the same integers on every CPU and in the browser.
DYNAMIC = {
    "q8": Dynamic("QUInt8", reduce_range=False),
    "uint8": Dynamic("QUInt8", reduce_range=False),
    "int8": Dynamic("QInt8", reduce_range=True),
}


def _dynamic(fp32: Path, out: Path, mode: str) -> dict[str, Any]:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    settings = DYNAMIC[mode]
    model = onnx.load(str(fp32))
    kept = gelu_fed_matmuls(model.graph)
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType[settings.weight_type],
                     per_channel=settings.per_channel, reduce_range=settings.reduce_range, nodes_to_exclude=kept,
                     extra_options={"EnableSubgraph": True},  # merged decoders keep their MatMuls in If branches
                     use_external_data_format=external.weight_bytes(model) > external.LIMIT)
    return {"method": "onnxruntime.quantization.quantize_dynamic", **asdict(settings), "nodes_kept_float": kept}


def _fp16(model, cast_prefix: str = ""):
    """Half precision with fp32 inputs and outputs kept; the Casts it adds go in data order, named apart."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    if any(n.op_type == "If" for n in model.graph.node):
        raise ValueError("half precision of a merged decoder (If branches) is made from its two halves "
                         "(merged_half_precision); ONNX Runtime's fp16 converter leaves If branches in fp32")
    model = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    if cast_prefix:
        def rename(name: str) -> str:
            return cast_prefix + name if name.startswith(("graph_input_cast", "graph_output_cast")) else name
        for node in model.graph.node:
            node.name = rename(node.name)
            node.input[:] = [rename(n) for n in node.input]
            node.output[:] = [rename(n) for n in node.output]
    _topological_order(model.graph)
    return model


def _topological_order(graph) -> None:
    """The converter appends its input Casts last; a merged If branch must read in data order."""
    known = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(i in known for i in n.input)]
        if not ready:
            raise ValueError("graph has a cycle or reads a value nothing produces")
        for node in ready:
            known.update(node.output)
        ordered += ready
        pending = [n for n in pending if all(n is not r for r in ready)]
    del graph.node[:]
    graph.node.extend(ordered)


def merged_half_precision(halves: Path, out: Path, mode: str) -> None:
    """fp16 / q4f16 of a merged decoder: each half (without and with past) converted, then merged."""
    import onnx
    from optimum.onnx import merge_decoders

    steps = {"fp16": [], "q4f16": [_q4]}[mode]
    paths = []
    for half in ("decoder_model", "decoder_with_past_model"):
        model = onnx.load(str(halves / f"{half}.onnx"))
        for step in steps:
            model = step(model)
        paths.append(halves / f"{half}_{mode}.onnx")
        save_graph(_fp16(model, cast_prefix=f"{half}_"), paths[-1])
    merge_decoders(str(paths[0]), str(paths[1]), strict=False, save_path=str(out))
    cap_ir_version(out)


def _q4(model):
    """MatMulNBits: 4-bit min/max blocks (each block's minimum kept as a float offset), the output projection
    left float (blockwise.py says why: ONNX Runtime's symmetric quantizer made SmolLM2's q4 unusable)."""
    from .blockwise import quantize_matmuls

    return quantize_matmuls(model, block_size=BLOCK_SIZE)


def _bnb4(model):
    from onnxruntime.quantization.matmul_bnb4_quantizer import MatMulBnb4Quantizer

    quantizer = MatMulBnb4Quantizer(model, quant_type=MatMulBnb4Quantizer.NF4, block_size=64)
    quantizer.process()
    return quantizer.model.model


Q4 = {"bits": 4, "block_size": BLOCK_SIZE, "is_symmetric": False, "offsets": "float (block minimum)",
      "output_projection": "float"}
STATIC = {
    "fp16": {"method": "onnxruntime float16 converter", "keep_io_types": True},
    "q4": {"method": "MatMulNBits (tools/convert/blockwise.py)", **Q4},
    "q4f16": {"method": "MatMulNBits (tools/convert/blockwise.py), then the float16 converter", **Q4,
              "keep_io_types": True},
    "bnb4": {"method": "MatMulBnb4", "quant_type": "nf4", "block_size": 64},
}


def settings_of(mode: str) -> dict[str, Any]:
    """What quantize_config.json records for a mode whose files were not made by `quantize` itself."""
    return dict(STATIC[mode]) if mode in STATIC else {"method": "onnxruntime.quantization.quantize_dynamic",
                                                      **asdict(DYNAMIC[mode])}


def quantize(fp32: Path, out: Path, mode: str) -> dict[str, Any]:
    """Write one variant; returns the settings used (for quantize_config.json)."""
    import onnx

    if mode not in MODES:
        raise ValueError(f"unsupported mode {mode!r}; supported: {', '.join(MODES)}")
    if mode in DYNAMIC:
        settings = _dynamic(fp32, out, mode)
    else:
        model = onnx.load(str(fp32))
        steps = {"fp16": [_fp16], "q4": [_q4], "q4f16": [_q4, _fp16], "bnb4": [_bnb4]}[mode]
        for step in steps:
            model = step(model)
        save_graph(model, out)
        settings = settings_of(mode)
    cap_ir_version(out)
    return settings
