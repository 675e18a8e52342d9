"""Synthesis: text + voice + options -> an audio record in the caller's library.

Contract:
- Text is whitespace-normalised and must have 1..max_chars characters (ValidationFailed otherwise).
- Engine options the active engine does not honour are reported back in `options_ignored`, never
  silently dropped; speed and pitch (0.5..2.0) are honoured by every engine.
- The audio blob (`audio/<uid>/<aid>.<ext>`) is written first, then the record `USER#<uid>` /
  `AUDIO#<aid>` with a must-not-exist condition; if the record cannot be written the blob is removed.
  An engine failure writes nothing. Either both exist or neither does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import ValidationFailed
from core.services import voices
from core.services.clock import sortable_id, utcnow_iso
from core.services.users import user_pk
from core.storage import MUST_NOT_EXIST, BlobStore, Item, KVStore
from core.tts.base import Engine, SynthesisOptions, VoiceSpec
from core.tts.text import normalize

ENGINE_OPTIONS = ("exaggeration", "cfg_weight", "temperature", "seed")


@dataclass(frozen=True)
class Request:
    text: str
    voice_id: str | None = None
    speed: float = 1.0
    pitch: float = 1.0
    format: str = "wav"
    engine_options: dict[str, Any] | None = None


def audio_key(user_id: str, audio_id: str, fmt: str) -> str:
    from core.tts import codecs

    return f"audio/{user_id}/{audio_id}.{codecs.extension(fmt)}"


def prepare(
    store: KVStore, blobs: BlobStore, engine: Engine, *, user_id: str, request: Request, max_chars: int
) -> tuple[str, VoiceSpec, SynthesisOptions, list[str]]:
    """Validate and resolve a request: (clean text, voice, options, ignored option names)."""
    text = normalize(request.text)
    if not text:
        raise ValidationFailed("text: must contain at least one non-space character", code="text_empty")
    if len(text) > max_chars:
        raise ValidationFailed(f"text: {len(text)} characters; the limit is {max_chars}", code="text_too_long")
    given = {k: v for k, v in (request.engine_options or {}).items() if v is not None}
    supported = set(engine.capabilities.options)
    ignored = sorted(k for k in given if k not in supported)
    options = SynthesisOptions(
        speed=request.speed, pitch=request.pitch, **{k: v for k, v in given.items() if k in supported}
    )
    voice = voices.resolve(store, blobs, engine, user_id=user_id, voice_id=request.voice_id)
    return text, voice, options, ignored


def synthesize(
    store: KVStore, blobs: BlobStore, engine: Engine, *, user_id: str, request: Request, max_chars: int
) -> Item:
    from core.tts import codecs

    text, voice, options, ignored = prepare(store, blobs, engine, user_id=user_id, request=request, max_chars=max_chars)
    audio = engine.synthesize(text, voice, options)
    data = codecs.encode(audio, request.format)
    audio_id = sortable_id()
    key = audio_key(user_id, audio_id, request.format)
    item: Item = {
        "pk": user_pk(user_id),
        "sk": f"AUDIO#{audio_id}",
        "audio_id": audio_id,
        "text": text,
        "characters": len(text),
        "voice_id": request.voice_id or voice.builtin_id,
        "engine": engine.capabilities.name,
        "format": request.format,
        "sample_rate": codecs.output_rate(audio.sample_rate, request.format),
        "duration": round(audio.duration, 3),
        "size_bytes": len(data),
        "speed": request.speed,
        "pitch": request.pitch,
        "options_ignored": ignored,
        "created_at": utcnow_iso(),
        "blob_key": key,
        "blob_keys": [key],
    }
    blobs.put(key, data, content_type=codecs.content_type(request.format))
    try:
        store.put(item, cond=MUST_NOT_EXIST)
    except BaseException:
        blobs.delete(key)
        raise
    return item
