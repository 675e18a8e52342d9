"""Accounts: registration, credential checks, profile reads, account deletion.

Contract (records of core.records.users; services take and return `User`, never store items):
- `User` (`USER#<id>` / `PROFILE`): id, username, email, full_name, password_hash, created_at.
- `Claim` (`USERNAME#<lower>` / `USERNAME` and `EMAIL#<mailbox>` / `EMAIL`): uniqueness claims -> user_id.
Registration writes the three in one transaction: a conflict leaves nothing behind and raises
`Conflict` naming the field. Usernames are unique case-insensitively; emails by mailbox
(core.emails: NFKC, IDNA, lower-cased, `+tag` ignored), and the stored `email` is the normalised
address with its tag. An address whose local part or a domain label mixes scripts is refused (422
`email_mixed_script`).
Claims written before mailboxes existed (`EMAIL#<address lower-cased>`) are still honoured: login
looks the exact old key up first, registration checks it too, and a successful login moves the claim
to its mailbox key in one transaction (left in place when another account already holds that mailbox).
Items that own blobs list their keys in `blob_keys`, and items that own items outside the user's
partition list them in `owned_keys` ([pk, sk] pairs); deleting the account removes both
(`core.services.owned.purge_partition`).
Login: `find_by_login` takes a username (NFKC-folded, any case) or an email (any equivalent form);
`login_name` is a login's canonical form (it keys an unknown name's lockout counter); `verify_login`
spends the same hashing work whether or not the user exists (`user=None`), and on success re-hashes a
password stored with a deprecated scheme (bcrypt) as argon2 and moves an old-style email claim.
`authenticate` is the two in one. `deletion_ops` is the deletion transaction's operations
(core.services.admin adds its own to them); `find_profile` reads an account or None (`get_user` raises
404); `legacy_keys` / `email_claims` are the claim keys an address may sit under (core.services.accounts
moves them when the email changes). `require_active` / `require_admin` refuse a disabled account (403
account_disabled) and a non-admin (403 forbidden).
`load_for_update` reads an account with the condition that its item is still as read (what every
profile rewrite is conditioned on); `KEEP` marks an optional change that was not asked for.
`delete_user` removes the profile with its claims, atomically (from then on no token of the user works)
and returns it; `delete_account` does that, then removes every item of the partition, what they own
and their blobs. Records written under a user after a long operation go through `core.services.owned`,
so work that finishes after the deletion stores nothing.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from core import emails, security
from core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TransactionConflict,
    Unauthorized,
    ValidationFailed,
)
from core.records import keys
from core.records.users import Claim, User
from core.services.clock import sortable_id, utcnow_iso
from core.services.owned import purge_partition
from core.storage import MUST_EXIST, MUST_NOT_EXIST, BlobStore, Check, Cond, Delete, KVStore, Put
from core.storage.base import Op


def _email_error(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(f"email: {message}", code=code, details=[{"loc": ["email"], "msg": message, "type": code}])


class Keep(Enum):
    KEEP = "keep"


KEEP: Literal[Keep.KEEP] = Keep.KEEP  # "leave this field as it is" where None means "clear it"


def load_for_update(store: KVStore, user_id: str) -> tuple[User, Cond]:
    """The account and the condition that its stored item is still exactly what was read (its non-null
    attributes: a null is not comparable on every backend); 404 user_not_found when it is gone."""
    item = store.get(*keys.profile(user_id))
    if item is None:
        raise NotFound("User not found", code="user_not_found")
    unchanged = {k: v for k, v in item.items() if k not in ("pk", "sk") and v is not None}
    return User.from_item(item), Cond(exists=True, equals=unchanged)


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


def legacy_keys(email: emails.Email) -> list[str]:
    """The old-style claim key (address lower-cased) of `email` when it differs from its mailbox."""
    return [email.legacy_key] if email.legacy_key and email.legacy_key != email.mailbox else []


def register(store: KVStore, *, username: str, email: str, password: str, full_name: str | None) -> User:
    address = registrable_email(email)
    user = User(
        id=sortable_id(),
        username=username,
        email=address.address,
        full_name=full_name,
        password_hash=security.hash_password(password),
        created_at=utcnow_iso(),
    )
    claims = (Claim.username(username, user_id=user.id), Claim.email(address.mailbox, user_id=user.id))
    # An account registered before mailbox keys holds this exact address under its old key.
    legacy = [Check(*keys.email_claim(key), cond=MUST_NOT_EXIST) for key in legacy_keys(address)]
    try:
        store.transact(
            [
                Put(user.to_item(), cond=MUST_NOT_EXIST),
                *(Put(claim.to_item(), cond=MUST_NOT_EXIST) for claim in claims),
                *legacy,
            ]
        )
    except TransactionConflict as exc:
        if exc.reasons[1]:
            raise Conflict("Username is already taken", code="username_taken") from exc
        if any(exc.reasons[2:]):
            raise Conflict("Email is already registered", code="email_taken") from exc
        raise Conflict("Could not create the account, try again", code="conflict") from exc
    return user


def login_name(login: str) -> str:
    """The canonical form of a submitted login: an email's mailbox, or the lower-cased username."""
    folded = emails.fold_login(login)
    if "@" in folded:
        try:
            return emails.normalize_email(folded).mailbox
        except emails.InvalidEmail:
            pass
    return folded.lower()


def _claim(store: KVStore, key: keys.Key) -> Claim | None:
    item = store.get(*key)
    return None if item is None else Claim.from_item(item)


