"""Speech-grade speed and pitch changes by PSOLA (Praat's Manipulation, via praat-parselmouth).

Contract: `apply(audio, speed=..., pitch=...)` returns new mono float32 `Audio` at the same sample
rate whose duration is `audio.duration / speed` (pitch unchanged) and whose F0 is multiplied by
`pitch` (duration unchanged); both may change at once. Both factors must lie in their ranges
in `core.tts.options` (0.5..2.0; else `ValueError`). With both at 1.0 the input object itself is
returned. The signal is analysed for pitch between 75 and 600 Hz, re-timed with a constant duration
tier and re-pitched by scaling the pitch tier, then resynthesised by pitch-synchronous overlap-add;
unvoiced stretches are only re-timed. Output samples are clipped to [-1, 1]. parselmouth is imported on first use only.
"""

from __future__ import annotations

import numpy as np

from core.tts.base import Audio
from core.tts.options import OPTIONS

PITCH_FLOOR_HZ = 75.0
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

    import parselmouth
    from parselmouth.praat import call

    samples = audio.samples.astype(np.float64)
    min_len = int(np.ceil(_MIN_ANALYSIS_S * rate))
    if samples.size < min_len:  # too short to analyse: pad with silence, cut back afterwards
        samples = np.concatenate([samples, np.zeros(min_len - samples.size)])

    sound = parselmouth.Sound(samples, sampling_frequency=float(rate))
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

    out = np.asarray(result.values, dtype=np.float64).reshape(-1)
    if out.size < target_len:
        out = np.concatenate([out, np.zeros(target_len - out.size)])
    out = out[:target_len]
    return Audio(np.clip(out, -1.0, 1.0).astype(np.float32), rate)
