"""Fuzzed createEngine options and settings records (hypothesis): whatever a page or a settings server sends,
the result is an engine or one of our named errors, never a bare Python exception, and the next good
createEngine still works."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pyodide_pkg
from pyodide_pkg.errors import MLError
from pyodide_pkg.options import OPTION_NAMES
from pyodide_pkg.settings import ALLOW_DENY, INFERENCE_OPTIONS, ONNX_RUNTIME, load_collection
from tests.conftest import ROOT, run
from tools import serve

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(), st.text(max_size=40),
                   st.sampled_from(["q8", "fp32", "../x", "file:///etc/passwd", "org/model", "v1", "main", "-1", "fuzzed",
                                    "ALLOW", "DENY", "feature-extraction", "test/tiny-bert-feature-extraction"]),
                   st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
OPTIONS = st.dictionaries(st.sampled_from(sorted(OPTION_NAMES) + ["modelID", "__proto__"]), VALUES, max_size=5)
GOOD = {"taskName": "feature-extraction", "modelId": "test/tiny-bert-feature-extraction", "modelRevision": "v1",
        "dtype": "q8", "numThreads": 1}
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def make(options):
    async def go():
        engine = await pyodide_pkg.create_engine(options)
        try:
            return await engine.run({"args": ["fuzz"]})
        finally:
            await engine.terminate()
    return run(go())


@FUZZ
@given(extra=OPTIONS)
def test_fuzzed_options_make_an_engine_or_a_named_error(server, store_dir, extra):
    options = {**GOOD, "settingsBaseUrl": f"{server.origin}/settings", **extra}
    try:
        make(options)
    except MLError:
        pass
    assert make({**GOOD, "settingsBaseUrl": f"{server.origin}/settings"})


def either(likely):
    return st.one_of(st.just(likely), VALUES)


# Records hold the fields each collection uses, often with what a real record holds and otherwise anything.
RECORDS = {
    INFERENCE_OPTIONS: st.fixed_dictionaries(
        {"featureId": either("fuzzed"), "taskName": either("feature-extraction"),
         "modelId": either("test/tiny-bert-feature-extraction")},
        optional={"id": VALUES, "modelRevision": either("v1"), "dtype": VALUES, "timeoutMS": VALUES,
                  "numThreads": VALUES, "modelHubRootUrl": VALUES, "engineId": VALUES}),
    ALLOW_DENY: st.fixed_dictionaries({"filter": st.one_of(st.sampled_from(["ALLOW", "DENY"]), VALUES),
                                       "urlPrefix": either("../hub/")}, optional={"id": VALUES}),
    ONNX_RUNTIME: st.fixed_dictionaries({"name": either("ort-wasm-simd-threaded.wasm"), "version": VALUES,
                                         "sha256": VALUES, "url": VALUES}),
}


def bodies(collection: str):
    records = st.builds(lambda found: {"data": found}, st.lists(RECORDS[collection], min_size=1, max_size=3))
    return st.one_of(records, records, records, st.dictionaries(st.text(max_size=5), VALUES, max_size=2),
                     st.lists(VALUES, max_size=2), VALUES)


@pytest.fixture(scope="module")
def settings_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    (root / "settings").mkdir()
    (root / "vendor").symlink_to(ROOT / "web" / "vendor", target_is_directory=True)
    srv = serve.start(0, root, ROOT / "hub")
    yield srv, root / "settings"
    srv.shutdown()


@pytest.mark.parametrize("name", [INFERENCE_OPTIONS, ALLOW_DENY, ONNX_RUNTIME])
def test_fuzzed_settings_records_make_an_engine_or_a_named_error(settings_server, store_dir, name):
    srv, folder = settings_server
    for collection in (INFERENCE_OPTIONS, ALLOW_DENY, ONNX_RUNTIME):
        source = ROOT / "web" / "settings" / f"{collection}.json"
        (folder / f"{collection}.json").write_text(source.read_text())
    caller = {"featureId": "fuzzed"} if name == INFERENCE_OPTIONS else GOOD

    @FUZZ
    @given(body=bodies(name))
    def fuzz(body):
        (folder / f"{name}.json").write_text(json.dumps(body))
        try:
            run(load_collection(f"{srv.origin}/settings", name))
            make({**caller, "settingsBaseUrl": f"{srv.origin}/settings"})
        except MLError:
            pass
    fuzz()
