"""Models of the API-key endpoints and of the profile's usage block.

Contract: records (core.records) are presented one way, by the models' constructors: `ApiKeyOut.of(key)`,
`ApiKeyCreated.of_created(created)` (with the one-time key), `ProfileOut.of_user(user, quota=...)`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.records.api_keys import ApiKey, CreatedKey
from core.records.users import User
from core.schemas.auth import UserOut


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="first characters of the key, to recognise it")
    created_at: datetime
    last_used_at: datetime | None
    requests: int
    characters: int = Field(description="characters synthesized with this key")

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        """The listing's public attributes (its fields above)."""
        return ApiKeyOut.model_validate(key, from_attributes=True)


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key itself: shown once, store it now")

    @classmethod
    def of_created(cls, created: CreatedKey) -> ApiKeyCreated:
        return cls.model_validate({**ApiKeyOut.of(created.record).model_dump(), "key": created.token})


class AudioQuotaOut(BaseModel):
    limit: int = Field(description="seconds of audio per period; 0 = unlimited")
    used: float = Field(description="seconds delivered, plus the estimate of jobs still running")
    remaining: float | None


class QuotaOut(BaseModel):
    period: str
    limit: int = Field(description="characters per period; 0 = unlimited")
    used: int = Field(description="characters delivered, plus those of jobs still running")
    remaining: int | None
    resets_at: datetime
    audio_seconds: AudioQuotaOut


class ProfileOut(UserOut):
    is_active: bool = Field(description="false once an administrator disabled the account")
    quota: QuotaOut

    @classmethod
    def of_user(cls, user: User, *, quota: QuotaOut) -> ProfileOut:
        return cls.model_validate({**UserOut.of(user).model_dump(), "is_active": user.is_active, "quota": quota})
