"""Options validation and how settings records and caller options combine."""

import json

import pytest

from pyodide_pkg.engine import resolve_options
import pyodide_pkg
from pyodide_pkg.errors import HubError, OptionsError, SettingsError
from pyodide_pkg.options import check_caller_options, merge, record_options
from pyodide_pkg.settings import collection_url, find_record, load_collection
from tests.conftest import run
from tools import serve

RECORDS = [
    {"id": "a", "featureId": "alt-text", "taskName": "image-to-text", "modelId": "org/captioner", "dtype": "q8"},
    {"id": "b", "taskName": "image-to-text", "modelId": "org/generic"},
    {"id": "c", "featureId": "summaries", "taskName": "summarization", "modelId": "org/sum"},
]


@pytest.mark.parametrize("options,problem", [
    ({"modelID": "x"}, "unknown option 'modelID'"),
    ({"taskName": 3}, "'taskName' must be a string"),
    ({"timeoutMS": "10"}, "'timeoutMS' must be an integer"),
    ({"numThreads": 1.5}, "'numThreads' must be an integer"),
    ({"numThreads": True}, "'numThreads' must be an integer"),
    ({"dtype": "q9"}, "options: option 'dtype' must be one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, got 'q9'"),
    ({"device": "gpu"}, "'device' must be one of wasm, cpu, got 'gpu'"),
    ({"logLevel": "verbose"}, "'logLevel' must be one of All, Trace"),
    ({"timeoutMS": -5}, "'timeoutMS' must be an integer from 0 to 2147483647 or -1, got -5"),
    ({"timeoutMS": 2**31}, "'timeoutMS' must be an integer from 0 to 2147483647 or -1, got 2147483648"),
    ({"timeoutMS": float("nan")}, "'timeoutMS' must be an integer .*, got nan"),
    ({"numThreads": float("inf")}, "'numThreads' must be an integer >= 0, got inf"),
    ({"numThreads": -1}, "'numThreads' must be an integer >= 0, got -1"),
    ({"engineId": ""}, "'engineId' must be a non-empty string, got ''"),
    (42, "options must be a featureId string or an object"),
])
def test_caller_option_errors(options, problem):
    with pytest.raises(OptionsError, match=problem):
        check_caller_options(options)


def test_feature_id_string_and_valid_options():
    assert check_caller_options("alt-text") == {"featureId": "alt-text"}
    assert check_caller_options({"dtype": "fp16", "timeoutMS": -1, "numThreads": 2.0}) == {
        "dtype": "fp16", "timeoutMS": -1, "numThreads": 2}


def test_record_lookup_by_feature_then_task():
    assert find_record(RECORDS, "alt-text", None)["id"] == "a"
    assert find_record(RECORDS, "unknown-feature", "image-to-text")["id"] == "b"
    assert find_record(RECORDS, None, "image-to-text")["id"] == "b"
    assert find_record(RECORDS, None, "summarization")["id"] == "c"
    assert find_record(RECORDS, "nope", "nope") == {}


def test_caller_values_win_over_record():
    record = record_options(RECORDS[0], "ml-inference-options")
    merged = merge(record, check_caller_options({"featureId": "alt-text", "dtype": "fp32", "modelRevision": "v2"}))
    assert (merged.modelId, merged.dtype, merged.modelRevision, merged.taskName) == ("org/captioner", "fp32", "v2", "image-to-text")


def test_record_with_bad_values_is_named():
    with pytest.raises(OptionsError, match="ml-inference-options record 'bad': option 'dtype' must be one of"):
        record_options({"id": "bad", "taskName": "t", "dtype": "fp64"}, "ml-inference-options")
    with pytest.raises(OptionsError, match="record 'x': unknown option 'colour'"):
        record_options({"id": "x", "colour": "red"}, "ml-inference-options")


def test_missing_task_or_model():
    with pytest.raises(OptionsError, match="no taskName"):
        merge({}, {"modelId": "org/m"})
    with pytest.raises(OptionsError, match="no modelId"):
        merge({}, {"taskName": "feature-extraction"})


def test_collection_urls():
    assert collection_url("http://h/settings/", "ml-onnx-runtime") == "http://h/settings/ml-onnx-runtime.json"
    assert collection_url("https://rs.example/v1/buckets/main", "ml-onnx-runtime") == \
        "https://rs.example/v1/buckets/main/collections/ml-onnx-runtime/records"


def test_collections_from_real_server_resolve_relative_urls(server):
    records = run(load_collection(f"{server.origin}/settings", "ml-inference-options"))
    record = find_record(records, "sentence-embeddings", None)
    assert record["modelHubRootUrl"] == f"{server.origin}/hub"
    allow = run(load_collection(f"{server.origin}/settings", "ml-model-allow-deny-list"))
    assert {"filter": "ALLOW", "urlPrefix": f"{server.origin}/hub/"}.items() <= allow[0].items()


def test_remote_settings_server_layout(server, tmp_path):
    """A folder shaped like a Remote Settings server's records endpoints is read the same way."""
    folder = tmp_path / "v1" / "buckets" / "main" / "collections" / "ml-inference-options"
    folder.mkdir(parents=True)
    (folder / "records").write_text(json.dumps({"data": RECORDS}))
    from tools import serve

    rs = serve.start(0, tmp_path, tmp_path)
    try:
        records = run(load_collection(f"{rs.origin}/v1/buckets/main", "ml-inference-options"))
    finally:
        rs.shutdown()
    assert [r["id"] for r in records] == ["a", "b", "c"]


