"""The task table, the option rules and the model-config quirks: one place each, read by everything else."""

import importlib

import pytest

from pyodide_pkg import model_config
from pyodide_pkg.errors import OptionsError, RequestError
from pyodide_pkg.generation.config import from_model
from pyodide_pkg.option_rules import Rule, check
from pyodide_pkg.tasks import NAMES, TABLE, TASKS, find
from tests.conftest import ROOT
from tools import build_hub, docs
from tools.convert import seq2seq
from tools.convert import tasks as convert_tasks


def test_readme_tables_are_generated_from_the_table_and_rules():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.rendered(text) == text, "run python -m tools.docs and commit README.md"
    assert "| `question-answering` |" in text and "`doc_stride`: an integer >= 0" in text


@pytest.mark.parametrize("task", TABLE, ids=lambda t: t.name)
def test_every_entry_names_a_pipeline_and_an_export(task):
    cls = getattr(importlib.import_module(f"pyodide_pkg.pipelines.{task.module}"), task.pipeline)
    assert callable(cls.load) and (bool(task.exports) == ("onnx" in task.backends))  # GGUF tasks convert nothing
    for export in task.exports:
        assert bool(export.auto_class) != bool(export.optimum_task), task.name
        assert set(export.tiny) <= set(export.architectures)
    for rule in task.request_rules.values():
        rule.expected  # every rule can say what it takes  # noqa: B018


def test_names_and_aliases_are_unique_and_found():
    names = [n for t in TABLE for n in (t.name, *t.aliases)]
    assert len(names) == len(set(names)) == len(NAMES)
    assert find("ner") is TASKS["token-classification"] and find("translation_en_to_de") is TASKS["translation"]
    with pytest.raises(OptionsError, match="unknown taskName 'speech'"):
        find("speech")


def test_the_hub_and_the_converter_read_the_table():
    """Every tiny architecture of every export has a hub model, built for that task, by that export's route."""
    built = {(task, model_id) for model_id, _, task, *_ in build_hub.models()}
    for task in TABLE:
        for export in task.exports:
            for arch in export.tiny:
                model_id = f"test/{build_hub.tiny_name(arch, task.name, export)}"
                assert (task.name, model_id) in built
                head = convert_tasks.head(task.name, arch)
                route = seq2seq.route(task.name, arch)
                assert (head is None) == bool(export.optimum_task) and (route is None) == (head is not None)
                if route:
                    assert route.files == tuple(names[0] for names in task.files.values())
    with pytest.raises(ValueError, match=r"task 'fill-mask' is not supported for architecture 'gpt2' \(supported: "):
        convert_tasks.head("fill-mask", "gpt2")
    assert convert_tasks.head("feature-extraction", "bert").outputs == ("last_hidden_state",)


RULES = {"n": Rule("integer", 3, minimum=1), "x": Rule("number", above=0), "p": Rule("number", minimum=0, maximum=1),
         "b": Rule("boolean", True), "c": Rule("string", "none", choices=("none", "mean"), fold_case=True),
         "k": Rule("integer", 1, minimum=1, nullable=True), "t": Rule("integer", 0, minimum=0, maximum=9, also=(-1,)),
         "s": Rule("strings", None, separator=",", nonempty=True), "e": Rule("boolean", also=("never",)),
         "ids": Rule("token_id_or_ids"), "words": Rule("token_id_lists")}


def test_rules_take_what_they_say_and_convert_it():
    got = check(RULES, {"n": 2.0, "x": 1, "c": "MEAN", "k": None, "t": -1, "s": " a, b ,", "e": "never", "ids": 3,
                        "words": [[1, 2]]}, "here", RequestError)
    assert got == {"n": 2, "x": 1.0, "p": None, "b": True, "c": "mean", "k": None, "t": -1, "s": ["a", "b"],
                   "e": "never", "ids": 3, "words": [[1, 2]]}
    assert isinstance(got["n"], int) and isinstance(got["x"], float)
    assert check(RULES, {"n": None, "ids": [1, 2]}, "here", RequestError, defaults=False) == {"n": 3, "ids": [1, 2]}


@pytest.mark.parametrize("name,value,expected", [
    ("n", 0, "an integer >= 1"), ("n", 1.5, "an integer >= 1"), ("n", True, "an integer >= 1"),
    ("n", float("nan"), "an integer >= 1"), ("x", 0, "a number > 0"), ("p", 1.5, "a number between 0 and 1"),
    ("b", "yes", "true or false"), ("c", "max", "one of none, mean"), ("c", 1, "one of none, mean"),
    ("k", 0, "an integer >= 1 or null"), ("t", -2, "an integer from 0 to 9 or -1"), ("t", 10, "an integer from 0 to 9 or -1"),
    ("s", " , ", "a ','-separated string or a list of strings (not empty)"), ("s", [1], "a ','-separated string or a list of strings (not empty)"),
    ("e", "always", "true or false or 'never'"), ("ids", [], "a token id or a list of token ids"),
    ("ids", -1, "a token id or a list of token ids"), ("words", [[]], "a list of non-empty lists of token ids"),
])
def test_one_wording_for_every_refused_value(name, value, expected):
    with pytest.raises(RequestError) as raised:
        check(RULES, {name: value}, "some-task", RequestError)
    assert str(raised.value) == f"some-task: option '{name}' must be {expected}, got {value!r}"


def test_unknown_options_are_named_with_the_known_ones():
    with pytest.raises(OptionsError, match=r"^where: unknown option 'colour'; known: b, c, e, ids, k, n, p, s, t, "):
        check(RULES, {"colour": 1}, "where", OptionsError)
    with pytest.raises(OptionsError, match=r"^where: unknown options 'a', 'z'; known:"):
        check(RULES, {"z": 1, "a": 2}, "where", OptionsError)


def test_task_rules_check_every_kind_of_option():
    generating = TASKS["text-generation"].request_rules
    assert {"max_new_tokens", "use_cache", "return_full_text"} <= set(generating)
    assert "use_cache" not in TASKS["fill-mask"].request_rules
    with pytest.raises(RequestError, match=r"^text-generation: option 'num_beams' must be an integer >= 1, got 0$"):
        check(generating, {"num_beams": 0}, "text-generation", RequestError)


def test_composite_models_keep_their_decoder_settings_under_decoder():
    vision = {"model_type": "vision-encoder-decoder", "decoder_start_token_id": 7,
              "decoder": {"model_type": "gpt2", "n_head": 2, "n_embd": 32, "n_positions": 128, "eos_token_id": 5,
                          "max_length": 30}}
    assert model_config.cache_dims(vision) == (2, 16)
    assert model_config.decoder_positions(vision) == 128
    assert from_model(None, vision) == {"decoder_start_token_id": 7, "eos_token_id": 5, "max_length": 30}
    whisper = {"model_type": "whisper", "max_source_positions": 1500, "max_target_positions": 448,
               "decoder_attention_heads": 6, "d_model": 384}
    assert model_config.decoder_positions(whisper) == 448 and model_config.cache_dims(whisper) == (6, 64)
    assert model_config.encoder_positions({"model_type": "roberta", "max_position_embeddings": 514}) == 512
    assert model_config.encoder_positions({"model_type": "bert", "max_position_embeddings": 512}) == 512


def test_a_bad_generation_config_is_the_models_fault():
    from pyodide_pkg.errors import ModelError

    with pytest.raises(ModelError, match=r"^generation_config.json: option 'num_beams' must be an integer >= 1, got 0$"):
        from_model({"num_beams": 0}, {})
