"""Synthesis: text + voice + options -> an audio record in the caller's library (streamed: core.services.streams).

Contract:
- Text must hold no control character but tab and newlines (422 invalid_text, `core.tts.text.check_text`),
  is whitespace-normalised and must have 1..`policy.max_text_chars` characters (ValidationFailed
  otherwise), and the engine's estimate of its audio (`engine.estimate_seconds`, speed included) must
  not pass `policy.max_audio_seconds` (MAX_AUDIO_SECONDS_PER_REQUEST; 422 audio_too_long, details
  {estimated_seconds, limit_seconds}): all checked in `prepare`, before any charge or engine work.
- Engine options the active engine does not honour are reported back in `options_ignored`, never
  silently dropped; so are options the caller's API accepts but does not use (`Request.ignored`, e.g.
  OpenAI's `instructions`). Speed and pitch (0.5..2.0) are honoured by every engine.
- The audio blob (`AudioRecord.blob_key`) is written first, then the `core.records.audio.AudioRecord`
  (returned) with a must-not-exist condition, only while the account exists (`owned.put_owned`: an
  account deleted during the work answers 401 `account_deleted`); if the record cannot be written the
  blob is removed.
  An engine failure writes nothing. Either both exist or neither does. A record made through an API
  key carries `api_key_id`.
- Policy (core.services.policy.SynthesisPolicy, required): `synthesize` and `streams.stream` apply it
  themselves, whoever calls them. First the caller's synthesis rate (429 rate_limited with Retry-After,
  before any other check or work), then the checks above (`max_text_chars`, `max_audio_seconds`), then
  the daily quota: the text's characters and the engine's `estimate_seconds` are reserved against the
  user's day (`policy.quota`; 429 quota_exceeded when either would go over). A stored record settles the
  hold to the text's characters and the audio's real seconds, and the caller's API key's character count
  grows by the same characters; a job that stores nothing is charged nothing. A process that dies
  mid-job leaves a hold that stops counting after the grace period.
- Job plumbing shared with core.services.streams: `start` (all the admission above, returns a `Job`
  carrying the hold's `Meter`) and `save` (the store step above, which settles the meter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.errors import ValidationFailed
from core.records.audio import AudioRecord
from core.services import limits, voices
from core.services import quota as quotas
from core.services.clock import sortable_id, utcnow_iso
from core.services.owned import put_owned
from core.services.policy import Caller, SynthesisPolicy
from core.storage import MUST_NOT_EXIST, BlobStore, KVStore
from core.tts import options as option_table
from core.tts.base import Audio, Engine, SynthesisOptions, VoiceSpec
from core.tts.budget import check_audio_length
from core.tts.text import check_text, normalize

ENGINE_OPTIONS = option_table.ENGINE_OPTIONS  # engine-specific options, from the one table


@dataclass(frozen=True)
class Request:
    text: str
    voice_id: str | None = None
    speed: float = 1.0
    pitch: float = 1.0
    format: str = "wav"  # the stored (library) format
    engine_options: Mapping[str, float | int | None] | None = None  # by name, from core.tts.options' table
    ignored: Sequence[str] = ()  # options the calling API accepted but does not use


def prepare(
    store: KVStore, blobs: BlobStore, engine: Engine, *, user_id: str, request: Request, policy: SynthesisPolicy
) -> tuple[str, VoiceSpec, SynthesisOptions, list[str]]:
    """Validate and resolve a request: (clean text, voice, options, ignored option names)."""
    check_text(request.text)
    text = normalize(request.text)
    if not text:
        raise ValidationFailed("text: must contain at least one non-space character", code="text_empty")
    if len(text) > policy.max_text_chars:
        raise ValidationFailed(
            f"text: {len(text)} characters; the limit is {policy.max_text_chars}", code="text_too_long"
        )
    given = {k: v for k, v in (request.engine_options or {}).items() if v is not None}
    supported = set(engine.capabilities.options)
    ignored = sorted({*(k for k in given if k not in supported), *request.ignored})
    honoured = {k: v for k, v in given.items() if k in supported}  # names and kinds: core.tts.options' table
    options = option_table.with_values(SynthesisOptions(speed=request.speed, pitch=request.pitch), honoured)
    check_audio_length(engine.estimate_seconds(text, options), limit=policy.max_audio_seconds, speed=options.speed)
    voice = voices.resolve(store, blobs, engine, user_id=user_id, voice_id=request.voice_id)
    return text, voice, options, ignored


@dataclass(frozen=True)
class Job:
    """One admitted synthesis: what to make, for whom, and the meter that charges what gets delivered."""

    user_id: str
    audio_id: str
    text: str
    voice: VoiceSpec
    options: SynthesisOptions
    ignored: list[str]
    request: Request
    api_key_id: str | None
    meter: quotas.Meter  # charges the quota hold and the API key what gets delivered
    stream_format: str | None  # the checked stream format, for a streamed job


def save(store: KVStore, blobs: BlobStore, engine: Engine, job: Job, audio: Audio) -> AudioRecord:
    """Store the audio and its record (both or neither) and settle the job's meter to it."""
    from core.tts import codecs

    fmt = job.request.format
    data = codecs.encode(audio, fmt)
    voice_id = job.request.voice_id or job.voice.builtin_id
    if voice_id is None:  # resolve() names a built-in whenever no voice id was asked for
        raise RuntimeError("a synthesis job without a voice id")
    record = AudioRecord.new(
        user_id=job.user_id,
        audio_id=job.audio_id,
        text=job.text,
        voice_id=voice_id,
        engine=engine.capabilities.name,
        format=fmt,
        extension=codecs.extension(fmt),
        sample_rate=codecs.output_rate(audio.sample_rate, fmt),
        duration=audio.duration,
        size_bytes=len(data),
        speed=job.request.speed,
        pitch=job.request.pitch,
        options_ignored=job.ignored,
        created_at=utcnow_iso(),
        api_key_id=job.api_key_id,
    )
    blobs.put(record.blob_key, data, content_type=codecs.content_type(fmt))
    try:
        # Only while the account exists (else 401 account_deleted).
        put_owned(store, record.to_item(), cond=MUST_NOT_EXIST)
    except BaseException:
        blobs.delete(record.blob_key)
        raise
    job.meter.finish(characters=len(job.text), seconds=audio.duration)  # a stored record is delivered work
    return record


