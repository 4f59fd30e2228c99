"""The text tasks under CPython against transformers' pipelines on the same checkpoints and inputs."""

import asyncio

import numpy as np
import pytest
import transformers

import pyodide_pkg
from pyodide_pkg.errors import ModelError, RequestError
from tests import text_task_cases as cases
from tests.conftest import run
from tools.build_hub import tiny_source

ARCHITECTURES = ["bert", "distilbert", "roberta", "xlm-roberta", "mpnet"]
MASKS = {"bert": "[MASK]", "distilbert": "[MASK]"}
TOLERANCE = 1e-3


def task_cases(task: str, arch: str):
    if task == "fill-mask":
        return cases.fill_mask(MASKS.get(arch, "<mask>"))
    return getattr(cases, task.replace("-", "_"))()


def reference(pipe, task: str, args: list, options: dict):
    if task == "question-answering":
        return pipe(question=args[0], context=args[1], **options)
    if task == "zero-shot-classification":
        return pipe(args[0], candidate_labels=args[1], **options)
    return pipe(args[0], **options)


def plain(value):
    """Reference results as JSON would carry them (numpy scalars to Python)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def assert_same(ours, want, where="result", tolerance=TOLERANCE):
    """Same structure, keys, labels, spans and texts; scores within the tolerance."""
    if isinstance(want, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(want), f"{where}: keys {ours} vs {want}"
        for key in want:
            assert_same(ours[key], want[key], f"{where}.{key}", tolerance)
    elif isinstance(want, list):
        assert isinstance(ours, list) and len(ours) == len(want), f"{where}: {ours} vs {want}"
        for i, (a, b) in enumerate(zip(ours, want)):
            assert_same(a, b, f"{where}[{i}]", tolerance)
    elif isinstance(want, float):
        assert isinstance(ours, float) and abs(ours - want) <= tolerance, f"{where}: {ours} vs {want}"
    else:
        assert ours == want and type(ours) is type(want), f"{where}: {ours!r} vs {want!r}"


def engine_options(server, model: str, task: str, dtype: str = "fp32", **extra):
    return {"taskName": task, "modelId": model, "modelRevision": "v1", "dtype": dtype,
            "settingsBaseUrl": f"{server.origin}/settings", "engineId": f"{model}-{dtype}", **extra}


def our_results(server, model: str, task: str, requests: list, dtype: str = "fp32"):
    async def go():
        engine = await pyodide_pkg.create_engine(engine_options(server, model, task, dtype))
        try:
            return [await engine.run({"args": args, "options": options}) for args, options in requests]
        finally:
            await engine.terminate()
    return run(go())


TASKS = ["text-classification", "token-classification", "question-answering", "fill-mask", "zero-shot-classification"]


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("task", TASKS)
def test_task_matches_transformers_pipeline(server, store_dir, task, arch):
    requests = task_cases(task, arch)
    assert len(requests) >= 15
    source = tiny_source(arch, task)()
    pipe = transformers.pipeline(task, model=str(source), device=-1)
    ours = our_results(server, f"test/tiny-{arch}-{task}", task, requests)
    for (args, options), got in zip(requests, ours):
        assert_same(got, plain(reference(pipe, task, args, options)), f"{task} {args!r:.60} {options}")


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_feature_extraction_token_vectors_match_transformers(server, store_dir, arch):
    requests = cases.feature_extraction()
    pipe = transformers.pipeline("feature-extraction", model=str(tiny_source(arch, "feature-extraction")()), device=-1)
    ours = our_results(server, f"test/tiny-{arch}-feature-extraction", "feature-extraction", requests)
    for (args, _), got in zip(requests, ours):
        want = pipe(args[0])
        want = [w[0] for w in want] if isinstance(args[0], list) else [want[0]]
        for a, b in zip(got, want):
            assert np.abs(np.array(a) - np.array(b)).max() <= 1e-4


def test_pooling_options(server, store_dir):
    """mean, cls and max pooling, with and without normalization, from the token vectors of one run."""
    text = ["pooling over real tokens only", "short"]
    tokens, mean, cls, peak, unit = our_results(server, "test/tiny-bert-feature-extraction", "feature-extraction", [
        ([text], {}), ([text], {"pooling": "mean"}), ([text], {"pooling": "cls"}), ([text], {"pooling": "max"}),
        ([text], {"pooling": "max", "normalize": True})])
    for i in range(2):
        vectors = np.array(tokens[i])
        assert np.allclose(mean[i], vectors.mean(axis=0), atol=1e-6)
        assert np.allclose(cls[i], vectors[0]) and np.allclose(peak[i], vectors.max(axis=0))
        assert np.allclose(unit[i], vectors.max(axis=0) / np.linalg.norm(vectors.max(axis=0)), atol=1e-6)


def by_label(result: dict | list) -> dict:
    if isinstance(result, dict):
        return dict(zip(result["labels"], result["scores"]))
    if result and isinstance(result[0], list):  # one list per mask
        return {(i, k): v for i, row in enumerate(result) for k, v in by_label(row).items()}
    return {r.get("label", r.get("token_str")): r["score"] for r in result}


@pytest.mark.parametrize("task,options", [("text-classification", {"top_k": None}), ("zero-shot-classification", {}),
                                          ("fill-mask", {"targets": ["the", "a", "is", "of"]})])
def test_quantized_scores_stay_close(server, store_dir, task, options):
    """q8 against fp32 of the same model, label by label: within 0.05."""
    requests = [(args, {**extra, **options}) for args, extra in task_cases(task, "bert")[:8]
                if not any(k in extra for k in ("top_k", "targets", "function_to_apply"))]
    model = f"test/tiny-bert-{task}"
    fp32 = our_results(server, model, task, requests)
    q8 = our_results(server, model, task, requests, dtype="q8")
    for want, got in zip(fp32, q8):
        want, got = by_label(want), by_label(got)
        assert want.keys() == got.keys() and max(abs(want[k] - got[k]) for k in want) <= 0.05


def test_batched_results_equal_single_runs(server, store_dir):
    """A list input runs in batches of similar length; each result is the one its input gets alone."""
    texts = cases.SENTENCES[:8]
    batched, *singles = our_results(server, "test/tiny-roberta-text-classification", "text-classification",
                                    [([texts], {"top_k": None})] + [([t], {"top_k": None}) for t in texts])
    for got, want in zip(batched, singles):
        assert_same(got, want, tolerance=1e-5)


def test_bad_requests_fail_clearly_and_leave_the_engine_usable(server, store_dir):
    async def go():
        made = {}
        for task in ("zero-shot-classification", "fill-mask", "question-answering", "text-classification"):
            made[task] = await pyodide_pkg.create_engine(engine_options(server, f"test/tiny-bert-{task}", task,
                                                                        engineId=task))
        bad = [("zero-shot-classification", {"args": ["text", []]}, r"'candidate_labels' must be .* \(not empty\), got \[\]"),
               ("zero-shot-classification", {"args": ["text", " , "]}, "'candidate_labels' must be"),
               ("zero-shot-classification", {"args": ["text", 3]}, "'candidate_labels' must be"),
               ("zero-shot-classification", {"args": ["text"]}, "candidate_labels is missing"),
               ("zero-shot-classification", {"args": ["text", ["a"]], "options": {"hypothesis_template": "plain"}},
                "has no {}"),
               ("fill-mask", {"args": ["no mask here"]}, r"no mask token \(\[MASK\]\)"),
               ("fill-mask", {"args": ["a [MASK]"], "options": {"top_k": 0}}, "'top_k' must be an integer >= 1"),
               ("question-answering", {"args": ["Who?"]}, "needs a context"),
               ("question-answering", {"args": [{"question": "Who?"}]}, "needs a question and a context"),
               ("question-answering", {"args": ["Who?", ""]}, "context is empty"),
               ("question-answering", {"args": ["Who?", "ctx"], "options": {"doc_stride": 500}}, "doc_stride"),
               ("question-answering", {"args": [cases.LONG, cases.LONG]}, "the question leaves 0 of max_seq_len"),
               ("question-answering", {"args": ["Who?", cases.LONG], "options": {"max_seq_len": 40, "doc_stride": 38}},
                r"leaves \d+ of max_seq_len 40 tokens for the context, which needs windows with doc_stride 38"),
               ("text-classification", {"args": [cases.LONG], "options": {"truncation": False}}, "takes at most 512"),
               ("text-classification", {"args": ["x"], "options": {"top_k": "2"}}, "'top_k' must be an integer"),
               ("text-classification", {"args": ["x"], "options": {"function_to_apply": "tanh"}}, "one of softmax"),
               ("text-classification", {"args": ["x"], "options": {"colour": 1}}, "unknown option 'colour'; known: "
                                                                                   "function_to_apply, top_k, truncation")]
        for task, request, message in bad:
            with pytest.raises(RequestError, match=message):
                await made[task].run(request)
        good = {task: await engine.run({"args": args, "options": {}})
                for task, engine, args in [("fill-mask", made["fill-mask"], ["a [MASK]"]),
                                           ("question-answering", made["question-answering"], ["Who?", "Ann did."]),
                                           ("zero-shot-classification", made["zero-shot-classification"], ["t", "a, b"])]}
        for engine in made.values():
            await engine.terminate()
        return good
    good = run(go())
    assert len(good["fill-mask"]) == 5 and good["question-answering"]["answer"]
    assert good["zero-shot-classification"]["labels"] in (["a", "b"], ["b", "a"])


@pytest.mark.parametrize("task,model,message", [
    ("text-classification", "test/tiny-bert-feature-extraction", "needs a model with a ForSequenceClassification head"),
    ("question-answering", "test/tiny-bert-fill-mask", "needs a model with a ForQuestionAnswering head"),
    ("fill-mask", "test/tiny-bert-token-classification", "needs a model with a ForMaskedLM head")])
def test_model_without_the_task_head_is_refused(server, store_dir, task, model, message):
    with pytest.raises(ModelError, match=message):
        run(pyodide_pkg.create_engine(engine_options(server, model, task)))


@pytest.mark.parametrize("feature,args,options", [
    ("demo-sentiment", ["I love it"], {"top_k": 2}), ("demo-ner", ["Ann lives in Paris"], {"ignore_labels": []}),
    ("demo-question-answering", ["Who lives there?", "Ann lives in Paris."], {}),
    ("demo-fill-mask", ["Paris is a [MASK]."], {}), ("demo-zero-shot", ["Ann lives in Paris", ["travel", "food"]], {})])
def test_feature_ids_of_the_bundled_settings(server, store_dir, feature, args, options):
    """Each demo featureId answers like an engine made with its model explicitly; the task alone gets the
    task's default record."""
    import json

    from tools.build_hub import SETTINGS

    async def go():
        settings = f"{server.origin}/settings"
        by_feature = await pyodide_pkg.create_engine({"featureId": feature, "settingsBaseUrl": settings})
        o = by_feature.options
        by_task = await pyodide_pkg.create_engine({"taskName": o.taskName, "settingsBaseUrl": settings,
                                                   "engineId": "by-task"})
        explicit = await pyodide_pkg.create_engine({"taskName": o.taskName, "modelId": o.modelId, "modelRevision": "v1",
                                                    "dtype": "q8", "settingsBaseUrl": settings, "engineId": "explicit"})
        request = {"args": args, "options": options}
        return o, by_task.options, [await e.run(request) for e in (by_feature, by_task, explicit)]
    feature_options, task_options, (a, b, c) = run(go())
    default = {r["id"]: r for r in json.loads(SETTINGS.read_text())["data"]}[f"{feature_options.taskName}-default"]
    assert (task_options.modelId, task_options.dtype) == (default["modelId"], "q8") and feature_options.dtype == "q8"
    assert a == c and type(b) is type(a)


