"""Output formats and encoding (libsndfile via soundfile), headerless PCM, resampling (soxr).

Contract:
- `FORMATS` names every output format: wav (16-bit PCM), flac, mp3, ogg (Ogg Opus), opus (the same
  Ogg Opus stream under its OpenAI-style name) and pcm (raw 16-bit little-endian mono at the audio's
  own rate, no header). `encode(audio, fmt)` returns the file's bytes; formats whose codec only takes
  some sample rates (Opus, MP3) get the audio resampled to the nearest allowed rate at or above its
  own. Unknown names raise `UnknownAudioFormat` (a `ValidationFailed`) from `encode`, `get_format`,
  `content_type` and `extension` alike. Empty audio encodes as 20 ms of silence.
- `same_stream(a, b)`: the two format names give byte-identical files (ogg and opus), so one can be
  served as the other without re-encoding.
- `output_rate(rate, fmt)` is the sample rate `encode` gives audio made at `rate`.
- `decode_pcm(data, rate)` reads the headerless pcm format back.
- `resample` and `clipped` are pure: they return new arrays / `Audio` and never mutate their input.
  Samples stay within [-1, 1].
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from core.errors import UnsupportedMediaType, ValidationFailed
from core.tts.base import Audio, FloatArray

CORRUPT_CODE = "audio_corrupt"
RESAMPLE_QUALITY = "VHQ"
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


class UnknownAudioFormat(ValidationFailed):
    code = "unknown_audio_format"


@dataclass(frozen=True)
class AudioFormat:
    name: str
    content_type: str
    extension: str
    container: str | None  # libsndfile major format; None for headerless pcm
    subtype: str | None
    rates: tuple[int, ...] | None = None  # codec's allowed sample rates; None = any


FORMATS: dict[str, AudioFormat] = {
    "wav": AudioFormat("wav", "audio/wav", "wav", "WAV", "PCM_16"),
    "flac": AudioFormat("flac", "audio/flac", "flac", "FLAC", "PCM_16"),
    "mp3": AudioFormat("mp3", "audio/mpeg", "mp3", "MP3", "MPEG_LAYER_III", _MP3_RATES),
    "ogg": AudioFormat("ogg", "audio/ogg", "ogg", "OGG", "OPUS", _OPUS_RATES),
    "opus": AudioFormat("opus", "audio/opus", "opus", "OGG", "OPUS", _OPUS_RATES),
    "pcm": AudioFormat("pcm", "audio/pcm", "pcm", None, None),
}


def get_format(fmt: str) -> AudioFormat:
    try:
        return FORMATS[fmt.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise UnknownAudioFormat(
            f"unknown audio format {fmt!r}; supported: {known}", details={"supported": sorted(FORMATS)}
        ) from None


def content_type(fmt: str) -> str:
    return get_format(fmt).content_type


def extension(fmt: str) -> str:
    return get_format(fmt).extension


def same_stream(fmt_a: str, fmt_b: str) -> bool:
    """True when both names encode to the same bytes (ogg and opus), so no conversion is needed."""
    a, b = get_format(fmt_a), get_format(fmt_b)
    return (a.container, a.subtype, a.rates) == (b.container, b.subtype, b.rates)


def clipped(samples: FloatArray) -> FloatArray:
    return np.clip(samples, -1.0, 1.0).astype(np.float32, copy=False)


def output_rate(sample_rate: int, fmt: str) -> int:
    """The sample rate `encode(audio, fmt)` writes for audio at `sample_rate`."""
    rates = get_format(fmt).rates
    if rates is None or sample_rate in rates:
        return sample_rate
    return next((allowed for allowed in rates if allowed >= sample_rate), rates[-1])


def encode(audio: Audio, fmt: str) -> bytes:
    spec = get_format(fmt)
    audio = resample(audio, output_rate(audio.sample_rate, fmt))
    samples = clipped(np.asarray(audio.samples, dtype=np.float32).reshape(-1))
    if spec.container is None:
        return bytes(np.round(samples * 32767.0).astype("<i2").tobytes())
    if samples.size == 0:
        samples = np.zeros(max(1, audio.sample_rate // 50), dtype=np.float32)
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, audio.sample_rate, format=spec.container, subtype=spec.subtype)
    return buffer.getvalue()


def decode_pcm(data: bytes, sample_rate: int) -> Audio:
    """The `pcm` format back: raw 16-bit little-endian mono at `sample_rate`."""
    if len(data) % 2:
        raise UnsupportedMediaType("raw 16-bit PCM must have an even number of bytes", code=CORRUPT_CODE)
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32767.0)
    return Audio(clipped(samples), sample_rate)


def resample(audio: Audio, rate: int) -> Audio:
    if rate <= 0:
        raise ValueError("sample rate must be positive")
    if rate == audio.sample_rate:
        return audio
    if audio.samples.size == 0:
        return Audio(np.zeros(0, dtype=np.float32), rate)
    import soxr  # small (no scipy), so it also fits the Lambda layer

    samples = audio.samples.astype(np.float32, copy=False)
    out = soxr.resample(samples, audio.sample_rate, rate, quality=RESAMPLE_QUALITY)
    return Audio(clipped(np.asarray(out, dtype=np.float32)), rate)
