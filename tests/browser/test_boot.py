"""The engine host boots Pyodide's Python 3.12 on the byte-compiled stdlib and wheels tools/vendor.py builds
(web/vendor/wheels/pyc/): every module of the stdlib, of our wheels and of numpy is imported from a .pyc, none
is compiled from source; a Pyodide the compiled copies were not made for gets the plain ones. Python itself is
restored from the memory snapshot made beside them, unless the snapshot does not fit."""

import json
import re
import time

import pytest

from tests.conftest import ROOT
from tools import vendor

# Every module imported so far, by where it came from: the stdlib zip, our wheels, or elsewhere.
ORIGINS = r"""
import sys, json, jinja2, markupsafe, numpy, pyodide_pkg, pyodide_pkg.platform.browser_api
stdlib_zip = f"/lib/python{sys.version_info.major}{sys.version_info.minor}.zip/"
ours = ("pyodide_pkg", "jinja2", "markupsafe", "numpy")
found = {"version": sys.version.split()[0], "json": [json.__spec__.origin, type(json.__spec__.loader).__name__,
                                                    json.loads.__code__.co_filename],
         "stdlib": {}, "wheels": {}}
for name, module in list(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or ""
    if origin.startswith(stdlib_zip):
        found["stdlib"][name] = origin.rsplit(".", 1)[-1]
    elif name.split(".")[0] in ours and not origin.endswith(".so"):  # numpy's extension modules aside
        found["wheels"][name] = [origin.rsplit(".", 1)[-1], type(spec.loader).__name__, origin.split("/")[2]]
found
"""

RUN = """async (code) => (await import('./engine.mjs')).runPython(code)"""


def test_stdlib_and_wheels_load_from_pyodides_own_bytecode(page, fresh_log):
    found = page.evaluate(RUN, ORIGINS)
    assert found["version"].startswith("3.12.")
    assert found["json"] == ["/lib/python312.zip/json/__init__.pyc", "zipimporter",
                             "/lib/python312.zip/json/__init__.py"]  # tracebacks name the module's own path
    assert len(found["stdlib"]) > 50 and set(found["stdlib"].values()) == {"pyc"}, found["stdlib"]
    assert {"pyodide_pkg.platform.browser_api", "jinja2", "markupsafe", "numpy", "numpy.linalg"} <= set(found["wheels"])
    # our pure-Python wheels are imported from their archives, numpy from the files Pyodide unpacked
    for name, where in found["wheels"].items():
        assert where == (["pyc", "SourcelessFileLoader", "python3.12"] if name.startswith("numpy")
                         else ["pyc", "zipimporter", "wheels"]), (name, where)
    requested = fresh_log.requests("GET", "/vendor/")
    assert f"/vendor/wheels/pyc/{_index()['compiled']['stdlib']}" in requested
    assert "/vendor/pyodide/python_stdlib.zip" not in requested
    assert not [p for p in requested if p.startswith("/vendor/wheels/") and p.endswith(".whl")
                and not p.startswith("/vendor/wheels/pyc/")]


def test_another_pyodide_gets_the_plain_stdlib_and_wheels(browser, server):
    """index.json's compiled copies are for one Pyodide version: with another, the sources are loaded."""
    from tests.browser.test_main_thread import blank_page

    index = json.loads((ROOT / "web" / "vendor" / "wheels" / "index.json").read_text())
    index["compiled"]["pyodide"] = "0.0.0"
    context, tab = blank_page(browser, server.origin)
    try:
        tab.route("**/vendor/wheels/index.json", lambda route: route.fulfill(
            body=json.dumps(index), content_type="application/json"))
        found = tab.evaluate(RUN, ORIGINS)
    finally:
        context.close()
    assert found["json"][:2] == ["/lib/python312.zip/json/__init__.py", "zipimporter"]
    assert set(found["stdlib"].values()) == {"py"}
    for name, where in found["wheels"].items():
        assert where == (["py", "SourceFileLoader", "python3.12"] if name.startswith("numpy")
                         else ["py", "zipimporter", "wheels"]), (name, where)


