"""Account endpoints: GET /profile (the caller's account and quota), PATCH /profile (full_name, email),
DELETE /profile (delete the account).

Lambda entry: `handlers.account.handler` (named account, not profile: a module `profile` would shadow the
standard library's when handlers/ is on sys.path). Editing or deleting the account needs a login session,
not an API key.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, PolicyDep, SessionUser, StoreDep, create_app
from core.schemas.auth import ProfileUpdate
from core.schemas.keys import ProfileOut, QuotaOut
from core.services import accounts, quota, users

router = APIRouter(tags=["profile"])


@router.get("/profile", response_model=ProfileOut)
def read_profile(principal: CurrentUser, store: StoreDep, policy: PolicyDep) -> ProfileOut:
    user = users.get_user(store, user_id=principal.user_id)
    usage = quota.usage(store, user_id=principal.user_id, limits=policy.synthesis.quota)
    return ProfileOut.of_user(user, quota=QuotaOut.model_validate(asdict(usage)))


@router.patch("/profile", response_model=ProfileOut)
def update_profile(body: ProfileUpdate, principal: SessionUser, store: StoreDep, policy: PolicyDep) -> ProfileOut:
    full_name = body.full_name if "full_name" in body.model_fields_set else accounts.KEEP
    user = accounts.update_profile(store, user_id=principal.user_id, full_name=full_name, email=body.email)
    usage = quota.usage(store, user_id=principal.user_id, limits=policy.synthesis.quota)
    return ProfileOut.of_user(user, quota=QuotaOut.model_validate(asdict(usage)))


@router.delete("/profile", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile(principal: SessionUser, store: StoreDep, blobs: BlobsDep) -> None:
    users.delete_account(store, blobs, user_id=principal.user_id)


app = create_app(router)
handler = Mangum(app, lifespan="off")
