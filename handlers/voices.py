"""Voice endpoints: GET /voices, POST /voices (clone from an uploaded clip), DELETE /voices/{voice_id}.

Lambda entry: `handlers.voices.handler`. POST /voices is the one upload route (`@upload_route`): the
app's body limit gives it MAX_UPLOAD_BYTES and refuses larger requests before they are read; every other
route keeps the JSON limit. The upload is read once, within MAX_UPLOAD_BYTES.
The clip is decoded within MAX_UPLOAD_DECODED_SAMPLES (413 from its header beyond) in one of
MAX_PARALLEL_DECODES slots.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, EngineDep, PolicyDep, SettingsDep, StoreDep, create_app, limit_per_user
from core.edge import upload_route
from core.errors import PayloadTooLarge, ValidationFailed
from core.schemas.speech import VoiceId, VoiceList, VoiceOut
from core.services import voices
from core.services.policy import UPLOADS

router = APIRouter(tags=["voices"])


@router.get("/voices", response_model=VoiceList)
def list_voices(principal: CurrentUser, store: StoreDep, engine: EngineDep) -> VoiceList:
    return VoiceList.of(voices.list_voices(store, engine, user_id=principal.user_id), engine.capabilities)


@router.post(
    "/voices",
    status_code=status.HTTP_201_CREATED,
    response_model=VoiceOut,
    dependencies=[limit_per_user(UPLOADS)],
)
@upload_route
def create_voice(
    principal: CurrentUser,
    store: StoreDep,
    blobs: BlobsDep,
    engine: EngineDep,
    settings: SettingsDep,
    policy: PolicyDep,
    name: Annotated[str, Form(min_length=1, max_length=64)],
    file: Annotated[UploadFile, File(description="reference clip: WAV, FLAC, OGG or MP3, 3-60 s")],
    description: Annotated[str | None, Form(max_length=500)] = None,
) -> VoiceOut:
    data = file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"Audio file exceeds {settings.max_upload_bytes} bytes", code="upload_too_large")
    if not data:
        raise ValidationFailed("file: the uploaded file is empty", code="audio_empty")
    voice = voices.create(
        store,
        blobs,
        engine,
        user_id=principal.user_id,
        name=name.strip() or "voice",
        description=description,
        data=data,
        policy=policy.media,
    )
    return VoiceOut.of_custom(voice, engine.capabilities)


@router.delete("/voices/{voice_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_voice(
    voice_id: VoiceId, principal: CurrentUser, store: StoreDep, blobs: BlobsDep, engine: EngineDep
) -> None:
    voices.delete(store, blobs, engine, user_id=principal.user_id, voice_id=voice_id)


app = create_app(router)
handler = Mangum(app, lifespan="off")
