"""Generation under CPython against transformers' generate() and pipelines on the same checkpoints."""

import asyncio

import numpy as np
import pytest
import torch
import transformers

import pyodide_pkg
from pyodide_pkg.errors import RequestError
from pyodide_pkg.processors import ImageProcessor
from tests import generation_cases as cases
from tests.conftest import run
from tools import convert, serve
from tools.build_hub import tiny_source

TOKEN_KEY = {"text-generation": "generated_token_ids", "text2text-generation": "generated_token_ids",
             "summarization": "summary_token_ids", "translation": "translation_token_ids",
             "image-to-text": "generated_token_ids"}


def checkpoint(name: str):
    arch, task = cases.MODELS[name]
    return tiny_source(arch, task)()


def reference_model(name: str):
    folder = checkpoint(name)
    kind = {"text-generation": transformers.AutoModelForCausalLM,
            "image-to-text": transformers.VisionEncoderDecoderModel}.get(cases.TASKS[name],
                                                                          transformers.AutoModelForSeq2SeqLM)
    return kind.from_pretrained(folder).eval(), transformers.AutoTokenizer.from_pretrained(folder)


def inputs_for(name: str, prompt):
    """What generate() takes for this model and prompt (an image data: URL for image-to-text)."""
    folder = checkpoint(name)
    if cases.TASKS[name] == "image-to-text":
        processor = transformers.ViTImageProcessor.from_pretrained(folder)
        return processor(cases.decode_data_url(prompt).convert("RGB"), return_tensors="pt")
    return transformers.AutoTokenizer.from_pretrained(folder)(prompt, return_tensors="pt")


def engine_options(server, name: str, dtype: str = "fp32", **extra):
    return {"taskName": cases.TASKS[name], "modelId": f"test/{name}", "modelRevision": "v1", "dtype": dtype,
            "settingsBaseUrl": f"{server.origin}/settings", "engineId": f"{name}-{dtype}", **extra}


def our_runs(server, name: str, requests: list, **extra) -> list:
    async def go():
        engine = await pyodide_pkg.create_engine(engine_options(server, name, **extra))
        try:
            return [await engine.run(r) for r in requests]
        finally:
            await engine.terminate()
    return run(go())


def greedy_by_default(name: str, options: dict) -> dict:
    """transformers' text-generation pipeline samples unless told not to; generate() does not."""
    return {"do_sample": False, **options} if cases.TASKS[name] == "text-generation" else options


def like_generate(name: str, options: dict) -> dict:
    """generate()'s defaults where the pipelines have their own (text2text pipelines: 4 beams)."""
    options = greedy_by_default(name, options)
    return options if cases.TASKS[name] in ("text-generation", "image-to-text") else {"num_beams": 1, **options}


def our_token_ids(server, name: str, prompts: list, options: dict) -> list[list[list[int]]]:
    key = TOKEN_KEY[cases.TASKS[name]]
    options = like_generate(name, options)
    found = our_runs(server, name, [{"args": [p], "options": {**options, "return_tensors": True}} for p in prompts])
    return [[record[key] for record in result] for result in found]


def their_token_ids(name: str, prompts: list, options: dict) -> list[list[list[int]]]:
    model, tokenizer = reference_model(name)
    options = dict(options)
    extra = {}
    if "stop_strings" in options:
        stop = transformers.StopStringCriteria(tokenizer, options.pop("stop_strings"))
        extra["stopping_criteria"] = transformers.StoppingCriteriaList([stop])
    out = []
    for prompt in prompts:
        with torch.no_grad():
            out.append(model.generate(**inputs_for(name, prompt), do_sample=False, **options, **extra).tolist())
    return out


def prompts_for(name: str) -> list:
    return cases.images() if cases.TASKS[name] == "image-to-text" else cases.PROMPTS


@pytest.mark.parametrize("strategy", [{"max_new_tokens": 8}, {"max_new_tokens": 8, "num_beams": 3}],
                         ids=["greedy", "beam"])
