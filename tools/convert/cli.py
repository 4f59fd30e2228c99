"""The command: read a checkpoint, export, quantize, validate, write the hub folder atomically."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import decoder, external, seq2seq, tasks
from .export import export_fp32, load, sample_batch
from .quantize import MODES, SUFFIXES, merged_half_precision, quantize, settings_of
from .validate import fp32_failures, print_report, reference_outputs, validate, validate_decoder

COPIED = ("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json",
          "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt",
          "sentencepiece.bpe.model", "spiece.model", "added_tokens.json", "chat_template.jinja",
          "sentence_bert_config.json")


class ConversionError(Exception):
    pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.convert",
                                description="Convert a Hugging Face checkpoint into the Transformers.js ONNX layout.")
    p.add_argument("--model_id", required=True, help="ORG/NAME under which the model is published")
    p.add_argument("--source", type=Path, help="folder of the checkpoint (default: the model_id folder)")
    p.add_argument("--task", required=True, choices=sorted(tasks.NAMES))
    p.add_argument("--quantize", action="store_true", help="also write the --modes variants")
    p.add_argument("--modes", nargs="*", default=["q8"], help=f"variants to write: {', '.join(MODES)}")
    p.add_argument("--output_parent_dir", type=Path, required=True, help="hub root folder")
    p.add_argument("--revision", default="main")
    p.add_argument("--opset", type=int, default=14)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--unmerged_decoder", action="store_true",
                   help="seq2seq: write decoder_model.onnx (no past key values) instead of decoder_model_merged.onnx")
    p.add_argument("--save_reference", action="store_true",
                   help="write reference.npz: the sample feeds and PyTorch's outputs (for tiny test models)")
    return p.parse_args(argv)


def _tokenizer(source: Path, work: Path):
    """The checkpoint's tokenizer; a tokenizer.json is written when only slow-tokenizer files exist."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, use_fast=True)
    except Exception as error:
        raise ConversionError(f"{source}: missing or unreadable tokenizer files ({error})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ConversionError(f"{source}: no fast tokenizer (tokenizer.json) can be made from the tokenizer files")
    if not (source / "tokenizer.json").is_file():
        tokenizer.save_pretrained(work)
    return tokenizer


def _quantize_all(fp32: Path, name: str, modes: list[str], record: dict[str, dict]) -> dict[str, Path]:
    """Every variant of one graph; what each mode did goes into `record` (quantize_config.json)."""
    files = {"fp32": fp32}
    halves = fp32.parent.parent / "halves"
    for mode in modes:
        files[mode] = fp32.parent / f"{name}{SUFFIXES[mode]}.onnx"
        try:
            if name == seq2seq.MERGED and mode in ("fp16", "q4f16"):
                merged_half_precision(halves, files[mode], mode)
                settings = settings_of(mode)
            else:
                settings = quantize(fp32, files[mode], mode)
        except Exception as error:
            raise ConversionError(f"mode {mode} failed for {name}.onnx: {error}") from None
        kept = settings.pop("nodes_kept_float", None)
        entry = record.setdefault(mode, {**settings, "files": {}})
        entry["files"][f"onnx/{files[mode].name}"] = {"nodes_kept_float": kept} if kept is not None else {}
    return files


def _write_quantize_config(work: Path, record: dict[str, dict]) -> None:
    """Beside the files, as Transformers.js does: how each variant was made, so it can be reproduced."""
    import onnxruntime

    if record:
        (work / "quantize_config.json").write_text(json.dumps(
            {"onnxruntime": onnxruntime.__version__, "modes": record}, indent=2) + "\n")


def _convert_own(source: Path, head: tasks.Head, modes: list[str], work: Path, args,
                 record: dict[str, dict]) -> dict[str, dict]:
    """Encoders and Llama-style decoders: our export, checked against PyTorch mode by mode."""
    tokenizer = _tokenizer(source, work)
    fp32 = work / "onnx" / "model.onnx"
    if head.decoder:
        model = load_decoder(source)
        decoder.export(model, fp32, args.opset)
    else:
        model, names = load(source, head)
        sample = sample_batch(tokenizer, head, names, tasks.SAMPLES, tasks.PAIRS)
        used = export_fp32(model, head, names, sample, fp32, args.opset)
        sample = {n: sample[n] for n in used}
    files = _quantize_all(fp32, "model", modes, record)
    if head.decoder:
        checks = [decoder.text_feeds(model, tokenizer, tasks.SAMPLES[1:], past, length)
                  for past, length in [(0, 5), (3, 2), (6, 1)]]
        pairs = [(feeds, decoder.reference(model, feeds)) for feeds in checks]
        report = validate_decoder(pairs, files)
        sample, reference = pairs[1]
    else:
        reference = reference_outputs(model, head, sample)
        report = validate(reference, head, sample, files)
    print_report(f"{args.model_id} model.onnx", report)
    failures = fp32_failures(report["fp32"])
    if failures:
        raise ConversionError("fp32 export does not match PyTorch: " + "; ".join(failures))
    if args.save_reference:
        np.savez_compressed(work / "reference.npz", **{f"feed.{n}": np.asarray(t) for n, t in sample.items()},
                            **{f"output.{n}": v for n, v in reference.items()})
    return {"model": report}


def _convert_with_optimum(source: Path, config, route: seq2seq.Route, modes: list[str], work: Path,
                          args, record: dict[str, dict]) -> dict[str, dict]:
    """Encoder-decoder, vision and GPT-2: Optimum exports and checks fp32; drift of each variant."""
    if route.needs_tokenizer:
        _tokenizer(source, work)
    elif not (source / "preprocessor_config.json").is_file():
        raise ConversionError(f"{source} has no preprocessor_config.json (missing processor files)")
    try:
        exported = seq2seq.export(source, seq2seq.unmerged(route) if args.unmerged_decoder else route, work, args.opset)
    except ValueError as error:
        raise ConversionError(str(error)) from None
    report = {}
    for name, fp32 in exported.items():
        report[name] = seq2seq.drift(config, fp32, _quantize_all(fp32, name, modes, record))
        print_report(f"{args.model_id} {name}.onnx (fp32 checked by Optimum, atol {seq2seq.ATOL})", report[name])
    return report


def load_decoder(source: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(source, attn_implementation="sdpa").eval()


def convert(args: argparse.Namespace) -> Path:
    from transformers import AutoConfig

    source = args.source or Path(args.model_id)
    modes = list(dict.fromkeys(args.modes if args.quantize else []))
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ConversionError(f"unsupported mode(s) {', '.join(bad)}; supported: {', '.join(MODES)}")
    if not (source / "config.json").is_file():
        raise ConversionError(f"{source} has no config.json (not a Hugging Face checkpoint folder)")
    config = AutoConfig.from_pretrained(source)
    try:
        optimum_route = seq2seq.route(args.task, config.model_type)
        head = tasks.head(args.task, config.model_type)
    except ValueError as error:
        raise ConversionError(str(error)) from None
    target = args.output_parent_dir / args.model_id / args.revision
    if target.exists() and not args.overwrite:
        raise ConversionError(f"{target} exists; pass --overwrite to replace it")
    args.output_parent_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.output_parent_dir) as tmp:
        work = Path(tmp)
        (work / "onnx").mkdir()
        record: dict[str, dict] = {}
        if optimum_route is not None:
            report = _convert_with_optimum(source, config, optimum_route, modes, work, args, record)
            shutil.rmtree(work / "halves", ignore_errors=True)  # the merged decoder's parts: not published
        else:
            report = _convert_own(source, head, modes, work, args, record)
        _write_quantize_config(work, record)
        for name in COPIED:
            if (source / name).is_file() and not (work / name).exists():
                shutil.copy2(source / name, work / name)
        external.package(work)
        (work / "validation.json").write_text(json.dumps({"task": args.task, "files": report}, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        work.rename(target)
        target.chmod(0o755)  # mkdtemp made it private; a hub folder is served to others
        work.mkdir()  # TemporaryDirectory removes the name it created
    return target


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = convert(args)
    except ConversionError as error:
        print(f"convert: {error}", file=sys.stderr)
        return 1
    print(f"wrote {target}")
    return 0
