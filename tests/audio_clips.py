"""Speech clips for the speech-recognition tests, made at test time with espeak-ng (Debian package, installed by
`make espeak`) and cached in .cache/audio-clips: 16 kHz mono 16-bit PCM WAV files, plus silence and noise.

espeak-ng writes 22050 Hz; the clips are brought to 16 kHz here with scipy's polyphase resampler, so both our
engine and transformers' pipeline read exactly the same samples from the WAV file.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from tests.conftest import ROOT

CLIPS = ROOT / ".cache" / "audio-clips-1"
RATE = 16000
SENTENCES = {
    "weather": "The weather is nice today, so we will walk to the park.",
    "numbers": "Please call me back at seven thirty tomorrow morning.",
    "browser": "Speech recognition now runs inside the web browser.",
    "fox": "The quick brown fox jumps over the lazy dog.",
    "short": "Hello.",
}
# more than 30 seconds: several sentences joined by short pauses, to exercise chunking with stride
LONG = ["weather", "numbers", "browser", "fox", "weather", "browser", "numbers", "fox", "browser"]


def _espeak(text: str) -> np.ndarray:
    from scipy.signal import resample_poly

    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed: run `make espeak` (apt-get install espeak-ng)")
    wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text], check=True,
                         capture_output=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    if rate != 22050:
        raise RuntimeError(f"espeak-ng wrote {rate} Hz, expected 22050")
    return resample_poly(samples, 320, 441)


def to_wav(samples: np.ndarray, rate: int = RATE, width: int = 2) -> bytes:
    """PCM WAV bytes of float samples in [-1, 1] (8, 16, 24 or 32-bit)."""
    clipped = np.clip(samples, -1.0, 1.0)
    if width == 1:
        data = np.clip(np.round(clipped * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    else:
        scale = float(2 ** (8 * width - 1) - 1)
        ints = np.round(clipped * scale).astype("<i8")
        data = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes() if width == 3 \
            else ints.astype(f"<i{width}").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return out.getvalue()


def pcm16(samples: np.ndarray) -> np.ndarray:
    """What a 16-bit WAV of these samples decodes to (float32 in [-1, 1))."""
    return (np.round(np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).astype(np.float32) / 32768.0)


def clip_path(name: str) -> Path:
    """A cached 16 kHz 16-bit WAV: a sentence's name, "long", "silence" or "noise"."""
    path = CLIPS / f"{name}.wav"
    if path.is_file():
        return path
    if name in SENTENCES:
        samples = _espeak(SENTENCES[name])
    elif name == "long":
        pause = np.zeros(RATE // 2)
        samples = np.concatenate([np.concatenate([_espeak(SENTENCES[n]), pause]) for n in LONG])
    elif name == "silence":
        samples = np.zeros(3 * RATE)
    elif name == "noise":
        samples = np.random.default_rng(0).normal(0, 0.1, 3 * RATE)
    else:
        raise KeyError(name)
    CLIPS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(to_wav(samples))
    tmp.rename(path)
    return path


def samples(name: str) -> np.ndarray:
    """The clip's samples as a 16-bit WAV reader gives them (float32 / 32768)."""
    with wave.open(str(clip_path(name))) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
