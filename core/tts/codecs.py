"""Audio encoding, decoding and level utilities (libsndfile via soundfile, soxr for resampling).

Contract:
- `FORMATS` names every output format: wav (16-bit PCM), flac, mp3, ogg (Ogg Opus), opus (the same
  Ogg Opus stream under its OpenAI-style name) and pcm (raw 16-bit little-endian mono at the audio's
  own rate, no header). `encode(audio, fmt)` returns the file's bytes; formats whose codec only takes
  some sample rates (Opus, MP3) get the audio resampled to the nearest allowed rate at or above its
  own. Unknown names raise `UnknownAudioFormat` (a `ValidationFailed`) from `encode`,
  `content_type` and `extension` alike. Empty audio encodes as 20 ms of silence.
- `decode(data, max_duration_s=...)` accepts WAV, FLAC, Ogg (Vorbis/Opus) and MP3 uploads and returns
  mono float32 `Audio` (channels averaged). It reads the header first and refuses too long / too many
  channels / out-of-range rates before decoding any sample, then decodes at most the allowed number of
  frames, so a header that under-states or omits the length (a streamed FLAC) cannot make it read
  more. Undecodable or unsupported data raise `UnsupportedMediaType`; limits raise `ValidationFailed`;
  each with its own `code` (`*_CODE`). `decode_pcm(data, rate)` reads the headerless pcm format.
- `output_rate(rate, fmt)` is the sample rate `encode` gives audio made at `rate`.
- `resample`, `peak_normalize`, `rms_dbfs`, `is_silent` and `normalize_reference` are pure: they
  return new `Audio` and never mutate their input. Samples stay within [-1, 1].
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import UnsupportedMediaType, ValidationFailed
from core.tts.base import Audio, FloatArray

UNDECODABLE_CODE = "audio_undecodable"
UNSUPPORTED_CONTAINER_CODE = "audio_format_unsupported"
CORRUPT_CODE = "audio_corrupt"
TOO_LONG_CODE = "audio_too_long"
TOO_MANY_CHANNELS_CODE = "audio_too_many_channels"
BAD_RATE_CODE = "audio_sample_rate_unsupported"
EMPTY_CODE = "audio_empty"
SILENT_CODE = "audio_silent"

REFERENCE_RATE = 24000
REFERENCE_PEAK_DBFS = -1.0
_DECODABLE = frozenset({"WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "MP3"})
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_BLOCK_FRAMES = 65536
_UNKNOWN_FRAMES = 2**63 - 1  # libsndfile's SF_COUNT_MAX: length not stated


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


def _clipped(samples: FloatArray) -> FloatArray:
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
    samples = _clipped(np.asarray(audio.samples, dtype=np.float32).reshape(-1))
    if spec.container is None:
        return bytes(np.round(samples * 32767.0).astype("<i2").tobytes())
    if samples.size == 0:
        samples = np.zeros(max(1, audio.sample_rate // 50), dtype=np.float32)
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, audio.sample_rate, format=spec.container, subtype=spec.subtype)
    return buffer.getvalue()


def decode(
    data: bytes,
    *,
    max_duration_s: float,
    max_channels: int = 8,
    max_sample_rate: int = 192000,
    min_sample_rate: int = 8000,
) -> Audio:
    import soundfile as sf

    if not data:
        raise UnsupportedMediaType("the upload is empty, not audio", code=UNDECODABLE_CODE)
    try:
        handle = sf.SoundFile(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise UnsupportedMediaType(
            "could not read audio: expected WAV, FLAC, Ogg (Vorbis/Opus) or MP3", code=UNDECODABLE_CODE
        ) from exc
    with handle:
        _check_header(handle, max_duration_s, max_channels, max_sample_rate, min_sample_rate)
        max_frames = math.floor(max_duration_s * handle.samplerate)
        samples = _read_mono(handle, max_frames, max_duration_s)
        rate = int(handle.samplerate)
    if samples.size == 0:
        raise ValidationFailed("the audio contains no samples", code=EMPTY_CODE)
    samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    return Audio(_clipped(samples), rate)


def _check_header(handle: Any, max_duration_s: float, max_channels: int, max_rate: int, min_rate: int) -> None:
    container = str(handle.format)
    if container not in _DECODABLE:
        raise UnsupportedMediaType(
            f"audio container {container} is not accepted; use WAV, FLAC, Ogg (Vorbis/Opus) or MP3",
            code=UNSUPPORTED_CONTAINER_CODE,
        )
    channels, rate, frames = int(handle.channels), int(handle.samplerate), int(handle.frames)
    if channels > max_channels:
        raise ValidationFailed(
            f"audio has {channels} channels; at most {max_channels} are accepted",
            code=TOO_MANY_CHANNELS_CODE,
            details={"channels": channels, "max_channels": max_channels},
        )
    if not min_rate <= rate <= max_rate:
        raise ValidationFailed(
            f"audio sample rate {rate} Hz is outside {min_rate}..{max_rate} Hz",
            code=BAD_RATE_CODE,
            details={"sample_rate": rate, "min": min_rate, "max": max_rate},
        )
    if frames < _UNKNOWN_FRAMES and frames / rate > max_duration_s:
        raise _too_long(frames / rate, max_duration_s)
    if frames <= 0:
        raise ValidationFailed("the audio contains no samples", code=EMPTY_CODE)


def _too_long(duration: float | None, max_duration_s: float) -> ValidationFailed:
    said = f" ({duration:.1f} s)" if duration is not None else ""
    return ValidationFailed(
        f"audio is too long{said}; at most {max_duration_s:g} s are accepted",
        code=TOO_LONG_CODE,
        details={"max_duration_s": max_duration_s},
    )


def _read_mono(handle: Any, max_frames: int, max_duration_s: float) -> FloatArray:
    import soundfile as sf

    if handle.frames >= _UNKNOWN_FRAMES:
        # soundfile's read() seeks past the end of a stream without a stated length; libsndfile's
        # own reader does not, so use it for those (bounded by max_frames like the public path).
        from soundfile import _ffi, _snd

        buffer = np.empty((_BLOCK_FRAMES, handle.channels), dtype=np.float32)
        pointer = _ffi.cast("float *", buffer.ctypes.data)

        def read(frames: int) -> FloatArray:
            got = int(_snd.sf_readf_float(handle._file, pointer, frames))
            if got <= 0 and _snd.sf_error(handle._file):
                raise RuntimeError("libsndfile read error")
            return buffer[: max(got, 0)]
    else:

        def read(frames: int) -> FloatArray:
            block: FloatArray = handle.read(frames, dtype="float32", always_2d=True)
            return block

    blocks: list[FloatArray] = []
    total = 0
    try:
        while True:
            block = read(min(_BLOCK_FRAMES, max_frames + 1 - total))
            if len(block) == 0:
                break
            blocks.append(block.mean(axis=1, dtype=np.float32))
            total += len(block)
            if total > max_frames:
                raise _too_long(None, max_duration_s)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise UnsupportedMediaType("the audio data is corrupt or truncated", code=CORRUPT_CODE) from exc
    if not blocks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(blocks).astype(np.float32, copy=False)


def decode_pcm(data: bytes, sample_rate: int) -> Audio:
    """The `pcm` format back: raw 16-bit little-endian mono at `sample_rate`."""
    if len(data) % 2:
        raise UnsupportedMediaType("raw 16-bit PCM must have an even number of bytes", code=CORRUPT_CODE)
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32767.0)
    return Audio(_clipped(samples), sample_rate)


def resample(audio: Audio, rate: int) -> Audio:
    if rate <= 0:
        raise ValueError("sample rate must be positive")
    if rate == audio.sample_rate:
        return audio
    if audio.samples.size == 0:
        return Audio(np.zeros(0, dtype=np.float32), rate)
    import soxr  # small (no scipy), so it also fits the Lambda layer

    out = soxr.resample(audio.samples.astype(np.float32, copy=False), audio.sample_rate, rate, quality="VHQ")
    return Audio(_clipped(np.asarray(out, dtype=np.float32)), rate)


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else float("-inf")


def rms_dbfs(audio: Audio) -> float:
    """Root-mean-square level of the whole clip in dBFS (a full-scale sine is -3 dBFS); -inf if empty."""
    if audio.samples.size == 0:
        return float("-inf")
    return _db(float(np.sqrt(np.mean(np.square(audio.samples, dtype=np.float64)))))


def _frame_dbfs(samples: FloatArray, rate: int, frame_s: float = 0.02, hop_s: float = 0.01) -> FloatArray:
    """Level of each `frame_s` window, every `hop_s` seconds, in dBFS."""
    frame, hop = max(1, int(rate * frame_s)), max(1, int(rate * hop_s))
    if samples.size < frame:
        padded = np.zeros(frame, dtype=np.float64)
        padded[: samples.size] = samples
        samples = padded.astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(samples, frame)[::hop]
    rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1))
    levels: FloatArray = (20.0 * np.log10(np.maximum(rms, 1e-10))).astype(np.float32)
    return levels


def is_silent(audio: Audio, threshold_dbfs: float = -50.0) -> bool:
    """True when no 20 ms window of the clip is louder than `threshold_dbfs` (RMS)."""
    if audio.samples.size == 0:
        return True
    return bool(_frame_dbfs(audio.samples, audio.sample_rate).max() <= threshold_dbfs)


def peak_normalize(audio: Audio, target_dbfs: float = REFERENCE_PEAK_DBFS) -> Audio:
    """Scale so the highest absolute sample sits at `target_dbfs`; silence is returned unchanged."""
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    if peak <= 1e-6:
        return audio
    gain = (10.0 ** (target_dbfs / 20.0)) / peak
    return Audio(_clipped((audio.samples * gain).astype(np.float32)), audio.sample_rate)


def trim_silence(
    audio: Audio, *, threshold_dbfs: float = -50.0, relative_db: float = 40.0, pad_s: float = 0.1
) -> Audio:
    """Cut leading/trailing stretches quieter than max(threshold, loudest window - relative_db)."""
    if audio.samples.size == 0:
        return audio
    levels = _frame_dbfs(audio.samples, audio.sample_rate)
    floor = max(threshold_dbfs, float(levels.max()) - relative_db)
    loud = np.nonzero(levels > floor)[0]
    if loud.size == 0:
        return Audio(np.zeros(0, dtype=np.float32), audio.sample_rate)
    hop, frame = max(1, int(audio.sample_rate * 0.01)), max(1, int(audio.sample_rate * 0.02))
    pad = int(pad_s * audio.sample_rate)
    start = max(0, int(loud[0]) * hop - pad)
    end = min(audio.samples.size, int(loud[-1]) * hop + frame + pad)
    return Audio(audio.samples[start:end].copy(), audio.sample_rate)


def normalize_reference(audio: Audio) -> Audio:
    """A cloning reference as stored: mono 24 kHz, DC removed, silence trimmed, peak at -1 dBFS."""
    samples = np.asarray(audio.samples, dtype=np.float32)
    if samples.ndim > 1:
        samples = samples.mean(axis=1, dtype=np.float32)
    if samples.size:
        samples = (samples - np.float32(samples.mean())).astype(np.float32)
    if samples.size == 0 or is_silent(Audio(samples, audio.sample_rate)):
        raise ValidationFailed("the reference audio is silent", code=SILENT_CODE)
    clip = trim_silence(resample(Audio(samples, audio.sample_rate), REFERENCE_RATE))
    return peak_normalize(clip, REFERENCE_PEAK_DBFS)
