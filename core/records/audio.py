"""The audio record: one generated utterance in a user's library, its store item and its blobs.

Contract: an `AudioRecord` (named apart from `core.tts.base.Audio`, the samples) is stored as
`USER#<uid>` / `AUDIO#<aid>` (`core.records.keys.audio`) with the attributes audio_id, text,
characters, voice_id, engine, format, sample_rate, duration, size_bytes, speed, pitch,
options_ignored, created_at, blob_key (the stored file, `audio/<uid>/<aid>.<ext>`), conversions
({format: blob key} of cached conversions, `audio/<uid>/<aid>.<ext>` too), blob_keys (every blob it
owns: deleted with it) and, for audio made through an API key, api_key_id (absent otherwise). Blob
keys are named only by `core.records.keys`; file extensions come from the caller (core.tts.codecs),
so this module stays free of audio libraries. `from_item(r.to_item()) == r`; attributes an older
item lacks read as empty. Records are immutable: `with_conversion` returns the record with one more
cached format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.records import keys


@dataclass(frozen=True)
class AudioRecord:
    audio_id: str
    user_id: str
    text: str
    characters: int
    voice_id: str
    engine: str
    format: str
    sample_rate: int
    duration: float  # seconds
    size_bytes: int
    speed: float
    pitch: float
    options_ignored: tuple[str, ...]
    created_at: str  # ISO 8601, UTC
    blob_key: str
    blob_keys: tuple[str, ...]
    conversions: Mapping[str, str] = field(default_factory=dict, hash=False)  # format -> blob key
    api_key_id: str | None = None

    @classmethod
    def new(
        cls,
        *,
        user_id: str,
        audio_id: str,
        text: str,
        voice_id: str,
        engine: str,
        format: str,
        extension: str,
        sample_rate: int,
        duration: float,
        size_bytes: int,
        speed: float,
        pitch: float,
        options_ignored: Sequence[str],
        created_at: str,
        api_key_id: str | None,
    ) -> AudioRecord:
        """A new record whose one blob is the stored file (`audio/<uid>/<aid>.<extension>`)."""
        key = keys.audio_blob(user_id, audio_id, extension)
        return cls(
            audio_id=audio_id,
            user_id=user_id,
            text=text,
            characters=len(text),
            voice_id=voice_id,
            engine=engine,
            format=format,
            sample_rate=sample_rate,
            duration=round(duration, 3),
            size_bytes=size_bytes,
            speed=speed,
            pitch=pitch,
            options_ignored=tuple(options_ignored),
            created_at=created_at,
            blob_key=key,
            blob_keys=(key,),
            api_key_id=api_key_id,
        )

    @property
    def key(self) -> keys.Key:
        return keys.audio(self.user_id, self.audio_id)

    def conversion_blob(self, extension: str) -> str:
        """Where a conversion of this audio to a format with `extension` is cached."""
        return keys.audio_blob(self.user_id, self.audio_id, extension)

    def with_conversion(self, fmt: str, key: str) -> AudioRecord:
        """This record with its conversion to `fmt` cached at `key` (and owned: deleted with it)."""
        blob_keys = self.blob_keys if key in self.blob_keys else (*self.blob_keys, key)
        return replace(self, conversions={**self.conversions, fmt: key}, blob_keys=blob_keys)

    def to_item(self) -> dict[str, Any]:
        pk, sk = self.key
        item: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "audio_id": self.audio_id,
            "text": self.text,
            "characters": self.characters,
            "voice_id": self.voice_id,
            "engine": self.engine,
            "format": self.format,
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "size_bytes": self.size_bytes,
            "speed": self.speed,
            "pitch": self.pitch,
            "options_ignored": list(self.options_ignored),
            "created_at": self.created_at,
            "blob_key": self.blob_key,
            "blob_keys": list(self.blob_keys),
            "conversions": dict(self.conversions),
        }
        if self.api_key_id is not None:
            item["api_key_id"] = self.api_key_id
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> AudioRecord:
        api_key_id = item.get("api_key_id")
        return cls(
            audio_id=str(item["audio_id"]),
            user_id=keys.user_id_of(str(item["pk"])),
            text=str(item["text"]),
            characters=int(item["characters"]),
            voice_id=str(item["voice_id"]),
            engine=str(item["engine"]),
            format=str(item["format"]),
            sample_rate=int(item["sample_rate"]),
            duration=float(item["duration"]),
            size_bytes=int(item["size_bytes"]),
            speed=float(item["speed"]),
            pitch=float(item["pitch"]),
            options_ignored=tuple(str(o) for o in item.get("options_ignored") or ()),
            created_at=str(item["created_at"]),
            blob_key=str(item["blob_key"]),
            blob_keys=tuple(str(k) for k in item.get("blob_keys") or ()),
            conversions={str(k): str(v) for k, v in (item.get("conversions") or {}).items()},
            api_key_id=None if api_key_id is None else str(api_key_id),
        )
