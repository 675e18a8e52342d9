"""Admin API: GET /admin/users (?prefix=, paged), GET/PATCH/DELETE /admin/users/{user_id}, GET /admin/audit.

Lambda entry: `handlers.admin.handler`. Every route needs an active admin (core.api.AdminUser: 401
without credentials, 403 `forbidden` for other accounts); the rules (last active admin, audit records,
usage) are core.services.admin's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from mangum import Mangum

from core.api import AdminUser, BlobsDep, PolicyDep, StoreDep, create_app
from core.schemas.admin import AdminUserDetail, AdminUserOut, AdminUserPage, AdminUserUpdate, AuditPage
from core.services import admin

router = APIRouter(prefix="/admin", tags=["admin"])
UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Limit = Annotated[int, Query(ge=1, le=admin.MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")]


@router.get("/users", response_model=AdminUserPage)
def list_users(
    _: AdminUser,
    store: StoreDep,
    prefix: Annotated[str, Query(max_length=32, description="username prefix, any case")] = "",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AdminUserPage:
    return AdminUserPage.of(admin.list_users(store, prefix=prefix.strip(), limit=limit, cursor=cursor))


@router.get("/users/{user_id}", response_model=AdminUserDetail)
def read_user(user_id: UserId, _: AdminUser, store: StoreDep, policy: PolicyDep) -> AdminUserDetail:
    return AdminUserDetail.of_detail(admin.user_detail(store, user_id=user_id, limits=policy.synthesis.quota))


@router.patch("/users/{user_id}", response_model=AdminUserOut)
def update_user(user_id: UserId, body: AdminUserUpdate, principal: AdminUser, store: StoreDep) -> AdminUserOut:
    user = admin.update_user(store, actor_id=principal.user_id, user_id=user_id, changes=body.changes())
    return AdminUserOut.of(user)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: UserId, principal: AdminUser, store: StoreDep, blobs: BlobsDep) -> None:
    admin.delete_user(store, blobs, actor_id=principal.user_id, user_id=user_id)


@router.get("/audit", response_model=AuditPage)
def audit_log(_: AdminUser, store: StoreDep, limit: Limit = 50, cursor: Cursor = None) -> AuditPage:
    return AuditPage.of(admin.audit_log(store, limit=limit, cursor=cursor))


app = create_app(router)
handler = Mangum(app, lifespan="off")
