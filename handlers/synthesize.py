"""Synthesis endpoint: POST /synthesize -> an audio record (metadata; GET /audio/{id} downloads it).

Lambda entry: `handlers.synthesize.handler` (behind a function URL on AWS: synthesis may outlast
API Gateway's 30 s). The engine is loaded lazily on the first request, never at import.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, EngineDep, SettingsDep, StoreDep, create_app
from core.schemas.speech import AudioOut, SynthesizeRequest
from core.services import synthesis
from core.services.presenters import audio_out

router = APIRouter(tags=["synthesis"])


@router.post("/synthesize", status_code=status.HTTP_201_CREATED, response_model=AudioOut)
def synthesize(
    body: SynthesizeRequest,
    principal: CurrentUser,
    store: StoreDep,
    blobs: BlobsDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> AudioOut:
    request = synthesis.Request(
        text=body.text,
        voice_id=body.voice_id,
        speed=body.speed,
        pitch=body.pitch,
        format=body.format,
        engine_options={k: getattr(body, k) for k in synthesis.ENGINE_OPTIONS},
    )
    item = synthesis.synthesize(
        store, blobs, engine, user_id=principal.user_id, request=request, max_chars=settings.max_text_chars
    )
    return audio_out(item)


app = create_app(router)
handler = Mangum(app, lifespan="off")
