"""Decoding uploaded audio (WAV, FLAC, Ogg Vorbis/Opus, MP3) to mono float32, in bounded memory.

Contract:
- `decode(data, *, max_duration_s, max_samples=None, rate=None, ...)` returns mono float32 `Audio`
  (channels averaged, non-finite samples zeroed or clipped, all within [-1, 1]) at `rate`, or at the
  source's own rate when `rate` is None.
- The header is checked before any sample is decoded: container on the allow-list, channels
  <= `max_channels`, rate within `min_sample_rate..max_sample_rate`, stated duration <= `max_duration_s`
  (`ValidationFailed`, 422) and stated decoded size channels x frames <= `max_samples`
  (`PayloadTooLarge`, 413: the content, once decoded, is larger than the server will process - a
  decompression bomb such as 60 s of 8-channel 192 kHz FLAC silence in 117 KB).
- Samples are then read in blocks of `BLOCK_FRAMES` frames; each block is downmixed to mono and, when
  `rate` is given, resampled by one streaming resampler, so peak memory is one multichannel block plus
  the mono clip at the output rate, never the source's channels x rate. A header that under-states or
  omits the length (streamed FLAC, MP3/Ogg without a frame count) cannot make it read more: the read
  stops at the first frame past the caps and raises the same errors.
- `transcode(data, fmt, *, max_duration_s)` is `encode(decode(data), fmt)` done block by block (same
  checks, no sample cap): its memory is the source and output files plus one block, not the clip.
- Undecodable or unsupported data raise `UnsupportedMediaType` (415). Every error has its `*_CODE`.
- `decode_slot(limit=, wait_s=)` holds one of `limit` process-wide slots (0 = unlimited) around a
  decode and its analysis, so parallel requests hold at most `limit` clips at a time; when no slot frees
  within `wait_s` it raises `ServiceUnavailable` (503 with Retry-After).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from core.errors import PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType, ValidationFailed
from core.tts.base import Audio, FloatArray
from core.tts.formats import CORRUPT_CODE, RESAMPLE_QUALITY, get_format, output_rate

UNDECODABLE_CODE = "audio_undecodable"
UNSUPPORTED_CONTAINER_CODE = "audio_format_unsupported"
TOO_LONG_CODE = "audio_too_long"
TOO_MANY_CHANNELS_CODE = "audio_too_many_channels"
BAD_RATE_CODE = "audio_sample_rate_unsupported"
DECODED_TOO_LARGE_CODE = "audio_decoded_too_large"
EMPTY_CODE = "audio_empty"
BUSY_CODE = "decoder_busy"

MAX_CHANNELS = 8
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
BLOCK_FRAMES = 65536
SLOT_WAIT_S = 30.0
_DECODABLE = frozenset({"WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "MP3"})
_UNKNOWN_FRAMES = 2**63 - 1  # libsndfile's SF_COUNT_MAX: length not stated


def _open(data: bytes) -> Any:
    import soundfile as sf

    if not data:
        raise UnsupportedMediaType("the upload is empty, not audio", code=UNDECODABLE_CODE)
    try:
        return sf.SoundFile(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise UnsupportedMediaType(
            "could not read audio: expected WAV, FLAC, Ogg (Vorbis/Opus) or MP3", code=UNDECODABLE_CODE
        ) from exc


def decode(
    data: bytes,
    *,
    max_duration_s: float,
    max_samples: int | None = None,
    rate: int | None = None,
    max_channels: int = MAX_CHANNELS,
    max_sample_rate: int = MAX_SAMPLE_RATE,
    min_sample_rate: int = MIN_SAMPLE_RATE,
) -> Audio:
    with _open(data) as handle:
        _check_header(handle, max_duration_s, max_samples, max_channels, max_sample_rate, min_sample_rate)
        source_rate, channels = int(handle.samplerate), int(handle.channels)
        by_duration = math.floor(max_duration_s * source_rate)
        by_samples = max_samples // channels if max_samples is not None else by_duration
        try:
            blocks = list(_mono_blocks(handle, min(by_duration, by_samples), source_rate, rate))
        except _OverCap:
            if by_samples < by_duration:
                raise _too_large(None, max_samples or 0) from None
            raise _too_long(None, max_duration_s) from None
    samples = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    blocks.clear()
    if samples.size == 0:
        raise ValidationFailed("the audio contains no samples", code=EMPTY_CODE)
    return Audio(samples, rate or source_rate)


def transcode(data: bytes, fmt: str, *, max_duration_s: float) -> bytes:
    """`encode(decode(data), fmt)` block by block: memory is the two files and one block, not the clip."""
    import soundfile as sf

    spec = get_format(fmt)
    buffer = io.BytesIO()
    with _open(data) as handle:
        _check_header(handle, max_duration_s, None, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE)
        source_rate = int(handle.samplerate)
        rate = output_rate(source_rate, spec.name)
        blocks = _mono_blocks(handle, math.floor(max_duration_s * source_rate), source_rate, rate)
        try:
            if spec.container is None:
                for block in blocks:
                    buffer.write(np.round(block * 32767.0).astype("<i2").tobytes())
                return buffer.getvalue()
            with sf.SoundFile(
                buffer, "w", samplerate=rate, channels=1, format=spec.container, subtype=spec.subtype
            ) as out:
                written = 0
                for block in blocks:
                    out.write(block)
                    written += len(block)
                if not written:  # as encode(): empty audio is 20 ms of silence
                    out.write(np.zeros(max(1, rate // 50), dtype=np.float32))
        except _OverCap:
            raise _too_long(None, max_duration_s) from None
    return buffer.getvalue()


def _check_header(
    handle: Any, max_duration_s: float, max_samples: int | None, max_channels: int, max_rate: int, min_rate: int
) -> None:
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
    if max_samples is not None and frames < _UNKNOWN_FRAMES and channels * frames > max_samples:
        raise _too_large(channels * frames, max_samples)
    if frames <= 0:
        raise ValidationFailed("the audio contains no samples", code=EMPTY_CODE)


class _OverCap(Exception):
    """The stream held more frames than the caps allow (its header did not say so)."""


def _too_long(duration: float | None, max_duration_s: float) -> ValidationFailed:
    said = f" ({duration:.1f} s)" if duration is not None else ""
    return ValidationFailed(
        f"audio is too long{said}; at most {max_duration_s:g} s are accepted",
        code=TOO_LONG_CODE,
        details={"max_duration_s": max_duration_s},
    )


def _too_large(samples: int | None, max_samples: int) -> PayloadTooLarge:
    said = f" ({samples:,} samples)" if samples is not None else ""
    return PayloadTooLarge(
        f"audio decodes to too many samples{said}; at most {max_samples:,} (channels x frames) are "
        "accepted: send fewer channels, a lower sample rate or a shorter clip",
        code=DECODED_TOO_LARGE_CODE,
        details={"max_samples": max_samples, **({"samples": samples} if samples is not None else {})},
    )


def _block_reader(handle: Any) -> Callable[[int], FloatArray]:
    if handle.frames < _UNKNOWN_FRAMES:

        def read(frames: int) -> FloatArray:
            block: FloatArray = handle.read(frames, dtype="float32", always_2d=True)
            return block

        return read
    # soundfile's read() seeks past the end of a stream without a stated length; libsndfile's own
    # reader does not, so use it for those (bounded by the caller like the public path).
    from soundfile import _ffi, _snd

    buffer = np.empty((BLOCK_FRAMES, handle.channels), dtype=np.float32)
    pointer = _ffi.cast("float *", buffer.ctypes.data)

    def read_raw(frames: int) -> FloatArray:
        got = int(_snd.sf_readf_float(handle._file, pointer, frames))
        if got <= 0 and _snd.sf_error(handle._file):
            raise RuntimeError("libsndfile read error")
        return buffer[: max(got, 0)]

    return read_raw


def _mono_blocks(handle: Any, max_frames: int, source_rate: int, rate: int | None) -> Iterator[FloatArray]:
    """Mono blocks at `rate` (or the source rate), within [-1, 1]; `_OverCap` past `max_frames`."""
    import soundfile as sf

    stream: Any = None
    if rate is not None and rate != source_rate:
        import soxr

        stream = soxr.ResampleStream(source_rate, rate, 1, dtype="float32", quality=RESAMPLE_QUALITY)
    read = _block_reader(handle)
    total = 0
    while True:
        try:
            block = read(min(BLOCK_FRAMES, max_frames + 1 - total))
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise UnsupportedMediaType("the audio data is corrupt or truncated", code=CORRUPT_CODE) from exc
        if len(block) == 0:
            break
        total += len(block)
        if total > max_frames:
            raise _OverCap
        mono = block.mean(axis=1, dtype=np.float32)
        np.nan_to_num(mono, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        np.clip(mono, -1.0, 1.0, out=mono)
        if stream is None:
            yield mono
        else:
            yield _clip(stream.resample_chunk(mono))
    if stream is not None and total:
        yield _clip(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))


def _clip(samples: Any) -> FloatArray:
    out = np.asarray(samples, dtype=np.float32)
    np.clip(out, -1.0, 1.0, out=out)
    return out


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


@contextmanager
def decode_slot(*, limit: int, wait_s: float = SLOT_WAIT_S) -> Iterator[None]:
    """Hold one of `limit` process-wide decoding slots for the block (0 or less: no limit)."""
    if limit <= 0:
        yield
        return
    with _slots_lock:
        slots = _slots.setdefault(limit, threading.BoundedSemaphore(limit))
    if not slots.acquire(timeout=wait_s):
        raise ServiceUnavailable(
            "the server is busy decoding other audio; try again shortly",
            code=BUSY_CODE,
            headers={"Retry-After": str(max(1, math.ceil(wait_s)))},
        )
    try:
        yield
    finally:
        slots.release()
