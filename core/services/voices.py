"""Voices: the active engine's built-ins plus each user's cloned voices.

Contract:
- Item `USER#<uid>` / `VOICE#<vid>`: id, name, description, created_at, duration, reference_key,
  conditionals ({voice_format: blob key}), blob_keys. Blobs: `voices/<uid>/<vid>/reference.flac`
  (normalised mono 24 kHz clip) and `voices/<uid>/<vid>/<voice_format>.bin` (prepared conditionals).
- `create`: the clip must decode (WAV, FLAC, OGG, MP3), last 3..60 s and not be silent. It is decoded
  within `policy.max_decoded_samples` (a core.services.policy.MediaPolicy; channels x frames, checked
  from the header: 413 beyond) straight to mono 24 kHz block by block, and decoded and analysed inside
  one of `policy.decode_slots` process-wide slots, so
  memory is bounded by the mono clip, not by the source's channels x rate. Conditionals
  are computed once here when the active engine can clone. Blobs are written before the record and
  removed again if the record cannot be written: no orphans, no record without its blobs. The record
  (and conditionals prepared later) is stored only while the account exists (`owned.put_owned`):
  a voice whose account was deleted meanwhile answers 401 `account_deleted` and leaves nothing.
- `resolve`: a voice id -> `VoiceSpec` for the engine; a custom voice on an engine that cannot clone
  raises `CloningUnsupported` (never a silent swap to another voice); another user's voice id is
  indistinguishable from a missing one (404).
- `delete`: built-ins 403; the record goes first, then its blobs; audio made with it stays intact.
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import ConditionFailed, Forbidden, NotFound, ValidationFailed
from core.services.clock import ID_PATTERN, sortable_id, utcnow_iso
from core.services.owned import delete_with_blobs, put_owned
from core.services.policy import MediaPolicy
from core.services.users import user_pk
from core.storage import MUST_EXIST, MUST_NOT_EXIST, BlobNotFound, BlobStore, Item, KVStore
from core.tts.base import Audio, CloningUnsupported, Engine, VoiceSpec

MIN_SECONDS = 3.0
MAX_SECONDS = 60.0
_CUSTOM_ID = re.compile(ID_PATTERN)


def _sk(voice_id: str) -> str:
    return f"VOICE#{voice_id}"


def _voice_out(item: Item, engine: Engine) -> dict[str, Any]:
    caps = engine.capabilities
    return {
        "id": item["id"],
        "name": item["name"],
        "kind": "custom",
        # Cloned voices are spoken by a cloning engine: the active one when it can, else chatterbox.
        "engine": caps.name if caps.can_clone else "chatterbox",
        "created_at": item["created_at"],
        "description": item.get("description"),
        "duration": item.get("duration"),
        "available": caps.can_clone,
    }


def list_voices(store: KVStore, engine: Engine, *, user_id: str) -> list[dict[str, Any]]:
    caps = engine.capabilities
    out: list[dict[str, Any]] = [
        {
            "id": v.id,
            "name": v.name,
            "kind": "builtin",
            "engine": caps.name,
            "language": v.language,
            "description": v.description or None,
            "available": True,
        }
        for v in engine.voices()
    ]
    cursor: str | None = None
    while True:
        page = store.query(user_pk(user_id), sk_prefix="VOICE#", limit=100, cursor=cursor)
        out.extend(_voice_out(item, engine) for item in page.items)
        if page.cursor is None:
            return out
        cursor = page.cursor


def get_custom(store: KVStore, *, user_id: str, voice_id: str) -> Item:
    item = store.get(user_pk(user_id), _sk(voice_id)) if _CUSTOM_ID.match(voice_id) else None
    if item is None:
        raise NotFound(f"Voice '{voice_id}' not found", code="voice_not_found")
    return item


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
) -> dict[str, Any]:
    from core.tts import codecs

    reference = _reference_clip(data, max_decoded_samples=policy.max_decoded_samples, decode_slots=policy.decode_slots)
    if reference.duration < MIN_SECONDS:
        raise ValidationFailed(
            f"Reference audio has only {reference.duration:.1f} s of sound; at least {MIN_SECONDS:.0f} s are needed",
            code="audio_too_short",
        )
    voice_id = sortable_id()
    prefix = f"voices/{user_id}/{voice_id}"
    reference_key = f"{prefix}/reference.flac"
    caps = engine.capabilities
    conditionals: dict[str, str] = {}
    prepared: bytes | None = None
    if caps.can_clone and caps.voice_format:
        prepared = engine.prepare_voice(reference)  # before any write: an engine error leaves nothing
        conditionals[caps.voice_format] = f"{prefix}/{caps.voice_format}.bin"
    item: Item = {
        "pk": user_pk(user_id),
        "sk": _sk(voice_id),
        "id": voice_id,
        "name": name,
        "description": description,
        "created_at": utcnow_iso(),
        "duration": round(reference.duration, 3),
        "reference_key": reference_key,
        "conditionals": conditionals,
        "blob_keys": [reference_key, *conditionals.values()],
    }
    written: list[str] = []
    try:
        blobs.put(reference_key, codecs.encode(reference, "flac"), content_type="audio/flac")
        written.append(reference_key)
        if prepared is not None and caps.voice_format:
            key = conditionals[caps.voice_format]
            blobs.put(key, prepared)
            written.append(key)
        put_owned(store, item, cond=MUST_NOT_EXIST)
    except BaseException:
        for key in written:
            blobs.delete(key)
        raise
    return _voice_out(item, engine)


def resolve(store: KVStore, blobs: BlobStore, engine: Engine, *, user_id: str, voice_id: str | None) -> VoiceSpec:
    builtins = engine.voices()
    if voice_id is None:
        return VoiceSpec(builtin_id=builtins[0].id)
    if any(v.id == voice_id for v in builtins):
        return VoiceSpec(builtin_id=voice_id)
    item = get_custom(store, user_id=user_id, voice_id=voice_id)
    caps = engine.capabilities
    if not caps.can_clone or not caps.voice_format:
        raise CloningUnsupported(
            f"Voice '{voice_id}' is a cloned voice; engine '{caps.name}' cannot speak with cloned voices. "
            "Use a built-in voice, or run with TTS_ENGINE=chatterbox or runpod."
        )
    key = (item.get("conditionals") or {}).get(caps.voice_format)
    if key:
        try:
            return VoiceSpec(conditionals=blobs.get(key))
        except BlobNotFound:
            pass  # prepared again below
    return VoiceSpec(conditionals=_prepare_later(store, blobs, engine, item, caps.voice_format))


def _prepare_later(store: KVStore, blobs: BlobStore, engine: Engine, item: Item, voice_format: str) -> bytes:
    """Conditionals for a voice created under an engine that could not clone: made once, then kept."""
    from core.tts import codecs

    try:
        clip = codecs.decode(blobs.get(item["reference_key"]), max_duration_s=MAX_SECONDS + 1)
    except BlobNotFound as exc:
        raise NotFound(f"Voice '{item['id']}' has lost its reference audio", code="voice_not_found") from exc
    prepared = engine.prepare_voice(Audio(clip.samples, clip.sample_rate))
    key = f"voices/{item['pk'].removeprefix('USER#')}/{item['id']}/{voice_format}.bin"
    blobs.put(key, prepared)
    updated = {
        **item,
        "conditionals": {**(item.get("conditionals") or {}), voice_format: key},
        "blob_keys": sorted({*item.get("blob_keys", []), key}),
    }
    try:
        put_owned(store, updated, cond=MUST_EXIST)
    except ConditionFailed as exc:  # the voice was deleted meanwhile
        blobs.delete(key)
        raise NotFound(f"Voice '{item['id']}' not found", code="voice_not_found") from exc
    except BaseException:
        blobs.delete(key)
        raise
    return prepared


def delete(store: KVStore, blobs: BlobStore, engine: Engine, *, user_id: str, voice_id: str) -> None:
    if any(v.id == voice_id for v in engine.voices()):
        raise Forbidden(f"Voice '{voice_id}' is built in and cannot be deleted", code="builtin_voice")
    item = get_custom(store, user_id=user_id, voice_id=voice_id)
    delete_with_blobs(store, blobs, item)
