"""automatic-speech-recognition under CPython on the real Whisper tiny.en (fp32), against transformers' pipeline
on the checkpoint the hub was converted from, with speech synthesized by espeak-ng (tests/audio_clips.py).

Transcripts and timestamps must be identical: ONNX Runtime's fp32 logits are within 1e-4 of PyTorch's here
(measured 4e-5 on the first step), far below the gap between the best and second-best beams on these clips.
"""

from __future__ import annotations

import base64
import io
import json
import wave

import numpy as np
import pytest
import transformers

import pyodide_pkg
from pyodide_pkg.errors import RequestError
from pyodide_pkg.processors.audio import WhisperFeatures, decode_audio, resample
from tests import audio_clips as clips
from tests.conftest import ROOT, run
from tools.real_models import whisper_checkpoint

MODEL = {"taskName": "automatic-speech-recognition", "modelId": "openai/whisper-tiny.en", "modelRevision": "v0.1.0"}
CHECKPOINT = ROOT / ".cache" / "real-checkpoints" / "whisper-tiny-en"
FEATURE_TOLERANCE = 1e-4  # PyTorch's float32 STFT against numpy's float64 FFT: 4e-5 measured


@pytest.fixture(scope="module")
def reference():
    return transformers.pipeline("automatic-speech-recognition", model=str(whisper_checkpoint(CHECKPOINT)), device=-1)


class Engine:
    """One engine for the module (loading tiny.en takes seconds); each call runs on a fresh event loop."""

    def __init__(self, server) -> None:
        self.options = {**MODEL, "dtype": "fp32", "settingsBaseUrl": f"{server.origin}/settings",
                        "engineId": "asr-unit"}

    def __call__(self, audio, options=None):
        async def go():
            engine = await pyodide_pkg.create_engine(self.options)
            return await engine.run({"args": [audio], "options": options or {}})
        return run(go())


@pytest.fixture
def engine(server, store_dir):
    return Engine(server)


def plain(result):
    """transformers' result as JSON gives it (timestamps as lists)."""
    return json.loads(json.dumps(result))


@pytest.mark.parametrize("name,seconds", [("short", 0.3), ("short", None), ("weather", None), ("long", None),
                                          ("silence", None), ("noise", None)])
def test_features_equal_whisper_feature_extractor(name, seconds):
    extractor = transformers.WhisperFeatureExtractor.from_pretrained(whisper_checkpoint(CHECKPOINT))
    config = json.loads((whisper_checkpoint(CHECKPOINT) / "preprocessor_config.json").read_text())
    samples = clips.samples(name)
    if seconds:
        samples = samples[: int(seconds * clips.RATE)]
    want = extractor(samples, sampling_rate=16000, return_tensors="np")["input_features"]
    got = WhisperFeatures(config)(samples)
    assert got.shape == want.shape == (1, 80, 3000) and got.dtype == np.float32
    assert np.abs(got - want).max() <= FEATURE_TOLERANCE


# (clip, our options, extra options for transformers: it runs > 30 s audio in 30 s windows only when told)
CASES = [("weather", {}, {}), ("weather", {"return_timestamps": True}, {}), ("short", {}, {}),
         ("long", {}, {"chunk_length_s": 30}), ("long", {"chunk_length_s": 10, "return_timestamps": True}, {}),
         ("long", {"chunk_length_s": 12, "stride_length_s": 1}, {}),
         ("silence", {"max_new_tokens": 12}, {}), ("noise", {"max_new_tokens": 12, "return_timestamps": True}, {})]


@pytest.mark.parametrize("name,options,extra", CASES, ids=[f"{c[0]}-{'-'.join(c[1]) or 'defaults'}" for c in CASES])
def test_transcripts_equal_transformers(engine, reference, name, options, extra):
    samples = clips.samples(name)
    ours = engine(samples.tolist(), options)
    want = plain(reference(samples, **options, **extra))
    assert ours == want
    if name in ("weather", "long"):
        assert "walk to the park" in ours["text"]  # the mapped weights do hear the words


def test_every_input_form_gives_the_same_transcript(engine, server):
    samples = clips.samples("fox")
    wav = clips.clip_path("fox").read_bytes()
    greedy = {"num_beams": 1}
    want = engine(samples.tolist(), greedy)
    assert "lazy dog" in want["text"]
    forms = {"ndarray": samples, "float32 buffer": memoryview(samples), "bytes": wav, "bytearray": bytearray(wav),
             "raw": {"raw": samples.tolist(), "sampling_rate": 16000},
             "array": {"array": samples, "sampling_rate": 16000},
             "url": f"{server.origin}/hub/audio-clips/fox.wav",
             "data url": "data:audio/wav;base64," + base64.b64encode(wav).decode()}
    for form, value in forms.items():
        assert engine(value, greedy) == want, form
    assert engine([wav, samples.tolist()], greedy) == [want, want]  # a list of inputs: a list of results