def test_a_wheel_that_cannot_be_fetched_fails_the_boot_by_its_url_and_the_next_engine_boots_again(browser, server):
    from tests.browser.test_main_thread import blank_page

    wheel = _index()["wheel"]
    gone = []

    def once(route):  # the first boot's fetch fails, the next boot's goes through (Playwright's unroute hung ~1 in 10)
        if gone:
            route.continue_()
        else:
            gone.append(route.request.url)
            route.fulfill(status=404, body=b"gone")

    context, tab = blank_page(browser, server.origin)
    try:
        tab.route(f"**/vendor/wheels/pyc/{wheel}", once)
        failed = tab.evaluate("""async () => { const { runPython } = await import('./engine.mjs');
          return runPython('1').then(() => null, (error) => error.message); }""")
        again = tab.evaluate(RUN, "import pyodide_pkg\npyodide_pkg.__name__")
    finally:
        context.close()
    assert re.fullmatch(rf"http://\S+/vendor/wheels/pyc/{re.escape(wheel)} answered HTTP 404", failed), failed
    assert again == "pyodide_pkg"


# Whether the boot found unicodedata, and our pure modules and numpy imported, as only the snapshot imports them: a
# boot imports the engine from the browser's API (browser_api, which binds JavaScript) and numpy after it.
SNAPSHOT_STATE = """async (own) => {
  const { runtimeInfo, runPython } = await import('./engine.mjs');
  const code = `import pyodide_pkg.platform.browser_api as api, sys
names = list(sys.modules)
[api.call is not None, "unicodedata" in sys.modules,
 all(m in names and names.index(m) < names.index("pyodide_pkg.platform.browser_api") for m in ${JSON.stringify(own)}),
 "numpy" in names and names.index("numpy") < names.index("pyodide_pkg.platform.browser_api")]`;
  return [(await runtimeInfo()).snapshot, await runPython(code)];
}"""
OWN = list(vendor.SNAPSHOT_OWN_MODULES)


def test_python_is_restored_from_the_vendored_snapshot_with_our_pure_modules(page, fresh_log):
    snapshot, ready = page.evaluate(SNAPSHOT_STATE, OWN)
    assert snapshot == "used" and ready == [True, True, True, True]
    # numpy's import brought ctypes into the snapshot: its handle on the main program still finds symbols
    assert page.evaluate(RUN, """import ctypes, sys
version = ctypes.pythonapi.Py_GetVersion
version.restype = ctypes.c_char_p
version().decode().split()[0] == sys.version.split()[0]""") is True
    assert "/vendor/wheels/pyc/python.snapshot" in fresh_log.requests("GET", "/vendor/")


ZIP_READS = r"""
import importlib, io, sys, zipfile, zipimport
reads = []
read_directory = zipimport._read_directory
zipimport._read_directory = lambda name: reads.append(name) or read_directory(name)
try:
    stdlib = [k for k, v in sys.path_importer_cache.items() if isinstance(v, zipimport.zipimporter)]
    importlib.invalidate_caches()
    with zipfile.ZipFile("/tmp/zipped.zip", "w") as archive:
        archive.writestr("zipped_first.py", "VALUE = 1")
    sys.path.append("/tmp/zipped.zip")
    first = importlib.import_module("zipped_first").VALUE
    with zipfile.ZipFile("/tmp/zipped.zip", "a") as archive:
        archive.writestr("zipped_second.py", "VALUE = 2")
    importlib.invalidate_caches()
    second = importlib.import_module("zipped_second").VALUE
finally:
    zipimport._read_directory = read_directory
    sys.path.remove("/tmp/zipped.zip")
[len(stdlib), reads, first, second]
"""


def test_package_loads_leave_the_stdlib_archive_unread_and_a_changed_archive_is_read_again(page):
    """Pyodide invalidates import caches after each package it loads: 120-140 ms of rereading the stdlib zip's
    directory, once per importer, before platform.zip_imports."""
    importers, reads, first, second = page.evaluate(RUN, ZIP_READS)
    assert importers >= 10  # into the stdlib zip, none of which read it again
    assert reads == ["/tmp/zipped.zip"] * 2 and [first, second] == [1, 2]  # on import, then once changed


def _index() -> dict:
    return json.loads((ROOT / "web" / "vendor" / "wheels" / "index.json").read_text())


def _snapshot_bytes() -> bytes:
    return (ROOT / "web" / "vendor" / "wheels" / "pyc" / _index()["compiled"]["snapshot"]["file"]).read_bytes()


