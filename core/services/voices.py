"""Voices: the active engine's built-ins plus each user's cloned voices.

Contract:
- A custom voice is a `core.records.voices.Voice` (its item, keys and blobs are defined there): the
  reference clip (normalised mono 24 kHz FLAC) and conditionals prepared per voice format.
- `list_voices`: the active engine's built-ins (`BuiltinVoice`), then the user's `Voice` records,
  oldest first; handlers present them (core.schemas.speech.VoiceOut).
- `create` -> the new `Voice`: the clip must decode (WAV, FLAC, OGG, MP3), last 3..60 s and not be silent.
  It is decoded within `policy.max_decoded_samples` (a core.services.policy.MediaPolicy; channels x
  frames, checked from the header: 413 beyond) straight to mono 24 kHz block by block, and decoded and
  analysed inside one of `policy.decode_slots` process-wide slots, so memory is bounded by the mono clip,
  not by the source's channels x rate. Conditionals are computed once here when the active engine can
  clone. Blobs are written before the record and removed again if the record cannot be written: no
  orphans, no record without its blobs. The record (and conditionals prepared later) is stored only while
  the account exists (`owned.put_owned`): a voice whose account was deleted meanwhile answers 401
  `account_deleted` and leaves nothing.
- `get_custom` -> the user's `Voice` (404 voice_not_found otherwise).
- `resolve`: a voice id -> `VoiceSpec` for the engine; a custom voice on an engine that cannot clone
  raises `CloningUnsupported` (never a silent swap to another voice); another user's voice id is
  indistinguishable from a missing one (404).
- `delete` -> the deleted `Voice`: built-ins 403; the record goes first, then its blobs; audio made with it
  stays intact.
"""

from __future__ import annotations

import re

from core.errors import ConditionFailed, Forbidden, NotFound, ValidationFailed
from core.records import keys
from core.records.voices import Voice
from core.services.clock import ID_PATTERN, sortable_id, utcnow_iso
from core.services.owned import delete_with_blobs, put_owned
from core.services.policy import MediaPolicy
from core.storage import MUST_EXIST, MUST_NOT_EXIST, BlobNotFound, BlobStore, KVStore, query_all
from core.tts.base import Audio, BuiltinVoice, CloningUnsupported, Engine, VoiceSpec

MIN_SECONDS = 3.0
MAX_SECONDS = 60.0
_CUSTOM_ID = re.compile(ID_PATTERN)


def list_voices(store: KVStore, engine: Engine, *, user_id: str) -> list[BuiltinVoice | Voice]:
    custom = map(Voice.from_item, query_all(store, keys.user_pk(user_id), sk_prefix=keys.VOICE))
    return [*engine.voices(), *custom]


def get_custom(store: KVStore, *, user_id: str, voice_id: str) -> Voice:
    item = store.get(*keys.voice(user_id, voice_id)) if _CUSTOM_ID.match(voice_id) else None
    if item is None:
        raise NotFound(f"Voice '{voice_id}' not found", code="voice_not_found")
    return Voice.from_item(item)


def _reference_clip(data: bytes, *, max_decoded_samples: int, decode_slots: int) -> Audio:
    """The upload as a stored reference, decoded straight to mono 24 kHz inside a decode slot."""
    from core.tts import codecs

    with codecs.decode_slot(limit=decode_slots):
        clip = codecs.decode(
            data, max_duration_s=MAX_SECONDS + 0.5, max_samples=max_decoded_samples, rate=codecs.REFERENCE_RATE
        )
        if clip.duration < MIN_SECONDS:
            raise ValidationFailed(
                f"Reference audio is {clip.duration:.1f} s; it must last {MIN_SECONDS:.0f} to {MAX_SECONDS:.0f} s",
                code="audio_too_short",
            )
        if codecs.is_silent(clip):
            raise ValidationFailed("Reference audio is silent", code="audio_silent")
        return codecs.normalize_reference(clip)


