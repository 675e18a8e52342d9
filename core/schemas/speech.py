"""Models of the speech endpoints: voices, synthesis, the audio library.

Contract: the limits here (formats, name lengths, and the synthesis options' ranges, which come from the
one table in `core.tts.options` through `core.schemas.options`) are the API's documented validation
rules; violations answer 422. Text length is checked by the service
against MAX_TEXT_CHARS (configurable) after whitespace normalisation.
Response models present the typed records one way each: `VoiceOut.of(voice, caps)` (a built-in or a
cloned `Voice`), `VoiceList.of(voices, caps)`, `AudioOut.of(record)`, `AudioPage.of(records, cursor)`;
`audio_url(audio_id)` is where an audio's file is served.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.records.audio import AudioRecord
from core.records.voices import Voice
from core.schemas.options import option_field, with_options
from core.tts.base import BuiltinVoice, Capabilities
from core.tts.builtin_voices import DEFAULT as DEFAULT_VOICE
from core.tts.builtin_voices import ORIGINAL_IDS

AudioFormatName = Literal["wav", "mp3", "ogg", "flac"]
VoiceId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]


class VoiceOut(BaseModel):
    id: str
    name: str
    kind: Literal["builtin", "custom"]
    engine: str
    created_at: datetime | None = None
    description: str | None = None
    language: str | None = None
    duration: float | None = Field(default=None, description="reference clip length in seconds (custom voices)")
    available: bool = Field(description="whether the active engine can speak with this voice")

    @classmethod
    def of_builtin(cls, voice: BuiltinVoice, caps: Capabilities) -> VoiceOut:
        return cls(
            id=voice.id,
            name=voice.name,
            kind="builtin",
            engine=caps.name,
            language=voice.language,
            description=voice.description or None,
            available=True,
        )

    @classmethod
    def of_custom(cls, voice: Voice, caps: Capabilities) -> VoiceOut:
        return cls(
            id=voice.id,
            name=voice.name,
            kind="custom",
            # Cloned voices are spoken by a cloning engine: the active one when it can, else chatterbox.
            engine=caps.name if caps.can_clone else "chatterbox",
            created_at=voice.created_at,
            description=voice.description,
            duration=voice.duration,
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

    @classmethod
    def of(cls, voices: Sequence[BuiltinVoice | Voice], caps: Capabilities) -> VoiceList:
        return cls(engine=caps.name, can_clone=caps.can_clone, voices=[VoiceOut.of(v, caps) for v in voices])


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


def audio_url(audio_id: str) -> str:
    """Where the API serves an audio's file (GET /audio/{audio_id})."""
    return f"/audio/{audio_id}"


class AudioPage(BaseModel):
    items: list[AudioOut]
    next_cursor: str | None

    @classmethod
    def of(cls, records: Sequence[AudioRecord], cursor: str | None) -> AudioPage:
        return cls(items=[AudioOut.of(r) for r in records], next_cursor=cursor)
