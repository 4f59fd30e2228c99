"""Encoder-decoder, vision and GPT-2 exports through Optimum, in the Transformers.js layout.

Optimum exports the encoder and a merged decoder (`use_cache_branch`, `past_key_values.*`,
`present.*`) and checks the fp32 files against PyTorch itself (`atol`); we keep the files the engine
loads (`model`, or `encoder_model` + `decoder_model_merged`) and quantize each of them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .export import cap_ir_version

ATOL = 1e-4


@dataclass(frozen=True)
class Route:
    optimum_task: str
    files: tuple[str, ...]
    architectures: tuple[str, ...]
    needs_tokenizer: bool = True


def route(task: str, model_type: str) -> Route | None:
    """Optimum's export of this task for this architecture (tasks.py), or None when we export it ourselves."""
    from .tasks import export_for

    entry, export = export_for(task, model_type)
    if not export.optimum_task:
        return None
    return Route(export.optimum_task, tuple(names[0] for names in entry.files.values()), export.architectures,
                 export.needs_tokenizer)


def unmerged(route_: Route) -> Route:
    """The older layout: a plain `decoder_model` without past inputs, which the engine must still run."""
    return replace(route_, files=tuple("decoder_model" if f == "decoder_model_merged" else f for f in route_.files))


MERGED = "decoder_model_merged"
HALVES = ("decoder_model", "decoder_with_past_model")


def export(source: Path, route_: Route, work: Path, opset: int) -> dict[str, Path]:
    """fp32 files in work/onnx, validated by Optimum against PyTorch; {file name: path}.

    A merged decoder is merged here from the two halves Optimum validated, which stay in work/halves:
    half precision is made half by half and merged again (see quantize.merged_half_precision).
    """
    from optimum.exporters.onnx import main_export

    out = work / "optimum"
    try:
        main_export(str(source), output=str(out), task=route_.optimum_task, opset=opset, do_validation=True,
                    atol=ATOL, library_name="transformers",
                    no_post_process="decoder_model" in route_.files or MERGED in route_.files)
    except Exception as error:  # Optimum raises several kinds: report what it said
        raise ValueError(f"Optimum export ({route_.optimum_task}) failed: {error}") from None
    if MERGED in route_.files:
        from optimum.onnx import merge_decoders

        halves = work / "halves"
        halves.mkdir()
        for half in HALVES:
            if not (out / f"{half}.onnx").is_file():
                raise ValueError(f"Optimum wrote no {half}.onnx for {route_.optimum_task}")
            shutil.move(str(out / f"{half}.onnx"), halves / f"{half}.onnx")
        merge_decoders(str(halves / "decoder_model.onnx"), str(halves / "decoder_with_past_model.onnx"),
                       strict=False, save_path=str(out / f"{MERGED}.onnx"))
    files = {}
    for name in route_.files:
        produced = out / f"{name}.onnx"
        if not produced.is_file():
            raise ValueError(f"Optimum wrote no {name}.onnx for {route_.optimum_task}")
        target = work / "onnx" / f"{name}.onnx"
        shutil.move(str(produced), target)
        cap_ir_version(target)
        files[name] = target
    for extra in ("generation_config.json", "preprocessor_config.json"):
        if (out / extra).is_file() and not (work / extra).exists():
            shutil.move(str(out / extra), work / extra)
    shutil.rmtree(out)
    return files


def random_feeds(session: Any, config: Any, batch: int = 2, length: int = 5) -> dict[str, np.ndarray]:
    """Valid inputs from the graph's own signature: token ids, masks of ones, no cache, images."""
    rng = np.random.default_rng(0)
    vocab = getattr(getattr(config, "decoder", config), "vocab_size", None) or getattr(config, "vocab_size", 100)
    vision = getattr(config, "encoder", None) or getattr(config, "vision_config", None) or config
    vocab = getattr(getattr(config, "text_config", None), "vocab_size", None) or vocab
    feeds = {}
    for item in session.get_inputs():
        if item.name == "input_features":  # Whisper-style log-mel input: the encoder takes whole 30 s windows
            frames = 2 * getattr(config, "max_source_positions", 1500)
            feeds[item.name] = rng.standard_normal((batch, getattr(config, "num_mel_bins", 80), frames)).astype(np.float32)
            continue
        if item.name == "pixel_values":
            size = getattr(vision, "image_size", 224)
            height, width = size if isinstance(size, (list, tuple)) else (size, size)
            feeds[item.name] = rng.standard_normal((batch, getattr(vision, "num_channels", 3), height, width)).astype(np.float32)
            continue
        shape = [d if isinstance(d, int) else batch if "batch" in d else 1 + length if "+" in d
                 else 1 if "past" in d else 7 if "encoder" in d else length for d in item.shape]
        if item.name == "position_ids":
            feeds[item.name] = np.broadcast_to(np.arange(shape[-1], dtype=np.int64), shape).copy()
        elif item.type == "tensor(int64)":
            feeds[item.name] = np.ones(shape, np.int64) if "mask" in item.name else rng.integers(0, vocab, shape)
        elif item.type == "tensor(bool)":
            feeds[item.name] = np.zeros(shape or [1], bool)
        else:
            feeds[item.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def drift(config: Any, fp32: Path, files: dict[str, Path]) -> dict[str, dict]:
    """Quantized files against the fp32 file (itself checked against PyTorch) on the same inputs."""
    import onnxruntime

    from .validate import _cosine

    reference = onnxruntime.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    feeds = random_feeds(reference, config)
    names = [o.name for o in reference.get_outputs()]
    want = dict(zip(names, reference.run(None, feeds)))
    report = {}
    for mode, path in files.items():
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
        outputs = {}
        for name, expected in want.items():
            a, b = list(got[name].reshape(-1, got[name].shape[-1])), list(expected.reshape(-1, expected.shape[-1]))
            outputs[name] = {"max_abs_diff": float(np.max(np.abs(got[name] - expected))), "min_cosine": _cosine(a, b)}
        report[mode] = {"size_bytes": path.stat().st_size, "outputs": outputs,
                        "max_abs_diff": max(o["max_abs_diff"] for o in outputs.values()),
                        "min_cosine": min(o["min_cosine"] for o in outputs.values())}
    return report