def find_profile(store: KVStore, *, user_id: str) -> User | None:
    """The account `user_id`, or None when there is none (get_user raises instead)."""
    item = store.get(*keys.profile(user_id))
    return None if item is None else User.from_item(item)


def find_by_login(store: KVStore, *, login: str) -> User | None:
    """The account whose username or email (any equivalent form, see core.emails) is `login`."""
    folded = emails.fold_login(login)
    if "@" in folded:
        try:
            email = emails.normalize_email(login)
        except emails.InvalidEmail:
            return None
        claim_keys = [keys.email_claim(key) for key in (*legacy_keys(email), email.mailbox)]
    else:
        claim_keys = [keys.username_claim(folded)]
    for key in claim_keys:
        claim = _claim(store, key)
        if claim is not None:
            return find_profile(store, user_id=claim.user_id)
    return None


def _migrate_email_claim(store: KVStore, user: User) -> None:
    """Move a claim stored under the old key to the mailbox key (no-op when already there or taken)."""
    try:
        email = emails.normalize_email(user.email)
    except emails.InvalidEmail:
        return
    for key in legacy_keys(email):
        claim = _claim(store, keys.email_claim(key))
        if claim is None or claim.user_id != user.id:
            continue
        try:
            store.transact(
                [
                    Put(Claim.email(email.mailbox, user_id=user.id).to_item(), cond=MUST_NOT_EXIST),
                    Delete(*claim.key, cond=Cond(equals={"user_id": user.id})),
                ]
            )
        except TransactionConflict:
            return  # another account holds the mailbox (duplicates from before): keep logging in by the old key


def verify_login(store: KVStore, *, user: User | None, password: str) -> User:
    """`user` when `password` is theirs, else Unauthorized; the same hashing work when `user` is None.

    On success, re-hashes a deprecated hash and moves an old-style email claim to its mailbox key.
    """
    if user is None:
        security.dummy_verify(password)
        raise Unauthorized("Incorrect username or password", code="invalid_credentials")
    ok, new_hash = security.verify_password(password, user.password_hash)
    if not ok:
        raise Unauthorized("Incorrect username or password", code="invalid_credentials")
    if new_hash is not None:
        upgraded = user.with_password_hash(new_hash)
        store.put(upgraded.to_item(), cond=Cond(equals={"password_hash": user.password_hash}))
        user = upgraded
    _migrate_email_claim(store, user)
    return user


def authenticate(store: KVStore, *, login: str, password: str) -> User:
    """The user whose username or email is `login` and whose password matches, else Unauthorized."""
    return verify_login(store, user=find_by_login(store, login=login), password=password)


def email_claims(store: KVStore, user: User) -> list[Delete]:
    """Deletes of the email claims this user holds (mailbox key and any old-style key), each
    conditioned on still naming this user."""
    try:
        email = emails.normalize_email(user.email)
        claim_keys = [email.mailbox, *legacy_keys(email)]
    except emails.InvalidEmail:
        claim_keys = [user.email.lower()]
    owned = Cond(equals={"user_id": user.id})
    deletes = []
    for key in claim_keys:
        claim = _claim(store, keys.email_claim(key))
        if claim is not None and claim.user_id == user.id:
            deletes.append(Delete(*claim.key, cond=owned))
    return deletes


def account_disabled() -> Forbidden:
    return Forbidden("This account is disabled; contact an administrator", code="account_disabled")


def require_active(user: User) -> User:
    """`user` when the account is enabled, else 403 account_disabled."""
    if not user.is_active:
        raise account_disabled()
    return user


def require_admin(user: User) -> User:
    """`user` when it is an enabled admin, else 403 (account_disabled, or forbidden for role `user`)."""
    if require_active(user).role != "admin":
        raise Forbidden("This needs an administrator account", code="forbidden")
    return user


def get_user(store: KVStore, *, user_id: str) -> User:
    user = find_profile(store, user_id=user_id)
    if user is None:
        raise NotFound("User not found", code="user_not_found")
    return user


def deletion_ops(store: KVStore, user: User, *, profile_cond: Cond = MUST_EXIST) -> list[Op]:
    """The transaction removing `user`: its profile first (under `profile_cond`), then its claims."""
    username = Claim.username(user.username, user_id=user.id)
    return [Delete(*user.key, cond=profile_cond), Delete(*username.key), *email_claims(store, user)]


def delete_user(store: KVStore, *, user_id: str) -> User:
    """Remove the profile and its claims in one transaction and return the account; from then on no
    token of this user works and nothing more is stored under it (`core.services.owned`). The items
    left in its partition are `delete_account`'s (or the maintenance sweep's) to remove."""
    user = get_user(store, user_id=user_id)
    attempts = 0
    while True:
        try:
            store.transact(deletion_ops(store, user))
            return user
        except TransactionConflict as exc:
            if exc.reasons[0]:
                raise NotFound("User not found", code="user_not_found") from exc
            attempts += 1
            if attempts == 3:  # its email claim kept moving under us (a login migrating it)
                raise Conflict("Could not delete the account, try again", code="conflict") from exc


def delete_account(store: KVStore, blobs: BlobStore, *, user_id: str) -> None:
    """Delete the account, its items, the items they own elsewhere and their blobs (voices, audio)."""
    delete_user(store, user_id=user_id)
    purge_partition(store, blobs, user_id=user_id)
