"""The documents inside an account export (GET /profile/export): one JSON file per record.

Contract: each model presents one record (core.records) as the archive stores it, with `of(...)`:
- `ProfileDoc` (profile.json): the account's attributes, never the password hash.
- `VoiceDoc` (voices/<id>.json): a cloned voice; `file` names its reference clip in the archive
  (voices/<id>.flac), or is None when the clip could not be read. Prepared conditionals are an engine's
  cache, derived from the clip, and are not exported.
- `AudioDoc` (audio/<id>.json): an audio record; `file` names the stored audio in the archive
  (audio/<id>.<ext>), or None when it could not be read. Cached format conversions are not exported.
- `ManifestDoc` (manifest.json, the last entry): the archive's format, when it was made and what it holds.
Blob keys (internal storage paths) never appear; `EXPORT_FORMAT` names this layout and changes with it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from core.records.audio import AudioRecord
from core.records.users import Role, User
from core.records.voices import Voice

EXPORT_FORMAT = "chatterbox-tts-export/1"


class ProfileDoc(BaseModel):
    id: str
    username: str
    email: str
    full_name: str | None
    created_at: datetime
    role: Role
    is_active: bool
    quota_chars_per_day: int | None

    @classmethod
    def of(cls, user: User) -> ProfileDoc:
        return cls.model_validate(user, from_attributes=True)


class VoiceDoc(BaseModel):
    id: str
    name: str
    description: str | None
    created_at: datetime
    duration: float | None
    file: str | None

    @classmethod
    def of(cls, voice: Voice, *, file: str | None) -> VoiceDoc:
        return cls(
            id=voice.id,
            name=voice.name,
            description=voice.description,
            created_at=datetime.fromisoformat(voice.created_at),
            duration=voice.duration,
            file=file,
        )


class AudioDoc(BaseModel):
    id: str
    text: str
    characters: int
    voice_id: str
    engine: str
    format: str
    sample_rate: int
    duration: float
    size_bytes: int
    speed: float
    pitch: float
    options_ignored: list[str]
    created_at: datetime
    api_key_id: str | None
    file: str | None

    @classmethod
    def of(cls, record: AudioRecord, *, file: str | None) -> AudioDoc:
        return cls(
            id=record.audio_id,
            text=record.text,
            characters=record.characters,
            voice_id=record.voice_id,
            engine=record.engine,
            format=record.format,
            sample_rate=record.sample_rate,
            duration=record.duration,
            size_bytes=record.size_bytes,
            speed=record.speed,
            pitch=record.pitch,
            options_ignored=list(record.options_ignored),
            created_at=datetime.fromisoformat(record.created_at),
            api_key_id=record.api_key_id,
            file=file,
        )


class ManifestDoc(BaseModel):
    format: str = EXPORT_FORMAT
    exported_at: datetime
    user_id: str
    voices: int
    audio: int
    missing_files: list[str]  # records whose file could not be read (deleted meanwhile, or lost)
