"""Account endpoints: GET /profile (the caller's account and quota), DELETE /profile (delete the account).

Lambda entry: `handlers.account.handler` (named account, not profile: a module `profile` would shadow the
standard library's when handlers/ is on sys.path). Deleting the account needs a login session, not an API key.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, PolicyDep, SessionUser, StoreDep, create_app
from core.schemas.keys import ProfileOut, QuotaOut
from core.services import quota, users

router = APIRouter(tags=["profile"])


@router.get("/profile", response_model=ProfileOut)
def read_profile(principal: CurrentUser, store: StoreDep, policy: PolicyDep) -> ProfileOut:
    user = users.get_user(store, user_id=principal.user_id)
    usage = quota.usage(store, user_id=principal.user_id, limits=policy.synthesis.quota)
    return ProfileOut.of_user(user, quota=QuotaOut.model_validate(asdict(usage)))


@router.delete("/profile", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile(principal: SessionUser, store: StoreDep, blobs: BlobsDep) -> None:
    users.delete_account(store, blobs, user_id=principal.user_id)


app = create_app(router)
handler = Mangum(app, lifespan="off")
