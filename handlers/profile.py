"""Profile endpoints: GET /profile (the caller's account), DELETE /profile (delete the account).

Lambda entry: `handlers.profile.handler`.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from mangum import Mangum

from core.api import BlobsDep, CurrentUser, StoreDep, create_app
from core.schemas.auth import UserOut
from core.services import users

router = APIRouter(tags=["profile"])


@router.get("/profile", response_model=UserOut)
def read_profile(principal: CurrentUser, store: StoreDep) -> UserOut:
    return UserOut.model_validate(users.public_profile(users.get_user(store, user_id=principal.user_id)))


@router.delete("/profile", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile(principal: CurrentUser, store: StoreDep, blobs: BlobsDep) -> None:
    users.delete_account(store, blobs, user_id=principal.user_id)


app = create_app(router)
handler = Mangum(app, lifespan="off")