@pytest.mark.parametrize("name", list(cases.MODELS))
def test_tokens_equal_transformers_generate(server, store_dir, name, strategy):
    prompts = prompts_for(name)
    assert len(prompts) >= 10
    assert our_token_ids(server, name, prompts, strategy) == their_token_ids(name, prompts, strategy)


def option_cases(name: str) -> list[dict]:
    """Logits processors and stopping rules, with an end token the model actually produces early."""
    model, _ = reference_model(name)
    natural_eos = model.generation_config.eos_token_id
    greedy = their_token_ids(name, [cases.PROMPTS[0]], {"max_new_tokens": 8, "suppress_tokens": [natural_eos]})[0][0]
    start = len(inputs_for(name, cases.PROMPTS[0])["input_ids"][0]) if cases.TASKS[name] == "text-generation" else 1
    made = greedy[start:]
    eos, other = made[2], made[0]
    return [
        {"max_new_tokens": 8, "eos_token_id": eos},
        {"max_new_tokens": 8, "eos_token_id": [eos, made[4]], "num_beams": 3},
        {"max_new_tokens": 8, "eos_token_id": eos, "num_beams": 4, "early_stopping": True},
        {"max_new_tokens": 8, "eos_token_id": eos, "num_beams": 4, "early_stopping": "never", "length_penalty": 2.0},
        {"max_new_tokens": 8, "eos_token_id": eos, "num_beams": 2, "length_penalty": -1.0},
        {"max_new_tokens": 8, "eos_token_id": eos, "min_new_tokens": 6},
        {"max_new_tokens": 8, "eos_token_id": eos, "min_length": start + 5},
        {"max_new_tokens": 8, "bad_words_ids": [[eos], [made[0], made[1]]]},
        {"max_new_tokens": 8, "suppress_tokens": [other, made[1]]},
        {"max_new_tokens": 8, "begin_suppress_tokens": [other]},
        {"max_new_tokens": 6, "forced_eos_token_id": eos},
        {"max_new_tokens": 6, "forced_bos_token_id": made[3]},
        {"max_new_tokens": 10, "repetition_penalty": 1.8},
        {"max_new_tokens": 10, "no_repeat_ngram_size": 2, "num_beams": 2},
        {"max_new_tokens": 8, "num_beams": 4, "num_return_sequences": 3, "length_penalty": 0.3},
        {"max_new_tokens": 8, "stop_strings": [transformers.AutoTokenizer.from_pretrained(checkpoint(name))
                                               .decode([made[3]]).strip() or "x"]},
    ]


@pytest.mark.parametrize("name", ["tiny-gpt2", "tiny-llama", "tiny-t5", "tiny-bart"])
def test_processors_and_stopping_equal_transformers(server, store_dir, name):
    prompts = cases.PROMPTS[:2]
    for options in option_cases(name):
        assert our_token_ids(server, name, prompts, options) == their_token_ids(name, prompts, options), options


def test_sampling_is_reproducible_and_draws_only_allowed_tokens(server, store_dir):
    name, prompt = "tiny-gpt2", cases.PROMPTS[2]
    settings = [{"top_k": 5, "temperature": 0.7}, {"top_k": 0, "top_p": 0.6}, {"top_k": 3, "top_p": 0.9,
                                                                               "repetition_penalty": 1.3}]
    model, _ = reference_model(name)
    changed_with_seed = []
    for setting in settings:
        options = {"do_sample": True, "max_new_tokens": 10, "seed": 7, **setting}
        first, again = our_token_ids(server, name, [prompt, prompt], options)
        other = our_token_ids(server, name, [prompt], {**options, "seed": 8})[0]
        assert first == again
        changed_with_seed.append(first != other)
        sequence = first[0]
        start = len(inputs_for(name, prompt)["input_ids"][0])
        processors = transformers.LogitsProcessorList([
            transformers.RepetitionPenaltyLogitsProcessor(setting.get("repetition_penalty", 1.0)),
            transformers.TemperatureLogitsWarper(setting.get("temperature", 1.0)),
            *([transformers.TopKLogitsWarper(setting["top_k"])] if setting["top_k"] else []),
            *([transformers.TopPLogitsWarper(setting["top_p"])] if "top_p" in setting else [])])
        for position in range(start, len(sequence)):
            prefix = torch.tensor([sequence[:position]])
            with torch.no_grad():
                scores = processors(prefix, model(prefix).logits[:, -1, :])
            allowed = torch.isfinite(scores[0]).nonzero().flatten().tolist()
            assert sequence[position] in allowed and len(allowed) < scores.shape[-1], (setting, position)
    assert any(changed_with_seed)


