"""core.tts.effects: PSOLA speed changes the duration and keeps F0; pitch changes F0 and keeps the
duration (F0 measured with Praat's To Pitch on a synthetic voiced signal of known F0)."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
import numpy.typing as npt
import parselmouth
import pytest
from scipy.signal import lfilter

from core.tts import effects
from core.tts.base import Audio

RATE = 22050
F0 = 120.0


def vowel(seconds: float = 2.0, f0: float = F0, rate: int = RATE) -> Audio:
    """A glottal pulse train (F0 with a slow 3% vibrato) through three formant resonators,
    framed by 0.2 s of silence: voiced, speech-like, with a known pitch."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    phase = np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 4 * t)) / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    signal = pulses.astype(np.float64)
    for formant, bandwidth in ((700, 90), (1200, 110), (2600, 160)):
        r = math.exp(-math.pi * bandwidth / rate)
        theta = 2 * math.pi * formant / rate
        signal = lfilter([1 - r], [1, -2 * r * math.cos(theta), r * r], signal)
    signal *= np.hanning(n) ** 0.25
    signal = 0.8 * signal / np.max(np.abs(signal))
    pad = np.zeros(int(0.2 * rate))
    return Audio(np.concatenate([pad, signal, pad]).astype(np.float32), rate)


def pitch_track(audio: Audio) -> npt.NDArray[np.float64]:
    sound = parselmouth.Sound(audio.samples.astype(np.float64), sampling_frequency=audio.sample_rate)
    frequencies = sound.to_pitch(time_step=0.01, pitch_floor=40.0, pitch_ceiling=600.0).selected_array["frequency"]
    return np.asarray(frequencies)


def median_f0(audio: Audio) -> float:
    track = pitch_track(audio)
    return float(np.median(track[track > 0]))


def voiced_seconds(audio: Audio) -> float:
    return float(np.count_nonzero(pitch_track(audio) > 0) * 0.01)


@pytest.fixture(scope="module")
def source() -> Audio:
    audio = vowel()
    assert median_f0(audio) == pytest.approx(F0, rel=0.02)
    return audio


def test_neutral_settings_return_the_input_object(source: Audio) -> None:
    assert effects.apply(source) is source
    assert effects.apply(source, speed=1.0, pitch=1.0) is source


@pytest.mark.parametrize("bad", [0.49, 2.01, 0.0, -1.0, math.nan, math.inf])
def test_factors_outside_half_to_double_are_refused(source: Audio, bad: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        effects.apply(source, speed=bad)
    with pytest.raises(ValueError, match="pitch"):
        effects.apply(source, pitch=bad)


@pytest.mark.parametrize("speed", [2.0, 1.5, 0.75, 0.5])
def test_speed_changes_duration_and_keeps_f0(source: Audio, speed: float) -> None:
    out = effects.apply(source, speed=speed)
    assert out.sample_rate == source.sample_rate
    assert out.samples.dtype == np.float32
    assert out.duration == pytest.approx(source.duration / speed, rel=0.01)
    # the voiced part itself is re-timed (not padded or cut), and its pitch is untouched
    assert voiced_seconds(out) == pytest.approx(voiced_seconds(source) / speed, rel=0.1)
    assert median_f0(out) == pytest.approx(F0, rel=0.05)


@pytest.mark.parametrize("pitch", [2.0, 1.25, 0.8, 0.5])
def test_pitch_changes_f0_and_keeps_duration(source: Audio, pitch: float) -> None:
    out = effects.apply(source, pitch=pitch)
    assert len(out.samples) == len(source.samples)
    assert median_f0(out) == pytest.approx(F0 * pitch, rel=0.1)
    assert voiced_seconds(out) == pytest.approx(voiced_seconds(source), rel=0.1)


def test_pitch_shift_keeps_the_formants(source: Audio) -> None:
    """Resampling would move the spectral envelope with F0; PSOLA keeps it (first formant ~700 Hz)."""

    def spectral_centroid(audio: Audio) -> float:
        spectrum = np.abs(np.fft.rfft(audio.samples))
        freqs = np.fft.rfftfreq(audio.samples.size, 1 / audio.sample_rate)
        return float(np.sum(freqs * spectrum) / np.sum(spectrum))

    shifted = effects.apply(source, pitch=2.0)
    assert spectral_centroid(shifted) == pytest.approx(spectral_centroid(source), rel=0.25)


def test_speed_and_pitch_together(source: Audio) -> None:
    out = effects.apply(source, speed=1.5, pitch=0.8)
    assert out.duration == pytest.approx(source.duration / 1.5, rel=0.01)
    assert median_f0(out) == pytest.approx(F0 * 0.8, rel=0.1)
    assert np.max(np.abs(out.samples)) <= 1.0


@pytest.mark.parametrize("seconds", [0.0, 0.001, 0.02])
def test_clips_too_short_to_analyse_still_get_the_right_length(seconds: float) -> None:
    clip = Audio(np.full(int(seconds * RATE), 0.1, np.float32), RATE)
    out = effects.apply(clip, speed=2.0, pitch=1.5)
    assert len(out.samples) == (0 if clip.samples.size == 0 else max(1, round(clip.samples.size / 2)))


def test_silence_stays_silent() -> None:
    out = effects.apply(Audio(np.zeros(RATE, np.float32), RATE), speed=0.5, pitch=2.0)
    assert len(out.samples) == 2 * RATE
    assert not np.any(out.samples)


def test_cost_per_second_of_audio(source: Audio) -> None:
    long = Audio(np.tile(source.samples, 5), RATE)  # 12 s
    started = time.perf_counter()
    effects.apply(long, speed=1.3, pitch=1.2)
    per_second = (time.perf_counter() - started) / long.duration
    print(f"effects cost: {per_second * 1000:.1f} ms per second of audio")
    assert per_second < 0.05


def test_import_is_light() -> None:
    code = "import sys, core.tts.effects; assert 'parselmouth' not in sys.modules, 'parselmouth imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
