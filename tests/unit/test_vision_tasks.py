"""zero-shot-image-classification, object-detection and image-feature-extraction under CPython, through the
real engine, against transformers' pipelines on the tiny hub models' checkpoints (fp32), on 11 images of
varied sizes and modes (tests/vision_cases.py)."""

import numpy as np
import pytest
import torch
import transformers

import pyodide_pkg
from pyodide_pkg.errors import RequestError
from tests import vision_cases as cases
from tests.conftest import run
from tests.unit.test_text_tasks import assert_same
from tools.build_hub import tiny_source

# fp32 ONNX Runtime against PyTorch on the same float32 inputs: kernels sum in other orders, so scores and
# features differ in the last bits (observed below 1e-6); 1e-4 is the project's fp32 bound.
TOLERANCE = 1e-4
N = len(cases.SPECS)


def engine_options(server, model: str, task: str, dtype: str = "fp32") -> dict:
    return {"taskName": task, "modelId": model, "modelRevision": "v1", "dtype": dtype,
            "settingsBaseUrl": f"{server.origin}/settings", "engineId": f"{model}-{dtype}"}


def our_results(server, model: str, task: str, requests: list, dtype: str = "fp32") -> list:
    """Each request's result, or the RequestError it raised (the engine must go on after one)."""
    async def go():
        engine = await pyodide_pkg.create_engine(engine_options(server, model, task, dtype))
        found = []
        try:
            for args, options in requests:
                try:
                    found.append(await engine.run({"args": args, "options": options}))
                except RequestError as error:
                    found.append(error)
        finally:
            await engine.terminate()
        return found
    return run(go())


def reference(arch: str, task: str):
    return transformers.pipeline(task, model=str(tiny_source(arch, task)()), device=-1)


def test_zero_shot_image_classification_equals_transformers(server, store_dir):
    pipe = reference("clip", "zero-shot-image-classification")
    labels = [cases.LABELS, cases.LABELS[:2], ["UPPER case Label!", "émoji 😀 label", "x"], ["only one"]]
    images = cases.images()
    requests = [([images[i]], {"candidate_labels": labels[i % len(labels)]}) for i in range(N)]
    requests += [([images[0], "a, b ,c"], {}), ([images[1], cases.LABELS], {"hypothesis_template": "{} in a picture"}),
                 ([images[:3]], {"candidate_labels": "cat,dog"})]
    ours = our_results(server, cases.CLIP, "zero-shot-image-classification", requests)
    for i in range(N):
        assert_same(ours[i], pipe(cases.decoded(i), candidate_labels=labels[i % len(labels)]), f"image {i}", TOLERANCE)
    assert_same(ours[N], pipe(cases.decoded(0), candidate_labels=["a", "b", "c"]), "labels as args[1]", TOLERANCE)
    assert_same(ours[N + 1], pipe(cases.decoded(1), candidate_labels=cases.LABELS, hypothesis_template="{} in a picture"),
                "template", TOLERANCE)
    assert_same(ours[N + 2], pipe([cases.decoded(i) for i in range(3)], candidate_labels=["cat", "dog"]), "list",
                TOLERANCE)
    assert len({tuple(r["label"] for r in result) for result in ours[:N]}) > 2  # the images really differ


def reference_corners(pipe, image, threshold: float) -> list[list[float]]:
    """The reference boxes before transformers' pipeline truncates them to ints."""
    inputs = pipe.image_processor(images=[image.convert("RGB")], return_tensors="pt")
    with torch.no_grad():
        out = pipe.model(**inputs)
    sizes = torch.tensor([[image.height, image.width]])
    return pipe.image_processor.post_process_object_detection(out, threshold, sizes)[0]["boxes"].tolist()


def assert_same_detections(ours, want, corners, where) -> int:
    """Scores within TOLERANCE, labels exact, box corners exact except where the reference's float corner is
    within 1e-3 of a whole pixel, where float32 rounding may put the truncation on the other side (counted)."""
    assert len(ours) == len(want) == len(corners), where
    edge = 0
    for got, expected, floats in zip(ours, want, corners):
        assert got["label"] == expected["label"] and abs(got["score"] - expected["score"]) <= TOLERANCE, where
        assert set(got["box"]) == {"xmin", "ymin", "xmax", "ymax"}
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), floats):
            assert type(got["box"][key]) is int
            if got["box"][key] != expected["box"][key]:
                assert abs(value - round(value)) < 1e-3 and abs(got["box"][key] - expected["box"][key]) == 1, where
                edge += 1
    return edge


