"""The tokenizer's speed-ups never show in results. What it remembers between calls (each model's
results per word) cannot go stale: after every change a user can make, ours still encodes exactly
like Hugging Face tokenizers given the same changes, computed here. Its shortcuts (long pieces merged
in parts, ASCII-only regexes, normalization by runs, spans left unstored) agree with the reference on
text built to hit their edges, and with the exact whole-text algorithms they stand for."""

import json
import random

import pytest
import tokenizers
from tokenizers import AddedToken as RefAddedToken
from tokenizers import normalizers as ref_normalizers
from tokenizers import pre_tokenizers as ref_pre_tokenizers

from pyodide_pkg.tokenizers import AddedToken, Tokenizer
from pyodide_pkg.tokenizers import models, normalizers, pre_tokenizers
from pyodide_pkg.tokenizers.models import common
from tests.conftest import ROOT
from tests.tokenizer_cases import corpus, tokenizer_files

FILES = tokenizer_files()
FIELDS = ("ids", "tokens", "offsets", "type_ids", "special_tokens_mask", "attention_mask", "word_ids")
README = (ROOT / "README.md").read_text(encoding="utf-8")
TEXTS = ["Hello world, hello World!", "worldwide helloworld", "  Hello   world  ", README[:3000],
         "Ça va? 😀 Σίσυφος straße", *corpus([], n=120, seed=13)]


def pair(name: str) -> tuple[Tokenizer, tokenizers.Tokenizer]:
    return Tokenizer.from_str(FILES[name]), tokenizers.Tokenizer.from_str(FILES[name])


def view(encoding) -> list:
    return [[tuple(x) if isinstance(x, (list, tuple)) else x for x in getattr(encoding, f)] for f in FIELDS] + [
        [view(o) for o in encoding.overflowing]]


def assert_same(ours: Tokenizer, ref: tokenizers.Tokenizer, texts: list[str], context: str) -> None:
    for text in texts:
        assert view(ours.encode(text)) == view(ref.encode(text)), (context, text)
    assert [view(e) for e in ours.encode_batch(texts[:12])] == [view(e) for e in ref.encode_batch(texts[:12])], context


@pytest.mark.parametrize("name", ["bert-uncased-minilm", "gpt2", "llama2", "unigram-precompiled", "split-bpe"])
def test_added_tokens_after_the_first_encode(name):
    """Words already cached as model output become added tokens: they must be cut out first."""
    ours, ref = pair(name)
    assert_same(ours, ref, TEXTS, "before")
    specs = [dict(content="world", normalized=True), dict(content="Hello", normalized=False),
             dict(content="llowor", single_word=False), dict(content="[X]", special=True, normalized=False),
             dict(content="straße", lstrip=True, rstrip=True)]
    for spec in specs:
        ours.add_tokens([AddedToken(**{"normalized": not spec.get("special", False), **spec})])
        ref.add_tokens([RefAddedToken(**{"normalized": not spec.get("special", False), **spec})])
        assert_same(ours, ref, TEXTS + ["[X]world Hello [X] helloworld"], f"after {spec['content']}")
    ours.add_special_tokens(["wide"])
    ref.add_special_tokens(["wide"])
    assert_same(ours, ref, TEXTS, "after a special token")


