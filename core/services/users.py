"""Accounts: registration, credential checks, profile reads, account deletion.

Contract (items of the single table):
- `USER#<id>` / `PROFILE`: id, username, email, full_name, password_hash, created_at.
- `USERNAME#<lower>` / `USERNAME` and `EMAIL#<lower>` / `EMAIL`: uniqueness claims -> user_id.
Registration writes the three in one transaction: a conflict leaves nothing behind and raises
`Conflict` naming the field. Usernames and emails are unique case-insensitively.
Items that own blobs list their keys in `blob_keys`, and items that own items outside the user's
partition list them in `owned_keys` ([pk, sk] pairs); deleting the account removes both.
`authenticate` spends the same hashing work whether or not the user exists, and re-hashes a
password stored with a deprecated scheme (bcrypt) as argon2 on success.
"""

from __future__ import annotations

from typing import Any

from core import security
from core.errors import ConditionFailed, Conflict, NotFound, TransactionConflict, Unauthorized
from core.services.clock import sortable_id, utcnow_iso
from core.storage import MUST_EXIST, MUST_NOT_EXIST, BlobStore, Cond, Delete, Item, KVStore, Put


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def _username_key(username: str) -> tuple[str, str]:
    return f"USERNAME#{username.lower()}", "USERNAME"


def _email_key(email: str) -> tuple[str, str]:
    return f"EMAIL#{email.lower()}", "EMAIL"


def public_profile(item: Item) -> dict[str, Any]:
    return {k: item.get(k) for k in ("id", "username", "email", "full_name", "created_at")}


def register(store: KVStore, *, username: str, email: str, password: str, full_name: str | None) -> Item:
    user_id = sortable_id()
    profile: Item = {
        "pk": user_pk(user_id),
        "sk": "PROFILE",
        "id": user_id,
        "username": username,
        "email": email,
        "full_name": full_name,
        "password_hash": security.hash_password(password),
        "created_at": utcnow_iso(),
    }
    upk, usk = _username_key(username)
    epk, esk = _email_key(email)
    try:
        store.transact(
            [
                Put(profile, cond=MUST_NOT_EXIST),
                Put({"pk": upk, "sk": usk, "user_id": user_id}, cond=MUST_NOT_EXIST),
                Put({"pk": epk, "sk": esk, "user_id": user_id}, cond=MUST_NOT_EXIST),
            ]
        )
    except TransactionConflict as exc:
        if exc.reasons[1]:
            raise Conflict("Username is already taken", code="username_taken") from exc
        if exc.reasons[2]:
            raise Conflict("Email is already registered", code="email_taken") from exc
        raise Conflict("Could not create the account, try again", code="conflict") from exc
    return profile


def _lookup(store: KVStore, login: str) -> Item | None:
    pk, sk = _email_key(login) if "@" in login else _username_key(login)
    claim = store.get(pk, sk)
    if claim is None:
        return None
    return store.get(user_pk(claim["user_id"]), "PROFILE")


def authenticate(store: KVStore, *, login: str, password: str) -> Item:
    """The user whose username or email is `login` and whose password matches, else Unauthorized."""
    user = _lookup(store, login)
    if user is None:
        security.dummy_verify(password)
        raise Unauthorized("Incorrect username or password", code="invalid_credentials")
    ok, new_hash = security.verify_password(password, user["password_hash"])
    if not ok:
        raise Unauthorized("Incorrect username or password", code="invalid_credentials")
    if new_hash is not None:
        upgraded = {**user, "password_hash": new_hash}
        store.put(upgraded, cond=Cond(equals={"password_hash": user["password_hash"]}))
        user = upgraded
    return user


def get_user(store: KVStore, *, user_id: str) -> Item:
    user = store.get(user_pk(user_id), "PROFILE")
    if user is None:
        raise NotFound("User not found", code="user_not_found")
    return user


def delete_user(store: KVStore, *, user_id: str) -> list[Item]:
    """Delete the account and every item under it; returns the deleted items (callers remove blobs)."""
    user = get_user(store, user_id=user_id)
    upk, usk = _username_key(user["username"])
    epk, esk = _email_key(user["email"])
    # The profile goes first (with its claims, atomically): from then on no token of this user works.
    store.transact(
        [
            Delete(user_pk(user_id), "PROFILE", cond=MUST_EXIST),
            Delete(upk, usk),
            Delete(epk, esk),
        ]
    )
    removed: list[Item] = []
    cursor: str | None = None
    while True:
        page = store.query(user_pk(user_id), limit=100, cursor=cursor)
        for item in page.items:
            store.delete(item["pk"], item["sk"])
            removed.append(item)
        if page.cursor is None:
            return removed
        cursor = page.cursor


def delete_with_blobs(store: KVStore, blobs: BlobStore, item: Item) -> None:
    """Delete a record (it must still exist: a concurrent delete that won answers 404), then its blobs.

    The record goes first: from then on nothing points at the blobs, so a failure while removing them
    can leave an unreferenced file, never a record whose file is gone.
    """
    try:
        store.delete(item["pk"], item["sk"], cond=MUST_EXIST)
    except ConditionFailed as exc:
        raise NotFound("Already deleted", code="not_found") from exc
    for key in item.get("blob_keys") or []:
        blobs.delete(key)


def delete_account(store: KVStore, blobs: BlobStore, *, user_id: str) -> None:
    """Delete the account, its items and the blobs they own (voices, generated audio)."""
    for item in delete_user(store, user_id=user_id):
        for pk, sk in item.get("owned_keys") or []:
            store.delete(pk, sk)
        for key in item.get("blob_keys") or []:
            blobs.delete(key)
