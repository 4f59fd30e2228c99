"""Generation speed in Chromium: tokens per second and ms per step, greedy and beam search, with and
without the key/value cache, on the local hub's generative models (fp32, 2 threads), and the real chat
model SmolLM2-135M-Instruct: q4 in Chromium (its 539 MB fp32 file is more than Chromium keeps in one IndexedDB
value), fp32 and q4 under CPython (onnxruntime, same engine code), greedy and beam with the cache only (without
it every step re-reads the whole chat prompt: tens of seconds a run).

Every run makes exactly NEW tokens (min_new_tokens = max_new_tokens), so rows compare like with like.
The no-cache rows re-read the whole sequence every step: the baseline the cache is measured against.
Prints a table and writes bench/results/generation.json; nothing passes or fails on time.

    python -m bench.generation [--repeat 3] [--new 32]
    python -m bench.generation --smollm2   # SmolLM2 only: the GGUF on wllama, our ONNX q4, Transformers.js q4

--smollm2 reports prompt (prefill) and generation tokens/s for SmolLM2-135M-Instruct on three engines in the same
Chromium page, 2 threads each: the Q4_1 GGUF on llama.cpp (wllama; its own timings), our engine on the ONNX q4
file, and Transformers.js on the same ONNX q4 file. For the ONNX engines the prompt time is a 1-token run and the
generation rate is (N - 1) tokens over the difference between an N-token and a 1-token run.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from bench.browser import booted_page
from bench.report import print_table, save

MODELS = {"tiny-gpt2": "text-generation", "tiny-llama": "text-generation", "tiny-t5": "text2text-generation",
          "tiny-bart": "summarization", "tiny-marian": "translation", "tiny-vit-gpt2": "image-to-text"}
SMOLLM2 = ("HuggingFaceTB/SmolLM2-135M-Instruct", "v0.1.2")
SMOLLM2_BROWSER_DTYPES = ["q4"]
SMOLLM2_CPYTHON_DTYPES = ["fp32", "q4"]
PROMPT = "The browser runs models privately, and the page never sends a word to a server."
CHAT = [{"role": "user", "content": "Why do people run language models in the browser?"}]

PAGE = """async ([task, model, revision, dtype, input, runs, repeat]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine({ taskName: task, modelId: model, modelRevision: revision, dtype,
                                      numThreads: 2, engineId: 'bench-' + model + '-' + dtype });
  const out = {};
  for (const [name, options] of Object.entries(runs)) {
    await engine.run({ args: [input], options });
    const times = [];
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      await engine.run({ args: [input], options });
      times.push(performance.now() - t);
    }
    out[name] = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  }
  await engine.terminate();
  return out;
}"""


SMOLLM2_SPEED = """async ([chat, revision, newTokens, repeat, template]) => {
  const { createEngine } = await import('./engine.mjs');
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const timed = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
  const twoRuns = async (run) => {  // [ms of a 1-token run, ms of an N-token run], medians
    await run(newTokens);
    const one = [], many = [];
    for (let i = 0; i < repeat; i++) { one.push(await timed(() => run(1))); many.push(await timed(() => run(newTokens))); }
    return [median(one), median(many)];
  };
  const out = {};
  const wllama = await createEngine({ featureId: 'link-preview', numThreads: 2, engineId: 'bench-wllama' });
  const metrics = [];
  await wllama.run({ prompt: chat, nPredict: newTokens });
  for (let i = 0; i < repeat; i++) metrics.push((await wllama.run({ prompt: chat, nPredict: newTokens })).metrics);
  out.wllama = { prompt: median(metrics.map((m) => m.promptTokensPerSecond)),
                 generation: median(metrics.map((m) => m.tokensPerSecond)),
                 generated: metrics[0].generatedTokens };
  await wllama.terminate();
  const ours = await createEngine({ featureId: 'smollm2-chat', numThreads: 2, engineId: 'bench-onnx' });
  out.ours = await twoRuns((n) => ours.run({ args: [chat], options: { max_new_tokens: n, min_new_tokens: n,
                                                                       do_sample: false } }));
  await ours.terminate();
  const tjs = window.transformersJs;
  tjs.env.backends.onnx.wasm.numThreads = 2;
  tjs.env.remotePathTemplate = `{model}/${revision}/`;  // its text-generation pipeline asks for main's config.json
  const pipe = await tjs.pipeline('text-generation', 'HuggingFaceTB/SmolLM2-135M-Instruct', { revision, dtype: 'q4' });
  pipe.tokenizer.chat_template = template;  // it reads tokenizer_config.json's, not chat_template.jinja
  out.transformersJs = await twoRuns((n) => pipe(chat, { max_new_tokens: n, min_new_tokens: n, do_sample: false }));
  await pipe.dispose();
  return out;
}"""


def smollm2_speed(repeat: int, new: int) -> None:
    """SmolLM2-135M-Instruct on wllama (GGUF Q4_1), our engine (ONNX q4) and Transformers.js (ONNX q4)."""
    from bench.browser import load_transformers_js
    from tools import serve
    from tools.real_models import smollm2_checkpoint
    from transformers import AutoTokenizer

    folder = smollm2_checkpoint(serve.ROOT / ".cache" / "real-checkpoints" / "smollm2-135m-instruct")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    prompt = len(tokenizer.apply_chat_template(CHAT, add_generation_prompt=True))
    server = serve.start(0)
    with booted_page(server.origin) as page:
        page.set_default_timeout(1_800_000)
        version = load_transformers_js(page, server.origin)
        found = page.evaluate(SMOLLM2_SPEED, [CHAT, SMOLLM2[1], new, repeat, tokenizer.chat_template])
    server.shutdown()
    w = found["wllama"]
    rows = {"prompt tok/s": {}, "generation tok/s": {}}
    rows["prompt tok/s"]["wllama 3.8.1, GGUF Q4_1"] = round(w["prompt"], 1)
    rows["generation tok/s"]["wllama 3.8.1, GGUF Q4_1"] = round(w["generation"], 1)
    for name, key in (("ours, ONNX q4", "ours"), (f"Transformers.js {version}, ONNX q4", "transformersJs")):
        one, many = found[key]
        rows["prompt tok/s"][name] = round(prompt / (one / 1000), 1)
        rows["generation tok/s"][name] = round((new - 1) / ((many - one) / 1000), 1)
    print_table(f"SmolLM2-135M-Instruct in Chromium, 2 threads, a {prompt}-token chat prompt, {new} new tokens "
                f"(wllama: {w['generated']}, it stops at end of generation), median of {repeat}", rows)
    save("generation-smollm2", rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generation")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--new", type=int, default=32, help="tokens generated per run")
    parser.add_argument("--smollm2", action="store_true", help="only SmolLM2 on wllama, our engine, Transformers.js")
    args = parser.parse_args()
    if args.smollm2:
        smollm2_speed(args.repeat, args.new)
        return
    from tests.generation_cases import png_data_url
    from tools import serve

    os.environ.setdefault("PYODIDE_PKG_STORE_DIR", tempfile.mkdtemp(prefix="bench-store-"))
    fixed = {"max_new_tokens": args.new, "min_new_tokens": args.new, "do_sample": False}
    runs = {"greedy": {**fixed, "num_beams": 1}, "greedy, no cache": {**fixed, "num_beams": 1, "use_cache": False},
            "beam 4": {**fixed, "num_beams": 4}, "beam 4, no cache": {**fixed, "num_beams": 4, "use_cache": False}}
    server = serve.start(0)
    columns: dict[str, dict[str, object]] = {}
    cached = {name: options for name, options in runs.items() if options.get("use_cache", True)}
    jobs = [(model, task, f"test/{model}", "v1", "fp32",
             png_data_url(0, (64, 48)) if task == "image-to-text" else PROMPT, runs) for model, task in MODELS.items()]
    jobs += [(f"SmolLM2-135M {dtype}", "text-generation", *SMOLLM2, dtype, CHAT, cached)
             for dtype in SMOLLM2_BROWSER_DTYPES]
    with booted_page(server.origin) as page:
        page.set_default_timeout(1_800_000)  # SmolLM2: a 197 MB file, then several 32-token runs
        for row, task, model, revision, dtype, source, chosen in jobs:
            found = page.evaluate(PAGE, [task, model, revision, dtype, source, chosen, args.repeat])
            for name, ms in found.items():
                columns.setdefault(f"{name} tok/s", {})[row] = round(args.new / (ms / 1000), 1)
                columns.setdefault(f"{name} ms/step", {})[row] = round(ms / args.new, 2)
    for dtype in SMOLLM2_CPYTHON_DTYPES:
        for name, ms in cpython_runs(server.origin, dtype, cached, args.repeat).items():
            columns.setdefault(f"{name} tok/s", {})[f"SmolLM2-135M {dtype}, CPython"] = round(args.new / (ms / 1000), 1)
            columns.setdefault(f"{name} ms/step", {})[f"SmolLM2-135M {dtype}, CPython"] = round(ms / args.new, 2)
    server.shutdown()
    ordered = {k: columns[k] for k in sorted(columns, key=lambda k: (k.endswith("ms/step"), k))}
    print_table(f"generation in Chromium unless named, fp32 unless named, {args.new} new tokens per run, median of "
                f"{args.repeat}, 2 threads (beam: tokens of the best sequence)", ordered)
    save("generation", ordered)


def cpython_runs(origin: str, dtype: str, runs: dict[str, dict], repeat: int) -> dict[str, float]:
    """The same runs through pyodide_pkg under CPython (onnxruntime, 2 threads): median ms per run."""
    import asyncio
    import time

    import pyodide_pkg

    async def go() -> dict[str, float]:
        engine = await pyodide_pkg.create_engine({"taskName": "text-generation", "modelId": SMOLLM2[0],
                                                  "modelRevision": SMOLLM2[1], "dtype": dtype, "numThreads": 2,
                                                  "settingsBaseUrl": f"{origin}/settings"})
        out = {}
        for name, options in runs.items():
            await engine.run({"args": [CHAT], "options": options})
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                await engine.run({"args": [CHAT], "options": options})
                times.append((time.perf_counter() - start) * 1000)
            out[name] = sorted(times)[len(times) // 2]
        await engine.terminate()
        return out
    return asyncio.run(go())


if __name__ == "__main__":
    main()