def test_object_detection_equals_transformers(server, store_dir):
    pipe = reference("yolos", "object-detection")
    images = cases.images()
    thresholds = [0.0, 0.3, 0.5]
    requests = [([images[i]], {"threshold": thresholds[i % 3]}) for i in range(N)] + [([images[3]], {})]
    requests.append(([images[:2]], {"threshold": 0.0}))
    ours = our_results(server, cases.YOLOS, "object-detection", requests)
    edges = 0
    for i in range(N):
        image, threshold = cases.decoded(i), thresholds[i % 3]
        edges += assert_same_detections(ours[i], pipe(image, threshold=threshold),
                                        reference_corners(pipe, image, threshold), f"image {i}")
    edges += assert_same_detections(ours[N], pipe(cases.decoded(3)), reference_corners(pipe, cases.decoded(3), 0.5),
                                    "default threshold")
    for k, result in enumerate(ours[N + 1]):
        edges += assert_same_detections(result, pipe(cases.decoded(k), threshold=0.0),
                                        reference_corners(pipe, cases.decoded(k), 0.0), f"list {k}")
    assert edges <= 2, edges
    assert all(len(r) == 10 for r in ours[:N:3])  # threshold 0 keeps every query: box maths is compared
    kept = [len(r) for r in ours[1:N:3] + ours[2:N:3]]
    assert 0 < sum(kept) < 10 * len(kept), kept  # 0.3 and 0.5 keep some boxes, not all
    assert len({r["label"] for result in ours[:N] for r in result}) > 1
    assert len({tuple(r["box"].values()) for result in ours[:N] for r in result}) > 30


@pytest.mark.parametrize("pool", [False, True])
def test_image_feature_extraction_equals_transformers(server, store_dir, pool):
    pipe = reference("dinov2", "image-feature-extraction")
    images = cases.images()
    options = {"pool": True} if pool else {}
    requests = [([image], options) for image in images] + [([images[:2]], options)]
    ours = our_results(server, cases.DINOV2, "image-feature-extraction", requests)
    for i in range(N):
        want = np.array(pipe(cases.decoded(i), pool=pool))
        got = np.array(ours[i])
        assert got.shape == want.shape == ((1, 32) if pool else (1, 17, 32))
        assert np.abs(got - want).max() <= TOLERANCE, i
    assert np.abs(np.array(ours[N]) - np.array([ours[0], ours[1]])).max() == 0


@pytest.mark.parametrize("task,model", [("zero-shot-image-classification", cases.CLIP),
                                        ("object-detection", cases.YOLOS),
                                        ("image-feature-extraction", cases.DINOV2)])
def test_pdfjs_pixels_and_bytes_read_like_the_encoded_image(server, store_dir, task, model):
    """pdf.js' {data, width, height, channels} (data as bytes) and raw PNG bytes give the data: URL's result."""
    options = {"candidate_labels": cases.LABELS} if task.startswith("zero-shot") else \
        {"threshold": 0.0} if task == "object-detection" else {}
    indexes = [0, 3, 5]
    requests = [([cases.images()[i]], options) for i in indexes] + \
        [([cases.raw_pixels(i)], options) for i in indexes] + [([cases.png(i)], options) for i in indexes]
    ours = our_results(server, model, task, requests)
    assert ours[:3] == ours[3:6] == ours[6:]