def reference_pipeline(name: str):
    task = cases.TASKS[name]
    return transformers.pipeline(task, model=str(checkpoint(name)), device=-1)


@pytest.mark.parametrize("name,options", [
    ("tiny-gpt2", {"max_new_tokens": 8}), ("tiny-llama", {"max_new_tokens": 8, "return_full_text": False}),
    ("tiny-qwen2", {"max_new_tokens": 6, "num_beams": 2, "num_return_sequences": 2}),
    ("tiny-t5", {"max_new_tokens": 8}), ("tiny-bart", {"max_new_tokens": 8, "num_beams": 2}),
    ("tiny-marian", {"max_new_tokens": 8}), ("tiny-vit-gpt2", {"max_new_tokens": 8})])
def test_pipeline_results_equal_transformers(server, store_dir, name, options):
    prompts = prompts_for(name)
    pipe = reference_pipeline(name)
    ours = our_runs(server, name, [{"args": [p], "options": greedy_by_default(name, options)} for p in prompts])
    image = cases.TASKS[name] == "image-to-text"
    greedy = {} if image else {"do_sample": False}  # the image-to-text pipeline takes no do_sample (and samples not)
    for prompt, got in zip(prompts, ours):
        assert got == pipe(cases.decode_data_url(prompt) if image else prompt, **greedy, **options), prompt
    listed = our_runs(server, name, [{"args": [prompts[:3]], "options": greedy_by_default(name, options)}])[0]
    sources = [cases.decode_data_url(p) for p in prompts[:3]] if image else prompts[:3]
    assert listed == pipe(sources, **greedy, **options)


def test_chat_prompt_uses_the_chat_template(server, store_dir):
    pipe = reference_pipeline("tiny-llama")
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Where do models run?"}]
    assert our_runs(server, "tiny-llama", [{"args": [chat], "options": {"max_new_tokens": 6, "do_sample": False}}])[0] == \
        pipe(chat, max_new_tokens=6, do_sample=False)


@pytest.mark.parametrize("processor_class,config", [
    ("ViTImageProcessor", {"size": {"height": 32, "width": 32}}),
    ("ViTImageProcessor", {"size": {"height": 224, "width": 224}, "resample": 3, "image_mean": [0.485, 0.456, 0.406],
                           "image_std": [0.229, 0.224, 0.225]}),
    ("DeiTImageProcessor", {"size": {"height": 64, "width": 64}, "crop_size": {"height": 48, "width": 48}}),
    ("ViTImageProcessor", {"size": {"height": 30, "width": 50}, "do_normalize": False})])
def test_image_preprocessing_equals_transformers(processor_class, config):
    theirs = getattr(transformers, processor_class)(**config)
    ours = ImageProcessor(theirs.to_dict())
    for url in cases.images():
        image = cases.decode_data_url(url).convert("RGB")
        want = theirs(image, return_tensors="np")["pixel_values"]
        got = ours(image)
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-5