@pytest.mark.parametrize("name,normalizer,pre_tokenizer", [
    ("bert-uncased-minilm", {"type": "Lowercase"}, {"type": "WhitespaceSplit"}),
    ("gpt2", {"type": "NFKC"},
     {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}),
    ("llama2", {"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}, {"type": "Lowercase"}]},
     {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}),
    ("unigram-precompiled", {"type": "Strip", "strip_left": True, "strip_right": True},
     {"type": "Sequence", "pretokenizers": [
         {"type": "Digits", "individual_digits": True},
         {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"}]}),
])
def test_changed_normalizer_and_pre_tokenizer_change_the_words(name, normalizer, pre_tokenizer):
    """The same model sees other words once the steps before it change; its cache must not answer
    for the old ones (it is keyed by the words themselves)."""
    ours, ref = pair(name)
    assert_same(ours, ref, TEXTS, "as loaded")
    ours.normalizer = normalizers.from_config(normalizer)
    ref.normalizer = _ref_component(ref_normalizers, normalizer)
    assert_same(ours, ref, TEXTS, "new normalizer")
    ours.pre_tokenizer = pre_tokenizers.from_config(pre_tokenizer)
    ref.pre_tokenizer = _ref_component(ref_pre_tokenizers, pre_tokenizer)
    assert_same(ours, ref, TEXTS, "new pre-tokenizer")
    ours.normalizer, ref.normalizer = None, None
    assert_same(ours, ref, TEXTS, "no normalizer")


def _ref_component(module, config: dict):
    """The reference's component for a tokenizer.json section, read the way it reads files."""
    wrapper = {"version": "1.0", "model": {"type": "WordLevel", "vocab": {"x": 0}, "unk_token": "x"}}
    key = "normalizer" if module is ref_normalizers else "pre_tokenizer"
    built = tokenizers.Tokenizer.from_str(json.dumps({**wrapper, key: config}))
    return getattr(built, key)


def test_truncation_and_padding_changes_between_encodes():
    ours, ref = pair("bert-uncased-minilm")
    texts = [README[:800], "short one", "Hello world, hello World!"]
    steps = [lambda t: t.enable_truncation(16, stride=3), lambda t: t.enable_padding(pad_id=0, pad_token="[PAD]"),
             lambda t: t.enable_truncation(9, direction="left"), lambda t: t.no_truncation(),
             lambda t: t.enable_padding(pad_id=0, pad_token="[PAD]", length=40, direction="left"),
             lambda t: t.no_padding()]
    assert_same(ours, ref, texts, "plain")
    for k, step in enumerate(steps):
        step(ours)
        step(ref)
        assert_same(ours, ref, texts, f"step {k}")
        for first, second in zip(texts, texts[1:]):
            assert view(ours.encode(first, second)) == view(ref.encode(first, second)), (k, first, second)


def test_tokenizers_sharing_nothing_interleaved():
    """Two tokenizers with the same kind of model and overlapping words, called in turn."""
    a, ref_a = pair("bert-uncased-minilm")
    b, ref_b = pair("bert-cased")
    config = json.loads(FILES["bert-uncased-minilm"])
    kept = [k for k in config["model"]["vocab"] if k not in ("hello", "world", "##ing")]
    config["model"]["vocab"] = {k: i for i, k in enumerate(kept)}
    c, ref_c = Tokenizer.from_str(json.dumps(config)), tokenizers.Tokenizer.from_str(json.dumps(config))
    for text in TEXTS:
        for ours, ref in ((a, ref_a), (b, ref_b), (c, ref_c), (a, ref_a)):
            assert view(ours.encode(text)) == view(ref.encode(text)), text


def test_model_replaced_after_encoding():
    """A new model brings its own cache: what the old one said about a word is gone with it."""
    ours, ref = pair("bert-uncased-minilm")
    assert_same(ours, ref, TEXTS, "first model")
    config = json.loads(FILES["bert-uncased-minilm"])["model"]
    vocab = {k: i for i, k in enumerate(k for k in config["vocab"] if k not in ("hello", "##lo", "world"))}
    ours.model = models.from_config({**config, "vocab": vocab})
    ref.model = tokenizers.models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100)
    assert_same(ours, ref, TEXTS, "second model")


def test_word_cache_overflow(monkeypatch):
    """When the cache is full it starts over; results do not depend on what was evicted."""
    monkeypatch.setattr(common, "CACHE_LIMIT", 50)
    ours, ref = pair("gpt2")
    rng = random.Random(4)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(400)]
    texts = [" ".join(rng.sample(words, 30)) for _ in range(30)]
    assert_same(ours, ref, texts + texts[::-1], "overflowing cache")
    assert len(ours.model.cache) <= 50


def test_long_pieces_merged_in_parts_only_where_no_merge_crosses():
    """Without a pre-tokenizer a whole text is one piece. Ours merges it in parts cut before '▁'
    only where no merge result joins the two sides; a vocabulary with merges across '▁' (trained
    here on text whose spaces are already '▁') must not be cut there."""
    trainer_text = [t.replace(" ", "\u2581") for t in corpus([], n=1500, seed=8)] + \
        [README.replace(" ", "\u2581")[k:k + 200] for k in range(0, 6000, 150)]
    ref = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="<unk>", byte_fallback=False, fuse_unk=True))
    ref.normalizer = ref_normalizers.Sequence([ref_normalizers.Prepend("\u2581"),
                                               ref_normalizers.Replace(" ", "\u2581")])
    ref.train_from_iterator(trainer_text, tokenizers.trainers.BpeTrainer(vocab_size=900, special_tokens=["<unk>"]))
    crossing = [t for t in ref.get_vocab() if "\u2581" in t[1:]]
    assert crossing, "the trained vocabulary should merge across '▁' somewhere"
    texts = [README[:6000], README[6000:9000], " ".join(corpus([], n=200, seed=2))]
    ours = Tokenizer.from_str(ref.to_str())
    assert_same(ours, ref, texts, "merges across ▁")
    llama, ref_llama = pair("llama2")
    assert_same(llama, ref_llama, texts, "llama")


# Text built to hit the shortcuts' edges: marks in and out of canonical order, jamo, CR LF, flags,
# prepended concatenation marks, controls and deletions at the start, compatibility characters.
PIECES = ["a", "e", "Z", " ", "  ", "\t", "\n", "\r", "\r\n", "\x01", "\x7f", "\u0301", "\u0323", "\u0345", "\u200d",
          "\u200b", "\ufeff", "é", "ﬁ", "½", "①", "Å", "\u1100", "\u1161", "\u11a8", "한", "中", "ｶ", "\uff9e",
          "\U0001f1eb", "\U0001f1f7", "\U0001f3fb", "😀", "\u0600", "\u0958", "Σ", "ς", "İ", "ß", "\u3000", "\xa0",
          "\u2581", "'s", "don't", "123", "x" * 70, "word", "Word", ",", "!", "##", "<s>"]


def built_texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14))) for _ in range(n)]


