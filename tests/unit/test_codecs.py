"""core.tts.codecs encoding: every format round-trips with the right duration and magic bytes, output
rates and content types are what encode writes, and unknown formats are a clear validation error.
Decoding uploads: test_codec_decoding.py; level helpers: test_codec_levels.py."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from core.errors import UnsupportedMediaType, ValidationFailed
from core.tts import codecs
from core.tts.base import Audio
from tests.support.signals import dominant_hz, tone

MAGIC = {
    "wav": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE",
    "flac": lambda b: b[:4] == b"fLaC",
    "mp3": lambda b: b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0),
    "ogg": lambda b: b[:4] == b"OggS" and b[28:36] == b"OpusHead",
    "opus": lambda b: b[:4] == b"OggS" and b[28:36] == b"OpusHead",
}


@pytest.mark.parametrize(
    ("fmt", "rate_out", "exact"),
    [("wav", 22050, True), ("flac", 22050, True), ("mp3", 22050, False), ("ogg", 24000, False), ("opus", 24000, False)],
)
def test_round_trip_keeps_duration_content_and_magic(fmt: str, rate_out: int, exact: bool) -> None:
    source = tone()
    data = codecs.encode(source, fmt)
    assert MAGIC[fmt](data)
    back = codecs.decode(data, max_duration_s=10)
    assert back.sample_rate == rate_out
    assert back.samples.dtype == np.float32
    assert back.duration == pytest.approx(source.duration, abs=0 if exact else 0.03)
    assert dominant_hz(back) == pytest.approx(220.0, abs=3)
    if exact:  # 16-bit PCM: equal to within one quantisation step
        assert np.max(np.abs(back.samples - source.samples)) < 2 / 32768
    else:
        assert codecs.rms_dbfs(back) == pytest.approx(codecs.rms_dbfs(source), abs=1.0)


def test_ogg_and_opus_are_the_same_stream_under_two_names() -> None:
    assert codecs.content_type("ogg") == "audio/ogg"
    assert codecs.content_type("opus") == "audio/opus"
    assert sf.info(io.BytesIO(codecs.encode(tone(), "opus"))).subtype == "OPUS"


def test_pcm_is_headerless_int16_little_endian_at_the_audio_rate() -> None:
    source = Audio(np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0], dtype=np.float32), 22050)
    data = codecs.encode(source, "pcm")
    assert len(data) == 2 * 6
    assert list(struct.unpack("<6h", data)) == [0, 16384, -16384, 32767, -32767, 32767]  # 2.0 is clipped


def test_pcm_decodes_back_with_its_rate() -> None:
    source = tone(0.5, 24000)
    back = codecs.decode_pcm(codecs.encode(source, "pcm"), 24000)
    assert back.sample_rate == 24000
    np.testing.assert_allclose(back.samples, source.samples, atol=1 / 32767)
    with pytest.raises(UnsupportedMediaType):
        codecs.decode_pcm(b"\x00\x01\x02", 24000)


@pytest.mark.parametrize(
    ("fmt", "rate", "expected"),
    [
        ("ogg", 22050, 24000),
        ("opus", 44100, 48000),
        ("ogg", 96000, 48000),
        ("ogg", 16000, 16000),
        ("mp3", 22050, 22050),
        ("mp3", 96000, 48000),
        ("wav", 22050, 22050),
        ("flac", 96000, 96000),
        ("pcm", 7000, 7000),
    ],
)
def test_output_rate_is_what_encode_writes(fmt: str, rate: int, expected: int) -> None:
    assert codecs.output_rate(rate, fmt) == expected
    if fmt != "pcm":
        assert sf.info(io.BytesIO(codecs.encode(tone(0.2, rate), fmt))).samplerate == expected


def test_content_types_and_extensions() -> None:
    table = {name: (codecs.content_type(name), codecs.extension(name)) for name in codecs.FORMATS}
    assert table == {
        "wav": ("audio/wav", "wav"),
        "flac": ("audio/flac", "flac"),
        "mp3": ("audio/mpeg", "mp3"),
        "ogg": ("audio/ogg", "ogg"),
        "opus": ("audio/opus", "opus"),
        "pcm": ("audio/pcm", "pcm"),
    }
    assert codecs.content_type(" MP3 ") == "audio/mpeg"


@pytest.mark.parametrize("fmt", ["aac", "m4a", "", "wav2"])
def test_unknown_formats_are_a_clear_validation_error(fmt: str) -> None:
    for call in (lambda: codecs.encode(tone(), fmt), lambda: codecs.content_type(fmt), lambda: codecs.extension(fmt)):
        with pytest.raises(ValidationFailed, match="unknown audio format") as info:
            call()
        assert info.value.code == "unknown_audio_format"


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg"])
def test_empty_audio_still_encodes_to_a_valid_file(fmt: str) -> None:
    back = codecs.decode(codecs.encode(Audio(np.zeros(0, np.float32), 22050), fmt), max_duration_s=1)
    assert back.duration < 0.1
    assert codecs.is_silent(back)
