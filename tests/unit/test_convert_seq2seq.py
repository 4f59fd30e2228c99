"""Optimum-exported architectures: encoder-decoder with a merged decoder, GPT-2, vision."""

import json

import numpy as np
import onnxruntime
import pytest
import torch
import transformers

from tools import convert
from tools.build_hub import tiny_source

MODELS = [("t5", "text2text-generation", ["encoder_model", "decoder_model_merged"]),
          ("bart", "summarization", ["encoder_model", "decoder_model_merged"]),
          ("vision-encoder-decoder", "image-to-text", ["encoder_model", "decoder_model_merged"]),
          ("gpt2", "text-generation", ["model"]), ("vit", "image-classification", ["model"])]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    hub = tmp_path_factory.mktemp("hub")
    out = {}
    for arch, task, _ in MODELS:
        source = tiny_source(arch, "text2text-generation" if task == "summarization" else task)()
        out[arch] = (source, convert.convert(convert.parse_args([
            "--model_id", f"test/{arch}", "--source", str(source), "--task", task, "--quantize", "--modes", "q8", "q4",
            "--output_parent_dir", str(hub), "--revision", "r1"])))
    return out


@pytest.mark.parametrize("arch,task,files", MODELS)
def test_files_and_report(converted, arch, task, files):
    _, target = converted[arch]
    names = sorted(p.name for p in (target / "onnx").iterdir())
    assert names == sorted(f"{f}{sfx}.onnx" for f in files for sfx in ("", "_quantized", "_q4"))
    report = json.loads((target / "validation.json").read_text())
    assert list(report["files"]) == files
    for rows in report["files"].values():
        assert list(rows) == ["fp32", "q8", "q4"] and rows["fp32"]["max_abs_diff"] == 0.0
        assert rows["q8"]["size_bytes"] < rows["fp32"]["size_bytes"]  # If branches are quantized too
    if "decoder_model_merged" in files:
        session = onnxruntime.InferenceSession(str(target / "onnx" / "decoder_model_merged.onnx"))
        inputs = {i.name for i in session.get_inputs()}
        assert {"use_cache_branch", "encoder_hidden_states", "input_ids"} <= inputs
        # Seq2seq decoders carry self- and cross-attention caches; a GPT-2 decoder under a vision
        # encoder recomputes cross-attention, so it has one cache per layer (Transformers.js' layout too).
        cache = {"past_key_values.0.decoder.key", "past_key_values.0.encoder.value"} if arch != "vision-encoder-decoder" \
            else {"past_key_values.0.key", "past_key_values.0.value"}
        assert cache <= inputs
        assert {n.replace("past_key_values", "present") for n in cache} <= {o.name for o in session.get_outputs()}
    if arch == "vit":
        assert (target / "preprocessor_config.json").is_file()


def test_t5_greedy_generation_through_the_merged_decoder(converted):
    """Encoder once, merged decoder without then with its cache: transformers' greedy tokens."""
    source, target = converted["t5"]
    model = transformers.T5ForConditionalGeneration.from_pretrained(source).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(source)
    prompt = tokenizer("translate: the browser runs models", return_tensors="pt")
    want = model.generate(**prompt, max_new_tokens=6, do_sample=False, num_beams=1)[0, 1:].tolist()
    encoder = onnxruntime.InferenceSession(str(target / "onnx" / "encoder_model.onnx"))
    decoder = onnxruntime.InferenceSession(str(target / "onnx" / "decoder_model_merged.onnx"))
    feeds = {"input_ids": prompt["input_ids"].numpy(), "attention_mask": prompt["attention_mask"].numpy()}
    hidden = encoder.run(None, feeds)[0]
    past_inputs = [i for i in decoder.get_inputs() if i.name.startswith("past_key_values")]
    past = {i.name: np.zeros((1, model.config.num_heads, 0 if ".decoder." in i.name else hidden.shape[1],
                              model.config.d_kv), np.float32) for i in past_inputs}
    token, got = model.config.decoder_start_token_id, []
    for step in range(6):
        out = dict(zip([o.name for o in decoder.get_outputs()], decoder.run(None, {
            "input_ids": np.array([[token]], np.int64), "encoder_attention_mask": feeds["attention_mask"],
            "encoder_hidden_states": hidden, "use_cache_branch": np.array([step > 0]), **past})))
        token = int(out["logits"][0, -1].argmax())
        got.append(token)
        # The cross-attention cache comes from the first step only; later steps return it empty.
        past = {name: out[name.replace("past_key_values", "present")] if step == 0 or ".decoder." in name
                else value for name, value in past.items()}
    assert got == want[:len(got)]


@pytest.mark.parametrize("arch,task", [("t5", "text2text-generation"), ("vision-encoder-decoder", "image-to-text")])
def test_half_precision_merged_decoders_keep_fp32_io_and_stay_close(tmp_path, arch, task):
    """fp16 and q4f16 of a merged decoder are made half by half and merged; both branches run."""
    source = tiny_source(arch, task)()
    target = convert.convert(convert.parse_args(["--model_id", f"test/{arch}", "--source", str(source), "--task", task,
                                                 "--quantize", "--modes", "fp16", "q4", "q4f16",
                                                 "--output_parent_dir", str(tmp_path), "--revision", "r1"]))
    assert not (target / "halves").exists() and not any(tmp_path.glob("tmp*"))
    report = json.loads((target / "validation.json").read_text())["files"]["decoder_model_merged"]
    assert list(report) == ["fp32", "fp16", "q4", "q4f16"]
    # fp16 alone is nearly lossless; q4f16 loses what q4 loses, and little more
    assert report["fp16"]["min_cosine"] > 0.999 and report["q4f16"]["min_cosine"] >= report["q4"]["min_cosine"] - 0.01
    fp32 = onnxruntime.InferenceSession(str(target / "onnx" / "decoder_model_merged.onnx"))
    half = onnxruntime.InferenceSession(str(target / "onnx" / "decoder_model_merged_fp16.onnx"))
    assert [(i.name, i.type) for i in half.get_inputs()] == [(i.name, i.type) for i in fp32.get_inputs()]
    assert [(o.name, o.type) for o in half.get_outputs()] == [(o.name, o.type) for o in fp32.get_outputs()]
    from tools.convert.seq2seq import random_feeds
    feeds = random_feeds(fp32, transformers.AutoConfig.from_pretrained(source))
    for branch in (False, True):
        feeds["use_cache_branch"] = np.array([branch])
        want, got = fp32.run(None, feeds)[0], half.run(None, feeds)[0]
        assert np.abs(got - want).max() <= 0.01 * np.abs(want).max()


def test_vit_classifies_like_pytorch(converted):
    source, target = converted["vit"]
    model = transformers.ViTForImageClassification.from_pretrained(source).eval()
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        want = model(pixel_values=pixels).logits.numpy()
    session = onnxruntime.InferenceSession(str(target / "onnx" / "model.onnx"))
    assert np.abs(session.run(None, {"pixel_values": pixels.numpy()})[0] - want).max() <= 1e-4