def _another_build(data: bytes) -> bytes:
    """The same snapshot stamped with another Pyodide build id (8 little-endian words after a 16-byte header)."""
    return data[:16] + bytes(32) + data[48:]


@pytest.mark.parametrize("fault, expected", [
    ("another stdlib", r"not used: python\.snapshot was made on python_stdlib-0{16}\.pyc\.zip, "
                       r"not on python_stdlib-[0-9a-f]{16}\.pyc\.zip"),
    ("another build", r"not used: Snapshot build id mismatch"),
    ("not a snapshot", r"not used: Snapshot has invalid magic number"),
    ("cut short", r"not used: http://.+/vendor/wheels/pyc/python\.snapshot has 1000 bytes, not \d+"),
    ("missing", r"not used: http://.+/vendor/wheels/pyc/python\.snapshot answered HTTP 404"),
    ("another wheel", r"not used: python\.snapshot was made on another pyodide_pkg-[^ ]+\.whl "
                      r"\(sha256 0{64}, not [0-9a-f]{64}\)"),
    ("another place", r"not used: python\.snapshot imported /elsewhere/pyodide_pkg-[^ ]+\.whl, "
                      r"which this host does not load"),
    ("another library", r"not used: python\.snapshot was made with another _multiarray_umath\.[^ ]+\.so "
                        r"\(sha256 0{64}, not [0-9a-f]{64}\)"),
    ("a library missing", r"not used: http://.+/vendor/wheels/pyc/_umath_linalg\.[^ ]+\.so answered HTTP 404"),
    ("no room in the table", r"not used: /lib/python3\.12/site-packages/numpy/_core/_multiarray_umath\.[^ ]+\.so "
                             r"was at table index 0; the table now ends at \d+"),
])
def test_a_snapshot_that_does_not_fit_is_not_used_and_python_starts_as_usual(browser, server, fault, expected):
    from tests.browser.test_main_thread import blank_page

    index = _index()
    if fault == "another stdlib":
        index["compiled"]["snapshot"]["stdlib"] = "python_stdlib-" + "0" * 16 + ".pyc.zip"
    for archive in index["compiled"]["snapshot"]["archives"]:
        if fault == "another wheel":
            archive["sha256"] = "0" * 64
        if fault == "another place":
            archive["path"] = archive["path"].replace("/lib/wheels/", "/elsewhere/")
    libraries = index["compiled"]["snapshot"]["libraries"]
    if fault == "another library":
        libraries[0]["sha256"] = "0" * 64
    if fault == "no room in the table":  # as if Python's start had added functions past the snapshot's room
        libraries[0]["tableBase"] = 0
    data = _snapshot_bytes()
    body = {"another build": _another_build(data), "not a snapshot": bytes(len(data)), "cut short": data[:1000]}.get(fault)
    context, tab = blank_page(browser, server.origin)
    try:
        tab.route("**/vendor/wheels/index.json", lambda route: route.fulfill(
            body=json.dumps(index), content_type="application/json"))
        if fault == "a library missing":
            tab.route("**/vendor/wheels/pyc/_umath_linalg.*.so", lambda route: route.fulfill(status=404, body=b"gone"))
        elif fault not in ("another stdlib", "another wheel", "another place", "another library",
                           "no room in the table"):
            tab.route("**/vendor/wheels/pyc/python.snapshot", lambda route: route.fulfill(
                status=404 if body is None else 200, body=body or b"", content_type="application/octet-stream"))
        snapshot, ready = tab.evaluate(SNAPSHOT_STATE, OWN)
    finally:
        context.close()
    assert re.fullmatch(expected, snapshot), snapshot
    assert ready == [True, False, False, False]


def test_task_modules_load_when_a_task_is_first_used(page):
    """Boot imports no task module; the first engine of a task imports its own (the tokenizers come with the
    memory snapshot, test_python_is_restored_from_the_vendored_snapshot_with_our_pure_modules)."""
    found = page.evaluate("""async () => {
      const { createEngine, runPython } = await import('./engine.mjs');
      const loaded = `import sys\\n[m for m in sys.modules if m.startswith("pyodide_pkg.pipelines.")]`;
      const before = await runPython(loaded);
      await createEngine({ featureId: 'sentence-embeddings' });
      return { before, after: await runPython(loaded) };
    }""")
    assert sorted(found["before"]) == ["pyodide_pkg.pipelines.base", "pyodide_pkg.pipelines.loading"]
    assert "pyodide_pkg.pipelines.feature_extraction" in found["after"]
    assert "pyodide_pkg.pipelines.text2text_generation" not in found["after"]


