"""automatic-speech-recognition: Whisper (an audio encoder and a text decoder) transcribes speech.

It follows transformers' pipeline for Whisper: audio longer than one window (30 s) is cut into windows of
chunk_length_s with stride_length_s of overlap on each side; each window is transcribed on its own and the
windows' tokens are merged where they overlap (the longest common run of tokens; with timestamps, timestamps
that fall in an overlap are dropped), so the result reads as one transcript. `return_timestamps` gives
segment-level `chunks: [{timestamp: [start, end], text}]`.

Where transformers differs and why: audio longer than 30 s is chunked at 30 s by default (transformers would
run Whisper's sequential long-form decoding, not done here); multilingual models are run with the language
their config forces (no language detection); streaming yields only the final result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from ..generation.logits_process import whisper_timestamps
from ..model_config import whisper_prompt
from ..processors.audio import WhisperFeatures, load_audio
from .generative import GenerativePipeline, Piece
from .loading import LoadContext
from .text2text_generation import load_seq2seq

SEGMENT_FRAMES = 1500  # encoder positions per window: a timestamp index past it belongs to the next segment


class AutomaticSpeechRecognitionPipeline(GenerativePipeline):
    def __init__(self, model: Any, tokenizer: Any, model_generation: dict[str, Any], config: dict[str, Any],
                 features: WhisperFeatures, generation_file: dict[str, Any]) -> None:
        super().__init__(model, tokenizer, model_generation, config)
        self.features = features
        self.generation_file = generation_file
        self.no_timestamps = generation_file.get("no_timestamps_token_id")
        special = tokenizer.special_tokens()
        names = [special[k] for k in special if k != "additional_special_tokens"]
        names += special.get("additional_special_tokens", [])
        self.special_ids = {i for i in (tokenizer.tokenizer.token_to_id(n) for n in names) if i is not None}
        self.time_precision = features.chunk_length / int(config.get("max_source_positions", SEGMENT_FRAMES))

    @classmethod
    async def load(cls, ctx: LoadContext) -> "AutomaticSpeechRecognitionPipeline":
        preprocessor, generation_file = await ctx.together(
            ctx.json("preprocessor_config.json", processor=True), ctx.json("generation_config.json", optional=True))
        model, tokenizer, config, generation = await load_seq2seq(ctx)
        return cls(model, tokenizer, generation, config, WhisperFeatures(preprocessor), generation_file or {})

    async def run(self, args: list[Any], options: dict[str, Any], emit: Piece | None) -> Any:
        own, generation, use_cache = self.split_options(options)
        if not args:
            raise RequestError(f"{self.task}: args must hold audio or a list of audio inputs")
        value = args[0]
        batch = isinstance(value, list) and bool(value) and not all(_is_number(v) for v in value)
        inputs = value if batch else [value]
        if isinstance(value, list) and not value:
            raise RequestError(f"{self.task}: the audio (or list of audio inputs) is empty")
        results = [await self.one(await load_audio(audio, self.features.sampling_rate), own, generation, use_cache)
                   for audio in inputs]
        return results if batch else results[0]

    def windows(self, samples: np.ndarray, own: dict[str, Any]) -> list[tuple[np.ndarray, tuple[int, int, int] | None]]:
        """(samples, (length, left stride, right stride) in samples, or None when the audio is one window)."""
        rate, limit = self.features.sampling_rate, self.features.n_samples
        chunk_s = own["chunk_length_s"]
        if chunk_s is None:
            chunk_s = self.features.chunk_length if len(samples) > limit else 0
        if not chunk_s:
            if len(samples) > limit:
                raise RequestError(f"{self.task}: the audio is {len(samples) / rate:.1f} s long, longer than the "
                                   f"model's {self.features.chunk_length} s window; set chunk_length_s (e.g. "
                                   f"{self.features.chunk_length}) or leave it unset")
            return [(samples, None)]
        if chunk_s > self.features.chunk_length:
            raise RequestError(f"{self.task}: option 'chunk_length_s' must be at most the model's window of "
                               f"{self.features.chunk_length} s, got {chunk_s}")
        stride_s = own["stride_length_s"] if own["stride_length_s"] is not None else chunk_s / 6
        chunk, stride = int(round(chunk_s * rate)), int(round(stride_s * rate))
        step = chunk - 2 * stride  # each window moves on by what lies between its two strides
        if step <= 0:
            raise RequestError(f"{self.task}: option 'chunk_length_s' ({chunk_s}) must be more than twice "
                               f"'stride_length_s' ({stride_s})")
        out = []
        for start in range(0, len(samples), step):
            piece = samples[start:start + chunk]
            last = start + chunk >= len(samples)
            left = 0 if start == 0 else stride
            if len(piece) > left:
                out.append((piece, (len(piece), left, 0 if last else stride)))
            if last:
                break
        return out

    async def one(self, samples: np.ndarray, own: dict[str, Any], generation: Any, use_cache: bool) -> dict[str, Any]:
        timestamps = own["return_timestamps"]
        if timestamps and self.no_timestamps is None:
            raise RequestError(f"{self.task}: this model's generation_config.json has no no_timestamps_token_id, "
                               "so it cannot give timestamps")
        prompt = whisper_prompt(self.generation_file, self.config, timestamps)
        extra = []
        if timestamps:
            eos = generation.eos_ids[0] if generation.eos_ids else prompt[0]
            extra.append(whisper_timestamps(int(self.no_timestamps), len(prompt), eos,
                                            self.generation_file.get("max_initial_timestamp_index")))
        outputs = []
        for piece, stride in self.windows(samples, own):
            decoding = await self.model.encode({"input_features": self.features(piece)}, use_cache)
            tokens = (await self.decode_loop(decoding, np.array([prompt], dtype=np.int64), generation, None, extra))[0]
            rate = self.features.sampling_rate
            outputs.append((tokens, None if stride is None else tuple(s / rate for s in stride)))
        return self.decode_windows(outputs, timestamps)

    def decode_windows(self, outputs: list[tuple[list[int], tuple | None]], timestamps: bool) -> dict[str, Any]:
        """The windows' tokens as one transcript, by transformers' rules for Whisper (its `_decode_asr` without
        word timestamps or languages): text runs close at an end timestamp, overlapping runs are merged, and
        timestamps inside a stride are skipped."""
        first_stamp_id = int(self.no_timestamps) + 1 if self.no_timestamps is not None else None
        precision = self.time_precision
        segments: list[dict[str, Any]] = []
        segment = {"timestamp": [None, None], "text": ""}
        offset, pending, skip = 0.0, [], False

        def is_stamp(token: int) -> bool:
            return first_stamp_id is not None and token >= first_stamp_id

        for tokens, stride in outputs:
            last_kept, first_allowed = None, first_stamp_id
            top, grown, before_top = 0.0, 0.0, 0.0
            if stride is not None:
                length, left, right = stride
                offset -= left
                right_start = length - right
                if left:
                    first_allowed = left / precision + first_stamp_id
                if right:
                    for token in reversed(tokens):
                        if is_stamp(token):
                            if last_kept is not None and (token - first_stamp_id) * precision < right_start:
                                break
                            last_kept = token
            current: list[int] = []
            for i, token in enumerate(tokens):
                if token in self.special_ids:
                    continue
                if not is_stamp(token):
                    current.append(token)
                    continue
                stamp = float((token - first_stamp_id) * precision)
                if stamp < top:  # a new segment started within this window's output
                    if i >= 2 and not (is_stamp(tokens[i - 1]) and is_stamp(tokens[i - 2])):
                        grown += precision * SEGMENT_FRAMES
                    else:
                        top = before_top
                        grown += before_top
                before_top, top = top, stamp
                time = round((token - first_stamp_id) * precision + offset + grown, 2)
                if last_kept and token >= last_kept:
                    skip = True  # in the right stride: the next window says it again
                elif skip or (pending and token < first_allowed):
                    skip = False
                elif segment["timestamp"][0] is None:
                    segment["timestamp"][0] = time
                elif time != segment["timestamp"][0]:
                    segment["timestamp"][1] = time
                    pending.append(current)
                    segment["text"] = self.tokenizer.decode(merge_overlap(pending))
                    segments.append(segment)
                    pending, current = [], []
                    segment = {"timestamp": [None, None], "text": ""}
            if stride is not None:
                offset += length - right
            if current:
                pending.append(current)
            elif not any(pending):
                segment, pending = {"timestamp": [None, None], "text": ""}, []
        if pending:
            segment["text"] = self.tokenizer.decode(merge_overlap(pending))
            segments.append(segment)
        text = "".join(s["text"] for s in segments)
        if not timestamps:
            return {"text": text}
        return {"text": text, "chunks": [{"timestamp": s["timestamp"], "text": s["text"]} for s in segments]}


def merge_overlap(sequences: list[list[int]]) -> list[int]:
    """Token runs of overlapping windows as one: each pair is aligned where most tokens agree (the longer
    alignment wins ties), and the overlap is split in its middle, the left run's first half, the right's last."""
    left, total = sequences[0], []
    for right in sequences[1:]:
        n_left, n_right = len(left), len(right)
        best, bounds = 0.0, (n_left, n_left, 0, 0)
        for shift in range(1, n_left + n_right):
            left_start, left_stop = max(0, n_left - shift), min(n_left, n_left + n_right - shift)
            right_start, right_stop = max(0, shift - n_left), min(n_right, shift)
            matches = sum(a == b for a, b in zip(left[left_start:left_stop], right[right_start:right_stop]))
            score = matches / shift + shift / 10000.0
            if matches > 1 and score > best:
                best, bounds = score, (left_start, left_stop, right_start, right_stop)
        left_start, left_stop, right_start, right_stop = bounds
        total.extend(left[:(left_start + left_stop) // 2])
        left = right[(right_start + right_stop) // 2:]
    return total + list(left)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
