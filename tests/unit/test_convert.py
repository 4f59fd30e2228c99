"""The conversion command on tiny checkpoints of each encoder architecture, and its errors."""

import hashlib
import json
import re
import shutil

import numpy as np
import onnxruntime
import pytest
import transformers

from pyodide_pkg.cache import Cache
from pyodide_pkg.dtypes import SUFFIXES, onnx_file
from pyodide_pkg.hub import ModelHub
from pyodide_pkg.model_files import FileSource
from tests.conftest import ROOT, run
from tools import convert, serve
from tools.build_hub import CHECKPOINTS, tiny_source
from tools.convert.tasks import PAIRS, SAMPLES, head as head_of

ALL_MODES = ["fp16", "q8", "int8", "uint8", "q4", "q4f16", "bnb4"]
CASES = [("bert", "fill-mask"), ("distilbert", "question-answering"), ("roberta", "token-classification"),
         ("xlm-roberta", "text-classification"), ("mpnet", "feature-extraction"),
         ("bert", "zero-shot-classification"), ("llama", "text-generation"), ("qwen2", "text-generation")]


def args(source, hub, task, *extra, model_id="test/converted", modes=ALL_MODES):
    return convert.parse_args(["--model_id", model_id, "--source", str(source), "--task", task, "--quantize",
                               "--modes", *modes, "--output_parent_dir", str(hub), "--revision", "r1", *extra])


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Each case converted once into one hub, with every mode."""
    hub = tmp_path_factory.mktemp("hub")
    out = {}
    for arch, task in CASES:
        source = tiny_source(arch, task)()
        out[(arch, task)] = (source, convert.convert(args(source, hub, task, model_id=f"test/{arch}-{task}")))
    return hub, out


@pytest.mark.parametrize("arch,task", CASES)
def test_layout_names_and_validation_report(converted, arch, task):
    _, cases = converted
    source, target = cases[(arch, task)]
    assert sorted(p.name for p in (target / "onnx").iterdir()) == sorted(f"model{SUFFIXES[m]}.onnx"
                                                                        for m in ["fp32", *ALL_MODES])
    assert (target / "config.json").is_file() and (target / "tokenizer.json").is_file()
    assert (target / "tokenizer_config.json").is_file()
    report = json.loads((target / "validation.json").read_text())
    modes = report["files"]["model"]
    assert report["task"] == task and list(report["files"]) == ["model"] and list(modes) == ["fp32", *ALL_MODES]
    assert modes["fp32"]["max_abs_diff"] <= 1e-4
    for mode, row in modes.items():
        assert set(head_of(task, arch).outputs) <= set(row["outputs"]) and row["size_bytes"] > 0
        assert -1 <= row["min_cosine"] <= 1.000001
    sizes = {m: r["size_bytes"] for m, r in modes.items()}
    assert sizes["q8"] < sizes["fp32"] and sizes["fp16"] < sizes["fp32"] and sizes["q4f16"] < sizes["q4"]


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_decoder_generates_greedily_like_transformers_with_its_cache(converted, arch):
    """Greedy decoding with our model.onnx and its present/past loop gives transformers' tokens."""
    source, target = converted[1][(arch, "text-generation")]
    model = transformers.AutoModelForCausalLM.from_pretrained(source).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(source)
    prompt = tokenizer("The browser runs models", return_tensors="pt")
    want = model.generate(**prompt, max_new_tokens=8, do_sample=False)[0, prompt["input_ids"].shape[1]:].tolist()
    session = onnxruntime.InferenceSession(str(target / onnx_file("model", "fp32")))
    inputs = {i.name: i for i in session.get_inputs()}
    layers = len([n for n in inputs if n.endswith(".key")])
    ids = prompt["input_ids"].numpy()
    past = {f"past_key_values.{i}.{kv}": np.zeros((1, model.config.num_key_value_heads, 0,
                                                    model.config.hidden_size // model.config.num_attention_heads),
                                                   np.float32) for i in range(layers) for kv in ("key", "value")}
    got, total = [], ids.shape[1]
    for _ in range(8):
        feeds = {"input_ids": ids, "attention_mask": np.ones((1, total), np.int64),
                 "position_ids": np.arange(total - ids.shape[1], total, dtype=np.int64)[None], **past}
        out = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
        token = int(out["logits"][0, -1].argmax())
        got.append(token)
        past = {f"past_key_values.{i}.{kv}": out[f"present.{i}.{kv}"] for i in range(layers) for kv in ("key", "value")}
        ids, total = np.array([[token]], np.int64), total + 1
    assert got == want


@pytest.mark.parametrize("arch,task", [c for c in CASES if not head_of(c[1], c[0]).decoder])
def test_fp32_file_matches_transformers_independently(converted, arch, task):
    """Our own check, not the tool's: run the ONNX file and the PyTorch head on fresh inputs."""
    source, target = converted[1][(arch, task)]
    head = head_of(task, arch)
    tokenizer = transformers.AutoTokenizer.from_pretrained(source)
    model = getattr(transformers, head.auto_class).from_pretrained(source).eval()
    texts = ["A different sentence, longer than the samples were, to test dynamic axes."] + SAMPLES[:1]
    batch = tokenizer([q for q, _ in PAIRS[:2]], [c for _, c in PAIRS[:2]], padding=True, return_tensors="pt") \
        if head.pairs else tokenizer(texts, padding=True, return_tensors="pt")
    session = onnxruntime.InferenceSession(str(target / onnx_file("model", "fp32")))
    names = [i.name for i in session.get_inputs()]
    got = session.run(list(head.outputs), {n: batch[n].numpy() for n in names})
    import torch
    with torch.no_grad():
        want = model(**{n: batch[n] for n in names})
    mask = batch["attention_mask"].numpy().astype(bool)
    for name, value in zip(head.outputs, got):
        expected = getattr(want, name).numpy()
        if head.per_token:
            value, expected = value[mask], expected[mask]
        assert np.abs(value - expected).max() <= 1e-4, name


def test_hub_code_finds_every_produced_file(converted, store_dir):
    hub, cases = converted
    srv = serve.start(0, hub.parent, hub)
    try:
        async def fetch_all():
            files = FileSource(ModelHub(f"{srv.origin}/hub", "{model}/{revision}"), await Cache.open(),
                               [{"filter": "ALLOW", "urlPrefix": f"{srv.origin}/hub/"}], "test", "e1", None)
            for (arch, task), (_, target) in cases.items():
                for mode in ["fp32", *ALL_MODES]:
                    path = onnx_file("model", mode)
                    data = await files.get(f"test/{arch}-{task}", "r1", path)
                    assert hashlib.sha256(data).digest() == hashlib.sha256((target / path).read_bytes()).digest()
                assert json.loads(await files.get(f"test/{arch}-{task}", "r1", "config.json"))["model_type"]
        run(fetch_all())
    finally:
        srv.shutdown()


def test_tiny_hub_models_carry_reference_outputs():
    from tools.build_hub import HUB
    reference = np.load(HUB / "test" / "tiny-bert-question-answering" / "v1" / "reference.npz")
    assert {"feed.input_ids", "feed.attention_mask", "output.start_logits", "output.end_logits"} <= set(reference.files)
    assert reference["output.start_logits"].shape == reference["feed.input_ids"].shape


def test_slow_tokenizer_files_get_a_tokenizer_json(tmp_path):
    source = tmp_path / "slow"
    shutil.copytree(tiny_source("bert", "text-classification")(), source)
    (source / "tokenizer.json").unlink()
    target = convert.convert(args(source, tmp_path / "hub", "text-classification", modes=["q8"]))
    assert (target / "tokenizer.json").is_file() and (target / "onnx" / "model_quantized.onnx").is_file()


def test_errors_are_named_and_exit_non_zero(tmp_path, capsys):
    bert = tiny_source("bert", "text-classification")()
    hub = tmp_path / "hub"
    gpt2 = tmp_path / "gpt2"
    transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=10).save_pretrained(gpt2)
    no_tokenizer = tmp_path / "bare"
    no_tokenizer.mkdir()
    shutil.copy2(bert / "config.json", no_tokenizer / "config.json")
    shutil.copy2(bert / "model.safetensors", no_tokenizer / "model.safetensors")
    cases = [
        (args(bert, hub, "text-classification", modes=["q3"]), "unsupported mode(s) q3"),
        (args(gpt2, hub, "fill-mask"), "task 'fill-mask' is not supported for architecture 'gpt2'"),
        (args(bert, hub, "text-generation"), "task 'text-generation' is not supported for architecture 'bert' "
                                             "(supported: gpt2, llama, qwen2)"),
        (args(no_tokenizer, hub, "text-classification", modes=["q8"]), "missing or unreadable tokenizer files"),
        (args(tmp_path / "nowhere", hub, "text-classification"), "has no config.json"),
    ]
    for namespace, message in cases:
        with pytest.raises(convert.ConversionError, match=re.escape(message)):
            convert.convert(namespace)
    convert.convert(args(bert, hub, "text-classification", modes=["q8"]))
    with pytest.raises(convert.ConversionError, match="exists; pass --overwrite"):
        convert.convert(args(bert, hub, "text-classification", modes=["q8"]))
    assert convert.convert(args(bert, hub, "text-classification", "--overwrite", modes=["q8"])).is_dir()
    assert convert.main(["--model_id", "a/b", "--source", str(bert), "--task", "fill-mask", "--quantize",
                         "--modes", "q9", "--output_parent_dir", str(hub)]) == 1
    assert "convert: unsupported mode(s) q9" in capsys.readouterr().err
    assert not any(p.name.startswith("tmp") for p in hub.iterdir())  # failures leave no half-written folder
    assert CHECKPOINTS.is_dir()