def test_numpy_comes_with_the_snapshot_and_onnx_runtime_has_its_own_worker(page, fresh_log):
    """numpy is imported in the memory snapshot (without it, it loads while the first engine reads its settings
    and starts downloading: test_a_snapshot_that_does_not_fit_is_not_used_and_python_starts_as_usual), and ONNX
    Runtime Web starts and makes sessions in a worker of its own."""
    found = page.evaluate("""async () => {
      const { createEngine, runPython } = await import('./engine.mjs');
      const state = 'import sys, ml_bridge\\ninfo = ml_bridge.ortInfo()\\n["numpy" in sys.modules, info.to_py() if info else None]';
      const before = await runPython(state);
      const engine = await createEngine({ featureId: 'sentence-embeddings', numThreads: 2 });
      const vector = (await engine.run({ args: ['numpy is here'] }))[0];
      return { before, after: await runPython(state), width: vector.length };
    }""")
    assert found["before"] == [True, None]
    numpy_loaded, started = found["after"]
    assert numpy_loaded and started["numThreads"] == 2 and started["isolated"] is True
    assert started["wasmFrom"] in ("network", "http-cache", "cached-copy")  # test_runtime_binary.py tells them apart
    assert found["width"] > 0
    assert "/ort_worker.mjs" in fresh_log.requests("GET", "/ort_worker")


def test_the_host_starts_its_runtime_and_download_workers_as_it_boots(page, fresh_log):
    """Their modules load beside Pyodide's: started by the first download, a fresh profile's downloads began
    ~0.5 s after Python asked for them. No engine is made here, so nothing else asks for either."""
    fresh_log.log.clear()
    page.reload()
    assert page.evaluate("async () => (await import('./engine.mjs')).runPython('1 + 1')") == 2
    scripts = ["/download_worker.mjs", "/ort_worker.mjs"]
    for _ in range(100):
        if all(fresh_log.requests("GET", script) for script in scripts):
            break
        time.sleep(0.05)
    assert [bool(fresh_log.requests("GET", script)) for script in scripts] == [True, True]
    assert fresh_log.requests("GET", "/hub") == []


LIBRARIES = r"""
import js, os, pyodide_js, site, numpy as np
def loaded():
    return sorted({str(name).rsplit("/site-packages/", 1)[-1] for name in js.Object.keys(pyodide_js._module.LDSO.loadedLibsByName)
                   if "/site-packages/numpy/" in str(name)})
before, unpacked = loaded(), os.path.isdir(site.getsitepackages()[0] + "/numpy/random")
drawn = np.random.default_rng(SEED).random(3).tolist()
spectrum = np.abs(np.fft.rfft(np.arange(8.0))).tolist()
[before, loaded(), drawn, spectrum, unpacked, os.path.isdir(site.getsitepackages()[0] + "/numpy/random")]
"""


def test_numpys_random_and_fft_libraries_load_when_first_imported(page):
    """Pyodide would load all 19 of numpy's shared libraries as it installs it; random's, fft's and numpy's own
    test helpers wait for their import, and then work as in CPython."""
    import numpy as np

    before, after, drawn, spectrum, unpacked, then = page.evaluate(
        "async (code) => (await import('./engine.mjs')).runPython(code, { SEED: 7 })", LIBRARIES)
    assert [unpacked, then] == [False, True]  # numpy came with the snapshot, its files with numpy.random's import
    assert [n for n in before if n.startswith(("numpy/random/", "numpy/fft/"))] == []
    assert {n.split(".")[0] for n in before} == {"numpy/_core/_multiarray_umath", "numpy/_core/_multiarray_tests",
                                                 "numpy/linalg/_umath_linalg"}
    assert {"numpy/random/_generator", "numpy/random/_pcg64", "numpy/fft/_pocketfft_umath"} <= {n.split(".")[0] for n in after}
    assert drawn == np.random.default_rng(7).random(3).tolist()
    assert np.allclose(spectrum, np.abs(np.fft.rfft(np.arange(8.0))), rtol=0, atol=1e-12)
