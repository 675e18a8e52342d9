"""core.tts.codecs: every format round-trips with the right duration and magic bytes; decode refuses
bad uploads with the right error class and code before touching the samples; level helpers."""

from __future__ import annotations

import io
import struct

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from core.errors import UnsupportedMediaType, ValidationFailed
from core.tts import codecs
from core.tts.base import Audio


def tone(seconds: float = 1.5, rate: int = 22050, freq: float = 220.0, amp: float = 0.5) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def sf_bytes(data: npt.NDArray[np.float32], rate: int, **kwargs: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, **kwargs)
    return buffer.getvalue()


def dominant_hz(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples * np.hanning(audio.samples.size)))
    return float(np.fft.rfftfreq(audio.samples.size, 1 / audio.sample_rate)[np.argmax(spectrum)])


@pytest.fixture
def no_sample_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Fails the test if decode() asks libsndfile for samples."""
    calls: list[int] = []

    def refuse(self: sf.SoundFile, *args: object, **kwargs: object) -> None:
        calls.append(1)
        raise AssertionError("samples were decoded")

    monkeypatch.setattr(sf.SoundFile, "read", refuse)
    return calls


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


def flac_claiming(total_samples: int) -> bytes:
    """A real 1 s FLAC whose STREAMINFO states another total sample count (36 bits at byte 21)."""
    data = bytearray(codecs.encode(tone(1.0, 16000), "flac"))
    data[21] = (data[21] & 0xF0) | ((total_samples >> 32) & 0x0F)
    data[22:26] = (total_samples & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(data)


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


def test_resample_keeps_duration_and_frequency() -> None:
    for target in (16000, 24000, 44100, 48000, 44101):
        out = codecs.resample(tone(1.0, 22050, freq=440.0), target)
        assert out.sample_rate == target
        assert out.duration == pytest.approx(1.0, abs=2 / target)
        assert dominant_hz(out) == pytest.approx(440.0, abs=2)
        assert codecs.rms_dbfs(out) == pytest.approx(codecs.rms_dbfs(tone(1.0, 22050, freq=440.0)), abs=0.1)


def test_resample_removes_content_above_the_new_nyquist() -> None:
    out = codecs.resample(tone(1.0, 48000, freq=10000.0), 16000)  # 10 kHz cannot exist at 16 kHz
    middle = Audio(out.samples[800:-800], out.sample_rate)  # skip the edge transients of the abrupt cut
    assert codecs.rms_dbfs(middle) < -60


def test_levels() -> None:
    assert codecs.rms_dbfs(tone(1.0, amp=1.0)) == pytest.approx(-3.01, abs=0.01)
    assert codecs.rms_dbfs(Audio(np.zeros(100, np.float32), 16000)) == float("-inf")
    assert codecs.is_silent(Audio(np.zeros(16000, np.float32), 16000))
    assert codecs.is_silent(tone(1.0, amp=0.001))  # -63 dBFS RMS
    assert not codecs.is_silent(tone(1.0, amp=0.1))
    blip = np.zeros(16000, np.float32)
    blip[8000:8400] = tone(0.025, 16000, amp=0.3).samples
    assert not codecs.is_silent(Audio(blip, 16000))  # a 25 ms sound in 1 s of silence is not silence
    peak = codecs.peak_normalize(tone(1.0, amp=0.1), -6.0)
    assert 20 * np.log10(np.max(np.abs(peak.samples))) == pytest.approx(-6.0, abs=0.01)


def test_normalize_reference_is_mono_24k_trimmed_and_at_minus_1_dbfs() -> None:
    rate = 44100
    speech = tone(1.0, rate, amp=0.2).samples
    padded = np.concatenate([np.zeros(rate), speech, np.zeros(2 * rate)]).astype(np.float32) + np.float32(0.05)
    out = codecs.normalize_reference(Audio(padded, rate))
    assert out.sample_rate == 24000
    assert out.samples.ndim == 1
    assert out.duration == pytest.approx(1.0 + 2 * 0.1, abs=0.05)  # the sound plus 100 ms each side
    assert 20 * np.log10(np.max(np.abs(out.samples))) == pytest.approx(-1.0, abs=0.05)
    assert abs(float(out.samples.mean())) < 0.01  # DC offset removed


@pytest.mark.parametrize("level", [0.0, 1e-4, 0.3], ids=["zeros", "hiss", "pure-dc"])
def test_normalize_reference_refuses_silence(level: float) -> None:
    with pytest.raises(ValidationFailed) as info:
        codecs.normalize_reference(Audio(np.full(48000, level, np.float32), 24000))
    assert info.value.code == codecs.SILENT_CODE
