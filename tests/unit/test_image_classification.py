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
