"""Changes to an existing account: profile edits and password changes by its owner, role and
enabled state by an operator (core.admin, ADMIN_USERNAMES, the admin API).

Contract (records of core.records.users; keyword-only arguments):
- Every profile write replaces the `PROFILE` item on condition that it still holds every attribute
  it was read with (`users.load_for_update`), retrying on a concurrent change, so an edit never undoes another (a
  disable, a role change, a password change). Items written before role/is_active existed cannot be
  conditioned on those two attributes; the first write of this module adds them.
- `update_profile(full_name=, email=)`: `full_name` is set (None clears it) unless `users.KEEP`; a new
  `email` is normalised and refused like registration's (core.services.users.registrable_email: 422),
  and is unique by mailbox: the profile, the new mailbox claim (`MUST_NOT_EXIST`, plus a check that
  no old-style claim holds the address) and the removal of the old claims are one transaction; a
  taken mailbox answers 409 email_taken and changes nothing. The same mailbox with another +tag or
  case just updates the stored address.
- `change_password` checks the current password under the account's login lockout (401 when wrong,
  429 when locked), stores the new argon2 hash, starts a new session and revokes every other session
  of the user (core.services.signout.end_all), returning the new session's tokens.
- `set_role` and `set_active` write the profile; disabling suspends every session (their tokens answer
  403 account_disabled at once, as do the account's API keys, whose check reads the profile), enabling
  resumes the suspended ones. `promote_listed` promotes the enabled-or-not accounts named in
  ADMIN_USERNAMES (`Settings.admin_username_set`), idempotently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal

from core import security
from core.config import Settings
from core.errors import Conflict, TransactionConflict, Unauthorized, ValidationFailed
from core.records import keys
from core.records.users import Claim, Role, User
from core.services import sessions, signout, users
from core.storage import MUST_NOT_EXIST, Check, KVStore, Put
from core.storage.base import Op

_ATTEMPTS = 5


def _busy() -> Conflict:
    return Conflict("The account changed while it was being updated; try again", code="conflict")


def _email_ops(store: KVStore, user: User, email: str) -> tuple[str, list[Op], int]:
    """The new stored address, the claim operations moving the email to it, and how many of them (the
    first ones) fail when another account holds the mailbox."""
    address = users.registrable_email(email)
    if address.address == user.email:
        return user.email, [], 0
    new_key = keys.email_claim(address.mailbox)
    held = users.email_claims(store, user)
    ours = {(d.pk, d.sk) for d in held}
    taken: list[Op] = []
    if new_key not in ours:
        taken.append(Put(Claim.email(address.mailbox, user_id=user.id).to_item(), cond=MUST_NOT_EXIST))
    for legacy in users.legacy_keys(address):
        legacy_key = keys.email_claim(legacy)
        if legacy_key not in ours and legacy_key != new_key:
            taken.append(Check(*legacy_key, cond=MUST_NOT_EXIST))
    moves = [d for d in held if (d.pk, d.sk) != new_key]
    return address.address, [*taken, *moves], len(taken)


def update_profile(
    store: KVStore,
    *,
    user_id: str,
    full_name: str | Literal[users.Keep.KEEP] | None = users.KEEP,
    email: str | None = None,
) -> User:
    """The account with `full_name` and/or `email` changed (None / KEEP: unchanged)."""
    for _ in range(_ATTEMPTS):
        user, unchanged = users.load_for_update(store, user_id)
        users.require_active(user)
        after = user if full_name is users.KEEP else replace(user, full_name=full_name)
        claim_ops: list[Op] = []
        taken = 0
        if email is not None:
            address, claim_ops, taken = _email_ops(store, user, email)
            after = replace(after, email=address)
        if after == user:
            return user
        try:
            store.transact([Put(after.to_item(), cond=unchanged), *claim_ops])
        except TransactionConflict as exc:
            if any(exc.reasons[1 : 1 + taken]):
                raise Conflict("Email is already registered", code="email_taken") from exc
            continue  # the profile or one of its claims moved meanwhile: read again
        return after
    raise _busy()


def _save(store: KVStore, *, user_id: str, edit: Callable[[User], User]) -> User:
    """The profile after `edit`, written over the one it was computed from (retried on concurrent changes)."""
    for _ in range(_ATTEMPTS):
        user, unchanged = users.load_for_update(store, user_id)
        after = edit(user)
        if after == user:
            return after
        try:
            store.transact([Put(after.to_item(), cond=unchanged)])
        except TransactionConflict:
            continue
        return after
    raise _busy()


def change_password(
    store: KVStore, settings: Settings, *, user_id: str, current_password: str, new_password: str
) -> sessions.IssuedTokens:
    """A new token pair for the caller after the password changed; every other session has ended."""
    user = users.require_active(users.get_user(store, user_id=user_id))
    try:
        sessions.check_password(store, settings, user=user, password=current_password)
    except Unauthorized as exc:
        raise Unauthorized("Current password is incorrect", code="invalid_credentials") from exc
    if security.verify_password(new_password, user.password_hash)[0]:
        raise ValidationFailed(
            "new_password: must differ from the current password",
            code="password_unchanged",
            details=[
                {"loc": ["new_password"], "msg": "must differ from the current one", "type": "password_unchanged"}
            ],
        )
    new_hash = security.hash_password(new_password)
    _save(store, user_id=user_id, edit=lambda u: u.with_password_hash(new_hash))
    tokens = sessions.start(store, settings, user_id=user_id)
    signout.end_all(store, user_id=user_id, keep=tokens.session_id)
    return tokens


def set_role(store: KVStore, *, user_id: str, role: Role) -> User:
    """The account with role `role` (idempotent)."""
    return _save(store, user_id=user_id, edit=lambda u: replace(u, role=role))


def set_active(store: KVStore, *, user_id: str, active: bool) -> User:
    """Enable or disable the account; its sessions are suspended or resumed to match (idempotent)."""
    after = _save(store, user_id=user_id, edit=lambda u: replace(u, is_active=active))
    # After the profile write: a login racing this re-reads the profile after writing its session.
    if active:
        signout.resume_all(store, user_id=user_id)
    else:
        signout.suspend_all(store, user_id=user_id)
    return after


def promote_listed(store: KVStore, settings: Settings, *, user: User) -> User:
    """`user` made admin when ADMIN_USERNAMES lists it and it is not yet (one write, once)."""
    if user.role == "admin" or user.username.lower() not in settings.admin_username_set:
        return user
    return set_role(store, user_id=user.id, role="admin")


def promote_all_listed(store: KVStore, settings: Settings) -> list[str]:
    """Promote every existing account ADMIN_USERNAMES lists (start-up); the usernames promoted."""
    promoted = []
    for name in sorted(settings.admin_username_set):
        user = users.find_by_login(store, login=name)
        if user is not None and user.role != "admin":
            promote_listed(store, settings, user=user)
            promoted.append(user.username)
    return promoted
