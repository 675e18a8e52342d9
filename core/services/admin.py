"""Account administration: list, inspect, change and delete accounts; every change audited.

Contract (callers are admins: core.api.AdminUser checks that; services take and return records):
- `list_users(prefix=, limit=, cursor=)`: accounts whose username starts with `prefix` (any case), one
  page at a time (`UserPage.cursor` opaque, None on the last page). It scans the username claims
  (`USERNAME#<lower>`, core.records.keys) and reads each page's profiles: on SQLite the scan is a range
  of the primary key, in username order; on DynamoDB a paginated Scan with a key filter (no order
  promised), which reads the table: acceptable for an operator's occasional listing, and it needs no
  second copy of each account written at registration nor a backfill of existing accounts.
- `user_detail(user_id=, limits=)`: the account and its `Usage`: characters today (the quota's day,
  with its limit: core.services.quota.usage) and in total, syntheses (core.services.quota.totals),
  audio count and bytes, voices and API keys (counted from the user's partition, page by page).
- `update_user(actor_id=, user_id=, changes=)`: any of is_active, role and quota_chars_per_day (None
  clears it: the default applies again). `delete_own_account(user_id=)` is DELETE /profile: an active
  admin's own deletion goes through `delete_user`. `delete_user(actor_id=, user_id=)`: the account, with
  every record and blob (core.services.users: profile and claims in one transaction, then the partition).
- Every change writes an `AuditRecord` (core.records.audit) in the same transaction as the change
  itself: both or neither. An update that changes nothing writes nothing. `audit_log(...)` pages the
  log newest first.
- The last active admin: a change that takes an active admin's rights away (disable, demote, delete)
  adds to its transaction a check that ANOTHER account's profile still has role admin and is active;
  none found: 409 `last_admin`. The target's profile is written on condition it is unchanged since it
  was read (its non-null attributes). Two admins demoting each other at once: whichever transaction
  commits second fails its check, re-reads, finds no other admin and answers 409 (SQLite serialises
  write transactions; DynamoDB's TransactWriteItems are serializable). A conflict is retried a few
  times, then 409 `conflict`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from core.errors import Conflict, TransactionConflict
from core.records import keys
from core.records.audio import AudioRecord
from core.records.audit import AuditAction, AuditRecord
from core.records.users import Claim, Role, User
from core.services import quota, signout, users
from core.services.clock import sortable_id, utcnow_iso
from core.services.owned import purge_partition
from core.storage import MUST_NOT_EXIST, BlobStore, Check, Cond, Item, KVStore, Put, query_all
from core.storage.base import Op

MAX_PAGE = 100
_TRIES = 5  # a transaction that lost a race is retried on a fresh read this many times
ADMIN_ACTIVE = Cond(equals={"role": "admin", "is_active": True})


@dataclass(frozen=True)
class UserChanges:
    """What an admin changes; a field left at its default is kept (quota: users.KEEP; None clears it)."""

    is_active: bool | None = None
    role: Role | None = None
    quota_chars_per_day: int | Literal[users.Keep.KEEP] | None = users.KEEP


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    cursor: str | None


@dataclass(frozen=True)
class Usage:
    characters_today: int
    characters_total: int
    syntheses: int
    audio_count: int
    audio_bytes: int
    voices: int
    api_keys: int
    quota: quota.Usage


@dataclass(frozen=True)
class UserDetail:
    user: User
    usage: Usage


@dataclass(frozen=True)
class AuditPage:
    records: list[AuditRecord]
    cursor: str | None


def _page_size(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def list_users(store: KVStore, *, prefix: str = "", limit: int = 50, cursor: str | None = None) -> UserPage:
    claim_pk, _ = keys.username_claim(prefix)  # lower-cased, as claims are keyed
    page = store.scan(pk_prefix=claim_pk, limit=_page_size(limit), cursor=cursor)
    found = []
    for claim in map(Claim.from_item, page.items):
        item = store.get(*keys.profile(claim.user_id))
        if item is not None:  # a deletion commits profile and claims together: only a stale read misses
            found.append(User.from_item(item))
    return UserPage(users=found, cursor=page.cursor)


def _all_users(store: KVStore) -> Iterator[User]:
    cursor: str | None = None
    while True:
        page = list_users(store, limit=MAX_PAGE, cursor=cursor)
        yield from page.users
        if page.cursor is None:
            return
        cursor = page.cursor


def _sk_items(store: KVStore, user_id: str, sk_prefix: str) -> Iterator[Item]:
    return query_all(store, keys.user_pk(user_id), sk_prefix=sk_prefix, page_size=MAX_PAGE)


def user_detail(store: KVStore, *, user_id: str, limits: quota.Limits) -> UserDetail:
    user = users.get_user(store, user_id=user_id)
    audio = [AudioRecord.from_item(item).size_bytes for item in _sk_items(store, user_id, keys.AUDIO)]
    today = quota.usage(store, user_id=user_id, limits=limits)
    total = quota.totals(store, user_id=user_id)
    usage = Usage(
        characters_today=today.used,
        characters_total=total.characters,
        syntheses=total.syntheses,
        audio_count=len(audio),
        audio_bytes=sum(audio),
        voices=sum(1 for _ in _sk_items(store, user_id, keys.VOICE)),
        api_keys=sum(1 for _ in _sk_items(store, user_id, keys.APIKEY)),
        quota=today,
    )
    return UserDetail(user=user, usage=usage)


def _is_active_admin(user: User) -> bool:
    return user.role == "admin" and user.is_active


def _keep_an_admin(store: KVStore, target: User) -> list[Op]:
    """A check that an active admin other than `target` remains, or 409 last_admin when none does."""
    other = next((u for u in _all_users(store) if u.id != target.id and _is_active_admin(u)), None)
    if other is None:
        raise Conflict(
            f"{target.username} is the last active admin: make another account admin first", code="last_admin"
        )
    return [Check(*other.key, cond=ADMIN_ACTIVE)]


def _audit(actor: User, action: AuditAction, target: User, changes: Mapping[str, Mapping[str, Any]]) -> AuditRecord:
    return AuditRecord(
        id=sortable_id(),
        at=utcnow_iso(),
        actor_id=actor.id,
        actor_username=actor.username,
        action=action,
        target_id=target.id,
        target_username=target.username,
        changes=changes,
    )


def _changed(user: User, changes: UserChanges) -> User:
    return replace(
        user,
        is_active=user.is_active if changes.is_active is None else changes.is_active,
        role=user.role if changes.role is None else changes.role,
        quota_chars_per_day=(
            user.quota_chars_per_day if changes.quota_chars_per_day is users.KEEP else changes.quota_chars_per_day
        ),
    )


def _race_lost() -> Conflict:
    return Conflict("The account kept changing while this ran; try again", code="conflict")


def update_user(store: KVStore, *, actor_id: str, user_id: str, changes: UserChanges) -> User:
    """Apply `changes` to the account (see the module contract) and return it as stored."""
    last: TransactionConflict | None = None
    for _ in range(_TRIES):
        actor = users.get_user(store, user_id=actor_id)
        user, unchanged = users.load_for_update(store, user_id)
        updated = _changed(user, changes)
        diff = {
            name: {"from": getattr(user, name), "to": getattr(updated, name)}
            for name in ("is_active", "role", "quota_chars_per_day")
            if getattr(user, name) != getattr(updated, name)
        }
        if not diff:
            return user
        guard = _keep_an_admin(store, user) if _is_active_admin(user) and not _is_active_admin(updated) else []
        record = _audit(actor, "user.update", user, diff)
        try:
            store.transact([Put(updated.to_item(), cond=unchanged), *guard, Put(record.to_item(), cond=MUST_NOT_EXIST)])
        except TransactionConflict as exc:
            last = exc
            continue
        # After the profile write, as core.services.accounts.set_active: sessions follow is_active, so a
        # disabled account's access tokens stop at their next request (the check rides on the session read).
        if "is_active" in diff:
            (signout.resume_all if updated.is_active else signout.suspend_all)(store, user_id=user_id)
        return updated
    raise _race_lost() from last


def delete_user(store: KVStore, blobs: BlobStore, *, actor_id: str, user_id: str) -> User:
    """Delete the account with all its data (see the module contract); returns it as it was."""
    last: TransactionConflict | None = None
    for _ in range(_TRIES):
        actor = users.get_user(store, user_id=actor_id)
        user, unchanged = users.load_for_update(store, user_id)
        guard = _keep_an_admin(store, user) if _is_active_admin(user) else []
        record = _audit(actor, "user.delete", user, {})
        ops = [*users.deletion_ops(store, user, profile_cond=unchanged), *guard]
        try:
            store.transact([*ops, Put(record.to_item(), cond=MUST_NOT_EXIST)])
        except TransactionConflict as exc:
            last = exc
            continue
        purge_partition(store, blobs, user_id=user_id)
        return user
    raise _race_lost() from last


def delete_own_account(store: KVStore, blobs: BlobStore, *, user_id: str) -> None:
    """DELETE /profile: an active admin's own account goes through `delete_user` (so the last active admin
    cannot delete itself either, and the deletion is audited); any other through users.delete_account."""
    user = users.get_user(store, user_id=user_id)
    if _is_active_admin(user):
        delete_user(store, blobs, actor_id=user_id, user_id=user_id)
    else:
        users.delete_account(store, blobs, user_id=user_id)


def audit_log(store: KVStore, *, limit: int = 50, cursor: str | None = None) -> AuditPage:
    page = store.query(keys.AUDIT, sk_prefix=keys.AUDIT_ENTRY, limit=_page_size(limit), cursor=cursor, descending=True)
    return AuditPage(records=[AuditRecord.from_item(item) for item in page.items], cursor=page.cursor)