def test_settings_errors_name_collection_and_url(server, tmp_path):
    with pytest.raises(SettingsError, match=r"ml-inference-options: HTTP 404 from .*/nowhere/ml-inference-options.json"):
        run(load_collection(f"{server.origin}/nowhere", "ml-inference-options"))
    with pytest.raises(SettingsError, match="could not reach"):
        run(load_collection("http://127.0.0.1:9/settings", "ml-onnx-runtime"))


def test_resolve_options_through_settings(server):
    options, allow_deny, runtime = run(resolve_options({"featureId": "sentence-embeddings",
                                                        "settingsBaseUrl": f"{server.origin}/settings"}))
    assert (options.taskName, options.modelRevision, options.dtype) == ("feature-extraction", "v1.0", "fp32")
    assert runtime[0]["url"] == f"{server.origin}/vendor/ort/ort-wasm-simd-threaded.wasm"
    options, _, _ = run(resolve_options({"taskName": "feature-extraction", "settingsBaseUrl": f"{server.origin}/settings"}))
    assert options.dtype == "q8"
    with pytest.raises(SettingsError, match="featureId 'nope' has no record"):
        run(resolve_options({"featureId": "nope", "settingsBaseUrl": f"{server.origin}/settings"}))
    with pytest.raises(OptionsError, match="no modelHubRootUrl for model 'sentence-transformers/all-MiniLM-L6-v2': "
                                           "without settingsBaseUrl"):
        run(resolve_options({"featureId": "sentence-embeddings"}))


def test_the_python_api_needs_no_settings_server(server, store_dir):
    """Without settingsBaseUrl the bundled collections apply: a featureId's record fills the options, the
    allow list's absolute hubs stand, the page-relative entries (its hub, its runtime URL) are left out."""
    hub = f"{server.origin}/hub"
    server.log.clear()
    options, allow_deny, runtime = run(resolve_options({"featureId": "sentence-embeddings", "modelHubRootUrl": hub}))
    assert (options.taskName, options.modelId, options.modelRevision) == (
        "feature-extraction", "sentence-transformers/all-MiniLM-L6-v2", "v1.0")
    assert {r["urlPrefix"] for r in allow_deny} == {"https://model-hub.mozilla.org/", "https://huggingface.co/",
                                                    f"{hub}/"}  # the loopback hub stands for the page's own
    assert runtime[0]["name"] == "ort-wasm-simd-threaded.wasm" and "url" not in runtime[0]
    engine = run(pyodide_pkg.create_engine({"taskName": "text-classification", "modelId": "test/tiny-bert-text-classification",
                                            "modelRevision": "v1", "modelHubRootUrl": hub, "engineId": "no-settings"}))
    assert run(engine.run({"args": ["fine"]}))[0]["label"] in ("NEGATIVE", "POSITIVE")
    assert server.requests(prefix="/settings") == [] and server.requests(prefix="/vendor") == []
    with pytest.raises(HubError, match="not allowed"):  # loopback or a hub the allow list names; nothing else
        run(pyodide_pkg.create_engine({"taskName": "text-classification", "modelId": "test/tiny-bert-text-classification",
                                       "modelRevision": "v1", "modelHubRootUrl": "https://models.example.org/hub",
                                       "engineId": "elsewhere"}))


@pytest.mark.parametrize("record, problem", [
    ({"id": "bad-prefix", "filter": "ALLOW", "urlPrefix": 42}, "record 'bad-prefix' needs a filter"),
    ({"id": "no-prefix", "filter": "DENY"}, "urlPrefix=None"),
    ({"id": "bad-filter", "filter": "MAYBE", "urlPrefix": "https://x/"}, "filter='MAYBE'"),
])
def test_allow_list_records_are_checked(server, tmp_path, record, problem):
    settings = tmp_path / "settings"
    settings.mkdir()
    (settings / "ml-model-allow-deny-list.json").write_text(json.dumps({"data": [record]}))
    srv = serve.start(0, tmp_path, tmp_path)
    try:
        with pytest.raises(SettingsError, match=rf"ml-model-allow-deny-list: .*{problem}"):
            run(load_collection(f"{srv.origin}/settings", "ml-model-allow-deny-list"))
    finally:
        srv.shutdown()


@pytest.mark.parametrize("task, cls", [("ner", "TokenClassificationPipeline"),
                                       ("sentiment-analysis", "TextClassificationPipeline"),
                                       ("translation_en_to_fr", "TranslationPipeline"),
                                       ("sentence-similarity", "FeatureExtractionPipeline"),
                                       ("automatic-speech-recognition", "AutomaticSpeechRecognitionPipeline")])
def test_task_names_and_aliases_find_their_pipeline(task, cls):
    import importlib

    from pyodide_pkg.tasks import find

    found = find(task)
    assert found.pipeline == cls
    assert getattr(importlib.import_module(f"pyodide_pkg.pipelines.{found.module}"), cls).__name__ == cls


def test_an_unknown_task_is_named_with_the_known_ones():
    from pyodide_pkg.tasks import find

    with pytest.raises(OptionsError, match=r"unknown taskName 'speech'; known tasks: automatic-speech-recognition, "
                                          r"feature-extraction, fill-mask"):
        find("speech")
