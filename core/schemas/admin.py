"""Models of the admin API (/admin): accounts as an operator sees them, their usage, changes, the audit log.

Contract: records are presented one way: `AdminUserOut.of(user)`, `AdminUserDetail.of(detail)`,
`AdminUserPage.of(page)`, `AuditOut.of(record)`, `AuditPage.of(page)`. `AdminUserUpdate` is a PATCH body:
fields left out are kept; `quota_chars_per_day: null` clears the account's own quota (the default
applies again; 0 = unlimited, as QUOTA_CHARS_PER_DAY); `is_active` and `role` cannot be null; an empty
body, an unknown field or a wrong type answers 422. `changes()` is the service's `UserChanges`.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from core.records.audit import AuditAction, AuditRecord
from core.records.users import Role, User
from core.schemas.auth import UserOut
from core.schemas.keys import QuotaOut
from core.services import admin, users

MAX_QUOTA_CHARS_PER_DAY = 1_000_000_000
QuotaChars = Annotated[StrictInt, Field(ge=0, le=MAX_QUOTA_CHARS_PER_DAY)]


class AdminUserOut(UserOut):
    role: Role
    is_active: bool
    quota_chars_per_day: int | None = Field(description="the account's own daily quota; null: the default")

    @classmethod
    def of(cls, user: User) -> AdminUserOut:
        return AdminUserOut.model_validate(user, from_attributes=True)


class UsageOut(BaseModel):
    characters_today: int = Field(description="characters charged today (UTC), jobs still running included")
    characters_total: int = Field(description="characters delivered over the account's life")
    syntheses: int = Field(description="syntheses that delivered audio")
    audio_count: int = Field(description="audio records in the library now")
    audio_bytes: int = Field(description="bytes of those records' audio files")
    voices: int
    api_keys: int
    quota: QuotaOut = Field(description="today's quota, the account's own limit applied")


class AdminUserDetail(AdminUserOut):
    usage: UsageOut

    @classmethod
    def of_detail(cls, detail: admin.UserDetail) -> AdminUserDetail:
        usage = asdict(detail.usage)
        return cls.model_validate({**AdminUserOut.of(detail.user).model_dump(), "usage": usage})


class AdminUserPage(BaseModel):
    items: list[AdminUserOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: admin.UserPage) -> AdminUserPage:
        return cls(items=[AdminUserOut.of(u) for u in page.users], next_cursor=page.cursor)


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: StrictBool | None = Field(default=None, description="false disables the account, true enables it")
    role: Role | None = None
    quota_chars_per_day: QuotaChars | None = Field(
        default=None, description="characters per day for this account; null: the default; 0: unlimited"
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("send at least one of is_active, role, quota_chars_per_day")
        for name in ("is_active", "role"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> admin.UserChanges:
        quota = self.quota_chars_per_day if "quota_chars_per_day" in self.model_fields_set else users.KEEP
        return admin.UserChanges(is_active=self.is_active, role=self.role, quota_chars_per_day=quota)


class AuditOut(BaseModel):
    id: str
    at: datetime
    actor_id: str
    actor_username: str
    action: AuditAction
    target_id: str
    target_username: str
    changes: dict[str, dict[str, Any]] = Field(description='{field: {"from": old, "to": new}}')

    @classmethod
    def of(cls, record: AuditRecord) -> AuditOut:
        return cls.model_validate({**asdict(record), "changes": dict(record.changes)})


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: admin.AuditPage) -> AuditPage:
        return cls(items=[AuditOut.of(r) for r in page.records], next_cursor=page.cursor)