@pytest.mark.parametrize("name", ["bert-uncased-minilm", "wordpiece-variants", "unigram-precompiled", "unigram-nfkc",
                                  "gpt2", "roberta-bpe", "llama2", "split-bpe"])
def test_shortcuts_on_built_text_match_reference(name):
    """Unicode normalization by runs, the charsmap by changed graphemes, byte-level words from one
    regex call, prepended characters without spans: checked where each is most likely to slip."""
    ours, ref = pair(name)
    texts = built_texts(21, 1500)
    assert_same(ours, ref, texts, name)
    long = " ".join(texts[:300])
    assert view(ours.encode(long)) == view(ref.encode(long)), name


def test_runs_and_edits_equal_the_whole_text_transforms():
    """The exact whole-text algorithms (normalized.unicode_normalize, the charsmap loop) against
    their shortcuts, spans included, on many more texts than the tokenizers see above."""
    from pyodide_pkg.tokenizers.normalized import NormalizedString, unicode_normalize

    charsmap = Tokenizer.from_str(FILES["unigram-precompiled"]).normalizer.normalizers[0]
    for text in built_texts(5, 4000):
        for form in ("NFC", "NFD", "NFKC", "NFKD"):
            whole, runs = NormalizedString.of(text, 3), NormalizedString.of(text, 3)
            whole.transform(unicode_normalize(text, form))
            runs.unicode_normalize(form)
            assert (runs.text, runs.align) == (whole.text, whole.align), (text, form)
        edited, looped = NormalizedString.of(text, 2), NormalizedString.of(text, 2)
        charsmap.normalize(edited)
        charsmap._edits = lambda _: None  # the loop the edits stand for
        charsmap.normalize(looped)
        del charsmap._edits
        assert (edited.text, edited.align) == (looped.text, looped.align), text


def test_scores_are_read_as_the_reference_reads_them():
    """Unigram scores parsed to the bit as HF's serde_json parses them (some land one ulp off the correctly
    rounded value); with Python's own parse, exact ties between runs of one character broke differently."""
    from pyodide_pkg.tokenizers.tokenizer import serde_float

    checked = 0
    for name, text in FILES.items():
        config = json.loads(text, parse_float=serde_float)
        if config["model"]["type"] != "Unigram":
            continue
        held = json.loads(tokenizers.Tokenizer.from_str(text).to_str())["model"]["vocab"]
        assert [s for _, s in config["model"]["vocab"]] == [s for _, s in held], name
        checked += 1
    assert checked >= 2


