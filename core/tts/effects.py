"""Speech-grade speed and pitch changes by PSOLA (Praat's Manipulation, via praat-parselmouth).

Contract: `apply(audio, speed=..., pitch=...)` returns new mono float32 `Audio` at the same sample
rate whose duration is `audio.duration / speed` (pitch unchanged) and whose F0 is multiplied by
`pitch` (duration unchanged); both may change at once. Both factors must lie in their ranges
in `core.tts.options` (0.5..2.0; else `ValueError`). With both at 1.0 the input object itself is
returned. The signal is analysed for pitch between 75 and 600 Hz, re-timed with a constant duration
tier and re-pitched by scaling the pitch tier, then resynthesised by pitch-synchronous overlap-add;
unvoiced stretches are only re-timed. Output samples are clipped to [-1, 1]. parselmouth is imported on first use only.

`change_gender(audio, formant_shift=..., pitch_median_hz=...)` is Praat's "Change gender" (pitch
analysed between GENDER_PITCH_FLOOR_HZ and PITCH_CEILING_HZ, pitch range and duration kept): formants
scaled by `formant_shift`, F0 moved so that its median is `pitch_median_hz`. Same rate, same length,
peak scaled back to the input's peak. Empty audio is returned as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.tts.base import Audio
from core.tts.options import OPTIONS

PITCH_FLOOR_HZ = 75.0
GENDER_PITCH_FLOOR_HZ = 60.0  # deep male voices (en_US-joe-medium: median ~84 Hz) dip below 75 Hz
PITCH_CEILING_HZ = 600.0
_TIME_STEP_S = 0.01
# Praat's pitch analysis needs at least 3 periods of the floor frequency.
_MIN_ANALYSIS_S = 3.0 / PITCH_FLOOR_HZ + 0.01


def _check(name: str, value: float) -> float:
    value = float(value)
    low, high = OPTIONS[name].low, OPTIONS[name].high  # the speed / pitch ranges of the one options table
    if not low <= value <= high:  # also rejects NaN
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def apply(audio: Audio, *, speed: float = 1.0, pitch: float = 1.0) -> Audio:
    speed, pitch = _check("speed", speed), _check("pitch", pitch)
    if speed == 1.0 and pitch == 1.0:
        return audio
    n_in = int(audio.samples.size)
    if n_in == 0:
        return audio
    rate = audio.sample_rate
    target_len = max(1, round(n_in / speed))

    from parselmouth.praat import call

    sound = _sound(audio, min_s=_MIN_ANALYSIS_S)
    start, end = sound.xmin, sound.xmax
    manipulation = call(sound, "To Manipulation", _TIME_STEP_S, PITCH_FLOOR_HZ, PITCH_CEILING_HZ)
    if speed != 1.0:
        durations = call("Create DurationTier", "speed", start, end)
        call(durations, "Add point", start, 1.0 / speed)
        call([manipulation, durations], "Replace duration tier")
    if pitch != 1.0:
        pitches = call(manipulation, "Extract pitch tier")
        call(pitches, "Multiply frequencies", start, end, pitch)
        call([manipulation, pitches], "Replace pitch tier")
    result = call(manipulation, "Get resynthesis (overlap-add)")

    return Audio(np.clip(_fitted(result, target_len), -1.0, 1.0).astype(np.float32), rate)


def change_gender(audio: Audio, *, formant_shift: float, pitch_median_hz: float) -> Audio:
    n_in = int(audio.samples.size)
    if n_in == 0:
        return audio
    from parselmouth.praat import call

    sound = _sound(audio, min_s=3.0 / GENDER_PITCH_FLOOR_HZ + 0.01)
    # Change gender: pitch floor, ceiling, formant shift ratio, new pitch median, pitch range factor, duration factor
    changed = call(
        sound, "Change gender", GENDER_PITCH_FLOOR_HZ, PITCH_CEILING_HZ, formant_shift, pitch_median_hz, 1.0, 1.0
    )
    if round(float(changed.sampling_frequency)) != audio.sample_rate:
        changed = call(changed, "Resample", float(audio.sample_rate), 50)
    out = _fitted(changed, n_in)
    peak_in, peak_out = float(np.max(np.abs(audio.samples))), float(np.max(np.abs(out)))
    if peak_out > 1e-8:
        out = out * (peak_in / peak_out)
    return Audio(np.clip(out, -1.0, 1.0).astype(np.float32), audio.sample_rate)


def _sound(audio: Audio, *, min_s: float) -> Any:
    """A parselmouth Sound of `audio`, padded with silence to at least `min_s` (Praat's analysis needs it)."""
    import parselmouth

    samples = audio.samples.astype(np.float64).reshape(-1)
    min_len = int(np.ceil(min_s * audio.sample_rate))
    if samples.size < min_len:  # too short to analyse: cut back afterwards
        samples = np.concatenate([samples, np.zeros(min_len - samples.size)])
    return parselmouth.Sound(samples, sampling_frequency=float(audio.sample_rate))


def _fitted(sound: Any, length: int) -> Any:
    """The sound's samples cut or padded with silence to `length`."""
    out = np.asarray(sound.values, dtype=np.float64).reshape(-1)
    if out.size < length:
        out = np.concatenate([out, np.zeros(length - out.size)])
    return out[:length]