def _wav(frames: bytes, channels: int, width: int, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


def _float_wav(samples: np.ndarray, channels: int = 1, extensible: bool = False, bits: int = 32) -> bytes:
    """IEEE-float WAV bytes, written by hand (the wave module writes PCM only)."""
    import struct

    data = samples.astype(f"<f{bits // 8}").tobytes()
    rate, block = 16000, channels * bits // 8
    if extensible:
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0) + \
            b"\x03\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    else:
        fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_wav_formats_decode_to_the_same_samples():
    samples = clips.samples("fox")
    pcm16 = clips.clip_path("fox").read_bytes()
    assert np.array_equal(decode_audio(pcm16), samples)
    for width, tolerance in ((1, 1 / 128), (3, 1e-6), (4, 1e-6)):
        got = decode_audio(clips.to_wav(samples.astype(np.float64), width=width))
        assert np.abs(got - samples).max() <= tolerance, width
    for wav in (_float_wav(samples), _float_wav(samples, extensible=True), _float_wav(samples, bits=64)):
        assert np.array_equal(decode_audio(wav), samples)
    stereo = np.stack([samples, samples * 0.5], axis=1).reshape(-1)
    assert np.allclose(decode_audio(_float_wav(stereo, channels=2)), samples * 0.75, atol=1e-7)
    ints = (np.stack([samples, -samples], axis=1).reshape(-1) * 32768).astype("<i2").tobytes()
    assert np.abs(decode_audio(_wav(ints, 2, 2))).max() <= 1 / 32768  # opposite channels cancel out


@pytest.mark.parametrize("source", [8000, 22050, 44100, 48000])
def test_resampling_keeps_a_tone(source):
    """A 440 Hz tone resampled to 16 kHz is the tone sampled at 16 kHz (away from the edges)."""
    seconds = 1.0
    tone = np.sin(2 * np.pi * 440 * np.arange(int(source * seconds)) / source)
    got = resample(tone, source, 16000)
    want = np.sin(2 * np.pi * 440 * np.arange(int(16000 * seconds)) / 16000)
    assert len(got) == len(want)
    assert np.abs(got[200:-200] - want[200:-200]).max() < 2e-3


def test_other_rates_are_resampled_before_recognition(engine):
    """espeak-ng's own 22050 Hz output, as WAV bytes and as {raw, sampling_rate}, is heard like the 16 kHz clip."""
    import subprocess

    wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", clips.SENTENCES["fox"]], check=True,
                         capture_output=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        assert w.getframerate() == 22050
        raw = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    greedy = {"num_beams": 1}
    want = engine(clips.samples("fox"), greedy)
    assert engine(wav, greedy) == want
    assert engine({"raw": raw, "sampling_rate": 22050}, greedy) == want


BAD = [("hello", {}, "could not fetch the audio"), (b"not audio at all", {}, "must be a WAV file"),
       (b"", {}, "must be a WAV file"), ([], {}, "empty"), ({"raw": [0.1]}, {}, "sampling_rate"),
       ({"raw": [0.1, 0.2], "sampling_rate": -5}, {}, "sampling_rate"), ([None], {}, "audio is a URL"),
       ("data:image/png;base64,AAAA", {}, "audio/\\*"), (7, {}, "audio is a URL"),
       ([0.1, float("nan")], {}, "NaN"), ("SILENCE", {"chunk_length_s": -1}, "'chunk_length_s' must be a number >= 0"),
       ("SILENCE", {"return_timestamps": "word"}, "'return_timestamps' must be true or false"),
       ("SILENCE", {"chunk_length_s": 40}, "at most the model's window of 30 s"),
       ("SILENCE", {"chunk_length_s": 2, "stride_length_s": 1}, "more than twice"),
       ("SILENCE", {"language": "fr"}, "unknown option 'language'"),
       ("LONG", {"chunk_length_s": 0}, "longer than the model's 30 s window")]


def test_bad_requests_are_clear_errors_and_the_engine_still_works(engine):
    silence = [0.0] * 1600
    for audio, options, message in BAD:
        audio = {"SILENCE": silence, "LONG": [0.0] * (31 * 16000)}.get(audio, audio) if isinstance(audio, str) \
            else audio
        with pytest.raises(RequestError, match=message):
            engine(audio, {"num_beams": 1, **options})
    assert "lazy dog" in engine(clips.samples("fox"), {"num_beams": 1})["text"]


def test_streaming_gives_the_transcript_as_its_one_output(server, store_dir):
    """Windows are merged only at the end, so a stream has no partial pieces: only {output}, what run gives."""
    async def go():
        engine = await pyodide_pkg.create_engine({**MODEL, "dtype": "fp32",
                                                  "settingsBaseUrl": f"{server.origin}/settings"})
        request = {"args": [clips.clip_path("fox").read_bytes()], "options": {"num_beams": 1}}
        pieces = [piece async for piece in engine.run_with_generator(request)]
        return pieces, await engine.run(request)
    pieces, result = run(go())
    assert pieces == [{"output": result}] and "lazy dog" in result["text"]
