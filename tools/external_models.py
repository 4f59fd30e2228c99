"""Hub models stored the way onnx-community ships large ones: graphs whose weights are external data.

Both come from the tiny BERT feature-extraction model the hub already holds (same tokenizer, same
outputs as transformers on its checkpoint):
  - test/tiny-bert-external: converted to opset 21 and fused by ONNX Runtime's transformer optimizer into
    com.microsoft contrib ops (MultiHeadAttention, EmbedLayerNormalization, SkipLayerNormalization,
    BiasGelu), as onnx-community exports are; weights in onnx/model.onnx_data, declared in config.json's
    transformers.js_config per file, as Transformers.js reads it.
  - test/tiny-bert-1gb: the plain graph with its word-embedding table tiled to 1 GiB (rows past the
    vocabulary are never looked up, so outputs are the tiny model's), split in two chunks
    (model.onnx_data holds the table, model.onnx_data_1 the rest) that config.json does not declare: only
    the graph names them. It is the model that shows a file too big for one Python copy loads anyway.
  - test/tiny-bert-undeclared: test/tiny-bert-external with the source's config.json, which declares nothing:
    its one data file is found by walking the graph.

    python -m tools.external_models [--hub hub]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
SOURCE = ("test/tiny-bert-feature-extraction", "v1")
REVISION = "v1"
EXTERNAL = "test/tiny-bert-external"
GIANT = "test/tiny-bert-1gb"
UNDECLARED = "test/tiny-bert-undeclared"
GIANT_BYTES = 1 << 30
RECIPE = 1
BESIDE = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def _copy_beside(source: Path, target: Path, config_extra: dict) -> None:
    (target / "onnx").mkdir(parents=True, exist_ok=True)
    for name in BESIDE:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)
    config = json.loads((source / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, **config_extra}, indent=2) + "\n")


def build_external(source: Path, target: Path) -> None:
    import onnx
    from onnx import helper, version_converter
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((source / "config.json").read_text())
    with tempfile.TemporaryDirectory() as work:
        opset21 = Path(work) / "model.onnx"
        onnx.save(version_converter.convert_version(onnx.load(source / "onnx" / "model.onnx"), 21), opset21)
        options = FusionOptions("bert")
        options.use_multi_head_attention = True
        fused = optimize_model(str(opset21), model_type="bert", num_heads=config["num_attention_heads"],
                               hidden_size=config["hidden_size"], optimization_options=options, opt_level=0).model
    if not any(o.domain == "com.microsoft" for o in fused.opset_import):
        fused.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    if "MultiHeadAttention" not in {n.op_type for n in fused.graph.node if n.domain == "com.microsoft"}:
        raise SystemExit("external_models: ONNX Runtime's optimizer did not fuse attention into MultiHeadAttention")
    _copy_beside(source, target, {"transformers.js_config": {"use_external_data_format": {"model.onnx": True}}})
    onnx.save(fused, target / "onnx" / "model.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="model.onnx_data", size_threshold=1024)


def build_undeclared(source: Path, target: Path) -> None:
    build_external(source, target)
    _copy_beside(source, target, {})


def _point(tensor, location: str, offset: int, length: int) -> None:
    """Make an initializer read its bytes from `location` instead of holding them."""
    import onnx

    tensor.ClearField("raw_data")
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    tensor.data_location = onnx.TensorProto.EXTERNAL


def build_giant(source: Path, target: Path) -> None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(source / "onnx" / "model.onnx")
    table = next(t for t in model.graph.initializer if "word_embeddings" in t.name)
    rows = numpy_helper.to_array(table)
    copies = -(-GIANT_BYTES // rows.nbytes)
    _copy_beside(source, target, {})
    onnx_dir = target / "onnx"
    # The table is written piece by piece, so building it never needs the whole gigabyte in memory.
    with (onnx_dir / "model.onnx_data").open("wb") as out:
        for _ in range(copies):
            out.write(rows.tobytes())
    shape = [rows.shape[0] * copies, rows.shape[1]]
    del table.dims[:]
    table.dims.extend(shape)
    _point(table, "model.onnx_data", 0, rows.nbytes * copies)
    offset = 0
    with (onnx_dir / "model.onnx_data_1").open("wb") as out:
        for tensor in model.graph.initializer:
            if tensor is table or tensor.data_location == onnx.TensorProto.EXTERNAL:
                continue
            data = numpy_helper.to_array(tensor).tobytes()
            if len(data) < 1024:
                continue
            out.write(data)
            _point(tensor, "model.onnx_data_1", offset, len(data))
            offset += len(data)
    (onnx_dir / "model.onnx").write_bytes(model.SerializeToString())


def up_to_date(target: Path) -> bool:
    try:
        return json.loads((target / "external_models.json").read_text()) == {"recipe": RECIPE}
    except (OSError, ValueError):
        return False


def build(hub: Path) -> list[Path]:
    source = hub / SOURCE[0] / SOURCE[1]
    if not (source / "onnx" / "model.onnx").is_file():
        raise SystemExit(f"external_models: {source} is missing; tools.build_hub makes it first")
    built = []
    for model, make in ((EXTERNAL, build_external), (GIANT, build_giant), (UNDECLARED, build_undeclared)):
        target = hub / model / REVISION
        if up_to_date(target):
            continue
        shutil.rmtree(target, ignore_errors=True)
        make(source, target)
        (target / "external_models.json").write_text(json.dumps({"recipe": RECIPE}))
        built.append(target)
    return built


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.external_models")
    parser.add_argument("--hub", type=Path, default=ROOT / "hub")
    args = parser.parse_args()
    print(f"external_models: {len(build(args.hub))} model(s) built in {args.hub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
