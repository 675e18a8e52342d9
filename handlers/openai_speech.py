"""OpenAI-compatible speech: POST /v1/audio/speech, for the official `openai` packages unchanged.

Contract (the mapping rules are in core.schemas.openai): the body is OpenAI's; auth is the same Bearer
token as every other endpoint (`OpenAI(base_url=".../v1", api_key=<access token or API key>)`). Each
call is synthesised by core.services.synthesis as a stream and stored in the caller's library like
POST /synthesize (`X-Audio-Id` names the record).
- stream_format "audio": 200 with the audio bytes, chunked, the first ones sent once the first
  sentence is ready.
- stream_format "sse": 200 `text/event-stream`; each event is one `data: <json>` line: zero or more
  `{"type": "speech.audio.delta", "audio": <base64 of the next bytes>}` then
  `{"type": "speech.audio.done", "usage": {"input_tokens", "output_tokens", "total_tokens"}}` (usage
  counts input characters, as there is no tokenizer here; output_tokens is 0). A failure after the
  first event sends `{"type": "error", "error": {"code", "message"}}` and ends the stream.
- Charging: the quota and the API key are charged per piece of text whose audio was sent (also when
  the engine fails mid-way or the client leaves); the stream is closed the moment the client goes away
  (core.services.streams, core.responses).
- Errors before the first byte answer in the API's shape `{"error": {"code", "message"}}`, which the
  openai package raises as its APIStatusError subclasses with our message.

Lambda entry: `handlers.openai_speech.handler` (Mangum buffers the stream; put it behind a function URL).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, EngineDep, PolicyDep, StoreDep, create_app
from core.errors import AppError, ValidationFailed
from core.responses import AudioStreamResponse, stream_headers
from core.schemas.openai import (
    ENGINE_MODELS,
    MAX_INPUT_CHARS,
    OPENAI_VOICES,
    PCM_SAMPLE_RATE,
    RESPONSE_FORMATS,
    SpeechRequest,
)
from core.services import streams, synthesis
from core.tts.base import Engine
from core.tts.builtin_voices import DEFAULT as DEFAULT_VOICE

log = logging.getLogger("chatterbox_api")
router = APIRouter(prefix="/v1/audio", tags=["openai"])
AUDIO_TYPES: dict[str, Any] = {
    t: {} for t in ("audio/mpeg", "audio/opus", "audio/flac", "audio/wav", "audio/pcm", "text/event-stream")
}


def _voice_id(engine: Engine, name: str) -> str | None:
    """Our voice id for `name`; OpenAI's voice names mean `default` (None: the engine's first, if it lacks one)."""
    ids = {v.id for v in engine.voices()}
    if name in ids:
        return name
    if name.lower() in OPENAI_VOICES:
        return DEFAULT_VOICE if DEFAULT_VOICE in ids else None
    return name


def _check_model(engine: Engine, model: str) -> None:
    active = engine.capabilities.name
    if model in ENGINE_MODELS and model != active:
        raise ValidationFailed(
            f"model: this server runs the {active!r} engine, not {model!r}; use {active!r} or tts-1",
            code="model_unavailable",
            details={"model": model, "engine": active},
        )


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def sse_events(audio: streams.AudioStream) -> Iterator[bytes]:
    try:
        for chunk in audio:
            yield _event({"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode("ascii")})
    except AppError as exc:
        yield _event({"type": "error", "error": {"code": exc.code, "message": exc.message}})
        return
    except Exception:
        log.exception("speech stream failed")
        yield _event({"type": "error", "error": {"code": "internal_error", "message": "Internal server error"}})
        return
    chars = len(audio.text)
    usage = {"input_tokens": chars, "output_tokens": 0, "total_tokens": chars}
    yield _event({"type": "speech.audio.done", "usage": usage})


@router.post(
    "/speech",
    response_class=StreamingResponse,
    responses={200: {"content": AUDIO_TYPES}},
)
def create_speech(
    body: SpeechRequest,
    principal: CurrentUser,
    store: StoreDep,
    blobs: BlobsDep,
    engine: EngineDep,
    policy: PolicyDep,
) -> StreamingResponse:
    _check_model(engine, body.model)
    streamed, stored = RESPONSE_FORMATS[body.response_format]
    request = synthesis.Request(
        text=body.input,
        voice_id=_voice_id(engine, body.voice_name),
        speed=body.speed,
        format=stored,
        ignored=("instructions",) if body.instructions else (),
    )
    audio = streams.stream(
        store,
        blobs,
        engine,
        caller=principal.caller,
        request=request,
        policy=policy.synthesis.capped(max_text_chars=MAX_INPUT_CHARS),  # applied there: rate limit, quota
        stream_format=streamed,
        stream_sample_rate=PCM_SAMPLE_RATE if streamed == "pcm" else None,
    )
    headers = stream_headers(audio)
    if body.stream_format == "sse":
        return AudioStreamResponse(
            sse_events(audio), close=audio.close, media_type="text/event-stream", headers=headers
        )
    return AudioStreamResponse(iter(audio), close=audio.close, media_type=audio.content_type, headers=headers)


app = create_app(router)
handler = Mangum(app, lifespan="off")
