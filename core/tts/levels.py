"""Level analysis of mono clips in bounded memory: RMS, silence, trimming, reference normalisation.

Contract:
- `frame_dbfs(samples, rate)` is the RMS level in dBFS of each 20 ms window, every 10 ms (windows
  start at multiples of the hop; a clip shorter than one window is zero-padded to one). It is computed
  over blocks of at most `ANALYSIS_BLOCK_ELEMENTS` window samples, never as a whole frames x window
  matrix: extra memory is one block plus the levels themselves (one float32 per 10 ms), whatever the
  clip's length and rate, and the values are those of the whole-matrix definition.
- `rms_dbfs`, `is_silent`, `peak_normalize`, `trim_silence` and `normalize_reference` are pure: they
  return new `Audio` / numbers and never mutate their input. Samples stay within [-1, 1].
- `normalize_reference` makes a cloning reference as stored: mono `REFERENCE_RATE`, DC removed,
  silence trimmed, peak at `REFERENCE_PEAK_DBFS`; silence raises `ValidationFailed` (`SILENT_CODE`).
"""

from __future__ import annotations

import math

import numpy as np

from core.errors import ValidationFailed
from core.tts.base import Audio, FloatArray
from core.tts.formats import clipped, resample

SILENT_CODE = "audio_silent"
REFERENCE_RATE = 24000
REFERENCE_PEAK_DBFS = -1.0
FRAME_S = 0.02
HOP_S = 0.01
ANALYSIS_BLOCK_ELEMENTS = 1 << 20  # float64 window samples per block: 8 MiB of scratch at most
_FLOOR_RMS = 1e-10


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else float("-inf")


def rms_dbfs(audio: Audio) -> float:
    """Root-mean-square level of the whole clip in dBFS (a full-scale sine is -3 dBFS); -inf if empty."""
    samples = audio.samples.reshape(-1)
    if samples.size == 0:
        return float("-inf")
    energy = 0.0
    for start in range(0, samples.size, ANALYSIS_BLOCK_ELEMENTS):
        block = samples[start : start + ANALYSIS_BLOCK_ELEMENTS].astype(np.float64)
        energy += float(np.dot(block, block))
    return _db(math.sqrt(energy / samples.size))


def _frame_and_hop(rate: int) -> tuple[int, int]:
    return max(1, int(rate * FRAME_S)), max(1, int(rate * HOP_S))


def frame_dbfs(samples: FloatArray, rate: int) -> FloatArray:
    """Level of each `FRAME_S` window, every `HOP_S` seconds, in dBFS (see the module contract)."""
    frame, hop = _frame_and_hop(rate)
    if samples.size < frame:
        padded = np.zeros(frame, dtype=np.float32)
        padded[: samples.size] = samples
        samples = padded
    count = (samples.size - frame) // hop + 1
    levels = np.empty(count, dtype=np.float32)
    per_block = max(1, ANALYSIS_BLOCK_ELEMENTS // frame)
    for first in range(0, count, per_block):
        last = min(count, first + per_block)
        chunk = samples[first * hop : (last - 1) * hop + frame]
        windows = np.lib.stride_tricks.sliding_window_view(chunk, frame)[::hop]
        rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1))
        levels[first:last] = 20.0 * np.log10(np.maximum(rms, _FLOOR_RMS))
    return levels


def is_silent(audio: Audio, threshold_dbfs: float = -50.0) -> bool:
    """True when no 20 ms window of the clip is louder than `threshold_dbfs` (RMS)."""
    if audio.samples.size == 0:
        return True
    return bool(frame_dbfs(audio.samples, audio.sample_rate).max() <= threshold_dbfs)


def peak_normalize(audio: Audio, target_dbfs: float = REFERENCE_PEAK_DBFS) -> Audio:
    """Scale so the highest absolute sample sits at `target_dbfs`; silence is returned unchanged."""
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    if peak <= 1e-6:
        return audio
    gain = (10.0 ** (target_dbfs / 20.0)) / peak
    return Audio(clipped((audio.samples * gain).astype(np.float32)), audio.sample_rate)


def trim_silence(
    audio: Audio, *, threshold_dbfs: float = -50.0, relative_db: float = 40.0, pad_s: float = 0.1
) -> Audio:
    """Cut leading/trailing stretches quieter than max(threshold, loudest window - relative_db)."""
    if audio.samples.size == 0:
        return audio
    levels = frame_dbfs(audio.samples, audio.sample_rate)
    floor = max(threshold_dbfs, float(levels.max()) - relative_db)
    loud = np.nonzero(levels > floor)[0]
    if loud.size == 0:
        return Audio(np.zeros(0, dtype=np.float32), audio.sample_rate)
    frame, hop = _frame_and_hop(audio.sample_rate)
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
