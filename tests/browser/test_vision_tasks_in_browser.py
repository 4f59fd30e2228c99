"""The vision tasks through createEngine in Chromium give what the CPython run of our engine gives on the same
images; every image request shape (data: URL, Blob, ImageData, pdf.js' {data, width, height, channels}) reads
the same image."""

import json
from contextlib import contextmanager

import numpy as np
import pytest

from tests import vision_cases as cases
from tests.browser.test_tasks_in_browser import RUN_ALL
from tests.conftest import HUB, run
from tests.unit.test_text_tasks import assert_same
from tests.unit.test_vision_tasks import engine_options, our_results

# onnxruntime-web (WASM) against onnxruntime (CPython) on the same fp32 graph and pixels: last-bit differences.
TOLERANCE = 1e-4
TASKS = {"zero-shot-image-classification": (cases.CLIP, [{"candidate_labels": cases.LABELS},
                                                          {"candidate_labels": ["cat", "dog"],
                                                           "hypothesis_template": "{} in a picture"}]),
         "object-detection": (cases.YOLOS, [{"threshold": 0.0}, {"threshold": 0.3}, {}]),
         "image-feature-extraction": (cases.DINOV2, [{}, {"pool": True}])}

# Each image as a data: URL, a Blob fetched from it, an ImageData and pdf.js' shape of its RGBA pixels
# (a Uint8Array moved to the engine host); the results of the four, per image.
SHAPES = """async ([options, items, runOptions]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine(options);
  const out = [];
  for (const item of items) {
    const rgba = Uint8ClampedArray.from(atob(item.rgba), (c) => c.charCodeAt(0));
    const blob = await (await fetch(item.url)).blob();
    const pdfjs = new Uint8Array(rgba);
    const inputs = [item.url, blob, new ImageData(rgba, item.width, item.height),
                    { data: pdfjs, width: item.width, height: item.height, channels: 4 }];
    const results = [];
    for (const input of inputs) {
      const request = { args: [input], options: runOptions };
      results.push(await engine.run(request, input === inputs[3] ? { transfer: [pdfjs.buffer] } : undefined));
    }
    out.push({ results, moved: pdfjs.byteLength === 0 });
  }
  await engine.terminate();
  return out;
}"""


@contextmanager
def pyodide_pillow_resize():
    """Resize as Pyodide's Pillow (10.2.0) does, for the CPython run the browser is compared with.

    Pillow resizes in two passes with a uint8 image between them; 10.2.0 always resizes the width first, while
    the CPython side's Pillow 13 resizes the height first when it shrinks more (python-pillow/Pillow#9549),
    so bicubic overshoot at sharp edges is clipped at another point (up to 7/255 apart on these images). Two
    one-axis resizes, width first, are 10.2.0's passes exactly (checked against pillow==10.2.0 under CPython).
    """
    from PIL import Image

    original = Image.Image.resize

    def width_first(self, size, resample=None, box=None, reducing_gap=None):
        size = tuple(size)
        if box is None and reducing_gap is None and resample != Image.Resampling.NEAREST \
                and size[0] != self.width and size[1] != self.height and self.mode in ("RGB", "L"):
            return original(original(self, (size[0], self.height), resample), size, resample)
        return original(self, size, resample, box, reducing_gap)

    Image.Image.resize = width_first
    try:
        yield
    finally:
        Image.Image.resize = original


def expected_results(server, model: str, task: str, requests: list) -> list:
    with pyodide_pillow_resize():
        return our_results(server, model, task, requests)


def browser_options(server, model: str, task: str, dtype: str = "fp32") -> dict:
    return {k: v for k, v in engine_options(server, model, task, dtype).items() if k != "settingsBaseUrl"}


