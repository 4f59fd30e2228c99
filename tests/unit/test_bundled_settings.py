"""The bundled ml-inference-options are what build_hub generates, and every hub model starts from them."""

import json

import pyodide_pkg
from tests.conftest import run
from tools import build_hub


def test_committed_settings_are_generated_from_the_hub_models():
    assert build_hub.SETTINGS.read_text() == build_hub.settings_text(), "run python -m tools.build_hub and commit"
    records = json.loads(build_hub.SETTINGS.read_text())["data"]
    per_model = {r["modelId"] for r in records if r.get("featureId") == r["modelId"]}
    assert per_model == {model_id for model_id, *_ in build_hub.models()}


def test_every_hub_model_starts_an_engine_from_its_record(server, store_dir):
    """Each model folder the hub builder made loads through the engine's hub code, by featureId alone."""
    records = [r for r in json.loads(build_hub.SETTINGS.read_text())["data"] if r.get("featureId") == r.get("modelId")]

    async def go():
        started = []
        for record in records:
            engine = await pyodide_pkg.create_engine({"featureId": record["featureId"], "engineId": "each",
                                                      "settingsBaseUrl": f"{server.origin}/settings"})
            started.append((engine.options.modelId, engine.status))
            await engine.terminate()
        return started
    started = run(go())
    assert started == [(r["modelId"], "ready") for r in records]
    assert len(started) >= 39