def test_bad_requests_name_the_problem_and_the_engine_goes_on(server, store_dir):
    image = cases.images()[0]
    clip = our_results(server, cases.CLIP, "zero-shot-image-classification", [
        ([image], {}), ([image, []], {}), ([image, ["a"]], {"candidate_labels": ["b"]}), ([], {"candidate_labels": "a"}),
        ([image], {"candidate_labels": ["a"], "hypothesis_template": 3}), (["data:text/plain,hi"], {"candidate_labels": "a"}),
        ([image], {"candidate_labels": ["word " * 80]}), ([image, ["a", "b"]], {})])
    messages = [str(e) for e in clip[:-1]]
    assert all(isinstance(e, RequestError) for e in clip[:-1]), clip
    assert "candidate_labels is missing" in messages[0]
    assert "option 'candidate_labels' must be a ','-separated string or a list of strings (not empty), got []" in messages[1]
    assert "both as args[1] and as an option" in messages[2] and "args must hold an image" in messages[3]
    assert "option 'hypothesis_template' must be a string, got 3" in messages[4]
    assert "must be of type image/*" in messages[5] and "the model reads at most 77" in messages[6]
    assert [r["label"] for r in clip[-1]] in (["a", "b"], ["b", "a"])
    detection = our_results(server, cases.YOLOS, "object-detection", [
        ([image], {"threshold": 2}), ([image], {"threshold": "high"}), ([[]], {}), ([{"data": b"xx", "width": 3,
                                                                                      "height": 1, "channels": 4}], {}),
        ([image], {"colour": 1}), ([image], {"threshold": 0.0})])
    assert "option 'threshold' must be a number between 0 and 1, got 2" in str(detection[0])
    assert "option 'threshold' must be a number between 0 and 1, got 'high'" in str(detection[1])
    assert "the list of images is empty" in str(detection[2]) and "has 12 bytes, got 2" in str(detection[3])
    assert "unknown option 'colour'; known: threshold" in str(detection[4])
    assert len(detection[5]) == 10
    features = our_results(server, cases.DINOV2, "image-feature-extraction", [
        ([image], {"pool": "yes"}), ([b"not an image"], {}), ([image], {"pool": True})])
    assert "option 'pool' must be true or false, got 'yes'" in str(features[0])
    assert "the image could not be decoded" in str(features[1]) and np.array(features[2]).shape == (1, 32)


@pytest.mark.parametrize("arch,task", [("clip", "zero-shot-image-classification"), ("yolos", "object-detection"),
                                       ("dinov2", "image-feature-extraction")])
def test_pixels_equal_transformers_image_processors(arch, task):
    """Our ImageProcessor reads each model's preprocessor_config.json into the same pixel_values as the
    model's own transformers processor (exactly: the same Pillow resize, float32 arithmetic in the same order)."""
    import json

    from pyodide_pkg.processors import ImageProcessor, load_image

    folder = tiny_source(arch, task)()
    config = json.loads((folder / "preprocessor_config.json").read_text())
    ours = ImageProcessor(config)
    theirs = transformers.AutoImageProcessor.from_pretrained(folder)
    for i in range(N):
        want = theirs(images=[cases.decoded(i).convert("RGB")], return_tensors="np")["pixel_values"]
        got = ours(run(load_image(cases.png(i))))
        assert got.shape == want.shape and got.dtype == want.dtype == np.float32, i
        assert np.array_equal(got, want), (i, np.abs(got - want).max())


def test_yolos_sizes_and_padding_equal_transformers():
    """The YOLOS resize rule (model_config.SIZE_MULTIPLE) on many shapes, and padding to a fixed pad_size."""
    import json

    from transformers.models.yolos.image_processing_yolos import get_size_with_aspect_ratio

    from pyodide_pkg.processors import ImageProcessor, load_image

    config = json.loads((tiny_source("yolos", "object-detection")() / "preprocessor_config.json").read_text())
    ours = ImageProcessor(config)
    rng = np.random.default_rng(0)
    for width, height in [(17, 31), (640, 480), (300, 1200), (64, 64), (112, 64), (65, 113), *rng.integers(16, 2000, (300, 2))]:
        width, height = int(width), int(height)
        h, w = get_size_with_aspect_ratio((height, width), 64, 112)
        if h > 0 and w > 0:
            assert ours.target_size(width, height) == (w, h), (width, height)
        else:  # transformers would hand the model an empty image
            with pytest.raises(RequestError, match="too narrow for this model"):
                ours.target_size(width, height)
    padded = ImageProcessor({**config, "pad_size": {"height": 128, "width": 128}})
    theirs = transformers.YolosImageProcessor(**{k: v for k, v in config.items() if k not in ("image_processor_type", "pad_size")},
                                              pad_size={"height": 128, "width": 128})
    for i in (0, 2, 5):
        want = theirs(images=[cases.decoded(i).convert("RGB")], return_tensors="np")["pixel_values"]
        got = padded(run(load_image(cases.png(i))))
        assert got.shape == want.shape == (1, 3, 128, 128) and np.array_equal(got, want), i
