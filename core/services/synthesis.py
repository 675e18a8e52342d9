"""Synthesis: text + voice + options -> an audio record in the caller's library, whole or streamed.

Contract:
- Text must hold no control character but tab and newlines (422 invalid_text, `core.tts.text.check_text`),
  is whitespace-normalised and must have 1..max_chars characters (ValidationFailed otherwise), and the
  engine's estimate of its audio (`engine.estimate_seconds`, speed included) must not pass
  MAX_AUDIO_SECONDS_PER_REQUEST (422 audio_too_long, details {estimated_seconds, limit_seconds}): all
  checked in `prepare`, before any charge or engine work.
- Engine options the active engine does not honour are reported back in `options_ignored`, never
  silently dropped; so are options the caller's API accepts but does not use (`Request.ignored`, e.g.
  OpenAI's `instructions`). Speed and pitch (0.5..2.0) are honoured by every engine.
- The audio blob (`audio/<uid>/<aid>.<ext>`) is written first, then the record `USER#<uid>` /
  `AUDIO#<aid>` with a must-not-exist condition; if the record cannot be written the blob is removed.
  An engine failure writes nothing. Either both exist or neither does. A record made through an API
  key carries `api_key_id`, and the key's character count grows by the text's length.
- The text's characters are charged to the user's daily quota (`quota`, 0 = unlimited) before the
  engine runs (429 quota_exceeded when it would go over) and refunded if no record gets stored.
- `stream(...)` validates and resolves everything, then pulls the engine until the first encoded bytes
  exist before it returns, so bad requests and a failure on the first sentence raise from the call
  itself (normal error responses). The returned `AudioStream` yields those bytes and then more as each
  sentence is ready, in `stream_format` (one continuous encoder: see core.tts.streaming). When the engine
  is done, the whole utterance is encoded again in `request.format` and stored exactly as `synthesize`
  stores it, under the audio id known from the start, before the last bytes are yielded. A stream that
  fails or is abandoned (client gone) before that point stores nothing.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ValidationFailed
from core.services import voices
from core.services.clock import sortable_id, utcnow_iso
from core.services.users import user_pk
from core.storage import MUST_NOT_EXIST, BlobStore, Item, KVStore
from core.tts.base import Audio, Engine, SynthesisOptions, VoiceSpec
from core.tts.budget import check_audio_length
from core.tts.text import check_text, normalize

if TYPE_CHECKING:
    from core.tts.base import FloatArray
    from core.tts.streaming import StreamEncoder

ENGINE_OPTIONS = ("exaggeration", "cfg_weight", "temperature", "seed")


@dataclass(frozen=True)
class Request:
    text: str
    voice_id: str | None = None
    speed: float = 1.0
    pitch: float = 1.0
    format: str = "wav"  # the stored (library) format
    engine_options: dict[str, Any] | None = None
    ignored: Sequence[str] = ()  # options the calling API accepted but does not use


def audio_key(user_id: str, audio_id: str, fmt: str) -> str:
    from core.tts import codecs

    return f"audio/{user_id}/{audio_id}.{codecs.extension(fmt)}"


def prepare(
    store: KVStore,
    blobs: BlobStore,
    engine: Engine,
    *,
    user_id: str,
    request: Request,
    max_chars: int,
    max_audio_seconds: float | None = None,
) -> tuple[str, VoiceSpec, SynthesisOptions, list[str]]:
    """Validate and resolve a request: (clean text, voice, options, ignored option names).

    `max_audio_seconds` defaults to Settings' MAX_AUDIO_SECONDS_PER_REQUEST."""
    check_text(request.text)
    text = normalize(request.text)
    if not text:
        raise ValidationFailed("text: must contain at least one non-space character", code="text_empty")
    if len(text) > max_chars:
        raise ValidationFailed(f"text: {len(text)} characters; the limit is {max_chars}", code="text_too_long")
    given = {k: v for k, v in (request.engine_options or {}).items() if v is not None}
    supported = set(engine.capabilities.options)
    ignored = sorted({*(k for k in given if k not in supported), *request.ignored})
    options = SynthesisOptions(
        speed=request.speed, pitch=request.pitch, **{k: v for k, v in given.items() if k in supported}
    )
    if max_audio_seconds is None:
        from core.config import get_settings

        max_audio_seconds = get_settings().max_audio_seconds_per_request
    check_audio_length(engine.estimate_seconds(text, options), limit=max_audio_seconds, speed=options.speed)
    voice = voices.resolve(store, blobs, engine, user_id=user_id, voice_id=request.voice_id)
    return text, voice, options, ignored


@dataclass(frozen=True)
class _Job:
    user_id: str
    audio_id: str
    text: str
    voice: VoiceSpec
    options: SynthesisOptions
    ignored: list[str]
    request: Request
    api_key_id: str | None
    usage_key: str | None  # today's quota counter, refunded when nothing gets stored


def _refund(store: KVStore, job: _Job) -> None:
    from core.services import limits

    limits.refund(store, user_id=job.user_id, usage_key=job.usage_key, characters=len(job.text))