def test_bmp_regexes_match_like_the_full_ones_on_bmp_text():
    """Classes cut down to the BMP (for text without astral characters) against the whole classes,
    on every BMP character, alone and in runs, and the tier picks them only for such text."""
    import re

    from pyodide_pkg.tokenizers import unicode
    from pyodide_pkg.tokenizers.normalizers import _bert_regexes
    from pyodide_pkg.tokenizers.pre_tokenizers import GPT2_PATTERN, _class_regex, _pick

    bmp = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    rng = random.Random(3)
    shuffled = "".join(rng.sample(bmp, len(bmp)))
    pairs = [(re.compile(f"[{unicode.char_class(n, unicode.BMP)}]"), re.compile(f"[{unicode.char_class(n)}]"))
             for n in ("white_space", "punctuation", "numeric", "bert_cleaned", "nonspacing_mark")]
    pairs += [_bert_regexes()[k][1:] for k in (0, 2, 3)]
    pairs += [unicode.changing_runs(c, k)[1:] for c in (0, 1) for k in (0, 1)]
    for template in ("[^{white_space}{punctuation}]+|[{punctuation}]", "[{numeric}]+"):
        pairs.append(_class_regex(template)[1:])
    for pattern in (GPT2_PATTERN, r"\w+|[^\w\s]+", r"\p{L}+|\P{N}+|\d|\s+(?!\S)|[\p{M}\p{Lu}]"):
        pairs.append(unicode.tiered_patterns(pattern)[1:])
    for cut, whole in pairs:
        assert cut.findall(bmp) == whole.findall(bmp), whole.pattern[:60]
        assert cut.findall(shuffled) == whole.findall(shuffled), whole.pattern[:60]
    from pyodide_pkg.tokenizers import unicode_tables
    astral = "".join(chr(c) for c in range(0x10000, 0x110000, 7))
    for compat in (0, 1):
        for compose in (0, 1):  # one negated class for what was an alternation of two
            changing = unicode._ranges_text(unicode_tables.NFKD if compat else unicode_tables.NFD) + "\uac00-\ud7a3"
            changing += "\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff" if compose else ""
            quiet = "\x00-\x7f" + "".join(unicode.property_class(name) for name in "LNPSZ")
            two = re.compile(f"(?:[{changing}]|[^{quiet}])+")
            one = unicode.changing_runs(compat, compose)[2]
            for sample in (bmp, shuffled, astral, astral + bmp[::-3]):
                assert one.findall(sample) == two.findall(sample)
    regexes = _class_regex("[{punctuation}]")
    assert [unicode.tier(t) for t in ("ab", "a—b", "a😀b")] == [0, 1, 2]
    assert _pick(regexes, "a—b") is regexes[1] and _pick(regexes, "a😀—b") is regexes[2]


def test_astral_stand_ins_give_the_spans_of_the_full_regexes():
    """Astral text runs the BMP regexes with each astral character swapped for a BMP one that every
    class and literal of the regex treats alike: the spans are the full regex's on the text itself,
    for a sample of astral characters (every plane, each next to BMP ones), and a regex whose
    classes see an astral character as no BMP character is seen falls back to the full regex."""
    import re

    from pyodide_pkg.tokenizers import unicode
    from pyodide_pkg.tokenizers.normalizers import _bert_regexes
    from pyodide_pkg.tokenizers.pre_tokenizers import GPT2_PATTERN, _class_regex

    rng = random.Random(5)
    astral = [chr(c) for c in range(0x10000, 0x10FFFF, 37)] + [chr(c) for c in range(0x1F000, 0x1FAFF)] + \
        [chr(c) for c in range(0x1D400, 0x1D7FF)] + [chr(c) for c in range(0x20000, 0x20100)]
    bmp = [chr(c) for c in range(0x20, 0x3000)]
    text = "".join(rng.choice(astral) + "".join(rng.choices(bmp, k=rng.randint(0, 3))) for _ in range(12000))
    tiered = [_bert_regexes()[k] for k in (0, 2, 3)] + [unicode.changing_runs(c, k) for c in (0, 1) for k in (0, 1)]
    tiered += [_class_regex(t) for t in ("[^{white_space}{punctuation}]+|[{punctuation}]", "[{numeric}]+")]
    tiered += [unicode.tiered_patterns(p) for p in (GPT2_PATTERN, r"\w+|[^\w\s]+", r"(?:\p{L}|\p{N})+\b|\s+(?!\S)|.")]
    for regexes in tiered:
        for sample in (text, text[:300], "😀", "a😀—b 𝔢𝔩 \U0001f1eb\U0001f1f7"):
            regex, scanned = regexes.scan(sample)
            assert len(scanned) == len(sample) and regex is regexes[1]
            assert [m.span() for m in regex.finditer(scanned)] == [m.span() for m in regexes[2].finditer(sample)]
    classed = unicode.Tiered(None, re.compile("[a-z\u00e9]+"), re.compile("[a-z\u00e9\U0001f600]+"))
    assert classed.scan("xy😀 \U0001f601") == (classed[1], "xyé \u00a0")
    literal = unicode.Tiered(None, re.compile("x"), re.compile("\U0001f600|x"))
    assert literal.scan("x😀")[0] is literal[2] and literal.scan("x\U0001f601")[0] is literal[1]