def test_streaming_pieces_join_to_the_final_text(server, store_dir):
    async def go():
        out = {}
        for name, options in [("tiny-gpt2", {"max_new_tokens": 10, "return_full_text": False, "do_sample": False}),
                              ("tiny-t5", {"max_new_tokens": 10, "num_beams": 1}),
                              ("tiny-vit-gpt2", {"max_new_tokens": 6}),
                              ("tiny-bart", {"max_new_tokens": 6, "num_beams": 2})]:
            engine = await pyodide_pkg.create_engine(engine_options(server, name))
            prompt = prompts_for(name)[0]
            out[name] = [piece async for piece in engine.run_with_generator({"args": [prompt], "options": options})]
            out[name + " run"] = await engine.run({"args": [prompt], "options": options})
        return out
    found = run(go())
    for name in ("tiny-gpt2", "tiny-t5", "tiny-vit-gpt2", "tiny-bart"):
        pieces, final = found[name][:-1], found[name][-1]
        assert final == {"output": found[name + " run"]}
        text = next(iter(final["output"][0].values()))
        assert pieces and all(set(p) == {"text", "tokens"} for p in pieces)
        assert "".join(p["text"] for p in pieces) == text
        if name != "tiny-bart":  # beam search settles its text only at the end
            assert len(pieces) > 1


def test_without_cache_gives_the_same_tokens(server, store_dir):
    for name, options in [("tiny-gpt2", {"max_new_tokens": 8}), ("tiny-t5", {"max_new_tokens": 8, "num_beams": 3}),
                          ("tiny-vit-gpt2", {"max_new_tokens": 6})]:
        prompts = prompts_for(name)[:2]
        assert our_token_ids(server, name, prompts, {**options, "use_cache": False}) == \
            our_token_ids(server, name, prompts, options)


def test_plain_decoder_without_merged_file_still_generates(tmp_path, store_dir):
    """A hub with decoder_model.onnx (no past, no merged file): found and run without renaming anything."""
    hub = tmp_path / "hub"
    convert.convert(convert.parse_args(["--model_id", "test/plain-t5", "--source", str(checkpoint("tiny-t5")),
                                        "--task", "text2text-generation", "--unmerged_decoder", "--quantize",
                                        "--modes", "q8", "--output_parent_dir", str(hub), "--revision", "v1"]))
    files = sorted(p.name for p in (hub / "test" / "plain-t5" / "v1" / "onnx").iterdir())
    assert files == ["decoder_model.onnx", "decoder_model_quantized.onnx", "encoder_model.onnx",
                     "encoder_model_quantized.onnx"]
    srv = serve.start(0, serve.ROOT / "web", hub)
    try:
        options = {"max_new_tokens": 8, "num_beams": 2}
        found = our_runs(srv, "tiny-t5", [{"args": [p], "options": {**options, "return_tensors": True}}
                                          for p in cases.PROMPTS], modelId="test/plain-t5")
        assert [[r["generated_token_ids"] for r in f] for f in found] == their_token_ids("tiny-t5", cases.PROMPTS,
                                                                                         options)
        assert srv.requests("GET", "/hub/test/plain-t5/v1/onnx/decoder_model_merged.onnx")
        assert srv.requests("GET", "/hub/test/plain-t5/v1/onnx/decoder_model.onnx")
    finally:
        srv.shutdown()


