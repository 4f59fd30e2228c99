"""Tokenizer throughput: ours under CPython and in Chromium (Pyodide) next to Hugging Face tokenizers.

Texts: about 1 MB of English prose (docstrings of the Python standard library, read with `ast`,
so the text is the same on every machine with this Python) and a mixed-script text built from the
parity corpus (emoji, CJK, RTL, combining marks, controls). Each text is encoded line by line with
`encode_batch`, without padding or truncation; the table gives tokens per second (median of runs).

    python -m bench.tokenizers [--repeat 3] [--browser-repeat 1]
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sysconfig
import time
from pathlib import Path

from bench.report import print_table, save

TOKENIZERS = ("bert-uncased-minilm", "gpt2", "llama2", "unigram-precompiled")


def english_text(limit: int = 1_000_000) -> str:
    parts, size = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 80:
                    parts.append(doc)
                    size += len(doc) + 1
        if size >= limit:
            break
    return "\n".join(parts)[:limit]


def mixed_text(limit: int = 250_000) -> str:
    from tests.tokenizer_cases import corpus
    lines, size, seed = [], 0, 0
    while size < limit:
        for line in corpus([], n=2000, seed=seed):
            line = line.replace("\n", " ")
            lines.append(line)
            size += len(line) + 1
        seed += 1
    return "\n".join(lines)[:limit]


def tokens_per_second(encode_batch, lines: list[str], repeat: int) -> tuple[int, float]:
    times, count = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = sum(len(e.ids) for e in encode_batch(lines))
        times.append(time.perf_counter() - start)
    return count, count / statistics.median(times)


BROWSER = """async ([tokenizerJson, text, repeat]) => {
  const { runPython } = await import('./engine.mjs');
  return JSON.parse(await runPython(`
import json, statistics, time
from pyodide_pkg.tokenizers import Tokenizer
tok = Tokenizer.from_str(tokenizer_json)
tok.no_padding(); tok.no_truncation()
lines = bench_text.split("\\\\n")
times = []
for _ in range(repeat):
    start = time.perf_counter()
    count = sum(len(e.ids) for e in tok.encode_batch(lines))
    times.append(time.perf_counter() - start)
json.dumps([count, count / statistics.median(times)])
`, { tokenizer_json: tokenizerJson, bench_text: text, repeat }));
}"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tokenizers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser-repeat", type=int, default=1)
    args = parser.parse_args()
    import tokenizers
    from playwright.sync_api import sync_playwright

    from pyodide_pkg.tokenizers import Tokenizer
    from tests.browser.conftest import config
    from tests.tokenizer_cases import tokenizer_files
    from tools import serve

    files = tokenizer_files()
    texts = {"English 1 MB": english_text(), "mixed scripts 250 kB": mixed_text()}
    columns: dict[str, dict[str, object]] = {"tokens": {}, "HF tokenizers (Rust, CPython) tok/s": {},
                                             "ours (CPython) tok/s": {}, "ours (Pyodide, Chromium) tok/s": {},
                                             "ours / HF (CPython)": {}}
    server = serve.start(0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(**config.launch_args())
            page = browser.new_page()
            page.set_default_timeout(600_000)
            page.goto(server.origin + "/")
            page.wait_for_function("document.body.dataset.ready === 'true'")
            for name in TOKENIZERS:
                ref = tokenizers.Tokenizer.from_str(files[name])
                ours = Tokenizer.from_str(files[name])
                for tok in (ref, ours):
                    tok.no_padding()
                    tok.no_truncation()
                for label, text in texts.items():
                    row = f"{name}, {label}"
                    lines = text.split("\n")
                    count, ref_rate = tokens_per_second(ref.encode_batch, lines, args.repeat)
                    ours_count, ours_rate = tokens_per_second(ours.encode_batch, lines, args.repeat)
                    web_count, web_rate = page.evaluate(BROWSER, [files[name], text, args.browser_repeat])
                    if not count == ours_count == web_count:
                        raise SystemExit(f"{row}: token counts differ: HF {count}, ours {ours_count}, "
                                         f"Pyodide {web_count}")
                    columns["tokens"][row] = count
                    columns["HF tokenizers (Rust, CPython) tok/s"][row] = round(ref_rate)
                    columns["ours (CPython) tok/s"][row] = round(ours_rate)
                    columns["ours (Pyodide, Chromium) tok/s"][row] = round(web_rate)
                    columns["ours / HF (CPython)"][row] = f"{ours_rate / ref_rate:.3f}"
            browser.close()
    finally:
        server.shutdown()
    print_table(f"tokenizer throughput, encode_batch line by line, median of {args.repeat} (browser "
                f"{args.browser_repeat})", columns)
    print(json.dumps({"saved": str(save("tokenizers", columns))}))


if __name__ == "__main__":
    main()
