"""Tokenizer speed: ours in Chromium (Pyodide) next to Transformers.js' in the same page, on the same files.

Every tokenizer family reads its tokenizer.json from the local hub: WordPiece (all-MiniLM-L6-v2),
byte-level BPE (tiny-qwen2, GPT-2's tokenizer), BPE with byte fallback (tiny-llama, Llama-2's),
Unigram (tiny-xlm-roberta and tiny-t5). Cases: 20 short sentences encoded one by one, ~6,000
characters of the README, ~6,000 characters of mixed scripts (emoji, CJK, RTL, combining marks),
and 64 README lines in one batch call (padded where the tokenizer has a pad token). In the page, ours
and Transformers.js take turns run by run (so load from elsewhere hits both alike); each cell is the
median of `--repeat` runs after `--warmup` runs. The ratio is Transformers.js' time over ours: ours'
throughput as a fraction of Transformers.js'. Ours and Hugging Face tokenizers (Rust) also run under
CPython; ours must give Hugging Face's ids everywhere, Transformers.js is only reported.
Transformers.js 4.3.1's AutoTokenizer looks for tokenizer_config.json at revision `main` whatever
`revision` says, so the page's hub also serves each model's revision as `main`.

    python -m bench.tokenizers [--repeat 10] [--warmup 3] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import print_table, save

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
FAMILIES = {
    "WordPiece": ("sentence-transformers/all-MiniLM-L6-v2", "v1.0"),
    "byte-level BPE": ("test/tiny-qwen2", "v1"),
    "BPE byte fallback": ("test/tiny-llama", "v1"),
    "Unigram XLM-R": ("test/tiny-xlm-roberta-feature-extraction", "v1"),
    "Unigram T5": ("test/tiny-t5", "v1"),
}

# Run as is under CPython and in Pyodide, so both measure the same calls: `prepare` once per
# tokenizer, then `time_ours(case)` times one run (ms) and keeps its ids for `ours_ids`.
OURS = '''
import json, time
from pyodide_pkg.tokenizers import PretrainedTokenizer

RUNS, IDS = {}, {}

def prepare(tokenizer_json, config_json, special_json, cases_json):
    pre = PretrainedTokenizer.from_data(tokenizer_json, config_json, special_json, backend="python")
    tok = pre.tokenizer
    RUNS.clear()
    IDS.clear()
    for name, (kind, texts, pad) in json.loads(cases_json).items():
        if kind == "batch":
            def run(texts=texts, pad=pad):
                columns = pre(texts, padding=pad, truncation=True)
                return [[i for i, m in zip(row, mask) if m]
                        for row, mask in zip(columns["input_ids"], columns["attention_mask"])]
        else:
            def run(texts=texts):
                return [tok.encode(t).ids for t in texts]
        RUNS[name] = run

def time_ours(name):
    start = time.perf_counter()
    IDS[name] = RUNS[name]()
    return (time.perf_counter() - start) * 1000

def ours_ids():
    return json.dumps(IDS)
'''

# Ours (in the engine host worker) and Transformers.js (on the page) take turns, run by run, so both see the
# same load on the machine; ours is timed inside Python, without the message round trip.
IN_PAGE = """async ([source, files, casesJson, model, revision, warmup, repeat]) => {
  const { runPython } = await import('./engine.mjs');
  await runPython(`import sys, types
bench = types.ModuleType("tokenizer_bench")
exec(source, bench.__dict__)
sys.modules["tokenizer_bench"] = bench`, { source });
  const call = (expression, globals = {}) => runPython(`import tokenizer_bench as bench\n${expression}`, globals);
  const prepare = (...args) => call('bench.prepare(*args)', { args });
  const timeOurs = (name) => call('bench.time_ours(name)', { name });
  const oursIds = () => call('bench.ours_ids()');
  const tok = await window.transformersJs.AutoTokenizer.from_pretrained(model, { revision });
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b), mid = s.length >> 1;
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  };
  try {
    await prepare(...files, casesJson);
    const out = {};
    for (const [name, [kind, texts, pad]] of Object.entries(JSON.parse(casesJson))) {
      const run = kind === 'batch'
        ? () => {
            const c = tok(texts, { padding: pad, truncation: true, return_tensor: false });
            return c.input_ids.map((row, r) => row.filter((_, k) => c.attention_mask[r][k]));
          }
        : () => texts.map((t) => tok.encode(t));
      const ours = [], theirs = [];
      let ids;
      for (let i = 0; i < warmup + repeat; i++) {
        const mine = await timeOurs(name);
        const start = performance.now();
        ids = run();
        const took = performance.now() - start;
        if (i >= warmup) { ours.push(mine); theirs.push(took); }
      }
      out[name] = { ours: median(ours), tjs: median(theirs), tjsIds: ids };
    }
    const mineIds = JSON.parse(await oursIds());
    for (const name of Object.keys(out)) out[name].oursIds = mineIds[name];
    return out;
  } finally {
    await runPython(`import sys
sys.modules.pop("tokenizer_bench", None)
None`);
  }
}"""


def cases(pad: bool) -> dict[str, tuple[str, list[str], bool]]:
    """name → (kind, texts, pad): 'each' encodes the texts one by one, 'batch' in one padded call."""
    from tests.tokenizer_cases import corpus

    sentences = json.loads((ROOT / "tests" / "data" / "sentences.json").read_text())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    mixed = " ".join(t.replace("\n", " ") for t in corpus([], n=400, seed=1))[:6000]
    lines = [line.strip()[:400] for line in readme.splitlines() if line.strip()][:64]
    return {"20 short": ("each", sentences, pad), "README 6k chars": ("each", [readme[:6000]], pad),
            "mixed 6k chars": ("each", [mixed], pad), "batch of 64 lines": ("batch", lines, pad)}


def hub_files(model: str, revision: str) -> list[str | None]:
    folder = HUB / model / revision
    return [(folder / name).read_text(encoding="utf-8") if (folder / name).is_file() else None
            for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")]


def measure_reference(tokenizer_json: str, work: dict[str, tuple[str, list[str], bool]], pad_token: str | None,
                      warmup: int, repeat: int) -> dict[str, list[Any]]:
    """Hugging Face tokenizers (Rust) under CPython: the oracle for ids, and a speed for scale."""
    import tokenizers

    tok = tokenizers.Tokenizer.from_str(tokenizer_json)
    tok.no_truncation()
    out = {}
    for name, (kind, texts, pad) in work.items():
        if kind == "batch" and pad:
            tok.enable_padding(pad_id=tok.token_to_id(pad_token), pad_token=pad_token)
        else:
            tok.no_padding()

        def run():
            encodings = tok.encode_batch(texts) if kind == "batch" else [tok.encode(t) for t in texts]
            return [[i for i, m in zip(e.ids, e.attention_mask) if m] for e in encodings]
        for _ in range(warmup):
            run()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            ids = run()
            times.append(time.perf_counter() - start)
        out[name] = [statistics.median(times) * 1000, ids]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tokenizers")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true", help="only the CPython columns")
    args = parser.parse_args()
    from pyodide_pkg.tokenizers import PretrainedTokenizer

    namespace: dict[str, Any] = {}
    exec(OURS, namespace)
    columns: dict[str, dict[str, object]] = {name: {} for name in (
        "tokens", "ours Pyodide ms", "Transformers.js ms", "ratio", "TJS ids = HF", "ours CPython ms", "HF Rust ms")}
    results: dict[str, dict[str, Any]] = {}
    work: dict[str, dict[str, tuple[str, list[str], bool]]] = {}
    for family, (model, revision) in FAMILIES.items():
        files = hub_files(model, revision)
        if files[0] is None:
            raise SystemExit(f"{HUB / model / revision} has no tokenizer.json: run `python -m tools.build_hub`")
        pad_token = PretrainedTokenizer.from_data(*files, backend="python").pad_token
        work[family] = cases(pad_token is not None)
        namespace["prepare"](*files, json.dumps(work[family]))
        cpython = {}
        for case in work[family]:
            times = [namespace["time_ours"](case) for _ in range(args.warmup + args.repeat)][args.warmup:]
            cpython[case] = statistics.median(times)
        results[family] = {"hf": measure_reference(files[0], work[family], pad_token, args.warmup, args.repeat),
                           "cpython": cpython, "cpython ids": json.loads(namespace["ours_ids"]())}
    version = None
    if not args.no_browser:
        from bench.browser import booted_page, load_transformers_js
        from tests.conftest import linked_hub
        from tools import serve

        folder = tempfile.TemporaryDirectory()
        hub = linked_hub(Path(folder.name), {f"{model}/main": HUB / model / revision
                                             for model, revision in FAMILIES.values()})
        server = serve.start(0, hub=hub)
        try:
            with booted_page(server.origin) as page:
                version = load_transformers_js(page, server.origin)
                for family, (model, revision) in FAMILIES.items():
                    results[family]["page"] = page.evaluate(IN_PAGE, [OURS, hub_files(model, revision),
                                                                      json.dumps(work[family]), model, "main",
                                                                      args.warmup, args.repeat])
        finally:
            server.shutdown()
            folder.cleanup()
    for family, by_runner in results.items():
        for case in work[family]:
            row = f"{family}, {case}"
            want = by_runner["hf"][case][1]
            page = by_runner.get("page", {}).get(case)
            if by_runner["cpython ids"][case] != want or (page and page["oursIds"] != want):
                raise SystemExit(f"{row}: ours gives other ids than Hugging Face tokenizers")
            columns["tokens"][row] = sum(map(len, want))
            columns["ours CPython ms"][row] = round(by_runner["cpython"][case], 2)
            columns["HF Rust ms"][row] = round(by_runner["hf"][case][0], 2)
            if page:
                columns["ours Pyodide ms"][row] = round(page["ours"], 2)
                columns["Transformers.js ms"][row] = round(page["tjs"], 2)
                columns["ratio"][row] = f"{page['tjs'] / page['ours']:.2f}x"
                columns["TJS ids = HF"][row] = "yes" if page["tjsIds"] == want else "no"
    where = f"Chromium, Transformers.js {version}" if version else "CPython only"
    print_table(f"tokenizer encode time ({where}), median of {args.repeat} after {args.warmup} warm-ups; "
                "ratio = Transformers.js time / ours (ours' throughput as a fraction of its)", columns)
    print(json.dumps({"saved": str(save("tokenizers", columns))}))


if __name__ == "__main__":
    main()
