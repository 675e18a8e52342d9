"""Synthesis endpoint: POST /synthesize -> 200 with the audio record (metadata; GET /audio/{id} downloads it)
plus the original contract's `success` and `message`, or with `"stream": true` the audio itself, sent while it
is being made.

Contract of the stream: 200 with a chunked body in `format` (wav with a length-unknown header, mp3,
ogg (Opus), flac with unknown length, or pcm: raw 16-bit little-endian mono, stream-only), the first
bytes sent as soon as the first sentence is synthesised. Headers: `X-Audio-Id` / `X-Audio-Url` (the
library record, which exists once the body is complete), `X-Sample-Rate`, `X-Options-Ignored`. Errors
found before the first byte (validation, voice, engine failure on the first sentence) are normal JSON
errors; a failure after that cuts the body short (no terminating chunk) and stores nothing. The quota and
the API key are charged per piece of text whose audio was sent; a client that goes away stops the
synthesis at once and is charged what it was sent (core.services.streams, core.responses).

Lambda entry: `handlers.synthesize.handler` (behind a function URL on AWS: synthesis may outlast
API Gateway's 30 s; Mangum buffers a streamed body, so Lambda sends it whole). The engine is loaded
lazily on the first request, never at import.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, EngineDep, PolicyDep, StoreDep, create_app
from core.errors import ValidationFailed
from core.responses import AudioStreamResponse, stream_headers
from core.schemas.speech import SynthesizeBody, Synthesized
from core.services import streams, synthesis

router = APIRouter(tags=["synthesis"])
STREAM_TYPES: dict[str, Any] = {t: {} for t in ("audio/wav", "audio/mpeg", "audio/ogg", "audio/flac", "audio/pcm")}


@router.post(
    "/synthesize",
    response_model=Synthesized,
    responses={
        200: {
            "content": STREAM_TYPES,
            "description": 'the audio record (JSON), or with "stream": true the audio itself, streamed',
        }
    },
)
def synthesize(
    body: SynthesizeBody,
    principal: CurrentUser,
    store: StoreDep,
    blobs: BlobsDep,
    engine: EngineDep,
    policy: PolicyDep,
) -> Any:
    if body.format == "pcm" and not body.stream:
        raise ValidationFailed(
            "format: pcm is only available with stream: true; use wav for a stored file", code="format_needs_stream"
        )
    request = synthesis.Request(
        text=body.text,
        voice_id=body.voice_id,
        speed=body.speed,
        pitch=body.pitch,
        format="wav" if body.format == "pcm" else body.format,
        engine_options={k: getattr(body, k) for k in synthesis.ENGINE_OPTIONS},
    )
    caller, rules = principal.caller, policy.synthesis  # the services apply the rate limit and the quota
    if body.stream:
        audio = streams.stream(
            store, blobs, engine, caller=caller, request=request, policy=rules, stream_format=body.format
        )
        return AudioStreamResponse(
            iter(audio), close=audio.close, media_type=audio.content_type, headers=stream_headers(audio)
        )
    return Synthesized.of(synthesis.synthesize(store, blobs, engine, caller=caller, request=request, policy=rules))


app = create_app(router)
handler = Mangum(app, lifespan="off")
