"""Generation through createEngine in Chromium: the same token ids as the CPython run, alt text, streaming."""

import json

import pytest

import pyodide_pkg
from tests import generation_cases as cases
from tests.conftest import run
from tests.unit.test_text_tasks import assert_same
from tests.browser.test_tasks_in_browser import RUN_ALL
from tests.unit.test_generation import TOKEN_KEY, engine_options, like_generate, our_runs, our_token_ids

RUNS = [("tiny-gpt2", {"max_new_tokens": 8}), ("tiny-gpt2", {"max_new_tokens": 6, "num_beams": 3}),
        ("tiny-llama", {"max_new_tokens": 6, "repetition_penalty": 1.4}),
        ("tiny-llama", {"max_new_tokens": 8, "do_sample": True, "seed": 7, "top_k": 20}),  # numpy.random, deferred
        ("tiny-t5", {"max_new_tokens": 6, "num_beams": 2}), ("tiny-bart", {"max_new_tokens": 6}),
        ("tiny-marian", {"max_new_tokens": 6, "no_repeat_ngram_size": 2}),
        ("tiny-vit-gpt2", {"max_new_tokens": 6, "num_beams": 2})]


def browser_options(server, name: str, **extra) -> dict:
    return {k: v for k, v in engine_options(server, name, **extra).items() if k != "settingsBaseUrl"}


@pytest.mark.parametrize("name,options", RUNS)
def test_same_token_ids_as_cpython(page, server, store_dir, name, options):
    prompts = (cases.images() if cases.TASKS[name] == "image-to-text" else cases.PROMPTS)[:4]
    full = {**like_generate(name, options), "return_tensors": True}
    answers = page.evaluate(RUN_ALL, [browser_options(server, name), [{"args": [p], "options": full} for p in prompts]])
    assert all(a["ok"] for a in answers), answers
    key = TOKEN_KEY[cases.TASKS[name]]
    assert [[r[key] for r in a["value"]] for a in answers] == our_token_ids(server, name, prompts, options)


CAPTION = """async () => {
  const { createEngine } = await import('./engine.mjs');
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 48;
  const context = canvas.getContext('2d');
  context.fillStyle = '#3a7'; context.fillRect(0, 0, 64, 48);
  context.fillStyle = '#c22'; context.beginPath(); context.arc(30, 22, 14, 0, 2 * Math.PI); context.fill();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  const engine = await createEngine('pdfjs-alt-text');
  const options = { max_new_tokens: 8 };
  const fromBlob = await engine.run({ args: [blob], options });
  const fromImageData = await engine.run({ args: [context.getImageData(0, 0, 64, 48)], options });
  const dataUrl = canvas.toDataURL('image/png');
  const fromUrl = await engine.run({ args: [dataUrl], options });
  // pdf.js' shape, its pixels moved to the engine host rather than copied: the page's array is detached after.
  const rgba = context.getImageData(0, 0, 64, 48).data;
  const fromPdfjs = await engine.run({ args: [{ data: rgba, width: 64, height: 48, channels: 4 }], options },
                                     { transfer: [rgba.buffer] });
  return { fromBlob, fromImageData, fromUrl, fromPdfjs, moved: rgba.byteLength === 0, dataUrl, status: engine.status };
}"""


def test_pdfjs_alt_text_captions_a_png_from_the_page(page, server, store_dir):
    found = page.evaluate(CAPTION)
    assert found["status"] == "ready"
    caption = found["fromBlob"]
    assert len(caption) == 1 and set(caption[0]) == {"generated_text"} and caption[0]["generated_text"]
    assert found["fromUrl"] == caption == found["fromImageData"] == found["fromPdfjs"] and found["moved"]
    expected = our_runs(server, "tiny-vit-gpt2", [{"args": [found["dataUrl"]], "options": {"max_new_tokens": 8}}],
                        dtype="q8")[0]
    assert caption == expected


STREAM = """async ([options, request]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine(options);
  const pieces = [];
  for await (const piece of engine.runWithGenerator(request)) pieces.push(piece);
  return pieces;
}"""


@pytest.mark.parametrize("name,options", [("tiny-llama", {"max_new_tokens": 8, "do_sample": False,
                                                         "return_full_text": False}),
                                          ("tiny-t5", {"max_new_tokens": 8, "num_beams": 1})])
def test_streaming_delivers_pieces_before_the_end(page, server, name, options):
    request = {"args": [cases.PROMPTS[0]], "options": options}
    pieces = page.evaluate(STREAM, [browser_options(server, name), request])
    *texts, final = pieces
    assert len(texts) >= 2 and all(p["text"] for p in texts)
    assert "".join(p["text"] for p in texts) == next(iter(final["output"][0].values()))


def test_bad_requests_in_browser_name_the_problem(page, server):
    requests = [{"args": ["data:text/plain;base64,aGk="]}, {"args": [cases.images()[0]], "options": {"num_beams": 0}},
                {"args": [cases.images()[0]], "options": {"max_new_tokens": 3}}]
    first, second, third = page.evaluate(RUN_ALL, [browser_options(server, "tiny-vit-gpt2"), requests])
    assert (first["name"], second["name"]) == ("RequestError", "RequestError")
    assert "must be of type image/*" in first["message"] and "'num_beams' must be an integer >= 1" in second["message"]
    assert third["ok"] and third["value"][0]["generated_text"]


