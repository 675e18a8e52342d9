"""Models of the speech endpoints: voices, synthesis, the audio library.

Contract: the limits here (formats, name lengths, and the synthesis options' ranges, which come from the
one table in `core.tts.options` through `core.schemas.options`) are the API's documented validation
rules; violations answer 422. Text length is checked by the service
against MAX_TEXT_CHARS (configurable) after whitespace normalisation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.schemas.options import option_field, with_options

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


class VoiceList(BaseModel):
    engine: str
    can_clone: bool
    voices: list[VoiceOut]


@with_options()  # adds exaggeration, cfg_weight, temperature, seed (and any later option) from the table
class SynthesizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="1..MAX_TEXT_CHARS characters (default 5000)")
    voice_id: VoiceId | None = Field(default=None, description="built-in or custom voice id; default: engine's first")
    speed: float = option_field("speed")
    pitch: float = option_field("pitch")
    format: AudioFormatName = "wav"


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


class AudioPage(BaseModel):
    items: list[AudioOut]
    next_cursor: str | None