def test_spans_from_the_shared_list_and_past_it():
    """Spans copied from one shared list (and built past its 64k end) are the ones the reference
    gives, at offsets inside and across that end, after normalizers that move characters."""
    from pyodide_pkg.tokenizers.normalized import NormalizedString

    ours, ref = pair("bert-uncased-minilm")
    text = ("Ça\u200b va? ÀÉÎ straße 中文 " * 2800)[:70000]
    assert view(ours.encode(text)) == view(ref.encode(text))
    for start, n in ((0, 10), (65530, 12), (70000, 5), (5, 65540)):
        piece = NormalizedString.of("x" * n, start)
        assert piece.align == [(k, k + 1) for k in range(start, start + n)]


@pytest.mark.parametrize("name,deferred", [("bert-uncased-minilm", True), ("llama2", True), ("gpt2", True),
                                           ("unigram-precompiled", True), ("roberta-bpe", False)])
def test_offsets_computed_when_first_read(name, deferred):
    """Tokens, offsets and word ids are left uncomputed until read (ids-only callers never pay for them); whatever happens
    to an encoding before (post-processing, padding either side, truncation into windows, pairs),
    the first read gives the reference's offsets, and reading one encoding never changes another."""
    ours, ref = pair(name)
    texts = ["Ça va? 😀 Σίσυφος straße", "Hello world, hello World!", README[:700], "中文 ÀÉÎ\u200b x"]
    lazy = ours.encode(texts[0])
    assert isinstance(lazy._offsets, list) is not deferred  # RoBERTa's processing trims offsets: it reads them
    assert isinstance(lazy._word_ids, list) is not deferred
    assert isinstance(lazy._tokens, list) is not deferred
    assert view(lazy) == view(ref.encode(texts[0]))
    for direction in ("right", "left"):
        ours.enable_padding(direction=direction, pad_id=0, pad_token="[PAD]")
        ref.enable_padding(direction=direction, pad_id=0, pad_token="[PAD]")
        ours_batch, ref_batch = ours.encode_batch(texts), ref.encode_batch(texts)
        assert [view(e) for e in reversed(ours_batch)] == [view(e) for e in reversed(ref_batch)], direction
    ours.enable_truncation(16, stride=1)
    ref.enable_truncation(16, stride=1)
    for text, other in zip(texts, texts[1:]):
        first, second = ours.encode(text, other), ours.encode(text, other)
        assert view(second) == view(ref.encode(text, other))
        second.offsets[0] = (-1, -1)
        assert view(first) == view(ref.encode(text, other))


def test_runs_remembered_give_what_they_gave_first():
    """Unicode normalization and accent stripping remember each run's result: texts that share runs
    at other positions, in every form, cold and warm, give the edits computed from scratch."""
    from pyodide_pkg.tokenizers import normalized
    from pyodide_pkg.tokenizers.normalizers import _bert_regexes, _stripped_edits, _without

    marks = _bert_regexes()[3][2]
    texts = built_texts(8, 600)
    for warm in (False, True):
        for text in texts:
            for form in ("NFC", "NFD", "NFKC", "NFKD"):
                edits = normalized.unicode_edits(text, form)
                for cache in normalized._RUNS.values():
                    cache.clear()
                assert edits == normalized.unicode_edits(text, form), (text, form)
            expected = _without(marks, normalized.unicode_edits(text, "NFD"))
            assert _stripped_edits(text) == expected, text
            if not warm:
                assert _stripped_edits(text) == expected, text


def test_grapheme_spans_without_the_kinds_of_the_whole_text():
    """The graphemes that are not lone plain characters, found from runs of the few other characters,
    are those the class-letter regex finds over the whole text's letters."""
    from pyodide_pkg.tokenizers.unicode import GRAPHEME, grapheme_kinds, grapheme_regions, grapheme_spans

    texts = built_texts(9, 2000) + ["\r\n\r", "a\u0301\u0301", "\U0001f1eb\U0001f1f7\U0001f1eb", "\u0600a", "x\u0600"]
    for text in texts:
        for marked in (frozenset(), frozenset(text[::3])):
            kinds = grapheme_kinds(text, marked)
            whole = [m.span() for a, b in grapheme_regions(kinds) for m in GRAPHEME.finditer(kinds, a, b)]
            assert grapheme_spans(text, marked) == whole, (text, marked)