def test_demo_page_captions_a_dropped_image(page, tmp_path):
    image = tmp_path / "photo.png"
    image.write_bytes(cases.decode_data_url_bytes(cases.images()[4]))
    page.select_option("#feature", "feature:pdfjs-alt-text")
    page.wait_for_function("v => document.querySelector('#run-form').dataset.preset === v", arg="feature:pdfjs-alt-text")
    assert page.is_visible("#drop")
    page.set_input_files("#image", str(image))
    page.fill("#run-options", '{"max_new_tokens": 5}')
    page.click("#run")
    page.wait_for_function("document.querySelector('#result').dataset.ready !== undefined")
    assert page.get_attribute("#result", "data-ready") == "true", page.text_content("#status")
    result = json.loads(page.text_content("#result"))
    assert len(result) == 1 and set(result[0]) == {"generated_text"}


def test_breaking_out_of_a_stream_frees_the_engine(page, server):
    found = page.evaluate("""async (options) => {
      const { createEngine, listEngines } = await import('./engine.mjs');
      const engine = await createEngine(options);
      let pieces = 0;
      for await (const piece of engine.runWithGenerator({ args: ['Hello'], options: { max_new_tokens: 200,
                                                          min_new_tokens: 200, do_sample: false } })) {
        pieces += 1;
        if (pieces === 2) break;
      }
      const after = await engine.run({ args: ['Hello'], options: { max_new_tokens: 2, do_sample: false } });
      return { pieces, after, engines: await listEngines() };
    }""", browser_options(server, "tiny-gpt2"))
    assert found["pieces"] == 2 and found["after"][0]["generated_text"].startswith("Hello")
    assert [e["status"] for e in found["engines"]] == ["ready"]


def test_half_precision_merged_decoder_generates_like_cpython(page, server, store_dir):
    """tiny-t5 in fp16 (a merged decoder made half by half): the same beams in Chromium as under CPython."""
    options = {"max_new_tokens": 6, "num_beams": 2}
    prompts = cases.PROMPTS[:3]
    answers = page.evaluate(RUN_ALL, [browser_options(server, "tiny-t5", dtype="fp16"),
                                      [{"args": [p], "options": {**options, "return_tensors": True}} for p in prompts]])
    assert all(a["ok"] for a in answers), answers
    expected = our_runs(server, "tiny-t5", [{"args": [p], "options": {**options, "return_tensors": True}}
                                            for p in prompts], dtype="fp16")
    assert [a["value"] for a in answers] == expected


def test_chat_prompt_in_browser_matches_cpython(page, server, store_dir):
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Where do models run?"}]
    request = {"args": [chat], "options": {"max_new_tokens": 6, "do_sample": False}}
    (answer,) = page.evaluate(RUN_ALL, [browser_options(server, "tiny-llama"), [request]])
    assert answer["ok"], answer
    assert answer["value"] == our_runs(server, "tiny-llama", [request])[0]
    assert answer["value"][0]["generated_text"][:2] == chat


def test_image_classification_in_browser_matches_cpython(page, server, store_dir):
    options = {"taskName": "image-classification", "modelId": "test/tiny-vit", "modelRevision": "v1", "dtype": "fp32"}
    requests = [{"args": [image], "options": {"top_k": 3}} for image in cases.images()[:4]]
    answers = page.evaluate(RUN_ALL, [options, requests])

    async def cpython():
        engine = await pyodide_pkg.create_engine({**options, "settingsBaseUrl": f"{server.origin}/settings",
                                                  "engineId": "vit"})
        return [await engine.run(r) for r in requests]
    for answer, want in zip(answers, run(cpython())):
        assert answer["ok"], answer
        assert_same(answer["value"], want, tolerance=1e-4)


CONCURRENT = """async ([options, requests]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine(options);
  const sequential = [];
  for (const request of requests) sequential.push(await engine.run(request));
  const concurrent = await Promise.all(requests.map((request) => engine.run(request)));
  await engine.terminate();
  return { sequential, concurrent };
}"""


@pytest.mark.parametrize("name", list(cases.MODELS))
def test_concurrent_runs_in_browser_equal_sequential_runs(page, server, store_dir, name):
    """Four runs in flight on one engine: each gets what it gets alone (decoding state is per request)."""
    prompts = (cases.images() if cases.TASKS[name] == "image-to-text" else cases.PROMPTS)[:4]
    mixed = [{"max_new_tokens": 8}, {"max_new_tokens": 8, "num_beams": 3}, {"max_new_tokens": 6, "use_cache": False},
             {"max_new_tokens": 8, "num_beams": 2, "num_return_sequences": 2}]
    requests = [{"args": [p], "options": {**like_generate(name, o), "return_tensors": True}}
                for p, o in zip(prompts, mixed)]
    found = page.evaluate(CONCURRENT, [browser_options(server, name), requests])
    assert found["concurrent"] == found["sequential"]
