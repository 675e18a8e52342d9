"""Synthetic audio for codec tests: a sine tone, bytes written by libsndfile, and the dominant frequency."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import soundfile as sf

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
