"""core.tts.codecs.decode: uploads are downmixed and cleaned, and bad ones are refused with the right error
class and code before any sample is read (lengths, channels and rates come from the header)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from core.errors import UnsupportedMediaType, ValidationFailed
from core.tts import codecs
from tests.support.signals import dominant_hz, flac_claiming, sf_bytes, tone


@pytest.fixture
def no_sample_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Fails the test if decode() asks libsndfile for samples."""
    calls: list[int] = []

    def refuse(self: sf.SoundFile, *args: object, **kwargs: object) -> None:
        calls.append(1)
        raise AssertionError("samples were decoded")

    monkeypatch.setattr(sf.SoundFile, "read", refuse)
    return calls


def test_decode_downmixes_to_mono_float32() -> None:
    left = tone(1.0, 16000, amp=0.8).samples
    data = sf_bytes(np.stack([left, np.zeros_like(left)], axis=1), 16000, format="WAV", subtype="FLOAT")
    back = codecs.decode(data, max_duration_s=5)
    assert back.samples.ndim == 1
    assert back.sample_rate == 16000
    np.testing.assert_allclose(back.samples, left / 2, atol=1e-6)


def test_decode_reads_ogg_vorbis_uploads() -> None:
    back = codecs.decode(sf_bytes(tone(2.0, 44100).samples, 44100, format="OGG", subtype="VORBIS"), max_duration_s=5)
    assert back.duration == pytest.approx(2.0, abs=0.01)
    assert dominant_hz(back) == pytest.approx(220.0, abs=3)


def test_decode_replaces_non_finite_and_out_of_range_samples() -> None:
    data = sf_bytes(np.array([np.nan, 3.0, -3.0, np.inf, 0.25], np.float32), 16000, format="WAV", subtype="FLOAT")
    assert codecs.decode(data, max_duration_s=1).samples.tolist() == [0.0, 1.0, -1.0, 1.0, 0.25]


def test_too_long_is_refused_from_the_header(no_sample_reads: list[int]) -> None:
    with pytest.raises(ValidationFailed) as info:
        codecs.decode(codecs.encode(tone(3.0), "wav"), max_duration_s=2.5)
    assert info.value.code == codecs.TOO_LONG_CODE
    assert no_sample_reads == []


def test_flac_header_claiming_hours_is_refused_before_decoding(no_sample_reads: list[int]) -> None:
    with pytest.raises(ValidationFailed, match="too long") as info:
        codecs.decode(flac_claiming(2**36 - 1), max_duration_s=60)  # 2^36 samples at 16 kHz ~ 50 days
    assert info.value.code == codecs.TOO_LONG_CODE
    assert no_sample_reads == []


def test_mp3_xing_header_claiming_hours_is_refused_before_decoding(no_sample_reads: list[int]) -> None:
    data = bytearray(codecs.encode(tone(1.0, 16000), "mp3"))
    at = data.find(b"Xing") + 8  # the Xing tag's frame count
    data[at : at + 4] = (0x7FFFFFFF).to_bytes(4, "big")
    with pytest.raises(ValidationFailed) as info:
        codecs.decode(bytes(data), max_duration_s=60)
    assert info.value.code == codecs.TOO_LONG_CODE
    assert no_sample_reads == []


def test_stream_without_a_stated_length_is_decoded_up_to_the_limit_only() -> None:
    streamed = flac_claiming(0)  # 0 = "unknown" in FLAC, as a streaming encoder writes it
    assert sf.info(io.BytesIO(streamed)).frames >= 2**63 - 1
    back = codecs.decode(streamed, max_duration_s=60)
    np.testing.assert_allclose(back.samples, tone(1.0, 16000).samples, atol=2 / 32768)
    with pytest.raises(ValidationFailed) as info:  # the header cannot tell: the capped read does
        codecs.decode(streamed, max_duration_s=0.5)
    assert info.value.code == codecs.TOO_LONG_CODE


def test_wav_header_overstating_its_data_only_yields_the_bytes_present() -> None:
    data = bytearray(codecs.encode(tone(0.5, 16000), "wav"))
    struct.pack_into("<I", data, 4, 0xFFFFFFF0)  # RIFF size
    struct.pack_into("<I", data, 40, 0xFFFFFF00)  # data chunk size: ~24 h of 16 kHz mono
    assert codecs.decode(bytes(data), max_duration_s=60).duration == pytest.approx(0.5)


def test_too_many_channels_is_refused_before_decoding(no_sample_reads: list[int]) -> None:
    data = sf_bytes(np.zeros((1600, 9), np.float32), 16000, format="WAV")
    with pytest.raises(ValidationFailed) as info:
        codecs.decode(data, max_duration_s=60)
    assert info.value.code == codecs.TOO_MANY_CHANNELS_CODE
    assert info.value.details["channels"] == 9


@pytest.mark.parametrize("rate", [400, 2000, 384000])
def test_sample_rate_out_of_range_is_refused_before_decoding(no_sample_reads: list[int], rate: int) -> None:
    # A 400 Hz WAV of 3 hours is 8.6 MB and would become 260 M samples once resampled to 24 kHz.
    data = sf_bytes(np.zeros(rate // 10, np.float32), rate, format="WAV")
    with pytest.raises(ValidationFailed) as info:
        codecs.decode(data, max_duration_s=60)
    assert info.value.code == codecs.BAD_RATE_CODE


@pytest.mark.parametrize(
    "data",
    [b"", bytes(4096), b"not audio at all " * 200, np.random.default_rng(0).bytes(8192), b"RIFF\x00\x00"],
    ids=["empty", "zeros", "text", "random", "riff-stub"],
)
def test_garbage_is_unsupported_media_type(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        codecs.decode(data, max_duration_s=60)
    assert info.value.code == codecs.UNDECODABLE_CODE
    assert info.value.status == 415


def test_container_outside_the_allow_list_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        codecs.decode(sf_bytes(tone(0.2, 16000).samples, 16000, format="AIFF"), max_duration_s=60)
    assert info.value.code == codecs.UNSUPPORTED_CONTAINER_CODE


def test_truncated_flac_is_corrupt_and_truncated_vorbis_undecodable() -> None:
    flac = codecs.encode(tone(2.0, 16000), "flac")
    with pytest.raises(UnsupportedMediaType) as info:
        codecs.decode(flac[: len(flac) // 2], max_duration_s=60)
    assert info.value.code == codecs.CORRUPT_CODE
    vorbis = sf_bytes(tone(2.0, 16000).samples, 16000, format="OGG", subtype="VORBIS")
    with pytest.raises(UnsupportedMediaType):
        codecs.decode(vorbis[: len(vorbis) // 2], max_duration_s=60)


def test_header_only_wav_is_empty() -> None:
    with pytest.raises(ValidationFailed) as info:
        codecs.decode(codecs.encode(tone(1.0), "wav")[:44], max_duration_s=60)
    assert info.value.code == codecs.EMPTY_CODE
