"""Models of the speech endpoints: voices, synthesis, the audio library.

Contract: the limits here (speed/pitch 0.5..2.0, engine option ranges, formats, name lengths) are the
API's documented validation rules; violations answer 422. Text length is checked by the service
against MAX_TEXT_CHARS (configurable) after whitespace normalisation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class SynthesizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="1..MAX_TEXT_CHARS characters (default 5000)")
    voice_id: VoiceId | None = Field(default=None, description="built-in or custom voice id; default: engine's first")
    speed: float = Field(default=1.0, ge=0.5, le=2.0)
    pitch: float = Field(default=1.0, ge=0.5, le=2.0)
    format: AudioFormatName = "wav"
    exaggeration: float | None = Field(default=None, ge=0.0, le=2.0, description="chatterbox: emotion intensity")
    cfg_weight: float | None = Field(default=None, ge=0.0, le=1.0, description="chatterbox: guidance / pacing")
    temperature: float | None = Field(default=None, ge=0.05, le=2.0, description="chatterbox: sampling temperature")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1, description="chatterbox: reproducible sampling")


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
