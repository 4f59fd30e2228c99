"""Our tokenizer against Hugging Face tokenizers on every family, a hard corpus and random text."""

import json

import pytest
import tokenizers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyodide_pkg.tokenizers import Tokenizer
from tests.tokenizer_cases import added_contents, corpus, tokenizer_files

FIELDS = ("ids", "tokens", "offsets", "type_ids", "special_tokens_mask", "attention_mask", "word_ids")
FILES = tokenizer_files()
NAMES = sorted(FILES)


@pytest.fixture(scope="module", params=NAMES)
def pair(request):
    text = FILES[request.param]
    return request.param, Tokenizer.from_str(text), tokenizers.Tokenizer.from_str(text)


def fields(encoding) -> dict:
    return {f: [tuple(x) if isinstance(x, (list, tuple)) else x for x in getattr(encoding, f)] for f in FIELDS}


def assert_same(ours, ref, context) -> None:
    assert fields(ours) == fields(ref), context
    assert len(ours.overflowing) == len(ref.overflowing), context
    for a, b in zip(ours.overflowing, ref.overflowing):
        assert fields(a) == fields(b), context


def test_corpus_encodes_and_decodes_like_reference(pair):
    name, ours, ref = pair
    texts = corpus(added_contents(FILES[name]))
    assert len(texts) >= 2000
    for text in texts:
        a, b = ours.encode(text), ref.encode(text)
        assert_same(a, b, (name, text))
        for skip in (True, False):
            assert ours.decode(a.ids, skip_special_tokens=skip) == ref.decode(b.ids, skip_special_tokens=skip), (name, text)


@pytest.mark.parametrize("strategy,stride,direction", [("longest_first", 0, "right"), ("longest_first", 2, "left"),
                                                       ("only_first", 1, "right"), ("only_second", 0, "left")])
def test_pairs_truncation_and_padding_like_reference(pair, strategy, stride, direction):
    name, ours, ref = pair
    texts = corpus(added_contents(FILES[name]), n=300, seed=11)
    pairs = [(texts[i], texts[i + 1]) for i in range(0, 300, 2) if texts[i] and texts[i + 1]]
    for tok in (ours, ref):
        tok.enable_truncation(14, stride=stride, strategy=strategy, direction=direction)
        tok.enable_padding(direction="left" if direction == "right" else "right", pad_id=1, pad_token="<pad>",
                           pad_type_id=3, pad_to_multiple_of=4)
    try:
        for first, second in pairs:
            try:
                want = ref.encode(first, second)
            except BaseException as error:  # noqa: B036 - the reference panics on some; we must refuse them too
                if isinstance(error, KeyboardInterrupt):
                    raise
                with pytest.raises(ValueError, match="too short|stride"):
                    ours.encode(first, second)
                continue
            assert_same(ours.encode(first, second), want, (name, first, second))
        batch = [p for p in pairs[:20]] + [t for t in texts[:20]]
        if strategy == "longest_first":
            for a, b in zip(ours.encode_batch(batch), ref.encode_batch(batch)):
                assert_same(a, b, (name, "batch"))
            words = [t.split() or ["x"] for t in texts[:20]]
            for a, b in zip(ours.encode_batch(words, is_pretokenized=True),
                            ref.encode_batch(words, is_pretokenized=True)):
                assert_same(a, b, (name, "pretokenized"))
    finally:
        for tok in (ours, ref):
            tok.no_truncation()
            tok.no_padding()


def test_no_special_tokens_and_vocab_lookups(pair):
    name, ours, ref = pair
    for text in corpus(added_contents(FILES[name]), n=200, seed=5):
        assert_same(ours.encode(text, add_special_tokens=False), ref.encode(text, add_special_tokens=False), text)
    assert ours.get_vocab_size() == ref.get_vocab_size()
    assert ours.get_vocab() == ref.get_vocab()
    for id_ in range(0, ref.get_vocab_size(), 37):
        assert ours.id_to_token(id_) == ref.id_to_token(id_)
        token = ref.id_to_token(id_)
        assert ours.token_to_id(token) == ref.token_to_id(token)


text_strategy = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cn", "Co")), max_size=40)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=text_strategy, other=text_strategy)
def test_random_unicode_matches_reference(pair, text, other):
    _, ours, ref = pair
    assert_same(ours.encode(text), ref.encode(text), text)
    assert_same(ours.encode(text, other), ref.encode(text, other), (text, other))
    ids = ref.encode(text).ids
    assert ours.decode(ids) == ref.decode(ids)