def test_bad_requests_fail_clearly_and_leave_the_engine_usable(server, store_dir):
    long_prompt = " ".join(["word"] * 300)

    async def go():
        text = await pyodide_pkg.create_engine(engine_options(server, "tiny-gpt2"))
        image = await pyodide_pkg.create_engine(engine_options(server, "tiny-vit-gpt2"))
        bad = [(text, [long_prompt], {}, "the prompt has 300 tokens but the model reads at most 128 including one new"),
               (text, ["hi"], {"num_beams": 0}, "'num_beams' must be an integer >= 1"),
               (text, ["hi"], {"num_return_sequences": 2, "do_sample": False}, "must not exceed num_beams"),
               (text, ["hi"], {"colour": 1}, "unknown option 'colour'; known: add_special_tokens, bad_words_ids"),
               (text, ["hi"], {"top_p": 2}, "'top_p' must be a number between 0 and 1"),
               (text, [42], {}, "a prompt is a text or a chat"),
               (image, ["data:text/plain;base64,aGk="], {}, "must be of type image"),
               (image, [b"not an image"], {}, "could not be decoded"),
               (image, [3.5], {}, "an image is a URL"),
               (image, [f"{server.origin}/hub/missing.png"], {}, "HTTP 404")]
        for engine, args, options, message in bad:
            with pytest.raises(RequestError, match=message):
                await engine.run({"args": args, "options": options})
        return (await text.run({"args": ["hi"], "options": {"max_new_tokens": 2}}),
                await image.run({"args": [cases.images()[0]], "options": {"max_new_tokens": 2}}))
    after_text, after_image = run(go())
    assert after_text[0]["generated_text"].startswith("hi") and "generated_text" in after_image[0]


def test_translation_task_with_languages_and_image_urls_over_http(server, store_dir, tmp_path):
    """translation_xx_to_yy runs the translation pipeline; an http(s) image URL is fetched like a data: URL."""
    folder = tmp_path / "site"
    folder.mkdir()
    url = cases.images()[1]
    (folder / "photo.png").write_bytes(cases.decode_data_url_bytes(url))
    site = serve.start(0, folder, tmp_path)
    try:
        options = {"max_new_tokens": 5}
        by_name = our_runs(server, "tiny-marian", [{"args": [cases.PROMPTS[0]], "options": options}],
                           taskName="translation_en_to_fr")
        plain = our_runs(server, "tiny-marian", [{"args": [cases.PROMPTS[0]], "options": options}])
        over_http, inline = our_runs(server, "tiny-vit-gpt2", [{"args": [f"{site.origin}/photo.png"], "options": options},
                                                               {"args": [url], "options": options}])
    finally:
        site.shutdown()
    assert by_name == plain and set(plain[0][0]) == {"translation_text"}
    assert over_http == inline


def test_a_stream_closed_early_stops_generating_and_frees_the_engine(server, store_dir):
    async def go():
        engine = await pyodide_pkg.create_engine(engine_options(server, "tiny-gpt2"))
        stream = engine.run_with_generator({"args": ["Hello"], "options": {"max_new_tokens": 200, "min_new_tokens": 200,
                                                                           "do_sample": False}})
        first = await stream.__anext__()
        await stream.aclose()
        busy = engine._busy
        after = await engine.run({"args": ["Hello"], "options": {"max_new_tokens": 2, "do_sample": False}})
        return first, busy, after, engine.status
    first, busy, after, status = run(go())
    assert set(first) == {"text", "tokens"} and busy == 0 and status == "ready"
    assert after[0]["generated_text"].startswith("Hello")


@pytest.mark.parametrize("name", list(cases.MODELS))
def test_concurrent_runs_on_one_engine_equal_sequential_runs(server, store_dir, name):
    """Decoding state is the request's own: interleaved steps of four runs must not mix their caches."""
    prompts = prompts_for(name)[:4]
    mixed = [{"max_new_tokens": 8}, {"max_new_tokens": 8, "num_beams": 3}, {"max_new_tokens": 6, "use_cache": False},
             {"max_new_tokens": 8, "num_beams": 2, "num_return_sequences": 2}]
    requests = [{"args": [p], "options": {**like_generate(name, o), "return_tensors": True}}
                for p, o in zip(prompts, mixed)]

    async def go():
        engine = await pyodide_pkg.create_engine(engine_options(server, name))
        try:
            sequential = [await engine.run(r) for r in requests]
            concurrent = await asyncio.gather(*(engine.run(r) for r in requests))
            return sequential, list(concurrent)
        finally:
            await engine.terminate()
    sequential, concurrent = run(go())
    assert concurrent == sequential
