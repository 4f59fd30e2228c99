"""SmolLM2-135M-Instruct in Chromium through createEngine: chat by its own template, transformers' greedy tokens."""

from tests import generation_cases as cases
from tests.browser.test_tasks_in_browser import RUN_ALL
from tests.unit.test_smollm2 import built, chat_requests, engine_options, expected_token_ids, reference  # noqa: F401

# The bundled feature smollm2-chat runs q4, whose 4-bit blocks are the GGUF's own weights: its greedy tokens
# must be those of transformers' fp32 generate().
TIMEOUT_MS = 900_000


def test_chat_feature_in_browser_gives_transformers_greedy_tokens(page, server, store_dir):
    """Token ids for every chat, then one plain answer, which has the pipeline's shape: the conversation
    with the assistant's reply appended."""
    import transformers

    page.set_default_timeout(TIMEOUT_MS)
    chat, options = cases.CHATS[0], {"max_new_tokens": 12, "do_sample": False}
    *answers, plain = page.evaluate(RUN_ALL, ["smollm2-chat", chat_requests(cases.CHATS) +
                                              [{"args": [chat], "options": options}]])
    assert all(a["ok"] for a in [*answers, plain]), [a for a in [*answers, plain] if not a["ok"]]
    assert len(answers) >= 10
    assert [a["value"][0]["generated_token_ids"] for a in answers] == expected_token_ids()
    model, tokenizer = reference()
    pipe = transformers.pipeline("text-generation", model=model, tokenizer=tokenizer, device=-1)
    assert plain["value"] == pipe(chat, **options)


def test_fp32_file_of_540_mb_loads_and_chats_in_browser(page, server, store_dir):
    """One 540 MB file: refused as an IndexedDB value before bodies moved to OPFS; now stored and run."""
    page.set_default_timeout(TIMEOUT_MS)
    options = {k: v for k, v in engine_options(server, "fp32").items() if k != "settingsBaseUrl"}
    answers = page.evaluate(RUN_ALL, [options, chat_requests(cases.CHATS[:3])])
    assert all(a["ok"] for a in answers), answers
    assert [a["value"][0]["generated_token_ids"] for a in answers] == expected_token_ids()[:3]
