"""The RunPod worker's job input (`job["input"]`), parsed by pydantic into a typed `Job`.

Contract:
- Accepted input (unknown fields are refused at every level):
    {"action": "synthesize" (default) | "prepare_voice",
     "text": str (synthesize only, required; whitespace runs collapse; at most MAX_TEXT_CHARS),
     "voice": {"builtin": id} | {"reference_url": http(s) URL} | {"reference_base64": audio file}
              | {"conditionals_base64": prepared conditionals}   (default: {"builtin": "default"}),
     "options": {"speed", "pitch", "exaggeration", "cfg_weight", "temperature", "seed", ...}: every option
                of the table in `core.tts.options`, with its bounds and kind; all optional, null = default,
     "format": "wav" (default) | "mp3" | "ogg" | "flac" (any case)}
  prepare_voice takes a reference voice (URL or base64) and no text. Base64 blobs decode to at most
  MAX_BLOB_BYTES, checked before decoding.
- `parse_input(raw)` returns a `Job` or raises ValueError with one message that names the offending
  field ("options.speed: expected a number between 0.5 and 2.0, got 3"). The first problem is reported,
  checked in this order: the input itself, unknown fields, action, format, voice, options, text.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import ErrorDetails

from core.schemas.options import with_options
from core.tts.builtin_voices import DEFAULT as DEFAULT_VOICE_ID
from core.tts.options import OPTIONS, SynthesisOptions

ACTIONS = ("synthesize", "prepare_voice")
FORMATS = ("wav", "mp3", "ogg", "flac")
VOICE_KINDS = ("builtin", "reference_url", "reference_base64", "conditionals_base64")
MAX_TEXT_CHARS = 10_000
MAX_BLOB_BYTES = 20 * 1024 * 1024  # decoded reference audio or conditionals
VoiceKind = Literal["builtin", "reference_url", "reference_base64", "conditionals_base64"]


@dataclass(frozen=True)
class VoiceInput:
    kind: VoiceKind
    builtin_id: str | None = None
    url: str | None = None
    data: bytes | None = None  # decoded reference audio file or conditionals


@dataclass(frozen=True)
class Job:
    action: Literal["synthesize", "prepare_voice"]
    voice: VoiceInput
    text: str = ""
    options: SynthesisOptions = field(default_factory=SynthesisOptions)
    format: str = "wav"


@with_options(all_optional=True)  # one field per option of the table, null or absent: its default
class OptionsInput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    def to_options(self) -> SynthesisOptions:
        return SynthesisOptions(**self.model_dump(exclude_none=True))


class VoiceField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    builtin: str | None = None
    reference_url: str | None = None
    reference_base64: bytes | None = None
    conditionals_base64: bytes | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in VOICE_KINDS:
            raise ValueError(f"voice: expected an object with exactly one of {', '.join(VOICE_KINDS)}")
        return value

    @field_validator("builtin", "reference_url", "reference_base64", "conditionals_base64", mode="before")
    @classmethod
    def _value(cls, value: Any, info: ValidationInfo) -> Any:
        kind = info.field_name
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"voice.{kind}: expected a non-empty string")
        if kind == "builtin":
            return value
        if kind == "reference_url":
            parts = urllib.parse.urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("voice.reference_url: expected an http(s) URL")
            return value
        return _b64(f"voice.{kind}", value)

    def to_voice(self) -> VoiceInput:
        if self.reference_url is not None:
            return VoiceInput(kind="reference_url", url=self.reference_url)
        if self.reference_base64 is not None:
            return VoiceInput(kind="reference_base64", data=self.reference_base64)
        if self.conditionals_base64 is not None:
            return VoiceInput(kind="conditionals_base64", data=self.conditionals_base64)
        return VoiceInput(kind="builtin", builtin_id=self.builtin)


class JobInput(BaseModel):
    """The wire form of a job's input; `to_job()` gives the typed `Job`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["synthesize", "prepare_voice"] = "synthesize"
    format: str = "wav"
    voice: VoiceField | None = None
    options: OptionsInput | None = None
    text: str | None = Field(default=None, validate_default=True)  # validated last: it depends on action

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in FORMATS:
            raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {value!r}")
        return value.lower()

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> str | None:
        if info.data.get("action") == "prepare_voice":
            voice = info.data.get("voice")
            if voice is None or voice.to_voice().kind not in ("reference_url", "reference_base64"):
                raise ValueError("voice: prepare_voice needs a reference clip (reference_url or reference_base64)")
            if value is not None:
                raise ValueError("text: prepare_voice takes no text")
            return None
        if not isinstance(value, str):
            raise ValueError("text: required, a non-empty string")
        clean = " ".join(value.split())
        if not clean:
            raise ValueError("text: must contain at least one non-space character")
        if len(clean) > MAX_TEXT_CHARS:
            raise ValueError(f"text: {len(clean)} characters; at most {MAX_TEXT_CHARS} per job")
        return clean

    def to_job(self) -> Job:
        voice = self.voice.to_voice() if self.voice else VoiceInput(kind="builtin", builtin_id=DEFAULT_VOICE_ID)
        options = self.options.to_options() if self.options else SynthesisOptions()
        return Job(action=self.action, voice=voice, text=self.text or "", options=options, format=self.format)


def parse_input(raw: Any) -> Job:
    """Validate a job's input; raise ValueError naming the offending field."""
    if not isinstance(raw, dict):
        raise ValueError(f"input: expected a JSON object, got {type(raw).__name__}")
    try:
        return JobInput.model_validate(raw).to_job()
    except ValidationError as exc:
        raise ValueError(_message(exc.errors())) from None


def _b64(where: str, value: str) -> bytes:
    if len(value) > (MAX_BLOB_BYTES * 4) // 3 + 4:
        raise ValueError(f"{where}: larger than {MAX_BLOB_BYTES // (1024 * 1024)} MiB")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: not valid base64") from None
    if not data:
        raise ValueError(f"{where}: empty")
    return data


def _message(errors: list[ErrorDetails]) -> str:
    """One message for the first problem, in the documented order (unknown fields before the rest)."""
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1)
    if unknown:
        allowed = ", ".join(sorted(JobInput.model_fields))
        return f"input: unknown field(s) {', '.join(unknown)}; allowed: {allowed}"
    first = errors[0]
    where = first["loc"]
    if first["type"] == "value_error":  # our own validators: the message is complete
        return str(first.get("ctx", {}).get("error", first["msg"]))
    if where[0] == "action":
        return f"action: expected one of {', '.join(ACTIONS)}, got {first['input']!r}"
    if where[0] == "options":
        extra = sorted(str(e["loc"][1]) for e in errors if e["type"] == "extra_forbidden" and e["loc"][0] == "options")
        if extra:
            allowed = ", ".join(OptionsInput.model_fields)
            return f"options: unknown option(s) {', '.join(extra)}; allowed: {allowed}"
        if len(where) == 1:
            return "options: expected a JSON object"
        option = OPTIONS[str(where[1])]
        kind = "an integer" if option.kind == "int" else "a number"
        return f"options.{option.name}: expected {kind} between {option.low} and {option.high}, got {first['input']!r}"
    return f"{'.'.join(str(part) for part in where)}: {first['msg']}"
