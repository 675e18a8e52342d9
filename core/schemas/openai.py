"""Models of the OpenAI-compatible speech endpoint (POST /v1/audio/speech) and its mapping rules.

Contract (documented for users in docs/clients.md):
- model: OpenAI's names (tts-1, tts-1-hd, gpt-4o-mini-tts and its dated snapshots) all mean "the
  engine this server runs"; an engine name (piper, chatterbox, runpod) must name that engine.
- input: 1..4096 characters as at OpenAI (and no more than MAX_TEXT_CHARS, checked by the service).
- voice: a string or `{"id": ...}`. Our own voice ids (built-in or the caller's cloned voices) are used
  as they are; OpenAI's voice names (`OPENAI_VOICES`) have no counterpart here and all mean the
  built-in voice `default` (`core.tts.builtin_voices`, on every engine); anything else is looked up as
  a voice id (404 when unknown).
- response_format: mp3 (default), opus (Ogg Opus), flac, wav, pcm (raw 16-bit little-endian mono at
  24 kHz like OpenAI's); aac is refused (no AAC encoder here) with the supported list.
- speed: OpenAI allows 0.25..4.0 (`OPENAI_SPEED_RANGE`) but our engines honour the table's range
  (`core.tts.options`, 0.5..2.0); outside that the request is refused (422) rather than clamped.
  instructions: accepted and ignored (reported in X-Options-Ignored and the record's options_ignored).
  stream_format: audio (default) or sse.
Violations answer 422 in the API's one error shape, whose `error.message` the openai package shows.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core.schemas.speech import VoiceId
from core.tts.options import OPTIONS, SynthesisOptions

OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
ENGINE_MODELS = ("piper", "chatterbox", "runpod")
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "cedar",
    "coral",
    "echo",
    "fable",
    "marin",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)
MAX_INPUT_CHARS = 4096
# OpenAI documents speed 0.25..4.0 (its API contract, shown to users in messages); we accept only the
# range our engines honour, the table's (core.tts.options), and refuse the rest rather than clamp it.
OPENAI_SPEED_RANGE = (0.25, 4.0)
MIN_SPEED, MAX_SPEED = OPTIONS["speed"].low, OPTIONS["speed"].high
PCM_SAMPLE_RATE = 24000
# response_format -> (format streamed to the caller, format stored in the library)
RESPONSE_FORMATS: dict[str, tuple[str, str]] = {
    "mp3": ("mp3", "mp3"),
    "opus": ("opus", "ogg"),  # the same Ogg Opus bytes; the library calls it ogg
    "flac": ("flac", "flac"),
    "wav": ("wav", "wav"),
    "pcm": ("pcm", "wav"),  # headerless samples; the library keeps them with a header
}


class VoiceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: VoiceId


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="tts-1, tts-1-hd, gpt-4o-mini-tts (all: this server's engine) or the engine's own name"
    )
    input: str = Field(min_length=1, max_length=MAX_INPUT_CHARS, description="the text, 1..4096 characters")
    voice: VoiceId | VoiceRef = Field(
        description="an OpenAI voice name (-> the built-in voice 'default'), or one of our voice ids"
    )
    instructions: str | None = Field(default=None, max_length=4096, description="accepted and ignored")
    response_format: str = Field(default="mp3", description="mp3, opus, flac, wav or pcm (24 kHz s16le); no aac")
    speed: float = Field(
        default=SynthesisOptions().speed,
        description=f"{MIN_SPEED}..{MAX_SPEED} (OpenAI allows {OPENAI_SPEED_RANGE[0]}..{OPENAI_SPEED_RANGE[1]}; "
        "we refuse what we can't honour)",
    )
    stream_format: Literal["audio", "sse"] = "audio"

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value in OPENAI_MODELS or value.startswith("gpt-4o-mini-tts-") or value in ENGINE_MODELS:
            return value
        known = ", ".join((*OPENAI_MODELS, *ENGINE_MODELS))
        raise ValueError(f"unknown model {value!r}; use one of {known}")

    @field_validator("response_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        supported = ", ".join(RESPONSE_FORMATS)
        if value == "aac":
            raise ValueError(f"aac is not available on this server (no AAC encoder); supported: {supported}")
        if value not in RESPONSE_FORMATS:
            raise ValueError(f"unknown response_format {value!r}; supported: {supported}")
        return value

    @field_validator("speed")
    @classmethod
    def _honoured_speed(cls, value: float) -> float:
        if not MIN_SPEED <= value <= MAX_SPEED:
            raise ValueError(
                f"{value:g} is outside {MIN_SPEED}..{MAX_SPEED}, the range this server's engines honour "
                f"(OpenAI accepts {OPENAI_SPEED_RANGE[0]}..{OPENAI_SPEED_RANGE[1]}; we refuse rather than clamp)"
            )
        return value

    @property
    def voice_name(self) -> str:
        return self.voice.id if isinstance(self.voice, VoiceRef) else self.voice
