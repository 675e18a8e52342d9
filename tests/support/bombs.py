"""Decompression bombs for upload tests: long multichannel high-rate FLAC that compresses to almost nothing.

`flac_bomb()` writes the file block by block, so building it never holds the decoded signal in memory.
"""

from __future__ import annotations

import io

import numpy as np


def flac_bomb(*, channels: int = 8, rate: int = 192000, seconds: int = 60, tone_s: float = 1.0) -> bytes:
    """`seconds` of `channels` x `rate` FLAC: a 220 Hz tone on the first channel for `tone_s`, then silence."""
    import soundfile as sf

    buffer = io.BytesIO()
    t = np.arange(rate) / rate
    tone = np.round(0.3 * np.sin(2 * np.pi * 220.0 * t) * 32767).astype(np.int16)
    with sf.SoundFile(buffer, "w", samplerate=rate, channels=channels, format="FLAC", subtype="PCM_16") as out:
        for second in range(seconds):
            block = np.zeros((rate, channels), dtype=np.int16)
            sounding = min(rate, max(0, int((tone_s - second) * rate)))
            block[:sounding, 0] = tone[:sounding]
            out.write(block)
    return buffer.getvalue()
