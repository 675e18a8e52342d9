"""Audio codecs: the one import for formats, encoding, decoding and level analysis.

Contract: this module re-exports, unchanged, the public names of three modules, each with its own
contract, so callers write `from core.tts import codecs; codecs.encode(...)` (and tests can replace
`codecs.encode` in one place):
- `core.tts.formats`: the output formats (`FORMATS`, `get_format`, `content_type`, `extension`,
  `same_stream`, `output_rate`), `encode`, `decode_pcm`, `resample`.
- `core.tts.decoding`: `decode` of uploads with caps checked from the header (channels, rate,
  duration, channels x frames) and samples read block by block into mono at the target rate, in
  bounded memory; `transcode` (decode + encode, block by block); `decode_slot`, a process-wide
  limit on parallel decodes; the error codes.
- `core.tts.levels`: `rms_dbfs`, `frame_dbfs`, `is_silent`, `peak_normalize`, `trim_silence`,
  `normalize_reference` in bounded memory (no frames x window matrix).
"""

from __future__ import annotations

from core.tts.decoding import (
    BAD_RATE_CODE,
    BUSY_CODE,
    DECODED_TOO_LARGE_CODE,
    EMPTY_CODE,
    MAX_CHANNELS,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    TOO_LONG_CODE,
    TOO_MANY_CHANNELS_CODE,
    UNDECODABLE_CODE,
    UNSUPPORTED_CONTAINER_CODE,
    decode,
    decode_slot,
    transcode,
)
from core.tts.formats import (
    CORRUPT_CODE,
    FORMATS,
    AudioFormat,
    UnknownAudioFormat,
    content_type,
    decode_pcm,
    encode,
    extension,
    get_format,
    output_rate,
    resample,
    same_stream,
)
from core.tts.levels import (
    REFERENCE_PEAK_DBFS,
    REFERENCE_RATE,
    SILENT_CODE,
    frame_dbfs,
    is_silent,
    normalize_reference,
    peak_normalize,
    rms_dbfs,
    trim_silence,
)

__all__ = [
    "BAD_RATE_CODE",
    "BUSY_CODE",
    "CORRUPT_CODE",
    "DECODED_TOO_LARGE_CODE",
    "EMPTY_CODE",
    "FORMATS",
    "MAX_CHANNELS",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "REFERENCE_PEAK_DBFS",
    "REFERENCE_RATE",
    "SILENT_CODE",
    "TOO_LONG_CODE",
    "TOO_MANY_CHANNELS_CODE",
    "UNDECODABLE_CODE",
    "UNSUPPORTED_CONTAINER_CODE",
    "AudioFormat",
    "UnknownAudioFormat",
    "content_type",
    "decode",
    "decode_pcm",
    "decode_slot",
    "encode",
    "extension",
    "frame_dbfs",
    "get_format",
    "is_silent",
    "normalize_reference",
    "output_rate",
    "peak_normalize",
    "resample",
    "rms_dbfs",
    "same_stream",
    "transcode",
    "trim_silence",
]
