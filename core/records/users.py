"""The account record (User) and the uniqueness claims that reserve its username and email.

Contract:
- `User` is the item `USER#<id>` / `PROFILE`: id, username, email (normalised, with its +tag),
  full_name, password_hash, created_at (ISO-8601 UTC), role (`user` | `admin`), is_active (false:
  disabled by an admin) and quota_chars_per_day (a per-user daily quota overriding Settings'; None:
  the default). `to_item()` writes exactly those attributes and `from_item` reads them back
  (`from_item(u.to_item()) == u`); items written before role/is_active/quota existed read as
  role `user`, active, default quota.
- `Claim` is a uniqueness claim: `USERNAME#<lower>` / `USERNAME` or `EMAIL#<mailbox>` / `EMAIL`
  (core.records.keys), holding the owner's `user_id`. Registration writes the profile and both claims
  in one transaction (core.services.users).
- Records never carry a password in clear; presenting a user (without its hash) is the job of
  core.schemas.auth.UserOut.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from core.records import keys
from core.records.keys import Key
from core.storage import Item

Role = Literal["user", "admin"]
ROLES: tuple[Role, ...] = ("user", "admin")


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    full_name: str | None
    password_hash: str
    created_at: str
    role: Role = "user"
    is_active: bool = True
    quota_chars_per_day: int | None = None  # overrides QUOTA_CHARS_PER_DAY for this user; None: the default

    @property
    def key(self) -> Key:
        return keys.profile(self.id)

    def with_password_hash(self, password_hash: str) -> User:
        return replace(self, password_hash=password_hash)

    def to_item(self) -> Item:
        pk, sk = self.key
        return {
            "pk": pk,
            "sk": sk,
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "full_name": self.full_name,
            "password_hash": self.password_hash,
            "created_at": self.created_at,
            "role": self.role,
            "is_active": self.is_active,
            "quota_chars_per_day": self.quota_chars_per_day,
        }

    @classmethod
    def from_item(cls, item: Item) -> User:
        full_name = item.get("full_name")
        role = item.get("role", "user")
        quota = item.get("quota_chars_per_day")
        return cls(
            id=str(item["id"]),
            username=str(item["username"]),
            email=str(item["email"]),
            full_name=None if full_name is None else str(full_name),
            password_hash=str(item["password_hash"]),
            created_at=str(item["created_at"]),
            role="admin" if role == "admin" else "user",
            is_active=bool(item.get("is_active", True)),
            quota_chars_per_day=None if quota is None else int(quota),
        )


@dataclass(frozen=True)
class Claim:
    """A uniqueness claim: the item keyed by a username or a mailbox, pointing at the account holding it."""

    key: Key
    user_id: str

    @classmethod
    def username(cls, username: str, *, user_id: str) -> Claim:
        return cls(keys.username_claim(username), user_id)

    @classmethod
    def email(cls, mailbox: str, *, user_id: str) -> Claim:
        """`mailbox` is the claim key: a mailbox (core.emails), or an old-style lower-cased address."""
        return cls(keys.email_claim(mailbox), user_id)

    def to_item(self) -> Item:
        pk, sk = self.key
        return {"pk": pk, "sk": sk, "user_id": self.user_id}

    @classmethod
    def from_item(cls, item: Item) -> Claim:
        return cls((str(item["pk"]), str(item["sk"])), str(item["user_id"]))
