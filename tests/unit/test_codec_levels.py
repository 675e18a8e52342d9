"""core.tts.codecs level helpers: resampling keeps duration and frequency, levels are measured right, and a
reference clip is normalised (mono 24 kHz, trimmed, -1 dBFS) or refused when silent."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ValidationFailed
from core.tts import codecs
from core.tts.base import Audio
from tests.support.signals import dominant_hz, tone


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
