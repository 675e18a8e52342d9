"""Streamed synthesis: the audio of a request sent piece by piece while it is made, charged as it is sent.

Contract:
- `stream(...)` applies the caller's policy exactly like `synthesis.synthesize` (the same
  `synthesis.start`: synthesis rate limit, validation, voice, quota hold; 429s and 422s before any
  work; `stream_format` is checked there too), then pulls the
  engine until the first encoded bytes exist before it returns, so bad requests and a failure on the
  first piece raise from the call itself (normal error responses). The returned `AudioStream` yields
  those bytes and then more as the engine makes them, in `stream_format` (one continuous encoder: see
  core.tts.streaming).
- The text is split here into pieces (`core.tts.text.split_sentences` at the engine's
  `capabilities.max_chars`), each synthesised by its own `engine.stream` call, so every byte is known
  to belong to a piece, i.e. to a span of the text. A piece counts as delivered once all the bytes made
  from it have been taken by the consumer and the consumer has come back for more (for an HTTP response:
  handed to the server; the few frames an mp3/ogg/flac encoder holds back aside). Each delivered piece is
  charged at once (`quota.Meter.deliver`: characters up to the end of the piece, real audio seconds
  so far), to the day's usage and to the API key alike.
- When the engine is done, the whole utterance is encoded again in `request.format` and stored exactly
  as `synthesize` stores it, under the audio id known from the start, before the last bytes are
  yielded; a stored record charges the whole text and its real duration.
- A stream that fails or is abandoned (`close()`, or the generator finalised) before that point stores
  NO record (the library holds complete utterances only) and is charged exactly the pieces delivered
  before: the partial audio the client has is paid for, what was never sent is not. `close()` is
  idempotent and must not run while another thread is inside the iterator (the HTTP layer closes only
  after its last `next()` returned: core.responses.AudioStreamResponse).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

from core.records.audio import AudioRecord
from core.services.policy import Caller, SynthesisPolicy
from core.services.synthesis import Job, Request, save, start
from core.storage import BlobStore, KVStore
from core.tts.base import Audio, Engine
from core.tts.text import split_sentences

if TYPE_CHECKING:
    from core.tts.base import FloatArray
    from core.tts.streaming import StreamEncoder


def piece_ends(text: str, pieces: list[str]) -> list[int]:
    """For each piece, how many characters of `text` it completes (the last one: all of them)."""
    ends: list[int] = []
    pos = 0
    for piece in pieces:
        at = text.find(piece, pos)
        pos = min(len(text), (at if at >= 0 else pos) + len(piece))
        ends.append(pos)
    if ends:
        ends[-1] = len(text)
    return ends


class AudioStream:
    """Encoded audio bytes of one synthesis, piece by piece; see the module contract."""

    def __init__(self, store: KVStore, blobs: BlobStore, engine: Engine, job: Job, *, rate: int | None) -> None:
        from core.tts import codecs
        from core.tts.streaming import stream_rate

        self.audio_id = job.audio_id
        self.text = job.text
        self.options_ignored = list(job.ignored)
        self.format = fmt = job.stream_format or job.request.format
        self.content_type = codecs.content_type(fmt)
        self.sample_rate = stream_rate(fmt, rate or engine.capabilities.sample_rate)  # exact once primed
        self.item: AudioRecord | None = None  # the stored record, once the engine is done
        self.meter = job.meter
        self._target_rate = rate
        self._encoder: StreamEncoder | None = None
        self._chunks = self._run(store, blobs, engine, job)
        self._first = next(self._chunks, b"")

    def _encoder_for(self, rate: int) -> StreamEncoder:
        if self._encoder is None:
            from core.tts.streaming import StreamEncoder

            self._encoder = StreamEncoder(self.format, self._target_rate or rate)
            self.sample_rate = self._encoder.sample_rate
        return self._encoder

    def _run(self, store: KVStore, blobs: BlobStore, engine: Engine, job: Job) -> Generator[bytes, None, None]:
        import numpy as np

        from core.tts.codecs import resample

        samples: list[FloatArray] = []
        rate: int | None = None
        seconds = 0.0
        pieces = split_sentences(job.text, engine.capabilities.max_chars)
        try:
            for piece, end in zip(pieces, piece_ends(job.text, pieces), strict=True):
                for audio in engine.stream(piece, job.voice, job.options):
                    rate = rate or audio.sample_rate
                    same = audio if audio.sample_rate == rate else resample(audio, rate)
                    samples.append(np.asarray(same.samples, dtype=np.float32).reshape(-1))
                    seconds += same.duration
                    out = self._encoder_for(rate).feed(same)
                    if out:
                        yield out  # resumed only once the consumer has taken these bytes
                job.meter.deliver(characters=end, seconds=seconds)
            rate = rate or engine.capabilities.sample_rate
            tail = self._encoder_for(rate).finish()
            whole = np.concatenate(samples) if samples else np.zeros(0, dtype=np.float32)
            self.item = save(store, blobs, engine, job, Audio(whole.astype(np.float32, copy=False), rate))
            if tail:
                yield tail
        finally:  # failed or abandoned (GeneratorExit): charged what was delivered, nothing stored
            job.meter.finish()
            if self._encoder is not None:
                self._encoder.close()

    def __iter__(self) -> Iterator[bytes]:
        if self._first:
            yield self._first
        yield from self._chunks

    def close(self) -> None:
        """Abandon the stream: nothing more is synthesised or charged, nothing stored if not yet done."""
        self._chunks.close()
        self.meter.finish()


def stream(
    store: KVStore,
    blobs: BlobStore,
    engine: Engine,
    *,
    caller: Caller,
    request: Request,
    policy: SynthesisPolicy,
    stream_format: str | None = None,
    stream_sample_rate: int | None = None,
) -> AudioStream:
    """Start streaming: returns once the first bytes are ready (see the module contract).

    `stream_format` defaults to the stored format (`request.format`); `stream_sample_rate` to the engine's."""
    fmt = stream_format or request.format
    job = start(store, blobs, engine, caller=caller, request=request, policy=policy, stream_format=fmt)
    try:
        return AudioStream(store, blobs, engine, job, rate=stream_sample_rate)
    except BaseException:
        job.meter.finish()  # nothing was sent
        raise
