"""Voice endpoints: GET /voices, POST /voices (clone from an uploaded clip), DELETE /voices/{voice_id}.

POST /voices takes our form fields (name, file, description) or the original contract's (voice_name,
audio_file, voice_description); the file part's content type is not trusted (Python's requests sends none):
the clip is recognised from its bytes. Creation and deletion answer 200 with the original contract's
`success` and `message` beside our fields.

Lambda entry: `handlers.voices.handler`. POST /voices is the one upload route (`@upload_route`): the
app's body limit gives it MAX_UPLOAD_BYTES and refuses larger requests before they are read; every other
route keeps the JSON limit. The upload is read once, within MAX_UPLOAD_BYTES.
The clip is decoded within MAX_UPLOAD_DECODED_SAMPLES (413 from its header beyond) in one of
MAX_PARALLEL_DECODES slots.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, EngineDep, PolicyDep, SettingsDep, StoreDep, create_app, limit_per_user
from core.edge import upload_route
from core.errors import PayloadTooLarge, ValidationFailed
from core.schemas.speech import VoiceCreated, VoiceDeleted, VoiceId, VoiceList, either, required_either
from core.services import voices
from core.services.policy import UPLOADS

router = APIRouter(tags=["voices"])
NAME_CHARS, DESCRIPTION_CHARS = 64, 500
CLIP = "reference clip: WAV, FLAC, OGG or MP3, 3-60 s (any or no content type: recognised from its bytes)"


@router.get("/voices", response_model=VoiceList)
def list_voices(principal: CurrentUser, store: StoreDep, engine: EngineDep) -> VoiceList:
    return VoiceList.of(voices.list_voices(store, engine, user_id=principal.user_id), engine.capabilities)


@router.post("/voices", response_model=VoiceCreated, dependencies=[limit_per_user(UPLOADS)])
@upload_route
def create_voice(
    principal: CurrentUser,
    store: StoreDep,
    blobs: BlobsDep,
    engine: EngineDep,
    settings: SettingsDep,
    policy: PolicyDep,
    name: Annotated[str | None, Form(min_length=1, max_length=NAME_CHARS, description="or voice_name")] = None,
    file: Annotated[UploadFile | None, File(description=CLIP + "; or audio_file")] = None,
    description: Annotated[str | None, Form(max_length=DESCRIPTION_CHARS, description="or voice_description")] = None,
    voice_name: Annotated[str | None, Form(min_length=1, max_length=NAME_CHARS, description="= name")] = None,
    audio_file: Annotated[UploadFile | None, File(description="= file")] = None,
    voice_description: Annotated[str | None, Form(max_length=DESCRIPTION_CHARS, description="= description")] = None,
) -> VoiceCreated:
    chosen_name = required_either("name", name, "voice_name", voice_name)
    upload = required_either("file", file, "audio_file", audio_file)
    data = upload.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"Audio file exceeds {settings.max_upload_bytes} bytes", code="upload_too_large")
    if not data:
        raise ValidationFailed("file: the uploaded file is empty", code="audio_empty")
    voice = voices.create(
        store,
        blobs,
        engine,
        user_id=principal.user_id,
        name=chosen_name.strip() or "voice",
        description=either("description", description, "voice_description", voice_description),
        data=data,
        policy=policy.media,
    )
    return VoiceCreated.of_created(voice, engine.capabilities)


@router.delete("/voices/{voice_id}", response_model=VoiceDeleted)
def delete_voice(
    voice_id: VoiceId, principal: CurrentUser, store: StoreDep, blobs: BlobsDep, engine: EngineDep
) -> VoiceDeleted:
    return VoiceDeleted.of_deleted(voices.delete(store, blobs, engine, user_id=principal.user_id, voice_id=voice_id))


app = create_app(router)
handler = Mangum(app, lifespan="off")
