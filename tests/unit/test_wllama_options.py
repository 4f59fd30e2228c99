"""The wllama backend's options, request shapes and sampler settings under CPython; running it needs the browser
(tests/browser/test_wllama_in_browser.py), and CPython says so clearly."""

import pytest

import pyodide_pkg
from pyodide_pkg.errors import OptionsError, RequestError
from pyodide_pkg.options import check_caller_options, merge
from pyodide_pkg.option_rules import check
from pyodide_pkg.pipelines.gguf_generation import (LinkPreviewPrompt, chunk_tokens, load_params, sampling,
                                                   split_link_preview)
from pyodide_pkg.tasks import TASKS, find, for_backend
from tests.conftest import run

GGUF = {"taskName": "text-generation", "modelId": "HuggingFaceTB/SmolLM2-135M-Instruct", "backend": "wllama",
        "modelFile": "SmolLM2-135M-Instruct.Q4_1.gguf"}
RULES = TASKS["wllama-text-generation"].request_rules


def test_backend_and_its_companions_are_checked_like_every_option():
    options = merge({}, check_caller_options({**GGUF, "numContext": 2048, "kvCacheDtype": "q8_0", "numBatch": 256}))
    assert (options.backend, options.numContext, options.kvCacheDtype, options.numBatch) == ("wllama", 2048, "q8_0", 256)
    assert load_params(options)["cache_type_k"] == load_params(options)["cache_type_v"] == "q8_0"
    assert merge({}, {"taskName": "text-generation", "modelId": "m"}).backend == "onnx"
    bad = [({"backend": "llamafile"}, "option 'backend' must be one of onnx, wllama, got 'llamafile'"),
           ({"kvCacheDtype": "f8"}, "option 'kvCacheDtype' must be one of f32, f16, q8_0"),
           ({"numContext": 8}, "option 'numContext' must be an integer >= 16, got 8"),
           ({"flashAttn": "yes"}, "option 'flashAttn' must be true or false")]
    for extra, message in bad:
        with pytest.raises(OptionsError, match=message):
            check_caller_options({**GGUF, **extra})
    with pytest.raises(OptionsError, match="backend 'wllama' needs modelFile"):
        merge({}, {k: v for k, v in GGUF.items() if k != "modelFile"})
    with pytest.raises(OptionsError, match="must be a relative path to a .gguf file, got '../x.gguf'"):
        merge({}, {**GGUF, "modelFile": "../x.gguf"})
    with pytest.raises(OptionsError, match="option 'numBatch' \\(4096\\) cannot exceed numContext \\(1024\\)"):
        merge({}, {**GGUF, "numBatch": 4096})
    with pytest.raises(OptionsError, match="option\\(s\\) 'modelFile', 'numContext' are for backend 'wllama'"):
        merge({}, {"taskName": "text-generation", "modelId": "m", "modelFile": "a.gguf", "numContext": 64})


def test_tasks_say_which_backends_run_them():
    assert for_backend(find("text-generation"), "wllama") is TASKS["wllama-text-generation"]
    assert for_backend(find("text-generation"), "onnx") is TASKS["text-generation"]
    with pytest.raises(OptionsError, match="task 'fill-mask' does not run on backend 'wllama'; it runs on onnx"):
        for_backend(find("fill-mask"), "wllama")
    with pytest.raises(OptionsError, match="task 'wllama-text-generation' does not run on backend 'onnx'"):
        for_backend(find("wllama-text-generation"), "onnx")


def test_link_preview_request_shape():
    chat = [{"role": "user", "content": "Summarize: cats sleep a lot."}]
    args, options = split_link_preview({"prompt": chat, "nPredict": 20, "stopTokens": [2],
                                        "logit_bias_toks": [5, 7], "logit_bias_vals": [-100, 2.5]})
    assert isinstance(args[0], LinkPreviewPrompt) and args[0] == chat
    params = sampling(check(RULES, options, "wllama-text-generation", RequestError))
    assert params["n_predict"] == 20 and params["logit_bias"] == [[5, -100.0], [7, 2.5]]
    assert (params["temperature"], params["top_k"]) == (0.0, 1) and "seed" not in params  # greedy by default
    with pytest.raises(RequestError, match="unknown link-preview request field\\(s\\): temperature"):
        split_link_preview({"prompt": chat, "temperature": 1})
    with pytest.raises(RequestError, match="a link-preview request's prompt is a chat"):
        split_link_preview({"prompt": "hello"})
    with pytest.raises(RequestError, match="logit_bias_toks has 2 ids but logit_bias_vals has 1 values"):
        sampling(check(RULES, {"logit_bias_toks": [1, 2], "logit_bias_vals": [1]}, "t", RequestError))
    with pytest.raises(RequestError, match="option 'logit_bias_vals' must be a list of numbers, got \\['a'\\]"):
        check(RULES, {"logit_bias_vals": ["a"]}, "t", RequestError)
    with pytest.raises(RequestError, match="option 'stopTokens' must be a list of token ids, got \\[-1\\]"):
        check(RULES, {"stopTokens": [-1]}, "t", RequestError)


def test_sampling_with_a_seed_and_chunk_token_ids():
    params = sampling(check(RULES, {"do_sample": True, "seed": 7, "temperature": 0.5, "max_new_tokens": 9},
                            "t", RequestError))
    assert (params["seed"], params["temperature"], params["top_k"], params["n_predict"]) == (7, 0.5, 40, 9)
    chunk = {"choices": [{"text": " Paris", "logprobs": {"content": [{"id": 7042, "token": " Paris"}]}}]}
    assert chunk_tokens(chunk) == (" Paris", [7042])
    assert chunk_tokens({"choices": [{"text": "", "finish_reason": "stop"}]}) == ("", [])


def test_cpython_says_wllama_is_browser_only_and_the_engine_host_goes_on(server, store_dir):
    server.log.clear()

    async def go():
        with pytest.raises(OptionsError, match="backend 'wllama' runs only in the browser"):
            await pyodide_pkg.create_engine({"featureId": "link-preview", "settingsBaseUrl": f"{server.origin}/settings"})
        engine = await pyodide_pkg.create_engine({"featureId": "demo-sentiment",
                                                  "settingsBaseUrl": f"{server.origin}/settings"})
        try:
            return await engine.run({"args": ["fine"]})
        finally:
            await engine.terminate()
    assert run(go())[0]["label"]
    assert not [r for r in server.requests(prefix="/hub") if ".gguf" in str(r)]  # refused before any download
    assert server.requests(prefix="/hub")  # the log does record the ONNX engine's files
