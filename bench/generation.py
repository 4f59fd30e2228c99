"""Generation speed in Chromium: tokens per second and ms per step, greedy and beam search, with and
without the key/value cache, on the local hub's generative models (fp32, 2 threads).

Every run makes exactly NEW tokens (min_new_tokens = max_new_tokens), so rows compare like with like.
The no-cache rows re-read the whole sequence every step: the baseline the cache is measured against.
Prints a table and writes bench/results/generation.json; nothing passes or fails on time.

    python -m bench.generation [--repeat 3] [--new 32]
"""

from __future__ import annotations

import argparse
import os
import tempfile

from bench.browser import booted_page
from bench.report import print_table, save

MODELS = {"tiny-gpt2": "text-generation", "tiny-llama": "text-generation", "tiny-t5": "text2text-generation",
          "tiny-bart": "summarization", "tiny-marian": "translation", "tiny-vit-gpt2": "image-to-text"}
PROMPT = "The browser runs models privately, and the page never sends a word to a server."

PAGE = """async ([task, model, input, runs, repeat]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine({ taskName: task, modelId: model, modelRevision: 'v1', dtype: 'fp32',
                                      numThreads: 2, engineId: 'bench-' + model });
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generation")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--new", type=int, default=32, help="tokens generated per run")
    args = parser.parse_args()
    from tests.generation_cases import png_data_url
    from tools import serve

    os.environ.setdefault("PYODIDE_PKG_STORE_DIR", tempfile.mkdtemp(prefix="bench-store-"))
    fixed = {"max_new_tokens": args.new, "min_new_tokens": args.new, "do_sample": False}
    runs = {"greedy": {**fixed, "num_beams": 1}, "greedy, no cache": {**fixed, "num_beams": 1, "use_cache": False},
            "beam 4": {**fixed, "num_beams": 4}, "beam 4, no cache": {**fixed, "num_beams": 4, "use_cache": False}}
    server = serve.start(0)
    columns: dict[str, dict[str, object]] = {}
    with booted_page(server.origin) as page:
        for model, task in MODELS.items():
            source = png_data_url(0, (64, 48)) if task == "image-to-text" else PROMPT
            found = page.evaluate(PAGE, [task, f"test/{model}", source, runs, args.repeat])
            for name, ms in found.items():
                columns.setdefault(f"{name} tok/s", {})[model] = round(args.new / (ms / 1000), 1)
                columns.setdefault(f"{name} ms/step", {})[model] = round(ms / args.new, 2)
    server.shutdown()
    ordered = {k: columns[k] for k in sorted(columns, key=lambda k: (k.endswith("ms/step"), k))}
    print_table(f"generation in Chromium, fp32, {args.new} new tokens per run, median of {args.repeat}, 2 threads "
                "(beam: tokens of the best sequence)", ordered)
    save("generation", ordered)


if __name__ == "__main__":
    main()
