"""Audio in, Whisper's log-mel features out, with numpy only (Pyodide has no ffmpeg, and WebAudio's
decodeAudioData is not available in Workers).

Audio arrives as a URL, WAV bytes, a page's Blob/File, samples (a Float32Array, a list or an ndarray, taken
as 16 kHz) or `{raw | array, sampling_rate}` as transformers' pipeline takes it. WAV files are read by the
standard `wave` module (PCM 8/16/24/32-bit); IEEE-float WAV (format 3, or WAVE_FORMAT_EXTENSIBLE with the
float sub-format), which `wave` refuses, is parsed here. Several channels are averaged, as ffmpeg's `-ac 1`
downmix does. Other rates are resampled with a Hann-windowed sinc (the algorithm and defaults of torchaudio's
`resample`: lowpass width 6, rolloff 0.99), the resampler transformers' pipeline names for the job.

The features follow WhisperFeatureExtractor: audio padded (or cut) to chunk_length seconds, a centered STFT
(periodic Hann window, reflect padding), power spectrum, the Slaney-normalized mel filter bank on the Slaney
mel scale, log10 clamped at 1e-10, floored at the maximum minus 8, then (x + 4) / 4.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

import numpy as np

from .. import platform
from ..errors import RequestError
from .media import url_bytes

SAMPLING_RATE = 16000
_FLOAT_SUBFORMAT = b"\x03\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_PCM_SUBFORMAT = b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


async def load_audio(value: Any, rate: int = SAMPLING_RATE) -> np.ndarray:
    """Mono float32 samples at `rate` from any input form the task takes."""
    if isinstance(value, dict):
        return _from_dict(value, rate)
    if isinstance(value, str):
        return decode_audio(await url_bytes(value, "audio"), rate)
    if isinstance(value, memoryview) and value.format in ("f", "d", "<f", "<d"):
        return _samples(np.asarray(value), "samples")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return decode_audio(bytes(value), rate)
    if isinstance(value, (list, tuple, np.ndarray)):
        return _samples(value, "samples")
    found = await platform.page_blob(value)
    if found is None:
        raise RequestError("audio is a URL, WAV bytes, a Blob/File, a Float32Array (or list) of 16 kHz samples or "
                           f"{{raw, sampling_rate}}, not {type(value).__name__}")
    return decode_audio(found, rate)


def _samples(value: Any, what: str) -> np.ndarray:
    try:
        samples = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise RequestError(f"audio {what} must be numbers") from None
    if samples.ndim == 2:  # channels first, as transformers' pipeline takes them
        samples = samples.mean(axis=0)
    if samples.ndim != 1:
        raise RequestError(f"audio {what} must be one channel (or channels x samples), got shape {samples.shape}")
    if samples.size == 0:
        raise RequestError(f"audio {what} are empty")
    if not np.all(np.isfinite(samples)):
        raise RequestError(f"audio {what} hold NaN or infinite values")
    return samples.astype(np.float32)


def _from_dict(value: dict[str, Any], rate: int) -> np.ndarray:
    raw = value.get("raw", value.get("array"))
    source = value.get("sampling_rate")
    if raw is None or source is None:
        raise RequestError("audio as an object needs 'raw' (or 'array') samples and their 'sampling_rate'")
    if isinstance(source, bool) or not isinstance(source, (int, float)) or source <= 0 or int(source) != source:
        raise RequestError(f"audio 'sampling_rate' must be a positive integer (Hz), got {source!r}")
    samples = _samples(raw, "'raw' samples")
    return resample(samples, int(source), rate)


def decode_audio(data: bytes, rate: int = SAMPLING_RATE) -> np.ndarray:
    """Mono float32 samples at `rate` from a WAV file's bytes (the one container decoded here)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        kind = "empty" if not data else f"{len(data)} bytes starting {data[:4]!r}"
        raise RequestError(f"audio bytes must be a WAV file (RIFF/WAVE; PCM or IEEE float), got {kind}; other "
                           "formats (MP3, Ogg, WebM...) are not decoded here: decode them to samples in the page")
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, source = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
        samples = _pcm(frames, width)
    except (wave.Error, EOFError):
        channels, source, samples = _float_wav(data)
    if samples.size == 0:
        raise RequestError("the WAV file holds no samples")
    if samples.size % channels:
        raise RequestError(f"the WAV file's data is not whole frames of {channels} channel(s)")
    mono = samples.reshape(-1, channels).mean(axis=1) if channels > 1 else samples
    return resample(mono, source, rate).astype(np.float32)


