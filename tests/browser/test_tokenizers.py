"""The same tokenizer files give the same encodings inside Pyodide as under CPython."""

import json

import pytest

from pyodide_pkg.tokenizers import PretrainedTokenizer, Tokenizer
from tests.tokenizer_cases import added_contents, corpus, tokenizer_files

FILES = tokenizer_files()
# Characters whose Unicode data differ between Python 3.11 (Unicode 14) and Pyodide's 3.12 (15):
# new letters, marks, decompositions and case pairs. The reference's tables decide for both.
NEWER_UNICODE = "\U0001e030\U0001e06d\U00011f00\U00011f41\U0001e4d0\U0001e4ec\U0001f6dc\U0001fae8\u0cf3\U00010efd"

ENCODE_IN_PYODIDE = """async ([tokenizerJson, textsJson, pairsJson]) => {
  const { runPython } = await import('./engine.mjs');
  return await runPython(`
import json
from pyodide_pkg.tokenizers import Tokenizer
tok = Tokenizer.from_str(tokenizer_json)
def view(e):
    return [e.ids, e.tokens, [list(o) for o in e.offsets], e.type_ids, e.special_tokens_mask, e.word_ids]
texts = json.loads(texts_json)
pairs = json.loads(pairs_json)
json.dumps({"single": [view(tok.encode(t)) for t in texts],
            "pairs": [view(tok.encode(a, b)) for a, b in pairs],
            "decoded": [tok.decode(tok.encode(t).ids, skip_special_tokens=False) for t in texts]})
`, { tokenizer_json: tokenizerJson, texts_json: textsJson, pairs_json: pairsJson });
}"""


def view(e):
    return [e.ids, e.tokens, [list(o) for o in e.offsets], e.type_ids, e.special_tokens_mask, e.word_ids]


@pytest.mark.parametrize("name", sorted(FILES))
def test_pyodide_encodes_like_cpython(page, name):
    text = FILES[name]
    texts = corpus(added_contents(text), n=250, seed=21) + [NEWER_UNICODE, "a" + NEWER_UNICODE + " B"]
    pairs = list(zip(texts[:60], texts[60:120]))
    ours = Tokenizer.from_str(text)
    expected = {"single": [view(ours.encode(t)) for t in texts], "pairs": [view(ours.encode(a, b)) for a, b in pairs],
                "decoded": [ours.decode(ours.encode(t).ids, skip_special_tokens=False) for t in texts]}
    got = json.loads(page.evaluate(ENCODE_IN_PYODIDE, [text, json.dumps(texts), json.dumps(pairs)]))
    for key in expected:
        for k, (a, b) in enumerate(zip(got[key], expected[key])):
            assert a == b, (name, key, texts[k] if key != "pairs" else pairs[k])


def test_pyodide_renders_chat_templates_with_jinja(page):
    template = ("{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}"
                "<{{ m.role }}>{{ m.content | trim }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}"
                "<assistant>{% endif %}{{ tools | tojson }}")
    config = json.dumps({"bos_token": "<s>", "eos_token": "</s>", "chat_template": template})
    chat = [{"role": "system", "content": "x"}, {"role": "user", "content": " Ça va ? 😀 "}]
    tools = [{"name": "clock", "description": "l'heure"}]
    expected = PretrainedTokenizer.from_data(FILES["llama2"], config).apply_chat_template(
        chat, add_generation_prompt=True, tokenize=True, tools=tools)
    got = page.evaluate("""async ([tokenizerJson, config, chatJson, toolsJson]) => {
      const { runPython } = await import('./engine.mjs');
      return await runPython(`
import json
from pyodide_pkg.tokenizers import PretrainedTokenizer
tokenizer_json, config, chat, tools = json.loads(args)
tok = PretrainedTokenizer.from_data(tokenizer_json, config)
json.dumps(tok.apply_chat_template(json.loads(chat), add_generation_prompt=True, tools=json.loads(tools)))
`, { args: JSON.stringify([tokenizerJson, config, chatJson, toolsJson]) });
    }""", [FILES["llama2"], config, json.dumps(chat), json.dumps(tools)])
    assert json.loads(got) == expected