def real_text_classifier():
    from tools.real_models import CATEGORIUM_MODEL, categorium_checkpoint
    from tools.build_hub import ROOT

    folder = categorium_checkpoint(ROOT / ".cache" / "real-checkpoints" / "categorium-en")
    return CATEGORIUM_MODEL, transformers.pipeline("text-classification", model=str(folder), device=-1)


def assert_quantized_classifier_close(pipe, texts: list[str], quantized: list[list[dict]]) -> None:
    """categorium q8 against transformers at fp32: every label's score within 0.05 (measured: at most 0.043
    on these texts, alike on AVX2-only and AVX-512/VNNI CPUs and in ONNX Runtime Web), and its top label
    wherever transformers' top two are more than 0.05 apart (closer labels may trade places within that
    tolerance: 2 of these texts flip, at margins 0.0005 and 0.013)."""
    flips = 0
    for text, result in zip(texts, quantized, strict=True):
        want = plain(pipe(text, top_k=None))
        scores = {r["label"]: r["score"] for r in result}
        assert max(abs(scores[r["label"]] - r["score"]) for r in want) <= 0.05, text
        if want[0]["score"] - want[1]["score"] > 0.05:
            assert result[0]["label"] == want[0]["label"], text
        flips += result[0]["label"] != want[0]["label"]
    assert flips <= 2


