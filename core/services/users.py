"""Accounts: registration, credential checks, profile reads, account deletion.

Contract (items of the single table):
- `USER#<id>` / `PROFILE`: id, username, email, full_name, password_hash, created_at.
- `USERNAME#<lower>` / `USERNAME` and `EMAIL#<mailbox>` / `EMAIL`: uniqueness claims -> user_id.
Registration writes the three in one transaction: a conflict leaves nothing behind and raises
`Conflict` naming the field. Usernames are unique case-insensitively; emails by mailbox
(core.emails: NFKC, IDNA, lower-cased, `+tag` ignored), and the stored `email` is the normalised
address with its tag. An address whose local part or a domain label mixes scripts is refused (422
`email_mixed_script`).
Claims written before mailboxes existed (`EMAIL#<address lower-cased>`) are still honoured: login
looks the exact old key up first, registration checks it too, and a successful login moves the claim
to its mailbox key in one transaction (left in place when another account already holds that mailbox).
Items that own blobs list their keys in `blob_keys`, and items that own items outside the user's
partition list them in `owned_keys` ([pk, sk] pairs); deleting the account removes both.
Login: `find_by_login` takes a username (NFKC-folded, any case) or an email (any equivalent form);
`login_name` is a login's canonical form (it keys an unknown name's lockout counter); `verify_login`
spends the same hashing work whether or not the user exists (`user=None`), and on success re-hashes a
password stored with a deprecated scheme (bcrypt) as argon2 and moves an old-style email claim.
`authenticate` is the two in one.
`delete_user` removes the profile first (with its claims, atomically), then every item of the
partition; records written under a user after a long operation go through `core.services.owned`, so
work that finishes after the deletion stores nothing.
"""

from __future__ import annotations

from typing import Any

from core import emails, security
from core.errors import (
    Conflict,
    NotFound,
    TransactionConflict,
    Unauthorized,
    ValidationFailed,
)
from core.services.clock import sortable_id, utcnow_iso
from core.storage import MUST_EXIST, MUST_NOT_EXIST, BlobStore, Check, Cond, Delete, Item, KVStore, Put

USER_PREFIX = "USER#"
PROFILE_SK = "PROFILE"


def user_pk(user_id: str) -> str:
    return f"{USER_PREFIX}{user_id}"


def _username_key(username: str) -> tuple[str, str]:
    return f"USERNAME#{username.lower()}", "USERNAME"


def _email_key(key: str) -> tuple[str, str]:
    return f"EMAIL#{key}", "EMAIL"


def public_profile(item: Item) -> dict[str, Any]:
    return {k: item.get(k) for k in ("id", "username", "email", "full_name", "created_at")}


