"""tokenizer_config.json handling, padding/truncation calls, decoding and chat templates vs transformers."""

import json
import shutil

import pytest
from transformers import AutoTokenizer

from pyodide_pkg.tokenizers import ChatTemplateError, PretrainedTokenizer
from tests.conftest import HUB, REAL_MODEL, REAL_REVISION, ROOT
from tests.tokenizer_cases import corpus

MINILM = HUB / REAL_MODEL / REAL_REVISION
LLAMA = ROOT / "node_modules" / "@lenml" / "tokenizer-llama2" / "models"
TEMPLATES = {
    "chatml": ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
               "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
               "{% endif %}"),
    "llama2": ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
               "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
               "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] | trim + ' [/INST]' }}"
               "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}"
               "{% endif %}{% endfor %}"),
    "tools": ("{% if tools %}{{ tools | tojson(indent=2) }}\n{% endif %}{% for m in messages %}"
              "{% if m.role == 'system' %}{% continue %}{% endif %}{{ m.role }}: {{ m.content }}\n"
              "{% if loop.index > 3 %}{% break %}{% endif %}{% endfor %}"),
}
CHATS = [
    [{"role": "user", "content": "Hello there"}],
    [{"role": "user", "content": " Bonjour, ça va ? "}, {"role": "assistant", "content": "Oui 😀 "},
     {"role": "user", "content": "中文?"}],
    [{"role": "system", "content": "be brief"}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
     {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}, {"role": "user", "content": "e"}],
]


def folder(tmp_path, source, **config_changes):
    target = tmp_path / source.name
    shutil.copytree(source, target)
    config = json.loads((target / "tokenizer_config.json").read_text())
    config.update(config_changes)
    (target / "tokenizer_config.json").write_text(json.dumps(config))
    return target


def ours(path):
    optional = lambda name: (path / name).read_text() if (path / name).exists() else None  # noqa: E731
    return PretrainedTokenizer.from_data((path / "tokenizer.json").read_bytes(), optional("tokenizer_config.json"),
                                         optional("special_tokens_map.json"))


@pytest.mark.parametrize("source,changes", [(MINILM, {}), (MINILM, {"padding_side": "left", "truncation_side": "left"}),
                                            (LLAMA, {"pad_token": "</s>", "padding_side": "left"})])
def test_calls_match_transformers(tmp_path, source, changes):
    path = folder(tmp_path, source, **changes)
    mine, ref = ours(path), AutoTokenizer.from_pretrained(str(path))
    texts = [t for t in corpus(["[MASK]", "</s>"], n=60, seed=4) if t.strip()][:24]
    for kwargs in [{}, {"padding": True}, {"padding": "max_length", "max_length": 40, "truncation": True},
                   {"truncation": True, "max_length": 9}, {"max_length": 12, "padding": True, "pad_to_multiple_of": 8},
                   {"truncation": "only_second", "max_length": 30, "stride": 4, "return_overflowing_tokens": True,
                    "padding": True, "pair": True},
                   {"add_special_tokens": False, "return_offsets_mapping": True, "return_special_tokens_mask": True}]:
        kwargs = dict(kwargs)
        pairs = texts[::-1] if kwargs.pop("pair", False) else None
        try:
            want = ref(texts, pairs, **kwargs)
        except Exception as error:  # e.g. only_second cannot make the pair fit: ours must refuse as well
            assert "Truncation error" in str(error)
            with pytest.raises(ValueError, match="truncation only_second"):
                mine(texts, pairs, **kwargs)
            continue
        got = mine(texts, pairs, **kwargs)
        for key in got:
            value = want[key]
            if key == "offset_mapping":
                value = [[tuple(o) for o in row] for row in value]
                got[key] = [[tuple(o) for o in row] for row in got[key]]
            assert got[key] == value, (key, kwargs)
        if pairs is None:
            assert mine(texts[3], **kwargs)["input_ids"] == ref(texts[3], **kwargs)["input_ids"]
    for text in texts:
        ids = ref(text)["input_ids"]
        for skip in (False, True):
            assert mine.decode(ids, skip_special_tokens=skip) == ref.decode(ids, skip_special_tokens=skip)
            assert mine.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=True) == \
                ref.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=True)


@pytest.mark.parametrize("source", [MINILM, LLAMA])
def test_a_primed_tokenizer_encodes_like_transformers(source):
    """prime() runs at load (it compiles the patterns a first request would): what it leaves behind (its words in
    the caches) never shows, for its own words in new places and cases either."""
    mine, ref = ours(source), AutoTokenizer.from_pretrained(str(source))
    mine.prime()
    texts = ["Hello world, it's 2 o'clock.", "hello WORLD it's o'clock 2", "Ça va? Grüße, 你好 1.5", "grüße ça 1.5 va",
             *[t for t in corpus([], n=20, seed=21) if t.strip()]]
    got = mine(texts, return_offsets_mapping=True)
    want = ref(texts, return_offsets_mapping=True)
    assert got["input_ids"] == want["input_ids"]
    assert [[tuple(o) for o in row] for row in got["offset_mapping"]] == \
        [[tuple(o) for o in row] for row in want["offset_mapping"]]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_chat_templates_render_like_transformers(tmp_path, name):
    path = folder(tmp_path, LLAMA, chat_template=TEMPLATES[name])
    mine, ref = ours(path), AutoTokenizer.from_pretrained(str(path))
    tools = [{"type": "function", "function": {"name": "get_time", "description": "Heure à Paris",
                                               "parameters": {"type": "object", "properties": {}}}}]
    for chat in CHATS:
        for options in [{}, {"add_generation_prompt": True}, {"continue_final_message": True}, {"tools": tools}]:
            try:
                want = ref.apply_chat_template(chat, tokenize=False, **options)
            except Exception as error:  # the template refuses this chat: so must we, with its message
                with pytest.raises(ChatTemplateError) as raised:
                    mine.apply_chat_template(chat, tokenize=False, **options)
                if "must alternate" in str(error):  # raise_exception's own message reaches the caller
                    assert "Conversation roles must alternate" in str(raised.value)
                continue
            assert mine.apply_chat_template(chat, tokenize=False, **options) == want, options
            assert mine.apply_chat_template(chat, **options) == ref.apply_chat_template(chat, **options)


def test_config_errors_are_named(tmp_path):
    path = folder(tmp_path, MINILM, padding_side="middle")
    with pytest.raises(ValueError, match="padding_side must be 'left' or 'right', not 'middle'"):
        ours(path)
    no_template = ours(MINILM)
    with pytest.raises(ChatTemplateError, match="has no chat_template"):
        no_template.apply_chat_template(CHATS[0])
    with pytest.raises(ChatTemplateError, match="does not compile"):
        no_template.apply_chat_template(CHATS[0], chat_template="{% for %}")
    with pytest.raises(ValueError, match="padding must be"):
        no_template("x", padding="sideways")