def _pcm(frames: bytes, width: int) -> np.ndarray:
    """Integer PCM as floats in [-1, 1): 8-bit is unsigned, wider is signed little-endian."""
    if width == 1:
        return (np.frombuffer(frames, np.uint8).astype(np.float64) - 128.0) / 128.0
    if width == 3:
        raw = np.frombuffer(frames[: len(frames) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        ints = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        return ints / float(1 << 23)
    if width in (2, 4):
        return np.frombuffer(frames[: len(frames) // width * width], f"<i{width}").astype(np.float64) \
            / float(1 << (8 * width - 1))
    raise RequestError(f"WAV samples of {8 * width} bits are not read (8, 16, 24 and 32-bit PCM are)")


def _float_wav(data: bytes) -> tuple[int, int, np.ndarray]:
    """(channels, rate, samples) of an IEEE-float WAV, walking its RIFF chunks."""
    pos, fmt, body = 12, None, None
    while pos + 8 <= len(data):
        name, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        chunk = data[pos + 8:pos + 8 + size]
        if name == b"fmt ":
            fmt = chunk
        elif name == b"data":
            body = chunk
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16 or body is None:
        raise RequestError("the WAV file has no readable 'fmt ' and 'data' chunks")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == 0xFFFE and len(fmt) >= 40:
        sub = fmt[24:40]
        tag = 3 if sub == _FLOAT_SUBFORMAT else 1 if sub == _PCM_SUBFORMAT else tag
        if tag == 1:
            return channels, rate, _pcm(body, bits // 8)
    if tag != 3 or bits not in (32, 64):
        raise RequestError(f"WAV format tag {tag} with {bits}-bit samples is not read "
                           "(PCM 8/16/24/32-bit and IEEE float 32/64-bit are)")
    if channels < 1 or rate < 1:
        raise RequestError(f"the WAV file says {channels} channel(s) at {rate} Hz")
    width = bits // 8
    return channels, rate, np.frombuffer(body[: len(body) // width * width], f"<f{width}").astype(np.float64)


def resample(samples: np.ndarray, source: int, target: int = SAMPLING_RATE) -> np.ndarray:
    """Band-limited resampling (torchaudio's sinc_interp_hann: lowpass width 6, rolloff 0.99)."""
    if source == target:
        return np.asarray(samples, dtype=np.float32)
    g = math.gcd(source, target)
    orig, new = source // g, target // g
    width_zeros, rolloff = 6, 0.99
    base = min(orig, new) * rolloff
    width = math.ceil(width_zeros * orig / base)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None, :] / orig
    t = (np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx) * base
    t = np.clip(t, -width_zeros, width_zeros)
    window = np.cos(t * math.pi / width_zeros / 2) ** 2
    t = t * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        kernels = np.where(t == 0, 1.0, np.sin(t) / np.where(t == 0, 1.0, t)) * window * (base / orig)
    length = len(samples)
    padded = np.concatenate([np.zeros(width), np.asarray(samples, np.float64), np.zeros(width + orig)])
    taps = kernels.shape[1]
    count = (len(padded) - taps) // orig + 1
    frames = np.lib.stride_tricks.as_strided(padded, (count, taps), (padded.strides[0] * orig, padded.strides[0]))
    out = (frames @ kernels.T).reshape(-1)
    return out[: math.ceil(new * length / orig)].astype(np.float32)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's scale: linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, log_part, 3.0 * hz / 200.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0)), 200.0 * mel / 3.0)


def mel_filters(bins: int, mels: int, rate: int, low: float = 0.0, high: float = 8000.0) -> np.ndarray:
    """[bins, mels] triangular filters, area-normalized (Slaney), as transformers' mel_filter_bank makes them."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(low), _hz_to_mel(high), mels + 2))
    fft_freqs = np.linspace(0, rate // 2, bins)
    diff = np.diff(edges)
    slopes = edges[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return filters * (2.0 / (edges[2:mels + 2] - edges[:mels]))[None, :]


class WhisperFeatures:
    """preprocessor_config.json's WhisperFeatureExtractor: samples -> [1, mels, frames] log-mel features."""

    def __init__(self, config: dict[str, Any] | None) -> None:
        config = config or {}
        self.sampling_rate = int(config.get("sampling_rate", SAMPLING_RATE))
        self.n_fft = int(config.get("n_fft", 400))
        self.hop = int(config.get("hop_length", 160))
        self.chunk_length = int(config.get("chunk_length", 30))
        self.n_samples = self.chunk_length * self.sampling_rate
        self.padding_value = float(config.get("padding_value", 0.0))
        mels = int(config.get("feature_size", 80))
        self.filters = mel_filters(1 + self.n_fft // 2, mels, self.sampling_rate).astype(np.float32)
        self.used = np.flatnonzero(self.filters.any(axis=1))  # bins no filter reads are skipped
        n = np.arange(self.n_fft)
        self.window = (0.5 - 0.5 * np.cos(2 * np.pi * n / self.n_fft)).astype(np.float32)  # periodic Hann

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        audio = np.full(self.n_samples, self.padding_value, dtype=np.float32)
        take = min(len(samples), self.n_samples)
        audio[:take] = samples[:take]
        return self.log_mel(audio)[None]

    def log_mel(self, audio: np.ndarray) -> np.ndarray:
        half = self.n_fft // 2
        padded = np.pad(audio, half, mode="reflect")
        count = 1 + (len(padded) - self.n_fft) // self.hop
        frames = np.lib.stride_tricks.as_strided(padded, (count, self.n_fft),
                                                 (padded.strides[0] * self.hop, padded.strides[0]))
        spectrum = np.fft.rfft(frames * self.window, axis=-1)[:-1]  # the last frame is dropped, as Whisper does
        power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)[:, self.used]
        mel = power @ self.filters[self.used]
        log_spec = np.log10(np.maximum(mel, 1e-10)).T
        log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
        return ((log_spec + 4.0) / 4.0).astype(np.float32)