@pytest.mark.parametrize("name", ["bert-uncased-minilm", "llama2", "unigram-precompiled", "gpt2"])
def test_one_text_built_at_once_like_the_template_builds_it(name):
    """A single text under a template post-processor is built in one go; at the truncation edges
    (just fitting, one token over, zero room, less room than the special tokens take: the reference
    then does not truncate), without special tokens, and after the post-processor
    is replaced (other specials, type ids, or none), it is what the reference gives."""
    from tokenizers import processors as ref_processors

    from pyodide_pkg.tokenizers import post_processors

    ours, ref = pair(name)
    texts = ["Hello world, hello World!", "Ça va? 😀 Σίσυφος straße", README[:400], "", " "]
    for add in (True, False):
        for text in texts:
            assert view(ours.encode(text, add_special_tokens=add)) == view(ref.encode(text, add_special_tokens=add))
    counts = [len(ref.encode(t, add_special_tokens=False).ids) for t in texts]
    added = len(ref.encode("", add_special_tokens=True).ids) - len(ref.encode("", add_special_tokens=False).ids)
    for text, n in zip(texts, counts):
        for max_length in {n + added, n + added - 1, added, max(n + added + 1, 1)}:
            if max_length < 1:
                continue
            ours.enable_truncation(max_length)
            ref.enable_truncation(max_length)
            for add in (True, False):
                try:
                    want = view(ref.encode(text, add_special_tokens=add))
                except Exception:  # the reference refuses (no room at all): so do we
                    with pytest.raises(ValueError):
                        ours.encode(text, add_special_tokens=add)
                    continue
                assert view(ours.encode(text, add_special_tokens=add)) == want, (text, max_length, add)
            ours.no_truncation()
            ref.no_truncation()
    ref.post_processor = ref_processors.TemplateProcessing(
        single="[X] [Y] $A:1 [X]:2", pair="$A $B:1", special_tokens=[("[X]", 3), ("[Y]", 5)])
    config = json.loads(ref.to_str())["post_processor"]
    ours.post_processor = post_processors.from_config(config)
    for text in texts:
        assert view(ours.encode(text)) == view(ref.encode(text)), text
    ours.post_processor, ref.post_processor = None, None
    for text in texts:
        assert view(ours.encode(text)) == view(ref.encode(text)), text


def test_word_ids_when_a_word_has_no_token():
    """A BPE without unk_token drops characters it does not know, so a word can give no token while
    another gives two: as many tokens as words then, but not one each; word ids (computed when
    first read) and offsets stay the reference's."""
    config = {"version": "1.0", "pre_tokenizer": {"type": "WhitespaceSplit"},
              "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
    text = json.dumps(config)
    ours, ref = Tokenizer.from_str(text), tokenizers.Tokenizer.from_str(text)
    for sample in ("x ba", "ba x", "x x ab ba", "ab", "x", "", "ba ba x ab"):
        assert view(ours.encode(sample)) == view(ref.encode(sample)), sample
    assert ref.encode("x ba").word_ids == [1, 1]


def test_byte_level_words_of_printable_ascii():
    """Printable ASCII maps to itself but for the space, so its byte-level words come from one
    replace over the joined words; they are the words mapped byte by byte (and the reference's)."""
    from pyodide_pkg.tokenizers.normalized import NormalizedString
    from pyodide_pkg.tokenizers.pre_tokenizers import ByteLevel, bytes_to_unicode

    table = bytes_to_unicode()
    step = ByteLevel(add_prefix_space=False)
    texts = [t for t in README.splitlines() + built_texts(4, 800) if t.isascii()] + ["a  b", " x ", "\tx y\n", "~!"]
    assert any(t.isprintable() for t in texts) and any(not t.isprintable() for t in texts)
    for text in texts:
        words, _, _ = step.cut(NormalizedString.of(text))
        parts = step.regexes[0].findall(text)
        assert words == ["".join(table[b] for b in p.encode()) for p in parts], text
    ours, ref = pair("gpt2")
    assert_same(ours, ref, texts[:300], "printable ASCII")
