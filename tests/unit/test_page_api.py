"""What the about:inference page asks the engine host for, under CPython: the engine listing's live fields,
the options an engine really runs with, the dtypes a hub folder has, the task descriptions and runtime facts."""

import json

import pytest

import pyodide_pkg
from pyodide_pkg import engine as engine_module
from pyodide_pkg import host_info
from pyodide_pkg.dtypes import SUFFIXES, base_name
from pyodide_pkg.errors import RequestError
from pyodide_pkg.option_rules import check
from pyodide_pkg.tasks import TABLE
from tests.conftest import HUB, run


def settings(server):
    return f"{server.origin}/settings"


def test_list_engines_says_idle_time_left_runs_served_and_options(server, store_dir):
    async def go():
        engine = await pyodide_pkg.create_engine({"featureId": "demo-sentiment", "settingsBaseUrl": settings(server),
                                                  "engineId": "page", "timeoutMS": 60_000, "numThreads": 1})
        before = next(e for e in pyodide_pkg.list_engines() if e["engineId"] == "page")
        await engine.run({"args": ["good"]})
        async for _ in engine.run_with_generator({"args": ["bad"]}):
            pass
        with pytest.raises(RequestError):
            await engine.run({"args": ["x"], "options": {"top_k": 0}})
        never = await pyodide_pkg.create_engine({"featureId": "demo-sentiment", "settingsBaseUrl": settings(server),
                                                 "engineId": "never", "timeoutMS": -1})
        listed = {e["engineId"]: e for e in pyodide_pkg.list_engines()}
        ended = await engine_module.terminate_engine("never"), await engine_module.terminate_engine("never")
        assert ended == (True, False) and never.status == "closed"
        return engine, before, listed
    engine, before, listed = run(go())
    after = listed["page"]
    assert before["runsServed"] == 0 and after["runsServed"] == 3  # the failed request was served too
    assert 0 < before["idleMsLeft"] <= 60_000 and 0 < after["idleMsLeft"] <= 60_000
    o = engine.options
    assert {k: after[k] for k in ("taskName", "modelId", "modelRevision", "dtype", "device", "numThreads",
                                  "timeoutMS", "status", "busy")} == \
        {"taskName": o.taskName, "modelId": o.modelId, "modelRevision": o.modelRevision, "dtype": o.dtype,
         "device": o.device, "numThreads": 1, "timeoutMS": 60_000, "status": "ready", "busy": False}
    assert listed["never"]["idleMsLeft"] is None and listed["never"]["timeoutMS"] == -1


def test_resolved_options_are_what_the_engine_runs_with(server, store_dir):
    """The page's bug: sentence-embeddings showed the default q8 while its settings record runs fp32."""
    for feature in ("sentence-embeddings", "topic-classification", "demo-object-detection"):
        asked = {"featureId": feature, "settingsBaseUrl": settings(server), "engineId": f"r-{feature}"}
        shown = run(host_info.resolved(asked))
        engine = run(pyodide_pkg.create_engine(asked))
        assert shown["options"]["dtype"] == engine.options.dtype, feature
        assert shown["options"] == json.loads(json.dumps(engine.options.__dict__)), feature
        run(engine.terminate())
    assert run(host_info.resolved({"featureId": "sentence-embeddings", "settingsBaseUrl": settings(server)})
               )["options"]["dtype"] == "fp32"


@pytest.mark.parametrize("feature,folder", [
    ("sentence-embeddings", "sentence-transformers/all-MiniLM-L6-v2/v1.0"),
    ("pdfjs-alt-text", "test/tiny-vit-gpt2/v1"), ("demo-object-detection", "test/tiny-yolos/v1")])
def test_hub_dtypes_are_the_files_the_folder_has(server, feature, folder):
    onnx = [p.name for p in (HUB / folder / "onnx").glob("*.onnx")]
    first = min(onnx, key=lambda n: (not n.startswith(("model", "encoder_model")), len(n)))
    stem = base_name(first)
    expected = [d for d, suffix in SUFFIXES.items() if f"{stem}{suffix}.onnx" in onnx]
    assert expected and run(host_info.hub_dtypes({"featureId": feature, "settingsBaseUrl": settings(server)})) == expected


def test_every_task_describes_a_form_and_an_example_its_rules_take():
    described = json.loads(json.dumps(host_info.describe()))
    assert [t["name"] for t in described["tasks"]] == [t.name for t in TABLE]
    for task, shown in zip(TABLE, described["tasks"]):
        assert set(task.form) <= {"text", "prompt", "texts", "labels", "image", "audio"}, task.name
        assert len(shown["example"]["args"]) == len(task.form), task.name
        check(task.request_rules, shown["example"]["options"], task.name, RequestError)
        assert set(shown["options"]) == set(task.request_rules)
    assert described["dtypes"] == list(SUFFIXES) and "dtype" in described["engineOptions"]


def test_runtime_counts_the_settings_records(server):
    info = run(host_info.runtime(settings(server)))
    for name, count in info["collections"].items():
        assert count == len(json.loads((HUB.parent / "web" / "settings" / f"{name}.json").read_text())["data"])
    assert info["onnxRuntime"] and info["numpy"] and info["pyodide"] is None and info["snapshot"] is None
    assert info["onnxRuntimeWasm"] is None  # CPython's onnxruntime has no WASM
    assert run(host_info.runtime("http://127.0.0.1:9/settings"))["collections"]["ml-inference-options"] is None


def test_listed_files_say_when_they_were_last_updated(server, store_dir):
    run(pyodide_pkg.create_engine({"featureId": "demo-sentiment", "settingsBaseUrl": settings(server)}))
    files = run(pyodide_pkg.list_files(task="text-classification"))
    assert files and all(f["lastUpdated"] and f["lastUpdated"] <= f["lastUsed"] for f in files)