def float_corners(url: str) -> np.ndarray:
    """Our CPython engine's unrounded box corners for an image (onnxruntime on the fp32 hub file)."""
    import onnxruntime

    from pyodide_pkg.pipelines.object_detection import corners
    from pyodide_pkg.processors import ImageProcessor, load_image

    folder = HUB / cases.YOLOS / "v1"
    processor = ImageProcessor(json.loads((folder / "preprocessor_config.json").read_text()))
    session = onnxruntime.InferenceSession(str(folder / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    image = run(load_image(url))
    with pyodide_pillow_resize():
        pixels = processor(image)
    (boxes,) = session.run(["pred_boxes"], {"pixel_values": pixels})
    return corners(boxes[0], image.size)


def assert_close(task: str, got, want, where: str, url: str | None = None) -> int:
    """Scores and features within TOLERANCE; labels exact; box corners exact except at a whole-pixel edge
    (our unrounded corner within 1e-3 of an integer), where truncation may fall either way (counted)."""
    if task == "image-feature-extraction":
        assert np.array(got).shape == np.array(want).shape, where
        assert np.abs(np.array(got) - np.array(want)).max() <= TOLERANCE, where
        return 0
    if task != "object-detection":
        assert_same(got, want, where, TOLERANCE)
        return 0
    assert len(got) == len(want), where
    edges, floats = 0, float_corners(url)
    for a, b in zip(got, want):
        assert a["label"] == b["label"] and abs(a["score"] - b["score"]) <= TOLERANCE, where
        for column, key in enumerate(("xmin", "ymin", "xmax", "ymax")):
            if a["box"][key] != b["box"][key]:
                low, high = sorted((a["box"][key], b["box"][key]))
                edge = high if low >= 0 else low  # int() truncates toward zero
                assert high - low == 1 and np.abs(floats[:, column] - edge).min() < 1e-3, where
                edges += 1
    return edges


@pytest.mark.parametrize("task", list(TASKS))
def test_vision_task_in_browser_matches_cpython(page, server, store_dir, task):
    model, option_sets = TASKS[task]
    images = cases.images()
    requests = [{"args": [images[i]], "options": option_sets[i % len(option_sets)]} for i in range(len(images))]
    requests.append({"args": [images[:3]], "options": option_sets[0]})
    answers = page.evaluate(RUN_ALL, [browser_options(server, model, task), requests])
    expected = expected_results(server, model, task, [(r["args"], r["options"]) for r in requests])
    edges = 0
    for i, (answer, want, request) in enumerate(zip(answers, expected, requests)):
        assert answer["ok"], answer
        if i < len(images):
            edges += assert_close(task, answer["value"], want, f"{task} image {i}", images[i])
        else:
            for k in range(3):
                edges += assert_close(task, answer["value"][k], want[k], f"{task} list {k}", images[k])
    assert edges <= 2


@pytest.mark.parametrize("task", list(TASKS))
def test_every_image_shape_reads_the_same_image_in_browser(page, server, store_dir, task):
    import base64

    model, option_sets = TASKS[task]
    indexes = [3, 5, 8]  # RGBA, palette and grayscale PNGs
    items = []
    for i in indexes:
        pixels = cases.raw_pixels(i)
        items.append({"url": cases.images()[i], "rgba": base64.b64encode(pixels["data"]).decode(),
                      "width": pixels["width"], "height": pixels["height"]})
    found = page.evaluate(SHAPES, [browser_options(server, model, task), items, option_sets[0]])
    expected = expected_results(server, model, task, [([cases.images()[i]], option_sets[0]) for i in indexes])
    for item, want, i in zip(found, expected, indexes):
        assert item["moved"]
        first = item["results"][0]
        assert all(r == first for r in item["results"]), f"{task} image {i}: shapes differ"
        assert_close(task, first, want, f"{task} image {i}", cases.images()[i])


def test_bad_requests_in_browser_name_the_problem_and_the_engine_goes_on(page, server):
    image = cases.images()[0]
    clip = page.evaluate(RUN_ALL, [browser_options(server, cases.CLIP, "zero-shot-image-classification"), [
        {"args": [image]}, {"args": [image, []]}, {"args": [image, ["a", "b"]]}]])
    assert clip[0]["name"] == "RequestError" and "candidate_labels is missing" in clip[0]["message"]
    assert clip[1]["name"] == "RequestError" and "option 'candidate_labels' must be" in clip[1]["message"]
    assert clip[2]["ok"] and sorted(r["label"] for r in clip[2]["value"]) == ["a", "b"]
    detection = page.evaluate(RUN_ALL, [browser_options(server, cases.YOLOS, "object-detection"), [
        {"args": [image], "options": {"threshold": 2}}, {"args": [{"data": [1, 2], "width": 3, "height": 1}]},
        {"args": [image], "options": {"threshold": 0}}]])
    assert detection[0] == {"ok": False, "name": "RequestError",
                            "message": "object-detection: option 'threshold' must be a number between 0 and 1, got 2"}
    assert detection[1]["name"] == "RequestError" and "has 12 bytes, got 2" in detection[1]["message"]
    assert detection[2]["ok"] and len(detection[2]["value"]) == 10


@pytest.mark.parametrize("feature,run_options,check", [
    ("demo-object-detection", '{"threshold": 0}',
     lambda r: len(r) == 10 and all(set(d) == {"score", "label", "box"} for d in r)),
    ("demo-zero-shot-image", None, lambda r: {d["label"] for d in r} == {"a cat", "a dog", "a landscape"}),
    ("demo-image-features", None, lambda r: np.array(r).shape == (1, 32))])
def test_demo_page_runs_vision_features_on_a_dropped_image(page, tmp_path, feature, run_options, check):
    """The page fills each task's run options (its drop zone shows for every image task); the dropped file is
    args[0]."""
    image = tmp_path / "photo.png"
    image.write_bytes(cases.png(2))
    page.select_option("#feature", f"feature:{feature}")
    page.wait_for_function("v => document.querySelector('#run-form').dataset.preset === v", arg=f"feature:{feature}")
    assert page.is_visible("#drop")
    page.set_input_files("#image", str(image))
    if run_options:
        page.fill("#run-options", run_options)
    page.click("#run")
    page.wait_for_function("document.querySelector('#result').dataset.ready !== undefined")
    assert page.get_attribute("#result", "data-ready") == "true", page.text_content("#status")
    assert check(json.loads(page.text_content("#result")))