def _save(store: KVStore, blobs: BlobStore, engine: Engine, job: _Job, audio: Audio) -> Item:
    from core.tts import codecs

    fmt = job.request.format
    data = codecs.encode(audio, fmt)
    key = audio_key(job.user_id, job.audio_id, fmt)
    item: Item = {
        "pk": user_pk(job.user_id),
        "sk": f"AUDIO#{job.audio_id}",
        "audio_id": job.audio_id,
        "text": job.text,
        "characters": len(job.text),
        "voice_id": job.request.voice_id or job.voice.builtin_id,
        "engine": engine.capabilities.name,
        "format": fmt,
        "sample_rate": codecs.output_rate(audio.sample_rate, fmt),
        "duration": round(audio.duration, 3),
        "size_bytes": len(data),
        "speed": job.request.speed,
        "pitch": job.request.pitch,
        "options_ignored": job.ignored,
        "created_at": utcnow_iso(),
        "blob_key": key,
        "blob_keys": [key],
    }
    if job.api_key_id is not None:
        item["api_key_id"] = job.api_key_id
    blobs.put(key, data, content_type=codecs.content_type(fmt))
    try:
        store.put(item, cond=MUST_NOT_EXIST)
    except BaseException:
        blobs.delete(key)
        raise
    if job.api_key_id is not None:
        from core.services import api_keys

        api_keys.record_use(store, user_id=job.user_id, key_id=job.api_key_id, characters=len(job.text))
    return item


def _job(
    store: KVStore,
    blobs: BlobStore,
    engine: Engine,
    *,
    user_id: str,
    request: Request,
    max_chars: int,
    api_key_id: str | None,
    quota: int,
) -> _Job:
    from core.services import limits
    from core.tts import codecs

    codecs.get_format(request.format)  # an unknown stored format is refused before any work
    text, voice, options, ignored = prepare(store, blobs, engine, user_id=user_id, request=request, max_chars=max_chars)
    usage_key = limits.charge_characters(store, user_id=user_id, characters=len(text), quota=quota)
    return _Job(user_id, sortable_id(), text, voice, options, ignored, request, api_key_id, usage_key)


def synthesize(
    store: KVStore,
    blobs: BlobStore,
    engine: Engine,
    *,
    user_id: str,
    request: Request,
    max_chars: int,
    api_key_id: str | None = None,
    quota: int = 0,
) -> Item:
    job = _job(
        store, blobs, engine, user_id=user_id, request=request, max_chars=max_chars, api_key_id=api_key_id, quota=quota
    )
    try:
        audio = engine.synthesize(job.text, job.voice, job.options)
        return _save(store, blobs, engine, job, audio)
    except BaseException:
        _refund(store, job)
        raise


class AudioStream:
    """Encoded audio bytes of one synthesis, sentence by sentence; see the module contract."""

    def __init__(
        self, store: KVStore, blobs: BlobStore, engine: Engine, job: _Job, *, fmt: str, rate: int | None
    ) -> None:
        from core.tts import codecs
        from core.tts.streaming import stream_rate

        self.audio_id = job.audio_id
        self.text = job.text
        self.options_ignored = list(job.ignored)
        self.format = fmt
        self.content_type = codecs.content_type(fmt)
        self.sample_rate = stream_rate(fmt, rate or engine.capabilities.sample_rate)  # exact once primed
        self.item: Item | None = None  # the stored record, once the engine is done
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

    def _run(self, store: KVStore, blobs: BlobStore, engine: Engine, job: _Job) -> Generator[bytes, None, None]:
        import numpy as np

        from core.tts.codecs import resample

        pieces: list[FloatArray] = []
        rate: int | None = None
        try:
            for audio in engine.stream(job.text, job.voice, job.options):
                rate = rate or audio.sample_rate
                same = audio if audio.sample_rate == rate else resample(audio, rate)
                pieces.append(np.asarray(same.samples, dtype=np.float32).reshape(-1))
                out = self._encoder_for(rate).feed(same)
                if out:
                    yield out
            rate = rate or engine.capabilities.sample_rate
            tail = self._encoder_for(rate).finish()
            whole = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
            self.item = _save(store, blobs, engine, job, Audio(whole.astype(np.float32, copy=False), rate))
            if tail:
                yield tail
        except BaseException:  # failed or abandoned (GeneratorExit) before the record was stored
            if self.item is None:
                _refund(store, job)
            raise
        finally:
            if self._encoder is not None:
                self._encoder.close()

    def __iter__(self) -> Iterator[bytes]:
        if self._first:
            yield self._first
        yield from self._chunks

    def close(self) -> None:
        """Abandon the stream: nothing more is synthesised, and nothing is stored if not yet done."""
        self._chunks.close()


def stream(
    store: KVStore,
    blobs: BlobStore,
    engine: Engine,
    *,
    user_id: str,
    request: Request,
    max_chars: int,
    stream_format: str | None = None,
    stream_sample_rate: int | None = None,
    api_key_id: str | None = None,
    quota: int = 0,
) -> AudioStream:
    """Start streaming: returns once the first bytes are ready (see the module contract)."""
    from core.tts.streaming import check_stream_format

    fmt = check_stream_format(stream_format or request.format)  # refused before any work
    job = _job(
        store, blobs, engine, user_id=user_id, request=request, max_chars=max_chars, api_key_id=api_key_id, quota=quota
    )
    return AudioStream(store, blobs, engine, job, fmt=fmt, rate=stream_sample_rate)
