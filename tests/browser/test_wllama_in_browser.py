"""The wllama backend in Chromium through createEngine: SmolLM2-135M-Instruct's Q4_1 GGUF on llama.cpp (wllama),
fed from our cache. Link-preview requests (streaming, nPredict, stopTokens, seeded sampling, abort), the chat
feature, the cache (a second start downloads nothing), progress notifications, a corrupted GGUF refused."""

import random

import torch

from tests.conftest import HUB
from tests.unit.test_smollm2 import reference

GGUF = "HuggingFaceTB/SmolLM2-135M-Instruct/v0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf"
CHAT = [{"role": "user", "content": "What is the capital of France?"}]

SESSION = """async ([chat]) => {
  const { createEngine } = await import('./engine.mjs');
  const notes = [];
  const collect = async (engine, request, stopAfter = Infinity) => {
    const pieces = [];
    for await (const piece of engine.runWithGenerator(request)) {
      pieces.push(piece);
      if (pieces.length >= stopAfter) break;  // leaving the loop aborts the generation
    }
    return pieces;
  };
  let engine = await createEngine('link-preview', (n) => notes.push(n));
  const greedy = await collect(engine, { prompt: chat, nPredict: 12 });
  const tokens = greedy.at(-1).output.tokens;
  const stopped = await engine.run({ prompt: chat, nPredict: 12, stopTokens: [tokens[4]] });
  const sampling = { do_sample: true, seed: 42, temperature: 1.0, max_new_tokens: 10, return_full_text: false };
  const seeded = [];
  for (const seed of [42, 42, 7]) seeded.push(await engine.run({ args: [chat], options: { ...sampling, seed } }));
  const aborted = await collect(engine, { prompt: chat, nPredict: 200 }, 2);
  const after = await engine.run({ prompt: chat, nPredict: 12 });
  const biased = await engine.run({ prompt: chat, nPredict: 12, logit_bias_toks: [tokens[0]], logit_bias_vals: [-100] });
  let badRequest;
  try { await engine.run({ prompt: chat, nPredict: 0 }); } catch (e) { badRequest = { name: e.name, message: e.message }; }
  await engine.terminate();
  const startNotes = notes.length;
  engine = await createEngine('smollm2-wllama-chat', (n) => notes.push(n));
  const chatAnswer = await engine.run({ args: [chat], options: { max_new_tokens: 8 } });
  const status = engine.status;
  await engine.terminate();
  return { greedy, stopped, seeded, aborted, after, biased, badRequest, chatAnswer, status, notes, startNotes };
}"""


def test_link_preview_and_chat_on_wllama(page, fresh_log):
    found = page.evaluate(SESSION, [CHAT])
    *pieces, last = found["greedy"]
    out = last["output"]
    assert len(pieces) >= 3 and all(set(p) == {"text", "tokens"} for p in pieces)
    assert "".join(p["text"] for p in pieces) == out["finalOutput"]
    assert [t for p in pieces for t in p["tokens"]] == out["tokens"] and len(out["tokens"]) == 12  # nPredict
    assert out["metrics"]["promptTokens"] > 0 and out["metrics"]["generatedTokens"] == 12
    stop = out["tokens"][4]
    kept = out["tokens"][:out["tokens"].index(stop)]
    assert found["stopped"]["tokens"] == kept and out["finalOutput"].startswith(found["stopped"]["finalOutput"])
    assert found["after"] == {**found["after"], "finalOutput": out["finalOutput"], "tokens": out["tokens"]}
    assert found["biased"]["tokens"][0] != out["tokens"][0]  # a -100 bias on the greedy first token removes it
    same, again, other = found["seeded"]
    assert same == again and same != other and same[0]["generated_text"]
    assert len(found["aborted"]) == 2 and "output" not in found["aborted"][-1]
    assert found["badRequest"]["name"] == "RequestError" and "nPredict" in found["badRequest"]["message"]
    answer = found["chatAnswer"][0]["generated_text"]
    assert answer[:-1] == CHAT and answer[-1]["role"] == "assistant" and answer[-1]["content"]
    assert found["status"] == "ready"
    # the GGUF came once through our cache, with Firefox's notifications; the second engine read the cache
    assert fresh_log.requests("GET", f"/hub/{GGUF}") == [f"/hub/{GGUF}"]
    first = [n["statusText"] for n in found["notes"][:found["startNotes"]] if n["metadata"]["file"] == GGUF.split("/")[-1]]
    assert first[0] == "initiate" and "size_estimate" in first and first[-1] == "done" and "in_progress" in first
    second = {n["type"] for n in found["notes"][found["startNotes"]:] if n["metadata"]["file"] == GGUF.split("/")[-1]}
    assert second == {"loading_from_cache"}
    # llama.cpp's greedy tokens against transformers on the GGUF's dequantized weights, teacher-forced on llama.cpp's
    # own prefix: wherever transformers' top-1 leads its runner-up by MARGIN, both pick the same token
    model, tokenizer = reference()
    prompt = tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, return_tensors="pt")
    ours = out["tokens"]
    with torch.no_grad():
        logits = model(torch.cat([prompt, torch.tensor([ours])], dim=1)).logits[0, prompt.shape[1] - 1:-1]
    top = logits.topk(2, dim=-1)
    clear = [i for i in range(len(ours)) if float(top.values[i, 0] - top.values[i, 1]) >= MARGIN]
    print(f"wllama {ours} transformers {top.indices[:, 0].tolist()} clear positions {clear}")
    assert len(clear) >= 4 and all(int(top.indices[i, 0]) == ours[i] for i in clear)


MARGIN = 1.0  # logits: Q4_1 on llama.cpp quantizes activations to 8 bits per block; below this, ties can flip

CORRUPT = """async () => {
  const { createEngine, listFiles } = await import('./engine.mjs');
  const attempt = async () => {
    try { const e = await createEngine('link-preview'); const r = await e.run({ prompt: [{ role: 'user', content: 'Hi' }], nPredict: 2 });
          await e.terminate(); return { ok: true, value: r }; }
    catch (e) { return { ok: false, name: e.name, message: e.message }; }
  };
  const bad = await attempt();
  const files = await listFiles({ model: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: 'v0.1.2' });
  return { bad, files };
}"""


def test_a_corrupted_gguf_is_refused_and_not_kept(page, fresh_log):
    def corrupt(method, url):
        if method == "GET" and url == f"/hub/{GGUF}":
            return 200, random.Random(0).randbytes((HUB / GGUF).stat().st_size), {"X-Linked-Etag": None}
        return None
    fresh_log.hook = corrupt
    found = page.evaluate(CORRUPT)
    assert not found["bad"]["ok"] and found["bad"]["name"] == "ModelError", found["bad"]
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in found["bad"]["message"]
    assert all(not f["path"].endswith(".gguf") for f in found["files"])
    fresh_log.hook = None
    assert page.evaluate(CORRUPT)["bad"]["ok"]


def test_the_page_chats_with_the_gguf_model(page, server):
    """about:inference's Run tab on the smollm2-wllama-chat feature, the prompt sent as a chat message (as a bare
    prompt this Instruct model answers with its end token at once, as transformers' does): the page shows the reply."""
    from tests.browser.test_page import choose, run_and_wait

    choose(page, "feature:smollm2-wllama-chat")
    page.fill("#arg-0", "What is the capital of France?")
    page.check("#arg-0-chat")
    page.fill("#run-options", '{"max_new_tokens": 24, "do_sample": false, "return_full_text": false}')
    result = run_and_wait(page)
    reply = result[0]["generated_text"]
    assert isinstance(reply, str) and reply.strip()
    assert reply in page.text_content("#view")
