"""core.services.api_keys on an in-memory store: create, list, authenticate, revoke, through the ApiKey,
ApiKeyLookup and CreatedKey records."""

from __future__ import annotations

import hashlib

import pytest

from core.errors import Conflict, NotFound, Unauthorized
from core.maintenance import sweep
from core.records import keys
from core.records.api_keys import ApiKey, ApiKeyLookup
from core.records.users import User
from core.schemas.keys import ApiKeyCreated, ApiKeyOut
from core.services import api_keys, users
from core.storage import KVStore, LocalBlobStore


def register(store: KVStore, username: str) -> User:
    return users.register(
        store, username=username, email=f"{username}@example.com", password="correct horse", full_name=None
    )


@pytest.fixture
def user(store: KVStore) -> User:
    return register(store, "alice")


def lookup_of(store: KVStore, key_id: str) -> ApiKeyLookup | None:
    item = store.get(*keys.api_key_lookup(key_id))
    return None if item is None else ApiKeyLookup.from_item(item)


def test_records_round_trip_with_the_owned_keys_the_sweep_relies_on(store: KVStore) -> None:
    listing = ApiKey.new(user_id="u1", key_id="k1", name="ci", prefix="cbx_k1", created_at="2026-12-01T05:00:00Z")
    assert listing.owned_keys == (keys.api_key_lookup("k1"),)
    used = ApiKey(
        user_id="u1",
        id="k1",
        name="ci",
        prefix="cbx_k1",
        created_at="2026-12-01T05:00:00Z",
        last_used_at="2026-12-01T06:00:00Z",
        requests=3,
        characters=120,
        owned_keys=listing.owned_keys,
    )
    lookup = ApiKeyLookup(key_id="k1", user_id="u1", hash="ab" * 32)
    for record in (listing, used):
        item = record.to_item()
        assert (item["pk"], item["sk"]) == record.key == keys.api_key_listing("u1", "k1")
        assert item["owned_keys"] == [list(keys.api_key_lookup("k1"))]  # [pk, sk] pairs, as the sweep reads them
        assert ApiKey.from_item(item) == record
        assert ApiKey.from_item(item).to_item() == item
        store.put(item)
        assert ApiKey.from_item(store.get(*record.key) or {}) == record  # through the store's JSON too
    assert lookup.key == keys.api_key_lookup("k1")
    assert ApiKeyLookup.from_item(lookup.to_item()) == lookup


def test_create_returns_the_token_once_and_stores_only_its_hash(store: KVStore, user: User) -> None:
    created = api_keys.create(store, user_id=user.id, name="ci")
    token, record = created.token, created.record
    assert token.startswith(api_keys.PREFIX)
    assert record.prefix == token[:12]
    assert (record.user_id, record.name, record.requests, record.last_used_at) == (user.id, "ci", 0, None)
    assert api_keys.list_keys(store, user_id=user.id) == [record]
    secret = token.split("_", 2)[2]
    assert lookup_of(store, record.id) == ApiKeyLookup(
        key_id=record.id, user_id=user.id, hash=hashlib.sha256(secret.encode()).hexdigest()
    )
    assert secret not in str(store.scan().items)


def test_authenticate_counts_the_use_and_refuses_anything_else(store: KVStore, user: User) -> None:
    created = api_keys.create(store, user_id=user.id, name="ci")
    assert api_keys.authenticate(store, token=created.token) == (user.id, created.record.id)
    api_keys.record_use(store, user_id=user.id, key_id=created.record.id, characters=42)
    [listed] = api_keys.list_keys(store, user_id=user.id)
    assert (listed.requests, listed.characters) == (1, 42)
    assert listed.last_used_at is not None
    wrong_secret = created.token[:-4] + ("AAAA" if not created.token.endswith("AAAA") else "BBBB")
    for token in (wrong_secret, "cbx_nonsense", f"cbx_{'0' * 26}_{'A' * 43}"):
        with pytest.raises(Unauthorized) as info:
            api_keys.authenticate(store, token=token)
        assert info.value.code == "invalid_api_key"


def test_revoke_removes_listing_and_lookup_and_only_for_the_owner(store: KVStore, user: User) -> None:
    created = api_keys.create(store, user_id=user.id, name="ci")
    other = register(store, "bob")
    for owner, key_id in ((other.id, created.record.id), (user.id, "not-a-key-id"), (user.id, "0" * 26)):
        with pytest.raises(NotFound):
            api_keys.revoke(store, user_id=owner, key_id=key_id)
    api_keys.revoke(store, user_id=user.id, key_id=created.record.id)
    assert api_keys.list_keys(store, user_id=user.id) == []
    assert lookup_of(store, created.record.id) is None
    with pytest.raises(Unauthorized):
        api_keys.authenticate(store, token=created.token)
    api_keys.record_use(store, user_id=user.id, key_id=created.record.id)  # a revoked key is left alone
    assert store.get(*created.record.key) is None


def test_at_most_max_keys_per_user(store: KVStore, user: User) -> None:
    for n in range(api_keys.MAX_KEYS):
        api_keys.create(store, user_id=user.id, name=f"k{n}")
    with pytest.raises(Conflict) as info:
        api_keys.create(store, user_id=user.id, name="one too many")
    assert info.value.code == "too_many_keys"
    names = sorted(k.name for k in api_keys.list_keys(store, user_id=user.id))
    assert names == sorted(f"k{n}" for n in range(api_keys.MAX_KEYS))


def test_keys_go_with_the_account_and_a_deleted_account_gets_none(
    store: KVStore, blobs: LocalBlobStore, user: User
) -> None:
    created = api_keys.create(store, user_id=user.id, name="ci")
    users.delete_account(store, blobs, user_id=user.id)
    assert lookup_of(store, created.record.id) is None  # owned outside the partition, removed with it
    with pytest.raises(Unauthorized) as info:
        api_keys.create(store, user_id=user.id, name="late")
    assert info.value.code == "account_deleted"
    assert store.scan().items == []


def test_the_token_is_presented_only_by_the_created_response(store: KVStore, user: User) -> None:
    created = api_keys.create(store, user_id=user.id, name="ci")
    shown = ApiKeyCreated.of_created(created).model_dump()
    listed = ApiKeyOut.of(api_keys.list_keys(store, user_id=user.id)[0]).model_dump()
    assert shown == {**listed, "key": created.token}
    assert created.token not in str(listed)


def test_the_sweep_removes_a_key_left_behind(store: KVStore, blobs: LocalBlobStore, user: User) -> None:
    created = api_keys.create(store, user_id=user.id, name="ci")
    users.delete_user(store, user_id=user.id)  # the profile is gone; a crash left the partition behind
    assert store.get(*created.record.key) is not None
    report = sweep(store, blobs, grace_s=3600)
    assert (report.orphan_partitions, report.orphan_items) == (1, 1)
    assert store.scan().items == []  # the listing and, through its owned_keys, the lookup
