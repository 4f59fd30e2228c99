"""image-classification under CPython against transformers' pipeline on the tiny ViT classifier."""

import pytest
import transformers

import pyodide_pkg
from tests import generation_cases as cases
from tests.conftest import run
from tests.unit.test_text_tasks import assert_same
from tools.build_hub import tiny_source


@pytest.mark.parametrize("options", [{}, {"top_k": 2}, {"function_to_apply": "sigmoid", "top_k": 3}])
def test_labels_and_scores_equal_transformers(server, store_dir, options):
    pipe = transformers.pipeline("image-classification", model=str(tiny_source("vit", "image-classification")()),
                                 device=-1)
    images = cases.images()

    async def go():
        engine = await pyodide_pkg.create_engine({"taskName": "image-classification", "modelId": "test/tiny-vit",
                                                  "modelRevision": "v1", "dtype": "fp32",
                                                  "settingsBaseUrl": f"{server.origin}/settings"})
        return [await engine.run({"args": [image], "options": options}) for image in images] + \
            [await engine.run({"args": [images[:3]], "options": options})]
    *ours, listed = run(go())
    for got, image in zip(ours, images):
        assert_same(got, pipe(cases.decode_data_url(image), **options))
    assert_same(listed, pipe([cases.decode_data_url(i) for i in images[:3]], **options))


def test_raw_pixels_in_pdfjs_shape_read_like_the_encoded_image():
    """Firefox's pdf.js passes {data, width, height, channels}; each channel count gives the PNG's RGB image."""
    import io

    import numpy as np
    from PIL import Image

    from pyodide_pkg.errors import RequestError
    from pyodide_pkg.processors import load_image

    png = cases.decode_data_url_bytes(cases.images()[0])
    rgb = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = rgb.size
    expected = np.asarray(rgb)
    for mode, channels in (("RGB", 3), ("RGBA", 4)):
        pixels = rgb.convert(mode).tobytes()
        for data in (pixels, memoryview(pixels), list(pixels)):
            image = run(load_image({"data": data, "width": width, "height": height, "channels": channels}))
            assert np.array_equal(np.asarray(image), expected), (mode, type(data))
    gray = run(load_image({"data": rgb.convert("L").tobytes(), "width": width, "height": height, "channels": 1}))
    assert np.array_equal(np.asarray(gray), np.asarray(rgb.convert("L").convert("RGB")))
    for bad, message in [({"channels": 5}, "channels must be one of"), ({"width": width + 1}, "bytes, got"),
                         ({"width": 0}, "positive integers"), ({"data": "abc"}, "8-bit pixels")]:
        with pytest.raises(RequestError, match=message):
            run(load_image({"data": rgb.tobytes(), "width": width, "height": height, "channels": 3, **bad}))
