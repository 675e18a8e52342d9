"""API keys: POST /api-keys (the key is shown once), GET /api-keys, DELETE /api-keys/{key_id}.

Lambda entry: `handlers.api_keys.handler`. Managing keys needs a login session (JWT), not a key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from mangum import Mangum

from core.api import SessionUser, StoreDep, create_app
from core.schemas.keys import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from core.services import api_keys

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_key(body: ApiKeyCreate, principal: SessionUser, store: StoreDep) -> ApiKeyCreated:
    return ApiKeyCreated.of_created(api_keys.create(store, user_id=principal.user_id, name=body.name))


@router.get("", response_model=list[ApiKeyOut])
def list_keys(principal: SessionUser, store: StoreDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(key) for key in api_keys.list_keys(store, user_id=principal.user_id)]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    principal: SessionUser,
    store: StoreDep,
) -> None:
    api_keys.revoke(store, user_id=principal.user_id, key_id=key_id)


app = create_app(router)
handler = Mangum(app, lifespan="off")
