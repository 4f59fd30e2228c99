"""llama.cpp (wllama, in Chromium) against transformers on SmolLM2-135M-Instruct's Q4_1 GGUF: greedy token agreement
over the 11 chats and 10 prompts of tests/generation_cases.

llama-cpp-python is not built here: it is an sdist only, and compiling llama.cpp on this machine's 2 shared cores
takes well over the ~5 minutes the suite can spend. transformers loads the same GGUF dequantized to float32, so
the two differ only by llama.cpp's arithmetic (Q4_1 weights times activations quantized to 8 bits per block).
Reported per prompt: free-running greedy tokens equal up to the first difference; teacher-forced agreement
(transformers' argmax after llama.cpp's own prefix) at every position and at positions where transformers'
top-1 leads its runner-up by >= 1 logit. Prints a table and writes bench/results/wllama-agreement.json.

    python -m bench.wllama_agreement [--new 16]
"""

from __future__ import annotations

import argparse

PAGE = """async ([requests]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine({ featureId: 'smollm2-wllama-chat', numThreads: 2, engineId: 'agreement' });
  const out = [];
  for (const request of requests) out.push(await engine.run(request));
  await engine.terminate();
  return out;
}"""
LINK = """async ([prompts, n]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine({ featureId: 'link-preview', numThreads: 2, engineId: 'agreement-lp' });
  const out = [];
  for (const prompt of prompts) out.push((await engine.run({ prompt, nPredict: n })).tokens);
  await engine.terminate();
  return out;
}"""
MARGIN = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wllama_agreement")
    parser.add_argument("--new", type=int, default=16)
    args = parser.parse_args()
    import torch

    from bench.browser import booted_page
    from bench.report import print_table, save
    from tests import generation_cases as cases
    from tests.unit.test_smollm2 import reference
    from tools import serve

    model, tokenizer = reference()
    chats = [c for c in cases.CHATS]
    prompts = list(cases.PROMPTS)
    server = serve.start(0)
    with booted_page(server.origin) as page:
        page.set_default_timeout(1_800_000)
        chat_tokens = page.evaluate(LINK, [chats, args.new])
        text_tokens = [tokenizer(p)["input_ids"] for p in prompts]  # for the teacher-forced prefix only
        text_runs = page.evaluate(PAGE, [[{"args": [p], "options": {"max_new_tokens": args.new,
                                                                    "return_full_text": False}} for p in prompts]])
    server.shutdown()
    rows: dict[str, dict[str, object]] = {k: {} for k in ("free-running equal", "teacher-forced", "clear positions",
                                                           "clear agree")}
    totals = [0, 0, 0, 0]
    cases_ = [(f"chat {i}", tokenizer.apply_chat_template(c, add_generation_prompt=True), ours)
              for i, (c, ours) in enumerate(zip(chats, chat_tokens))]
    cases_ += [(f"prompt {i}", ids, tokenizer(run[0]["generated_text"], add_special_tokens=False)["input_ids"])
               for i, (ids, run) in enumerate(zip(text_tokens, text_runs))]
    for name, prompt, ours in cases_:
        if not ours:
            continue
        with torch.no_grad():
            full = torch.tensor([prompt + ours])
            logits = model(full).logits[0, len(prompt) - 1:-1]
            free = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                                  do_sample=False, max_new_tokens=len(ours))[0, len(prompt):].tolist()
        top = logits.topk(2, dim=-1)
        argmax = top.indices[:, 0].tolist()
        clear = [i for i in range(len(ours)) if float(top.values[i, 0] - top.values[i, 1]) >= MARGIN]
        equal = next((i for i, (a, b) in enumerate(zip(free, ours)) if a != b), min(len(free), len(ours)))
        agree = sum(a == b for a, b in zip(argmax, ours))
        clear_agree = sum(argmax[i] == ours[i] for i in clear)
        rows["free-running equal"][name] = f"{equal}/{len(ours)}"
        rows["teacher-forced"][name] = f"{agree}/{len(ours)}"
        rows["clear positions"][name] = len(clear)
        rows["clear agree"][name] = f"{clear_agree}/{len(clear)}"
        for k, v in enumerate((agree, len(ours), clear_agree, len(clear))):
            totals[k] += v
    rows["teacher-forced"]["all"] = f"{totals[0]}/{totals[1]} ({totals[0] / totals[1]:.3f})"
    rows["clear agree"]["all"] = f"{totals[2]}/{totals[3]} ({totals[2] / max(totals[3], 1):.3f})"
    print_table(f"SmolLM2-135M-Instruct Q4_1: llama.cpp (wllama) greedy vs transformers (GGUF dequantized to fp32), "
                f"{args.new} new tokens; clear: transformers' top-1 margin >= {MARGIN} logit", rows)
    save("wllama-agreement", rows)


if __name__ == "__main__":
    main()
