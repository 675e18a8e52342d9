"""core.services.admin (and the per-user quota and lifetime totals it reads from core.services.quota) on a
store, through the records it returns: listing, usage, updates with their audit records, deletion, and
the last-admin rule under a forced race on SQLite (a file: threads share it) and on the DynamoDB-protocol
server."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest

from core.errors import Conflict, NotFound, RateLimited
from core.records import keys
from core.records.audit import AuditRecord
from core.records.users import User
from core.services import admin, quota, users
from core.storage import BlobStore, KVStore
from core.storage.base import Op
from tests.support.stores import file_or_dynamo
from tests.unit.services.conftest import register

NO_QUOTA = quota.Limits(characters=0, audio_seconds=0, hold_grace_s=900)
HUNDRED = quota.Limits(characters=100, audio_seconds=0, hold_grace_s=900)


def promote(store: KVStore, user_id: str) -> User:
    user = replace(users.get_user(store, user_id=user_id), role="admin")
    store.put(user.to_item())
    return user


def audit(store: KVStore) -> list[AuditRecord]:
    return admin.audit_log(store, limit=100).records


def test_audit_record_round_trips() -> None:
    record = AuditRecord(
        id="0" * 26,
        at="2026-12-01T06:00:00.000Z",
        actor_id="a",
        actor_username="root",
        action="user.update",
        target_id="b",
        target_username="bob",
        changes={"role": {"from": "user", "to": "admin"}},
    )
    item = record.to_item()
    assert (item["pk"], item["sk"]) == keys.audit_entry(record.id)
    assert AuditRecord.from_item(item) == record


def test_list_users_filters_by_prefix_any_case_and_pages(store: KVStore) -> None:
    ids = {name: register(store, name) for name in ("Alice", "alfred", "bob")}
    assert {u.id for u in admin.list_users(store, prefix="AL").users} == {ids["Alice"], ids["alfred"]}
    first = admin.list_users(store, limit=2)
    assert len(first.users) == 2
    assert first.cursor is not None
    rest = admin.list_users(store, limit=2, cursor=first.cursor)
    assert rest.cursor is None
    assert sorted(u.id for u in first.users + rest.users) == sorted(ids.values())


def test_user_detail_counts_the_partition_and_the_lifetime_totals(store: KVStore) -> None:
    alice = register(store, "alice")
    for characters in (10, 15):  # two jobs, delivered (as synthesis settles them)
        meter = quota.Meter(store, user_id=alice, hold=None, api_key_id=None)
        meter.finish(characters=characters, seconds=1.0)
    streamed = quota.Meter(store, user_id=alice, hold=None, api_key_id=None)
    streamed.deliver(characters=4, seconds=0.5)
    streamed.deliver(characters=9, seconds=1.0)
    streamed.finish()
    quota.Meter(store, user_id=alice, hold=None, api_key_id=None).finish()  # delivered nothing: not counted
    detail = admin.user_detail(store, user_id=alice, limits=NO_QUOTA)
    assert (detail.usage.characters_total, detail.usage.syntheses) == (34, 3)
    assert (detail.usage.audio_count, detail.usage.audio_bytes, detail.usage.voices, detail.usage.api_keys) == (
        0,
        0,
        0,
        0,
    )
    with pytest.raises(NotFound):
        admin.user_detail(store, user_id="nobody", limits=NO_QUOTA)


def test_the_accounts_own_quota_overrides_the_default_at_once(store: KVStore) -> None:
    alice = register(store, "alice")
    admin_id = register(store, "root")
    promote(store, admin_id)
    assert quota.usage(store, user_id=alice, limits=HUNDRED).limit == 100
    admin.update_user(store, actor_id=admin_id, user_id=alice, changes=admin.UserChanges(quota_chars_per_day=10))
    assert quota.usage(store, user_id=alice, limits=HUNDRED).limit == 10
    with pytest.raises(RateLimited) as refused:
        quota.reserve(store, user_id=alice, characters=11, seconds=1, limits=HUNDRED)
    assert refused.value.details["limit"] == 10
    admin.update_user(store, actor_id=admin_id, user_id=alice, changes=admin.UserChanges(quota_chars_per_day=None))
    assert quota.reserve(store, user_id=alice, characters=11, seconds=1, limits=HUNDRED) is not None
    # With the default off (0), an own quota still applies.
    admin.update_user(store, actor_id=admin_id, user_id=alice, changes=admin.UserChanges(quota_chars_per_day=5))
    with pytest.raises(RateLimited):
        quota.reserve(store, user_id=alice, characters=6, seconds=1, limits=NO_QUOTA)


def test_update_writes_the_change_and_its_audit_record_or_nothing(store: KVStore) -> None:
    root, bob = register(store, "root"), register(store, "bob")
    promote(store, root)
    same = admin.update_user(store, actor_id=root, user_id=bob, changes=admin.UserChanges(role="user"))
    assert same == users.get_user(store, user_id=bob)
    assert audit(store) == []
    changed = admin.update_user(
        store, actor_id=root, user_id=bob, changes=admin.UserChanges(is_active=False, quota_chars_per_day=7)
    )
    assert users.get_user(store, user_id=bob) == changed
    assert (changed.is_active, changed.quota_chars_per_day, changed.role) == (False, 7, "user")
    (entry,) = audit(store)
    assert (entry.action, entry.actor_username, entry.target_username) == ("user.update", "root", "bob")
    assert entry.changes == {"is_active": {"from": True, "to": False}, "quota_chars_per_day": {"from": None, "to": 7}}


def test_a_refused_change_writes_nothing(store: KVStore, blobs: BlobStore) -> None:
    root = register(store, "root")
    promote(store, root)
    before = users.get_user(store, user_id=root)
    for changes in (admin.UserChanges(role="user"), admin.UserChanges(is_active=False)):
        with pytest.raises(Conflict) as refused:
            admin.update_user(store, actor_id=root, user_id=root, changes=changes)
        assert refused.value.code == "last_admin"
    with pytest.raises(Conflict) as refused:
        admin.delete_user(store, blobs, actor_id=root, user_id=root)
    assert refused.value.code == "last_admin"
    assert users.get_user(store, user_id=root) == before
    assert audit(store) == []


def test_delete_removes_profile_claims_items_and_blobs_with_one_audit_record(store: KVStore, blobs: BlobStore) -> None:
    root, bob = register(store, "root"), register(store, "bob")
    promote(store, root)
    blob = keys.audio_blob(bob, "a1", "wav")
    blobs.put(blob, b"RIFF")
    store.put({"pk": keys.user_pk(bob), "sk": f"{keys.AUDIO}a1", "blob_keys": [blob]})
    gone = admin.delete_user(store, blobs, actor_id=root, user_id=bob)
    assert gone.username == "bob"
    assert store.query(keys.user_pk(bob)).items == []
    assert store.get(*keys.username_claim("bob")) is None
    assert list(blobs.listing(f"audio/{bob}/")) == []
    assert [(e.action, e.target_username) for e in audit(store)] == [("user.delete", "bob")]
    with pytest.raises(NotFound):
        admin.delete_user(store, blobs, actor_id=root, user_id=bob)


class RaceAtTransact:
    """Holds each thread's first transaction until both threads reach theirs: both decided on the same
    reads (two active admins), and then both write. A wrapper of a real store, not a double."""

    def __init__(self, store: KVStore) -> None:
        self._store = store
        self._barrier = threading.Barrier(2, timeout=30)
        self._seen: set[int] = set()

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def transact(self, ops: Sequence[Op]) -> None:
        me = threading.get_ident()
        if me not in self._seen:
            self._seen.add(me)
            self._barrier.wait()
        self._store.transact(ops)


@pytest.fixture(params=["sqlite", "dynamodb"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    yield from file_or_dynamo(request, tmp_path)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(shared_store: KVStore) -> None:
    a, b = register(shared_store, "adaa"), register(shared_store, "adbb")
    promote(shared_store, a)
    promote(shared_store, b)
    racing = cast("KVStore", RaceAtTransact(shared_store))

    def demote(actor: str, target: str) -> str:
        try:
            admin.update_user(racing, actor_id=actor, user_id=target, changes=admin.UserChanges(role="user"))
        except Conflict as exc:
            return exc.code
        return "ok"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(demote, (a, b), (b, a)))
    assert outcomes == ["last_admin", "ok"]
    roles = sorted(users.get_user(shared_store, user_id=u).role for u in (a, b))
    assert roles == ["admin", "user"]
    assert len(audit(shared_store)) == 1