def _email_error(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(f"email: {message}", code=code, details=[{"loc": ["email"], "msg": message, "type": code}])


def registrable_email(raw: str) -> emails.Email:
    """The normalised address, or 422 when it is invalid or mixes scripts (see core.emails)."""
    try:
        email = emails.normalize_email(raw)
    except emails.InvalidEmail as exc:
        raise _email_error(str(exc), "validation_error") from exc
    mixed = emails.mixed_script(email)
    if mixed is not None:
        part, found = mixed
        raise _email_error(
            f"{part!r} mixes letters of several scripts ({', '.join(sorted(found))}); "
            "use an address written in one script",
            emails.MIXED_SCRIPT_CODE,
        )
    return email


def _legacy_keys(email: emails.Email) -> list[str]:
    return [email.legacy_key] if email.legacy_key and email.legacy_key != email.mailbox else []


def register(store: KVStore, *, username: str, email: str, password: str, full_name: str | None) -> Item:
    address = registrable_email(email)
    user_id = sortable_id()
    profile: Item = {
        "pk": user_pk(user_id),
        "sk": PROFILE_SK,
        "id": user_id,
        "username": username,
        "email": address.address,
        "full_name": full_name,
        "password_hash": security.hash_password(password),
        "created_at": utcnow_iso(),
    }
    upk, usk = _username_key(username)
    epk, esk = _email_key(address.mailbox)
    # An account registered before mailbox keys holds this exact address under its old key.
    legacy = [Check(*_email_key(key), cond=MUST_NOT_EXIST) for key in _legacy_keys(address)]
    try:
        store.transact(
            [
                Put(profile, cond=MUST_NOT_EXIST),
                Put({"pk": upk, "sk": usk, "user_id": user_id}, cond=MUST_NOT_EXIST),
                Put({"pk": epk, "sk": esk, "user_id": user_id}, cond=MUST_NOT_EXIST),
                *legacy,
            ]
        )
    except TransactionConflict as exc:
        if exc.reasons[1]:
            raise Conflict("Username is already taken", code="username_taken") from exc
        if any(exc.reasons[2:]):
            raise Conflict("Email is already registered", code="email_taken") from exc
        raise Conflict("Could not create the account, try again", code="conflict") from exc
    return profile


def login_name(login: str) -> str:
    """The canonical form of a submitted login: an email's mailbox, or the lower-cased username."""
    folded = emails.fold_login(login)
    if "@" in folded:
        try:
            return emails.normalize_email(folded).mailbox
        except emails.InvalidEmail:
            pass
    return folded.lower()


def find_by_login(store: KVStore, *, login: str) -> Item | None:
    """The profile whose username or email (any equivalent form, see core.emails) is `login`."""
    folded = emails.fold_login(login)
    if "@" in folded:
        try:
            email = emails.normalize_email(login)
        except emails.InvalidEmail:
            return None
        keys = [_email_key(key) for key in (*_legacy_keys(email), email.mailbox)]
    else:
        keys = [_username_key(folded)]
    for pk, sk in keys:
        claim = store.get(pk, sk)
        if claim is not None:
            return store.get(user_pk(claim["user_id"]), PROFILE_SK)
    return None


def _migrate_email_claim(store: KVStore, user: Item) -> None:
    """Move a claim stored under the old key to the mailbox key (no-op when already there or taken)."""
    try:
        email = emails.normalize_email(user["email"])
    except emails.InvalidEmail:
        return
    for key in _legacy_keys(email):
        claim = store.get(*_email_key(key))
        if claim is None or claim.get("user_id") != user["id"]:
            continue
        mpk, msk = _email_key(email.mailbox)
        try:
            store.transact(
                [
                    Put({"pk": mpk, "sk": msk, "user_id": user["id"]}, cond=MUST_NOT_EXIST),
                    Delete(*_email_key(key), cond=Cond(equals={"user_id": user["id"]})),
                ]
            )
        except TransactionConflict:
            return  # another account holds the mailbox (duplicates from before): keep logging in by the old key


def verify_login(store: KVStore, *, user: Item | None, password: str) -> Item:
    """`user` when `password` is theirs, else Unauthorized; the same hashing work when `user` is None.

    On success, re-hashes a deprecated hash and moves an old-style email claim to its mailbox key.
    """
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
    _migrate_email_claim(store, user)
    return user


def authenticate(store: KVStore, *, login: str, password: str) -> Item:
    """The user whose username or email is `login` and whose password matches, else Unauthorized."""
    return verify_login(store, user=find_by_login(store, login=login), password=password)


def _email_claims(store: KVStore, user: Item) -> list[Delete]:
    """Deletes of the email claims this user holds (mailbox key and any old-style key)."""
    try:
        email = emails.normalize_email(user["email"])
        keys = [email.mailbox, *_legacy_keys(email)]
    except emails.InvalidEmail:
        keys = [str(user["email"]).lower()]
    owned = Cond(equals={"user_id": user["id"]})
    deletes = []
    for key in keys:
        claim = store.get(*_email_key(key))
        if claim is not None and claim.get("user_id") == user["id"]:
            deletes.append(Delete(*_email_key(key), cond=owned))
    return deletes


def get_user(store: KVStore, *, user_id: str) -> Item:
    user = store.get(user_pk(user_id), PROFILE_SK)
    if user is None:
        raise NotFound("User not found", code="user_not_found")
    return user


def delete_user(store: KVStore, *, user_id: str) -> list[Item]:
    """Delete the account and every item under it; returns the deleted items (callers remove blobs)."""
    user = get_user(store, user_id=user_id)
    upk, usk = _username_key(user["username"])
    # The profile goes first (with its claims, atomically): from then on no token of this user works.
    for attempt in range(3):
        try:
            ops = [Delete(user_pk(user_id), PROFILE_SK, cond=MUST_EXIST), Delete(upk, usk), *_email_claims(store, user)]
            store.transact(ops)
            break
        except TransactionConflict as exc:
            if exc.reasons[0]:
                raise NotFound("User not found", code="user_not_found") from exc
            if attempt == 2:  # its email claim kept moving under us (a login migrating it)
                raise Conflict("Could not delete the account, try again", code="conflict") from exc
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


def delete_account(store: KVStore, blobs: BlobStore, *, user_id: str) -> None:
    """Delete the account, its items and the blobs they own (voices, generated audio)."""
    for item in delete_user(store, user_id=user_id):
        for pk, sk in item.get("owned_keys") or []:
            store.delete(pk, sk)
        for key in item.get("blob_keys") or []:
            blobs.delete(key)