def test_graphs_over_the_size_limit_keep_their_weights_beside_them(tmp_path, monkeypatch, store_dir):
    """With the 2 GB limit lowered to 64 KB, the tiny BERT is 'large': every graph gets one <graph>_data file,
    config.json declares them as Transformers.js reads it, and the engine's results are transformers' own."""
    import pyodide_pkg
    from tests.unit.test_text_tasks import assert_same
    from tools.convert import external

    monkeypatch.setattr(external, "LIMIT", 64 * 1024)
    source = tiny_source("bert", "feature-extraction")()
    hub = tmp_path / "hub"
    target = convert.convert(args(source, hub, "feature-extraction", model_id="test/large", modes=["q8"]))
    assert sorted(p.name for p in (target / "onnx").iterdir()) == [
        "model.onnx", "model.onnx_data", "model_quantized.onnx", "model_quantized.onnx_data"]
    assert (target / "onnx" / "model.onnx").stat().st_size < 64 * 1024
    config = json.loads((target / "config.json").read_text())
    assert config["transformers.js_config"]["use_external_data_format"] == {"model.onnx": True,
                                                                              "model_quantized.onnx": True}
    shutil.copytree(ROOT / "web" / "settings", tmp_path / "settings")
    (tmp_path / "vendor").symlink_to(ROOT / "web" / "vendor", target_is_directory=True)
    srv = serve.start(0, tmp_path, hub)
    try:
        texts = ["Weights beside the graph.", "A second sentence, longer than the first one is."]
        engine = run(pyodide_pkg.create_engine({"taskName": "feature-extraction", "modelId": "test/large",
                                                "modelRevision": "r1", "dtype": "fp32",
                                                "settingsBaseUrl": f"{srv.origin}/settings"}))
        ours = run(engine.run({"args": [texts]}))
    finally:
        srv.shutdown()
    pipe = transformers.pipeline("feature-extraction", model=str(source), device=-1)
    assert_same(ours, [w[0] for w in pipe(texts)], tolerance=1e-4)
