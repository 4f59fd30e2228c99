"""The about:inference page driven as a person would (click, type, keys, drop a file) in Chromium, asserting
on what is shown; every tab is saved as a screenshot under .cache/screenshots/ for a person to look at."""

import json

from tests.browser.conftest import config
from tests.conftest import ROOT

SHOTS = ROOT / ".cache" / "screenshots"
TABS = ["run", "models", "engines", "benchmark", "about"]


def screenshot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_tab(page, name):
    page.click(f"#tab-{name}")
    assert page.is_visible(f"#{name}") and page.url.endswith(f"#{name}")


def test_tabs_are_deep_linked_and_keyboard_driven(page, server):
    page.goto(f"{server.origin}/#engines")
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=config.TIMEOUT_MS)
    assert page.get_attribute("#tab-engines", "aria-selected") == "true" and page.is_visible("#engines")
    assert [page.is_hidden(f"#{t}") for t in TABS] == [t != "engines" for t in TABS]
    page.focus("#tab-engines")
    page.keyboard.press("ArrowRight")
    assert page.url.endswith("#benchmark") and page.evaluate("document.activeElement.id") == "tab-benchmark"
    page.keyboard.press("End")
    assert page.url.endswith("#about") and page.is_visible("#about")
    page.keyboard.press("ArrowRight")  # wraps around
    assert page.url.endswith("#run")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Home")
    assert page.url.endswith("#run") and page.evaluate("document.activeElement.id") == "tab-run"
    page.keyboard.press("Tab")  # into the panel
    assert page.evaluate("document.activeElement.closest('[role=tabpanel]').id") == "run"
    page.evaluate("location.hash = '#models'")
    page.wait_for_function("!document.querySelector('#models').hidden")


def test_about_tab_shows_the_runtime(page):
    open_tab(page, "about")
    page.wait_for_function("document.querySelector('#about-table tbody').dataset.ready === 'true'")
    shown = {page.get_attribute(f"#about-table tr:nth-child({i + 1})", "data-key"):
             page.text_content(f"#about-table tr:nth-child({i + 1}) td")
             for i in range(page.locator("#about-table tbody tr").count())}
    packages = json.loads((ROOT / "package.json").read_text())["dependencies"]
    numpy_wheel = next((ROOT / "web" / "vendor" / "pyodide").glob("numpy-*.whl")).name
    assert shown["Pyodide"] == packages["pyodide"] and shown["ONNX Runtime Web"] == packages["onnxruntime-web"]
    assert shown["numpy"] == numpy_wheel.split("-")[1] and shown["Python"].startswith("3.")
    for name in ("ml-inference-options", "ml-model-allow-deny-list", "ml-onnx-runtime"):
        records = json.loads((ROOT / "web" / "settings" / f"{name}.json").read_text())["data"]
        assert shown[f"{name} records"] == str(len(records))
    isolated = page.evaluate("crossOriginIsolated")
    assert shown["Cross-origin isolated"] == ("yes" if isolated else "no")
    assert shown["WebAssembly SIMD"] == "yes"  # Chromium has had SIMD since 91
    assert shown["Settings base URL"] == page.evaluate("new URL('settings/', location.href).href")
    assert " used of " in shown["Storage"] and " available" in shown["Storage"]
    screenshot(page, "about")
