"""Sessions of one account as a set: revoked together (a password change), suspended and resumed (an
account disabled and enabled again).

Contract: each function pages through the user's `SESSION#` items (core.records.sessions) and moves
each one's status with a write conditioned on its current refresh jti and status, re-reading and
retrying when a concurrent rotation got there first, so a rotation never resurrects a session the set
change has moved (a rotation writes only while the session is still `active` with the jti it read).
Revoked sessions stay revoked; suspended ones answer 403 account_disabled (core.services.sessions).
A login racing one of these re-reads the profile after writing its session (core.services.sessions.login),
so one of the two always sees the other.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.errors import ConditionFailed, Conflict
from core.records import keys
from core.records.sessions import Session, SessionStatus
from core.services.clock import utcnow_iso
from core.storage import Cond, KVStore, query_all


def _sessions(store: KVStore, *, user_id: str) -> Iterator[Session]:
    return map(Session.from_item, query_all(store, keys.user_pk(user_id), sk_prefix=keys.SESSION))


def _set_status(store: KVStore, session: Session, *, to: SessionStatus, only: tuple[SessionStatus, ...]) -> None:
    """Move `session` to status `to` if it is in one of `only`, racing rotations with a conditional write."""
    for _ in range(5):
        if session.status not in only:
            return
        changed = session.revoked(at=utcnow_iso()) if to == "revoked" else session.with_status(to)
        try:
            store.put(
                changed.to_item(), cond=Cond(equals={"current_jti": session.current_jti, "status": session.status})
            )
            return
        except ConditionFailed:
            item = store.get(*session.key)
            if item is None:
                return
            session = Session.from_item(item)
    raise Conflict("The sessions kept changing; try again", code="conflict")


def end_one(store: KVStore, *, user_id: str, session_id: str) -> None:
    """Revoke one session (no-op when it is gone or already revoked)."""
    item = store.get(*keys.session(user_id, session_id))
    if item is not None:
        _set_status(store, Session.from_item(item), to="revoked", only=("active", "suspended"))


def end_all(store: KVStore, *, user_id: str, keep: str | None = None) -> int:
    """Revoke every session of the user but `keep` (a password change); returns how many it ended."""
    ended = 0
    for session in _sessions(store, user_id=user_id):
        if session.id != keep and session.status != "revoked":
            _set_status(store, session, to="revoked", only=("active", "suspended"))
            ended += 1
    return ended


def suspend_all(store: KVStore, *, user_id: str) -> None:
    """The account was disabled: its active sessions answer 403 account_disabled until `resume_all`."""
    for session in _sessions(store, user_id=user_id):
        _set_status(store, session, to="suspended", only=("active",))


def resume_all(store: KVStore, *, user_id: str) -> None:
    """The account was enabled again: its suspended sessions work again (revoked ones stay revoked)."""
    for session in _sessions(store, user_id=user_id):
        _set_status(store, session, to="active", only=("suspended",))
