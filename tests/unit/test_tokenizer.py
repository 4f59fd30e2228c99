"""The interim WordPiece tokenizer against Hugging Face tokenizers on the real MiniLM tokenizer.json."""

import json

import pytest
import tokenizers

from pyodide_pkg.tokenizers import Tokenizer
from tests.conftest import HUB, REAL_MODEL, REAL_REVISION, ROOT

PATH = HUB / REAL_MODEL / REAL_REVISION / "tokenizer.json"
TEXTS = json.loads((ROOT / "tests" / "data" / "sentences.json").read_text()) + [
    "", " ", "[CLS] glued[SEP]tokens[MASK]", "x" * 150, "ǅungla İstanbul ﬁne", "a\u0000b\u200bc\ufeffd",
    "中文字符和English混合", "don't stop-believing!!!", "\u00a0nbsp\u2003em space",
]
FIELDS = ("ids", "tokens", "offsets", "type_ids", "special_tokens_mask", "attention_mask", "word_ids")


@pytest.fixture(scope="module")
def pair():
    return Tokenizer.from_file(PATH), tokenizers.Tokenizer.from_file(str(PATH))


def same(a, b):
    for name in FIELDS:
        got, want = getattr(a, name), getattr(b, name)
        assert [tuple(x) if isinstance(x, (list, tuple)) else x for x in got] == \
               [tuple(x) if isinstance(x, (list, tuple)) else x for x in want], name


@pytest.mark.parametrize("text", TEXTS)
def test_encode_and_decode_match_reference(pair, text):
    ours, ref = pair
    a, b = ours.encode(text), ref.encode(text)
    same(a, b)
    assert ours.decode(a.ids) == ref.decode(b.ids)
    assert ours.decode(a.ids, skip_special_tokens=False) == ref.decode(b.ids, skip_special_tokens=False)


def test_pairs_batches_and_truncation(pair):
    ours, ref = pair
    for tok in (ours, ref):
        tok.no_padding()
        tok.enable_truncation(12)
    for a, b in zip(ours.encode_batch([("A short question?", "And a much longer context sentence goes here."),
                                       "single"]),
                    ref.encode_batch([("A short question?", "And a much longer context sentence goes here."),
                                      "single"])):
        same(a, b)
    for tok in (ours, ref):
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        tok.no_truncation()
    for a, b in zip(ours.encode_batch(TEXTS[:5]), ref.encode_batch(TEXTS[:5])):
        same(a, b)


def test_vocab_lookups(pair):
    ours, ref = pair
    assert ours.get_vocab_size() == ref.get_vocab_size()
    for token in ("[CLS]", "hello", "##ing", "not-a-token"):
        assert ours.token_to_id(token) == ref.token_to_id(token)
    assert ours.id_to_token(7592) == ref.id_to_token(7592)


def test_unsupported_component_is_named():
    config = json.loads(PATH.read_text())
    config["normalizer"] = {"type": "Transliterate"}
    with pytest.raises(NotImplementedError, match="normalizer 'Transliterate'"):
        Tokenizer(config)