def test_real_classifier_matches_transformers(server, store_dir):
    """categorium's real topic classifier: fp32 like transformers, q8 close to it."""
    model, pipe = real_text_classifier()
    requests = cases.text_classification()
    texts = cases.SENTENCES + [cases.MEDIUM]

    async def go(dtype, requests):
        engine = await pyodide_pkg.create_engine({**engine_options(server, model, "text-classification", dtype),
                                                  "modelRevision": "v0.2.2"})
        return [await engine.run({"args": args, "options": options}) for args, options in requests]
    fp32 = run(go("fp32", requests))
    for (args, options), got in zip(requests, fp32):
        assert_same(got, plain(reference(pipe, "text-classification", args, options)), f"{args!r:.60} {options}")
    assert_quantized_classifier_close(pipe, texts, run(go("q8", [([t], {"top_k": None}) for t in texts])))


def concurrency_cases() -> dict[str, tuple[str, list[dict]]]:
    """Per non-generating task: a model and up to six requests (generating tasks: test_generation)."""
    from tests import generation_cases

    out = {task: (f"test/tiny-bert-{task}", [{"args": a, "options": o} for a, o in task_cases(task, "bert")[:6]])
           for task in TASKS}
    out["feature-extraction"] = ("test/tiny-bert-feature-extraction",
                                 [{"args": a, "options": o} for a, o in cases.feature_extraction()[:6]])
    out["image-classification"] = ("test/tiny-vit", [{"args": [image], "options": {"top_k": 3}}
                                                     for image in generation_cases.images()[:6]])
    return out


@pytest.mark.parametrize("task", list(concurrency_cases()))
def test_concurrent_runs_on_one_engine_equal_sequential_runs(server, store_dir, task):
    model, requests = concurrency_cases()[task]

    async def go():
        engine = await pyodide_pkg.create_engine(engine_options(server, model, task))
        try:
            sequential = [await engine.run(r) for r in requests]
            return sequential, list(await asyncio.gather(*(engine.run(r) for r in requests)))
        finally:
            await engine.terminate()
    sequential, concurrent = run(go())
    assert len(requests) >= 2 and concurrent == sequential
