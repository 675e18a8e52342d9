"""The session record: one refresh-token family (core.services.sessions says how it is used).

Contract: `Session` is the item `USER#<uid>` / `SESSION#<sid>` with status (active | suspended: its
account is disabled, it resumes when the account is enabled | revoked: for good), the
claims of the pair it issued last (`current_jti` = its refresh token's jti, `refresh_iat`, `ttl` = that
refresh token's expiry, also the store's expiry; `access_jti`, `access_iat`, `access_exp`; never the
tokens), created_at and, once rotated, `previous_jti`, `rotated_ms` (the rotation clock, epoch ms) and
`rotated_at`; once revoked, `revoked_at`. Optional attributes that are unset are not written, so
`from_item(s.to_item()) == s` and a stored item reads back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from core.records import keys
from core.records.keys import Key
from core.security import TokenClaims
from core.storage import Item

SessionStatus = Literal["active", "suspended", "revoked"]
STATUSES: tuple[SessionStatus, ...] = ("active", "suspended", "revoked")
_OPTIONAL = ("previous_jti", "rotated_ms", "rotated_at", "revoked_at")


@dataclass(frozen=True)
class Session:
    user_id: str
    id: str
    status: SessionStatus
    current_jti: str
    refresh_iat: int
    ttl: int
    access_jti: str
    access_iat: int
    access_exp: int
    created_at: str
    previous_jti: str | None = None
    rotated_ms: int | None = None
    rotated_at: str | None = None
    revoked_at: str | None = None

    @property
    def key(self) -> Key:
        return keys.session(self.user_id, self.id)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def start(cls, *, access: TokenClaims, refresh: TokenClaims, created_at: str) -> Session:
        """A new active family whose last pair is (`access`, `refresh`)."""
        return cls(
            user_id=refresh.sub,
            id=refresh.sid,
            status="active",
            current_jti=refresh.jti,
            refresh_iat=refresh.iat,
            ttl=refresh.exp,
            access_jti=access.jti,
            access_iat=access.iat,
            access_exp=access.exp,
            created_at=created_at,
        )

    def rotated(self, *, access: TokenClaims, refresh: TokenClaims, rotated_ms: int, rotated_at: str) -> Session:
        """This family after its current refresh token was swapped for (`access`, `refresh`)."""
        return replace(
            self,
            current_jti=refresh.jti,
            refresh_iat=refresh.iat,
            ttl=refresh.exp,
            access_jti=access.jti,
            access_iat=access.iat,
            access_exp=access.exp,
            previous_jti=self.current_jti,
            rotated_ms=rotated_ms,
            rotated_at=rotated_at,
        )

    def with_status(self, status: SessionStatus) -> Session:
        return replace(self, status=status)

    def revoked(self, *, at: str) -> Session:
        return replace(self, status="revoked", revoked_at=at)

    def to_item(self) -> Item:
        pk, sk = self.key
        item: Item = {
            "pk": pk,
            "sk": sk,
            "status": self.status,
            "current_jti": self.current_jti,
            "refresh_iat": self.refresh_iat,
            "ttl": self.ttl,
            "access_jti": self.access_jti,
            "access_iat": self.access_iat,
            "access_exp": self.access_exp,
            "created_at": self.created_at,
        }
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                item[name] = value
        return item

    @classmethod
    def from_item(cls, item: Item) -> Session:
        status = item["status"]
        if status not in STATUSES:
            raise ValueError(f"unknown session status: {status!r}")
        rotated_ms = item.get("rotated_ms")
        return cls(
            user_id=keys.user_id_of(str(item["pk"])),
            id=str(item["sk"]).removeprefix(keys.SESSION),
            status=status,
            current_jti=str(item["current_jti"]),
            refresh_iat=int(item["refresh_iat"]),
            ttl=int(item["ttl"]),
            access_jti=str(item["access_jti"]),
            access_iat=int(item["access_iat"]),
            access_exp=int(item["access_exp"]),
            created_at=str(item["created_at"]),
            previous_jti=_str_or_none(item.get("previous_jti")),
            rotated_ms=None if rotated_ms is None else int(rotated_ms),
            rotated_at=_str_or_none(item.get("rotated_at")),
            revoked_at=_str_or_none(item.get("revoked_at")),
        )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
