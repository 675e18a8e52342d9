"""Audio library endpoints: GET /audio (history), GET /audio/{id} (download; ?format= converts once,
then serves the cached conversion; conversions count against RATE_LIMIT_CONVERSIONS_PER_HOUR),
GET /audio/{id}/info, DELETE /audio/{id}.

Lambda entry: `handlers.audio.handler` (audio/* responses are base64-encoded by Mangum).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, PolicyDep, StoreDep, create_app
from core.schemas.speech import AudioFormatName, AudioOut, AudioPage
from core.services import library

router = APIRouter(prefix="/audio", tags=["audio"])
AudioId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
AUDIO_TYPES: dict[str, dict[str, object]] = {t: {} for t in ("audio/wav", "audio/mpeg", "audio/ogg", "audio/flac")}


@router.get("", response_model=AudioPage)
def list_audio(
    principal: CurrentUser,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=library.MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AudioPage:
    page = library.history(store, user_id=principal.user_id, limit=limit, cursor=cursor)
    return AudioPage.of(page.items, page.cursor)


@router.get(
    "/{audio_id}",
    response_class=Response,
    responses={200: {"content": AUDIO_TYPES, "description": "the audio file"}},
)
def download_audio(
    audio_id: AudioId,
    principal: CurrentUser,
    store: StoreDep,
    blobs: BlobsDep,
    policy: PolicyDep,
    format: Annotated[
        AudioFormatName | None,
        Query(description="convert to this format (converted once, then cached; conversions are rate limited)"),
    ] = None,
) -> Response:
    out = library.download(
        store,
        blobs,
        user_id=principal.user_id,
        audio_id=audio_id,
        fmt=format,
        policy=policy.media,
    )
    return Response(
        content=out.data,
        media_type=out.content_type,
        headers={"Content-Disposition": f'inline; filename="{out.filename}"', "Cache-Control": "private, max-age=0"},
    )


@router.get("/{audio_id}/info", response_model=AudioOut)
def audio_info(audio_id: AudioId, principal: CurrentUser, store: StoreDep) -> AudioOut:
    return AudioOut.of(library.get(store, user_id=principal.user_id, audio_id=audio_id))


@router.delete("/{audio_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_audio(audio_id: AudioId, principal: CurrentUser, store: StoreDep, blobs: BlobsDep) -> None:
    library.delete(store, blobs, user_id=principal.user_id, audio_id=audio_id)


app = create_app(router)
handler = Mangum(app, lifespan="off")