def test_added_tokens_options_match_reference():
    from tokenizers import AddedToken as RefAdded

    from pyodide_pkg.tokenizers import AddedToken
    text = FILES["bert-cased"]
    ours, ref = Tokenizer.from_str(text), tokenizers.Tokenizer.from_str(text)
    specs = [dict(content="<mask>", single_word=True, lstrip=True, rstrip=True, normalized=False, special=True),
             dict(content="Hello", single_word=False, lstrip=False, rstrip=True, normalized=True, special=False),
             dict(content="ony", single_word=True, lstrip=False, rstrip=False, normalized=True, special=False),
             dict(content="ß", single_word=False, lstrip=True, rstrip=False, normalized=False, special=False)]
    for spec in specs:
        ours.add_tokens([AddedToken(**spec)])
        ref.add_tokens([RefAdded(spec["content"], single_word=spec["single_word"], lstrip=spec["lstrip"],
                                 rstrip=spec["rstrip"], normalized=spec["normalized"], special=spec["special"])])
    for sample in ["<mask> My name <mask> A<mask> <mask>ony <mask>", "Hi  <mask>\tthere\u2000<mask>",
                   "HelloHello  world ßtraße Anthony ony", "", "<mask>", " ony, -ony- ◌̰ony"] + corpus(["<mask>", "ony"], 300):
        assert_same(ours.encode(sample), ref.encode(sample), sample)
        ids = ref.encode(sample).ids
        assert ours.decode(ids, skip_special_tokens=True) == ref.decode(ids, skip_special_tokens=True)
    assert ours.get_vocab() == ref.get_vocab()


def test_fixtures_cover_every_component_kind():
    kinds = {"model": set(), "normalizer": set(), "pre_tokenizer": set(), "post_processor": set(), "decoder": set()}

    def walk(section, node):
        if isinstance(node, dict):
            if "type" in node:
                kinds[section].add(node["type"])
            for value in node.values():
                walk(section, value)
        elif isinstance(node, list):
            for value in node:
                walk(section, value)

    for text in FILES.values():
        config = json.loads(text)
        for section in kinds:
            walk(section, config.get(section))
    assert kinds["model"] >= {"WordPiece", "BPE", "Unigram", "WordLevel"}
    assert kinds["normalizer"] >= {"BertNormalizer", "NFC", "NFKD", "NFKC", "NFD", "Lowercase", "Strip", "StripAccents",
                                   "Replace", "Prepend", "Precompiled", "Sequence"}
    assert kinds["pre_tokenizer"] >= {"BertPreTokenizer", "ByteLevel", "Whitespace", "WhitespaceSplit", "Metaspace",
                                      "Split", "Punctuation", "Digits", "CharDelimiterSplit", "UnicodeScripts",
                                      "Sequence"}
    assert kinds["post_processor"] >= {"BertProcessing", "RobertaProcessing", "ByteLevel", "TemplateProcessing",
                                       "Sequence"}
    assert kinds["decoder"] >= {"ByteLevel", "WordPiece", "Metaspace", "BPEDecoder", "ByteFallback", "Fuse", "Strip",
                                "Replace", "CTC", "Sequence"}
    configs = [json.loads(text) for text in FILES.values()]
    models = [c["model"] for c in configs]
    assert any(m.get("ignore_merges") for m in models) and any(m.get("byte_fallback") for m in models)
    assert any(m["type"] == "Unigram" and m.get("byte_fallback") for m in models)
    merges = [x for m in models if m["type"] == "BPE" for x in m["merges"][:1]]
    assert any(isinstance(x, str) for x in merges) and any(isinstance(x, list) for x in merges)
    pre = [json.dumps(c.get("pre_tokenizer")) for c in configs]
    assert any('"use_regex": false' in p for p in pre) and any('"prepend_scheme": "never"' in p for p in pre)
    assert any('"behavior": "Removed"' in p for p in pre) and any('"individual_digits": false' in p for p in pre)


@pytest.mark.parametrize("name", ["llama2", "roberta-bpe", "unigram-precompiled", "bert-uncased-minilm"])
def test_compiled_backend_adapter_gives_the_same_encodings(name):
    from pyodide_pkg import tokenizers as ours_module
    python = ours_module.load(FILES[name], backend="python")
    compiled = ours_module.load(FILES[name], backend="compiled")
    assert compiled.backend == "compiled" and isinstance(python, Tokenizer)
    texts = corpus(added_contents(FILES[name]), n=150, seed=9)
    for tok in (python, compiled):
        tok.enable_truncation(20, stride=3)

    def view(e):
        return fields(e), e.sequence_ids, [view(o) for o in e.overflowing]

    for first, second in zip(texts, texts[1:]):
        assert view(python.encode(first)) == view(compiled.encode(first))
        assert view(python.encode(first, second)) == view(compiled.encode(first, second))
    assert [view(e) for e in python.encode_batch(texts[:30])] == [view(e) for e in compiled.encode_batch(texts[:30])]
    ids = compiled.encode(texts[40]).ids
    assert python.decode(ids) == compiled.decode(ids)
    with pytest.raises(ValueError, match="unknown"):
        ours_module.load(FILES[name], backend="rust")
