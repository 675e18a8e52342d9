"""core.services.users on an in-memory store, through the User and Claim records it returns."""

from __future__ import annotations

import bcrypt
import pytest

from core import emails
from core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from core.records import keys
from core.records.users import Claim, User
from core.schemas.auth import UserOut
from core.services import users
from core.storage import BlobNotFound, KVStore, LocalBlobStore

PASSWORD = "correct horse battery"


def register(store: KVStore, username: str = "alice", email: str = "alice@example.com") -> User:
    return users.register(store, username=username, email=email, password=PASSWORD, full_name="Alice A")


def claim_owner(store: KVStore, key: keys.Key) -> str | None:
    item = store.get(*key)
    return None if item is None else Claim.from_item(item).user_id


def test_user_and_claim_round_trip_through_items_and_the_store(store: KVStore) -> None:
    user = User(
        id="u1",
        username="Alice",
        email="alice+tag@example.com",
        full_name=None,
        password_hash="$argon2id$...",
        created_at="2026-12-01T05:00:00.000Z",
    )
    item = user.to_item()
    assert (item["pk"], item["sk"]) == user.key == keys.profile("u1")
    assert User.from_item(item) == user
    assert User.from_item(item).to_item() == item
    store.put(item)
    assert User.from_item(store.get(*user.key) or {}) == user
    claim = Claim.username("Alice", user_id="u1")
    assert claim.key == keys.username_claim("alice")
    assert Claim.from_item(claim.to_item()) == claim
    assert Claim.email("alice@example.com", user_id="u1").key == keys.email_claim("alice@example.com")


def test_register_stores_the_profile_and_both_claims(store: KVStore) -> None:
    user = register(store, "Alice", "Alice+news@Example.COM")
    assert user.username == "Alice"
    assert user.email == "Alice+news@example.com"  # normalised domain, tag kept
    assert user.password_hash != PASSWORD
    assert users.get_user(store, user_id=user.id) == user
    assert claim_owner(store, keys.username_claim("ALICE")) == user.id
    assert claim_owner(store, keys.email_claim(emails.normalize_email(user.email).mailbox)) == user.id


@pytest.mark.parametrize(
    ("username", "email", "code"),
    [
        ("ALICE", "other@example.com", "username_taken"),  # usernames are unique in any case
        ("alice2", "alice+other@example.com", "email_taken"),  # one account per mailbox
        ("alice3", "ALICE@EXAMPLE.COM", "email_taken"),
    ],
)
def test_registration_conflicts_name_the_field_and_leave_nothing(
    store: KVStore, username: str, email: str, code: str
) -> None:
    register(store)
    with pytest.raises(Conflict) as info:
        register(store, username, email)
    assert info.value.code == code
    assert len(store.scan(pk_prefix=keys.USER).items) == 1  # only the first profile
    free_username = username if code == "email_taken" else "fresh"
    free_email = email if code == "username_taken" else "fresh@example.com"
    assert register(store, free_username, free_email).username == free_username  # the other field was not claimed


def test_a_mixed_script_address_is_refused(store: KVStore) -> None:
    with pytest.raises(ValidationFailed) as info:
        register(store, "homoglyph", "p\u0430ypal@example.com")  # Cyrillic a among Latin letters
    assert info.value.code == emails.MIXED_SCRIPT_CODE
    assert store.scan().items == []


def test_find_by_login_takes_the_username_in_any_case_or_any_form_of_the_email(store: KVStore) -> None:
    user = register(store)
    for login in ("alice", "ALICE", "alice@example.com", "Alice+tag@EXAMPLE.com"):
        assert users.find_by_login(store, login=login) == user, login
    assert users.find_by_login(store, login="bob") is None
    assert users.find_by_login(store, login="bob@example.com") is None
    assert users.login_name("Alice+tag@EXAMPLE.com") == users.login_name("alice@example.com")


def test_verify_login_and_authenticate(store: KVStore) -> None:
    user = register(store)
    assert users.authenticate(store, login="ALICE", password=PASSWORD) == user
    for login, password in (("alice", "wrong password"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthorized) as info:
            users.authenticate(store, login=login, password=password)
        assert info.value.code == "invalid_credentials"  # the same answer whether or not the user exists
    with pytest.raises(Unauthorized):
        users.verify_login(store, user=None, password=PASSWORD)


def test_a_bcrypt_hash_is_upgraded_to_argon2_on_login(store: KVStore) -> None:
    user = register(store)
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    store.put(user.with_password_hash(legacy).to_item())
    upgraded = users.authenticate(store, login="alice", password=PASSWORD)
    assert upgraded.password_hash.startswith("$argon2")
    assert users.get_user(store, user_id=user.id) == upgraded
    assert upgraded == user.with_password_hash(upgraded.password_hash)  # nothing else changed


def test_delete_user_removes_profile_and_claims_so_the_names_are_free_again(store: KVStore) -> None:
    user = register(store)
    assert users.delete_user(store, user_id=user.id) == user
    with pytest.raises(NotFound):
        users.get_user(store, user_id=user.id)
    assert users.find_by_login(store, login="alice") is None
    assert claim_owner(store, keys.username_claim("alice")) is None
    assert register(store).id != user.id
    with pytest.raises(NotFound):
        users.delete_user(store, user_id=user.id)


def test_delete_account_removes_the_partition_what_it_owns_and_its_blobs(store: KVStore, blobs: LocalBlobStore) -> None:
    user, other = register(store), register(store, "bob", "bob@example.com")
    blob = keys.audio_blob(user.id, "a1", "wav")
    blobs.put(blob, b"RIFF")
    owned = ("ELSEWHERE#1", "X")
    store.put({"pk": owned[0], "sk": owned[1]})
    store.put(
        {
            "pk": keys.user_pk(user.id),
            "sk": keys.audio(user.id, "a1")[1],
            "blob_keys": [blob],
            "owned_keys": [list(owned)],
        }
    )
    users.delete_account(store, blobs, user_id=user.id)
    assert store.query(keys.user_pk(user.id)).items == []
    assert store.get(*owned) is None
    with pytest.raises(BlobNotFound):
        blobs.get(blob)
    assert users.get_user(store, user_id=other.id) == other  # another account is untouched


def test_a_user_is_presented_without_its_password_hash(store: KVStore) -> None:
    user = register(store)
    body = UserOut.of(user).model_dump(mode="json")
    assert set(body) == {"id", "username", "email", "full_name", "created_at"}
    assert body["id"] == user.id
    assert user.password_hash not in str(body)
