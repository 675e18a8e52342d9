"""Incremental audio encoders: audio in, sentence by sentence; bytes out as soon as they exist.

Contract:
- `StreamEncoder(fmt, sample_rate)` keeps ONE encoder for the whole utterance, so the bytes it gives
  out, concatenated in order, form one valid file or stream of that format (never several files glued
  together). `feed(audio)` returns the bytes that became available (possibly b""); `finish()` flushes
  and returns the rest. Audio at another rate than the stream's is resampled first.
- `STREAM_FORMATS`: pcm (raw 16-bit little-endian mono, no header), wav (a 44-byte header whose RIFF
  and data sizes are 0xFFFFFFFF, "length unknown", the usual convention for streamed WAV, then PCM),
  mp3 (MPEG frames from one LAME encoder), ogg / opus (one Ogg Opus stream) and flac (STREAMINFO with
  total samples 0 = "unknown", as FLAC allows for streams, then frames). Encoders that go back at the
  end to patch their header (the MP3 Xing frame, FLAC's STREAMINFO totals) cannot change bytes
  already sent: those rewrites are dropped, which leaves every format decodable.
- `stream_rate(fmt, rate)` is the sample rate the stream will carry for audio made at `rate`.
- Unknown names raise `UnknownAudioFormat` (422) from core.tts.codecs' table.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np

from core.tts.base import Audio
from core.tts.codecs import UnknownAudioFormat, get_format, output_rate

STREAM_FORMATS = ("pcm", "wav", "mp3", "ogg", "opus", "flac")
_UNKNOWN_SIZE = 0xFFFFFFFF


def stream_rate(fmt: str, rate: int) -> int:
    return output_rate(rate, fmt)


def _pcm16(audio: Audio) -> bytes:
    samples = np.clip(np.asarray(audio.samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return bytes(np.round(samples * 32767.0).astype("<i2").tobytes())


def wav_stream_header(sample_rate: int) -> bytes:
    """RIFF/WAVE header for mono 16-bit PCM of unknown length."""
    fmt_chunk = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", _UNKNOWN_SIZE)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt_chunk))
        + fmt_chunk
        + b"data"
        + struct.pack("<I", _UNKNOWN_SIZE)
    )


class _ForwardSink(io.RawIOBase):
    """A seekable file for libsndfile that hands out bytes once, in order; later rewrites are dropped."""

    def __init__(self) -> None:
        super().__init__()
        self._data = bytearray()
        self._pos = 0
        self._sent = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        end = self._pos + len(chunk)
        if end > len(self._data):
            self._data.extend(b"\0" * (end - len(self._data)))
        self._data[self._pos : end] = chunk
        self._pos = end
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._pos + size)
        out = bytes(self._data[self._pos : end])
        self._pos = max(self._pos, end)
        return out

    def take(self) -> bytes:
        """Bytes written past what was already handed out."""
        out = bytes(self._data[self._sent :])
        self._sent = len(self._data)
        return out


def check_stream_format(fmt: str) -> str:
    """The canonical name of a streamable format; `UnknownAudioFormat` (422) for any other."""
    spec = get_format(fmt)
    if spec.name not in STREAM_FORMATS:
        raise UnknownAudioFormat(
            f"format {fmt!r} cannot be streamed; streamable: {', '.join(STREAM_FORMATS)}",
            details={"supported": list(STREAM_FORMATS)},
        )
    return spec.name


class StreamEncoder:
    def __init__(self, fmt: str, sample_rate: int) -> None:
        spec = get_format(check_stream_format(fmt))
        self.format = spec.name
        self.content_type = spec.content_type
        self.sample_rate = stream_rate(spec.name, sample_rate)
        self._started = False
        self._finished = False
        self._sink: _ForwardSink | None = None
        self._file: Any = None
        if spec.container is not None and spec.name != "wav":
            import soundfile as sf

            self._sink = _ForwardSink()
            self._file = sf.SoundFile(
                self._sink,
                mode="w",
                samplerate=self.sample_rate,
                channels=1,
                format=spec.container,
                subtype=spec.subtype,
            )

    def _at_rate(self, audio: Audio) -> Audio:
        if audio.sample_rate == self.sample_rate:
            return audio
        from core.tts.codecs import resample

        return resample(audio, self.sample_rate)

    def feed(self, audio: Audio) -> bytes:
        if self._finished:
            raise RuntimeError("the stream is finished")
        audio = self._at_rate(audio)
        if self._file is not None and self._sink is not None:
            if audio.samples.size:
                samples = np.clip(np.asarray(audio.samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
                self._file.write(samples)
            return self._sink.take()
        header = b""
        if not self._started and self.format == "wav":
            header = wav_stream_header(self.sample_rate)
        self._started = True
        return header + _pcm16(audio)

    def finish(self) -> bytes:
        if self._finished:
            return b""
        tail = b""
        if not self._started and self.format == "wav":
            tail = wav_stream_header(self.sample_rate)
        self._started = True
        if self._file is not None and self._sink is not None:
            self._file.close()
            tail = self._sink.take()
        self._finished = True
        return tail

    def close(self) -> None:
        """Release the encoder without output (an abandoned stream)."""
        if self._file is not None and not self._finished:
            self._file.close()
        self._finished = True
