"""Synthetic audio for codec tests: a sine tone, bytes written by libsndfile, the dominant frequency, and a
FLAC whose header lies about its length."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import soundfile as sf

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


def flac_claiming(total_samples: int) -> bytes:
    """A real 1 s FLAC whose STREAMINFO states another total sample count (36 bits at byte 21)."""
    data = bytearray(codecs.encode(tone(1.0, 16000), "flac"))
    data[21] = (data[21] & 0xF0) | ((total_samples >> 32) & 0x0F)
    data[22:26] = (total_samples & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(data)