def start(
    store: KVStore,
    blobs: BlobStore,
    engine: Engine,
    *,
    caller: Caller,
    request: Request,
    policy: SynthesisPolicy,
    stream_format: str | None = None,
) -> Job:
    """Admit a job, or refuse it before any work: rate limit, formats, `prepare`, quota hold (in that order)."""
    from core.tts import codecs

    limits.hit(store, rate=policy.rate, key=caller.user_id)
    codecs.get_format(request.format)  # an unknown stored format is refused before any work
    if stream_format is not None:
        from core.tts.streaming import check_stream_format

        stream_format = check_stream_format(stream_format)
    text, voice, options, ignored = prepare(
        store, blobs, engine, user_id=caller.user_id, request=request, policy=policy
    )
    seconds = engine.estimate_seconds(text, options)
    hold = quotas.reserve(store, user_id=caller.user_id, characters=len(text), seconds=seconds, limits=policy.quota)
    meter = quotas.Meter(store, user_id=caller.user_id, hold=hold, api_key_id=caller.api_key_id)
    return Job(
        caller.user_id, sortable_id(), text, voice, options, ignored, request, caller.api_key_id, meter, stream_format
    )


def synthesize(
    store: KVStore, blobs: BlobStore, engine: Engine, *, caller: Caller, request: Request, policy: SynthesisPolicy
) -> AudioRecord:
    """Make and store the audio of `request` for `caller`, under `policy` (see the module contract)."""
    job = start(store, blobs, engine, caller=caller, request=request, policy=policy)
    try:
        audio = engine.synthesize(job.text, job.voice, job.options)
        return save(store, blobs, engine, job, audio)
    finally:
        job.meter.finish()  # nothing stored: nothing delivered, nothing charged
