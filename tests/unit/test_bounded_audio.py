"""Bounded memory in core.tts: frame levels without a frames x window matrix (same values as that
definition), decoding straight to mono at the target rate, caps on channels x frames from the header and
during the read of streams that do not state their length."""

from __future__ import annotations

import functools
import io
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from core.config import Settings
from core.errors import PayloadTooLarge, ValidationFailed
from core.schemas.worker import VoiceInput
from core.tts import codecs, worker
from core.tts.base import Audio, FloatArray
from tests.support.bombs import flac_bomb
from tests.support.signals import flac_claiming

MiB = 1024 * 1024


def matrix_frame_dbfs(samples: FloatArray, rate: int) -> FloatArray:
    """The previous definition, kept as the reference: one row per 20 ms window every 10 ms."""
    frame, hop = max(1, int(rate * 0.02)), max(1, int(rate * 0.01))
    if samples.size < frame:
        padded = np.zeros(frame, dtype=np.float64)
        padded[: samples.size] = samples
        samples = padded.astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(samples, frame)[::hop]
    rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1))
    levels: FloatArray = (20.0 * np.log10(np.maximum(rms, 1e-10))).astype(np.float32)
    return levels


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100, 192000])
@pytest.mark.parametrize("seconds", [0.0, 0.005, 0.02, 1.0, 7.3])
def test_frame_levels_equal_the_window_matrix_definition(rate: int, seconds: float) -> None:
    rng = np.random.default_rng(rate + int(seconds * 1000))
    envelope = np.repeat(rng.uniform(0, 1, 64) ** 4, -(-max(1, int(seconds * rate)) // 64))
    samples = (rng.standard_normal(int(seconds * rate)) * envelope[: int(seconds * rate)] * 0.3).astype(np.float32)
    np.testing.assert_array_equal(codecs.frame_dbfs(samples, rate), matrix_frame_dbfs(samples, rate))


def test_silence_and_trim_agree_with_the_matrix_definition_on_random_clips() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        rate = int(rng.choice([16000, 22050, 48000]))
        quiet, loud = rng.integers(0, rate, 2), rng.integers(1, 3 * rate)
        parts = [rng.standard_normal(quiet[0]) * 1e-4, rng.standard_normal(loud) * rng.uniform(0.001, 0.5)]
        parts.append(rng.standard_normal(quiet[1]) * 1e-4)
        samples = np.concatenate(parts).astype(np.float32)
        levels = matrix_frame_dbfs(samples, rate)
        assert codecs.is_silent(Audio(samples, rate)) == bool(levels.max() <= -50.0)
        loud_frames = np.nonzero(levels > max(-50.0, float(levels.max()) - 40.0))[0]
        trimmed = codecs.trim_silence(Audio(samples, rate))
        if loud_frames.size == 0:
            assert trimmed.samples.size == 0
            continue
        hop, frame, pad = int(rate * 0.01), int(rate * 0.02), int(0.1 * rate)
        start = max(0, int(loud_frames[0]) * hop - pad)
        end = min(samples.size, int(loud_frames[-1]) * hop + frame + pad)
        np.testing.assert_array_equal(trimmed.samples, samples[start:end])


def peak_traced(call: Callable[[], Any]) -> int:
    """Peak bytes traced (numpy arrays included) while `call` runs, above what existed before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_analysis_of_a_long_high_rate_clip_needs_no_window_matrix() -> None:
    rate = 192000
    clip = Audio((np.random.default_rng(1).standard_normal(30 * rate) * 0.1).astype(np.float32), rate)  # 23 MB
    # The matrix of the old definition: 3000 windows x 3840 samples as float64 = 92 MB.
    assert peak_traced(lambda: codecs.is_silent(clip)) < 12 * MiB
    assert peak_traced(lambda: codecs.trim_silence(clip)) < 12 * MiB + clip.samples.nbytes


def test_decode_to_a_rate_equals_resampling_the_decoded_clip() -> None:
    rng = np.random.default_rng(3)
    stereo = (rng.standard_normal((3 * 44100 + 17, 2)) * 0.2).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, stereo, 44100, format="WAV", subtype="FLOAT")
    direct = codecs.decode(buffer.getvalue(), max_duration_s=10, rate=24000)
    reference = codecs.resample(codecs.decode(buffer.getvalue(), max_duration_s=10), 24000)
    assert direct.sample_rate == 24000
    assert direct.samples.size == reference.samples.size
    np.testing.assert_allclose(direct.samples, reference.samples, atol=1e-4)


def test_decoding_a_bomb_holds_the_mono_clip_at_the_target_rate_not_the_source() -> None:
    bomb = flac_bomb(channels=8, rate=192000, seconds=20, tone_s=4.0)  # 31 M samples in ~100 KB
    out: list[Audio] = []
    peak = peak_traced(lambda: out.append(codecs.decode(bomb, max_duration_s=30, rate=24000)))
    assert out[0].duration == pytest.approx(20.0, abs=0.01)
    # Mono at 24 kHz is 1.9 MB; at the source's 192 kHz it would be 15 MB, and 8 channels 123 MB.
    assert peak < 8 * MiB


def test_decoded_size_is_refused_from_the_header() -> None:
    data = flac_bomb(channels=4, rate=48000, seconds=2, tone_s=2.0)
    with pytest.raises(PayloadTooLarge) as info:
        codecs.decode(data, max_duration_s=60, max_samples=4 * 48000 * 2 - 1)
    assert (info.value.status, info.value.code) == (413, codecs.DECODED_TOO_LARGE_CODE)
    assert codecs.decode(data, max_duration_s=60, max_samples=4 * 48000 * 2).duration == pytest.approx(2.0)


def test_stream_without_a_stated_length_stops_reading_at_the_sample_cap() -> None:
    streamed = flac_claiming(0)  # 1 s of 16 kHz mono whose header does not say how long it is
    with pytest.raises(PayloadTooLarge) as info:
        codecs.decode(streamed, max_duration_s=60, max_samples=8000)
    assert info.value.code == codecs.DECODED_TOO_LARGE_CODE
    with pytest.raises(ValidationFailed) as too_long:  # the duration binds first: 422, not 413
        codecs.decode(streamed, max_duration_s=0.25, max_samples=8000)
    assert too_long.value.code == codecs.TOO_LONG_CODE
    assert codecs.decode(streamed, max_duration_s=60, max_samples=16000).samples.size == 16000


def test_runpod_worker_references_get_the_same_caps_and_come_out_at_24_khz() -> None:
    cap = Settings().max_upload_decoded_samples  # what the worker passes
    bomb = flac_bomb(channels=8, rate=192000, seconds=20, tone_s=1.0)  # 31 M samples > the 24 M default
    with pytest.raises(PayloadTooLarge):
        worker.voice_spec(VoiceInput(kind="reference_base64", data=bomb), max_samples=cap)
    clip = flac_bomb(channels=2, rate=48000, seconds=4, tone_s=4.0)
    spec = worker.voice_spec(VoiceInput(kind="reference_base64", data=clip), max_samples=cap)
    assert spec.reference is not None
    assert spec.reference.sample_rate == codecs.REFERENCE_RATE


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg", "opus", "pcm"])
def test_transcode_gives_what_encode_of_decode_gives(fmt: str) -> None:
    rate = 22050
    t = np.arange(2 * rate) / rate
    source = codecs.encode(Audio((0.4 * np.sin(2 * np.pi * 330.0 * t)).astype(np.float32), rate), "flac")
    whole = codecs.encode(codecs.decode(source, max_duration_s=10), fmt)
    blocks = codecs.transcode(source, fmt, max_duration_s=10)
    if fmt in ("wav", "flac", "pcm"):
        assert blocks == whole
        return
    a, b = codecs.decode(blocks, max_duration_s=10), codecs.decode(whole, max_duration_s=10)
    assert (a.sample_rate, a.samples.size) == (b.sample_rate, b.samples.size)
    assert codecs.rms_dbfs(Audio(a.samples - b.samples, a.sample_rate)) < -40


def test_transcode_of_empty_audio_is_a_valid_short_file() -> None:
    empty = codecs.encode(Audio(np.zeros(0, np.float32), 24000), "wav")
    assert codecs.decode(codecs.transcode(empty, "mp3", max_duration_s=1), max_duration_s=1).duration < 0.1


def test_transcoding_long_audio_holds_blocks_not_the_clip() -> None:
    rate = 22050
    noise = (np.random.default_rng(5).standard_normal(120 * rate) * 0.1).astype(np.float32)
    wav = codecs.encode(Audio(noise, rate), "wav")  # 5.3 MB; decoded and resampled: 10.6 MB + 11.5 MB
    del noise
    out: dict[str, bytes] = {}

    def convert(fmt: str) -> None:
        out[fmt] = codecs.transcode(wav, fmt, max_duration_s=130)

    for fmt in ("mp3", "ogg"):
        peak = peak_traced(functools.partial(convert, fmt))
        assert peak < 4 * MiB + 2 * len(out[fmt]), f"{fmt}: {peak / MiB:.1f} MiB"
