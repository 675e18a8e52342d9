"""Models of the speech endpoints: voices, synthesis, the audio library.

Contract: the limits here (formats, name lengths, and the synthesis options' ranges, which come from the
one table in `core.tts.options` through `core.schemas.options`) are the API's documented validation
rules; violations answer 422. Text length is checked by the service
against MAX_TEXT_CHARS (configurable) after whitespace normalisation.
Response models present the typed records one way each: `VoiceOut.of(voice, caps)` (a built-in or a
cloned `Voice`), `VoiceList.of(voices, caps)`, `VoiceCreated.of_created(voice, caps)`,
`VoiceDeleted.of_deleted(voice)`, `AudioOut.of(record)`, `Synthesized.of(record)`, `AudioPage.of(records, cursor)`;
`audio_url(audio_id)` is where an audio's file is served. `either(...)` / `required_either(...)` take a
form field sent under our name or its original-contract alias (POST /voices: name | voice_name,
file | audio_file, description | voice_description): one of them, never both (422).
The original contract's fields stand beside ours, never instead of them: per voice `voice_id` (= `id`), `type`
(= `kind`), `user_id` (`BUILTIN_OWNER` for built-ins, the owner's id for cloned voices) and `audio_duration`
(= `duration`); the listing's `total`, `builtin` and `custom`; `success` and `message` on creation, deletion and
synthesis; `user_id` on every audio record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.errors import ValidationFailed
from core.records.audio import AudioRecord
from core.records.voices import Voice
from core.schemas.options import option_field, with_options
from core.tts.base import BuiltinVoice, Capabilities
from core.tts.builtin_voices import DEFAULT as DEFAULT_VOICE
from core.tts.builtin_voices import ORIGINAL_IDS

AudioFormatName = Literal["wav", "mp3", "ogg", "flac"]
VoiceId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
T = TypeVar("T")
BUILTIN_OWNER = "system"  # the original contract's `user_id` of a built-in voice
VoiceKind = Literal["builtin", "custom"]


class VoiceOut(BaseModel):
    id: str
    voice_id: str = Field(description="the same as id (the original contract's name)")
    name: str
    kind: VoiceKind
    type: VoiceKind = Field(description="the same as kind (the original contract's name)")
    user_id: str = Field(description=f"the owner's id; {BUILTIN_OWNER!r} for built-in voices")
    engine: str
    created_at: datetime | None = Field(default=None, description="when a custom voice was made (null: built-in)")
    description: str | None = None
    language: str | None = None
    duration: float | None = Field(default=None, description="reference clip length in seconds (custom voices)")
    audio_duration: float | None = Field(default=None, description="the same as duration (original contract)")
    available: bool = Field(description="whether the active engine can speak with this voice")

    @classmethod
    def of_builtin(cls, voice: BuiltinVoice, caps: Capabilities) -> VoiceOut:
        return cls(
            id=voice.id,
            voice_id=voice.id,
            name=voice.name,
            kind="builtin",
            type="builtin",
            user_id=BUILTIN_OWNER,
            engine=caps.name,
            language=voice.language,
            description=voice.description or None,
            available=True,
        )

    @classmethod
    def of_custom(cls, voice: Voice, caps: Capabilities) -> VoiceOut:
        return cls(
            id=voice.id,
            voice_id=voice.id,
            name=voice.name,
            kind="custom",
            type="custom",
            user_id=voice.user_id,
            # Cloned voices are spoken by a cloning engine: the active one when it can, else chatterbox.
            engine=caps.name if caps.can_clone else "chatterbox",
            created_at=voice.created_at,
            description=voice.description,
            duration=voice.duration,
            audio_duration=voice.duration,
            available=caps.can_clone,
        )

    @classmethod
    def of(cls, voice: BuiltinVoice | Voice, caps: Capabilities) -> VoiceOut:
        """A voice as `core.services.voices.list_voices` returns it, seen by the active engine."""
        return cls.of_custom(voice, caps) if isinstance(voice, Voice) else cls.of_builtin(voice, caps)


class VoiceList(BaseModel):
    engine: str
    can_clone: bool
    voices: list[VoiceOut]
    total: int = Field(description="number of voices listed")
    builtin: int = Field(description="how many of them are built in")
    custom: int = Field(description="how many of them are the caller's cloned voices")

    @classmethod
    def of(cls, voices: Sequence[BuiltinVoice | Voice], caps: Capabilities) -> VoiceList:
        out = [VoiceOut.of(v, caps) for v in voices]
        custom = sum(1 for v in out if v.kind == "custom")
        return cls(
            engine=caps.name,
            can_clone=caps.can_clone,
            voices=out,
            total=len(out),
            builtin=len(out) - custom,
            custom=custom,
        )


class VoiceCreated(VoiceOut):
    success: Literal[True] = True
    message: str = Field(description="\"Voice '<name>' created successfully\"")
    voice_info: VoiceOut = Field(description="the new voice (the original contract's nesting of the fields above)")

    @classmethod
    def of_created(cls, voice: Voice, caps: Capabilities) -> VoiceCreated:
        out = VoiceOut.of_custom(voice, caps)
        return cls.model_validate(
            {**out.model_dump(), "message": f"Voice '{voice.name}' created successfully", "voice_info": out}
        )


class VoiceDeleted(BaseModel):
    success: Literal[True] = True
    voice_id: str
    message: str = Field(description="\"Voice '<name>' deleted successfully\"")

    @classmethod
    def of_deleted(cls, voice: Voice) -> VoiceDeleted:
        return cls(voice_id=voice.id, message=f"Voice '{voice.name}' deleted successfully")


@with_options()  # adds exaggeration, cfg_weight, temperature, seed (and any later option) from the table
class SynthesizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="1..MAX_TEXT_CHARS characters (default 5000)")
    voice_id: VoiceId | None = Field(
        default=DEFAULT_VOICE,
        description=f"built-in or custom voice id (GET /voices); every engine has {', '.join(ORIGINAL_IDS)}; "
        "null: the engine's first voice, which is default",
    )
    speed: float = option_field("speed")
    pitch: float = option_field("pitch")
    format: AudioFormatName = "wav"


class SynthesizeBody(SynthesizeRequest):
    # Widens the stored formats by pcm, which exists only as a stream (mypy: a deliberate override).
    format: Literal["wav", "mp3", "ogg", "flac", "pcm"] = Field(  # type: ignore[assignment]
        default="wav", description="pcm (raw 16-bit LE mono) only with stream: true; stored as wav"
    )
    stream: bool = Field(default=False, description="send the audio itself, chunk by chunk, as it is made")


class AudioOut(BaseModel):
    audio_id: str
    user_id: str = Field(description="the owner's id")
    duration: float
    sample_rate: int
    format: AudioFormatName
    characters: int
    engine: str
    voice_id: str
    created_at: datetime
    size_bytes: int
    text: str
    speed: float
    pitch: float
    options_ignored: list[str] = Field(
        default_factory=list, description="engine options in the request that the active engine does not support"
    )
    url: str = Field(description="where to download the audio")

    @classmethod
    def of(cls, record: AudioRecord) -> AudioOut:
        return cls(
            audio_id=record.audio_id,
            user_id=record.user_id,
            duration=record.duration,
            sample_rate=record.sample_rate,
            format=record.format,
            characters=record.characters,
            engine=record.engine,
            voice_id=record.voice_id,
            created_at=record.created_at,
            size_bytes=record.size_bytes,
            text=record.text,
            speed=record.speed,
            pitch=record.pitch,
            options_ignored=list(record.options_ignored),
            url=audio_url(record.audio_id),
        )


class Synthesized(AudioOut):
    success: Literal[True] = True
    message: str = Field(description="what was made, with which voice")

    @classmethod
    def of(cls, record: AudioRecord) -> Synthesized:
        message = f"Speech synthesized successfully using voice '{record.voice_id}'"
        return cls.model_validate({**AudioOut.of(record).model_dump(), "message": message})


def either(name: str, value: T | None, alias: str, aliased: T | None) -> T | None:
    """The form field sent as `name` or as its original-contract `alias` (None: neither); 422 if both."""
    if value is not None and aliased is not None:
        raise ValidationFailed(
            f"{name}: send either {name} or {alias}, not both",
            details=[{"loc": ["body", alias], "msg": f"conflicts with {name}", "type": "conflict"}],
        )
    return value if value is not None else aliased


def required_either(name: str, value: T | None, alias: str, aliased: T | None) -> T:
    """`either(...)`, and 422 (missing) when neither was sent."""
    chosen = either(name, value, alias, aliased)
    if chosen is None:
        raise ValidationFailed(
            f"{name}: Field required (or {alias})",
            details=[{"loc": ["body", name], "msg": "Field required", "type": "missing"}],
        )
    return chosen


def audio_url(audio_id: str) -> str:
    """Where the API serves an audio's file (GET /audio/{audio_id})."""
    return f"/audio/{audio_id}"


class AudioPage(BaseModel):
    items: list[AudioOut]
    next_cursor: str | None

    @classmethod
    def of(cls, records: Sequence[AudioRecord], cursor: str | None) -> AudioPage:
        return cls(items=[AudioOut.of(r) for r in records], next_cursor=cursor)