def create(
    store: KVStore,
    blobs: BlobStore,
    engine: Engine,
    *,
    user_id: str,
    name: str,
    description: str | None,
    data: bytes,
    policy: MediaPolicy,
) -> Voice:
    from core.tts import codecs

    reference = _reference_clip(data, max_decoded_samples=policy.max_decoded_samples, decode_slots=policy.decode_slots)
    if reference.duration < MIN_SECONDS:
        raise ValidationFailed(
            f"Reference audio has only {reference.duration:.1f} s of sound; at least {MIN_SECONDS:.0f} s are needed",
            code="audio_too_short",
        )
    caps = engine.capabilities
    voice_format = caps.voice_format if caps.can_clone else None
    # Prepared before any write: an engine error leaves nothing.
    prepared = engine.prepare_voice(reference) if voice_format else None
    voice = Voice.new(
        user_id=user_id,
        voice_id=sortable_id(),
        name=name,
        description=description,
        created_at=utcnow_iso(),
        duration=reference.duration,
        voice_format=voice_format,
    )
    written: list[str] = []
    try:
        blobs.put(voice.reference_key, codecs.encode(reference, "flac"), content_type="audio/flac")
        written.append(voice.reference_key)
        if prepared is not None and voice_format:
            key = voice.conditionals_blob(voice_format)
            blobs.put(key, prepared)
            written.append(key)
        put_owned(store, voice.to_item(), cond=MUST_NOT_EXIST)
    except BaseException:
        for key in written:
            blobs.delete(key)
        raise
    return voice


def resolve(store: KVStore, blobs: BlobStore, engine: Engine, *, user_id: str, voice_id: str | None) -> VoiceSpec:
    builtins = engine.voices()
    if voice_id is None:
        return VoiceSpec(builtin_id=builtins[0].id)
    if any(v.id == voice_id for v in builtins):
        return VoiceSpec(builtin_id=voice_id)
    voice = get_custom(store, user_id=user_id, voice_id=voice_id)
    caps = engine.capabilities
    if not caps.can_clone or not caps.voice_format:
        raise CloningUnsupported(
            f"Voice '{voice_id}' is a cloned voice; engine '{caps.name}' cannot speak with cloned voices. "
            "Use a built-in voice, or run with TTS_ENGINE=chatterbox or runpod."
        )
    key = voice.conditionals_key(caps.voice_format)
    if key:
        try:
            return VoiceSpec(conditionals=blobs.get(key))
        except BlobNotFound:
            pass  # prepared again below
    return VoiceSpec(conditionals=_prepare_later(store, blobs, engine, voice, caps.voice_format))


def _prepare_later(store: KVStore, blobs: BlobStore, engine: Engine, voice: Voice, voice_format: str) -> bytes:
    """Conditionals for a voice created under an engine that could not clone: made once, then kept."""
    from core.tts import codecs

    try:
        clip = codecs.decode(blobs.get(voice.reference_key), max_duration_s=MAX_SECONDS + 1)
    except BlobNotFound as exc:
        raise NotFound(f"Voice '{voice.id}' has lost its reference audio", code="voice_not_found") from exc
    prepared = engine.prepare_voice(Audio(clip.samples, clip.sample_rate))
    updated = voice.with_conditionals(voice_format)
    key = updated.conditionals_blob(voice_format)
    blobs.put(key, prepared)
    try:
        put_owned(store, updated.to_item(), cond=MUST_EXIST)
    except ConditionFailed as exc:  # the voice was deleted meanwhile
        blobs.delete(key)
        raise NotFound(f"Voice '{voice.id}' not found", code="voice_not_found") from exc
    except BaseException:
        blobs.delete(key)
        raise
    return prepared


def delete(store: KVStore, blobs: BlobStore, engine: Engine, *, user_id: str, voice_id: str) -> Voice:
    if any(v.id == voice_id for v in engine.voices()):
        raise Forbidden(f"Voice '{voice_id}' is built in and cannot be deleted", code="builtin_voice")
    voice = get_custom(store, user_id=user_id, voice_id=voice_id)
    delete_with_blobs(store, blobs, voice.to_item())
    return voice
