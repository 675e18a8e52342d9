"""Account endpoints: GET /profile (the caller's account and quota), PATCH /profile (full_name, email),
DELETE /profile (delete the account), GET /profile/export (a zip of everything the account holds, streamed:
core.services.export).

Lambda entry: `handlers.account.handler` (named account, not profile: a module `profile` would shadow the
standard library's when handlers/ is on sys.path). Editing or deleting the account needs a login session,
not an API key. The export is sent as it is written (core.responses.AudioStreamResponse: a client that leaves
stops the work); under Mangum (Lambda) the response is buffered whole, so there it is bounded by Lambda's 6 MB
response payload.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, PolicyDep, SessionUser, StoreDep, create_app, limit_per_user
from core.responses import AudioStreamResponse
from core.schemas.auth import ProfileUpdate
from core.schemas.keys import ProfileOut, QuotaOut
from core.services import accounts, admin, export, quota, users
from core.services.policy import EXPORTS

router = APIRouter(tags=["profile"])
ZIP_SCHEMA = {"type": "string", "format": "binary"}


@router.get("/profile", response_model=ProfileOut)
def read_profile(principal: CurrentUser, store: StoreDep, policy: PolicyDep) -> ProfileOut:
    user = users.get_user(store, user_id=principal.user_id)
    usage = quota.usage(store, user_id=principal.user_id, limits=policy.synthesis.quota)
    return ProfileOut.of_user(user, quota=QuotaOut.model_validate(asdict(usage)))


@router.patch("/profile", response_model=ProfileOut)
def update_profile(body: ProfileUpdate, principal: SessionUser, store: StoreDep, policy: PolicyDep) -> ProfileOut:
    full_name = body.full_name if "full_name" in body.model_fields_set else users.KEEP
    user = accounts.update_profile(store, user_id=principal.user_id, full_name=full_name, email=body.email)
    usage = quota.usage(store, user_id=principal.user_id, limits=policy.synthesis.quota)
    return ProfileOut.of_user(user, quota=QuotaOut.model_validate(asdict(usage)))


@router.delete("/profile", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile(principal: SessionUser, store: StoreDep, blobs: BlobsDep) -> None:
    admin.delete_own_account(store, blobs, user_id=principal.user_id)


@router.get(
    "/profile/export",
    response_class=AudioStreamResponse,
    dependencies=[limit_per_user(EXPORTS)],
    responses={200: {"content": {"application/zip": {"schema": ZIP_SCHEMA}}, "description": "A zip of the account"}},
    summary="Export the account: profile, voices with their clips, audio records and files (zip)",
)
def export_profile(principal: CurrentUser, store: StoreDep, blobs: BlobsDep) -> AudioStreamResponse:
    archive = export.open_export(store, blobs, user_id=principal.user_id)
    headers = {"Content-Disposition": f'attachment; filename="{archive.filename}"', "Cache-Control": "no-store"}
    return AudioStreamResponse(archive.chunks, close=_nothing, media_type="application/zip", headers=headers)


def _nothing() -> None:
    """The archive holds no resource of its own beyond its generator (closed by the response)."""


app = create_app(router)
handler = Mangum(app, lifespan="off")
