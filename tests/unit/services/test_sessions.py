"""core.services.sessions on an in-memory store: login, rotation, reuse and logout, seen through the
Session record (`sessions.get_session`). The rotation clock is `sessions.clock`; tests move it."""

from __future__ import annotations

import time

import pytest

from core.config import Settings
from core.errors import RateLimited, Unauthorized
from core.records import keys
from core.records.sessions import Session
from core.records.users import User
from core.security import TokenClaims, decode_token
from core.services import sessions, users
from core.storage import KVStore

PASSWORD = "correct horse battery"


@pytest.fixture
def user(store: KVStore) -> User:
    return users.register(store, username="alice", email="alice@example.com", password=PASSWORD, full_name=None)


def claims(settings: Settings, token: str, kind: str = "refresh") -> TokenClaims:
    return decode_token(
        token,
        expected_type="refresh" if kind == "refresh" else "access",
        key=settings.signing_key(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def session_of(store: KVStore, settings: Settings, refresh_token: str) -> Session:
    c = claims(settings, refresh_token)
    session = sessions.get_session(store, user_id=c.sub, session_id=c.sid)
    assert session is not None
    return session


def test_session_round_trips_unrotated_rotated_and_revoked(store: KVStore) -> None:
    t = int(time.time())  # the store hides items whose ttl has passed
    fresh = Session(
        user_id="u1",
        id="s1",
        status="active",
        current_jti="j1",
        refresh_iat=t,
        ttl=t + 200,
        access_jti="a1",
        access_iat=t,
        access_exp=t + 50,
        created_at="2026-12-01T05:00:00.000Z",
    )
    access = TokenClaims(sub="u1", type="access", jti="a2", sid="s1", iat=t + 10, exp=t + 60)
    refresh = TokenClaims(sub="u1", type="refresh", jti="j2", sid="s1", iat=t + 10, exp=t + 210)
    rotated = fresh.rotated(access=access, refresh=refresh, rotated_ms=110_000, rotated_at="t")
    revoked = rotated.revoked(at="t2")
    assert "previous_jti" not in fresh.to_item()  # unset optional attributes are not written
    assert (rotated.previous_jti, rotated.current_jti, rotated.ttl) == ("j1", "j2", t + 210)
    assert (revoked.status, revoked.active, revoked.revoked_at) == ("revoked", False, "t2")
    for session in (fresh, rotated, revoked):
        item = session.to_item()
        assert (item["pk"], item["sk"]) == session.key == keys.session("u1", "s1")
        assert Session.from_item(item) == session
        assert Session.from_item(item).to_item() == item
        store.put(item)
        assert sessions.get_session(store, user_id="u1", session_id="s1") == session


def test_login_starts_an_active_session_holding_the_pairs_claims(
    store: KVStore, settings: Settings, user: User
) -> None:
    tokens = sessions.login(store, settings, login="ALICE", password=PASSWORD)
    refresh, access = claims(settings, tokens.refresh_token), claims(settings, tokens.access_token, "access")
    session = session_of(store, settings, tokens.refresh_token)
    assert session.active
    assert session.user_id == user.id == access.sub
    assert (session.current_jti, session.refresh_iat, session.ttl) == (refresh.jti, refresh.iat, refresh.exp)
    assert (session.access_jti, session.access_iat, session.access_exp) == (access.jti, access.iat, access.exp)
    assert session.previous_jti is None
    assert tokens.refresh_token not in str(session)  # claims only, never the tokens
    assert sessions.authenticate_access(store, settings, token=tokens.access_token) == access


def test_wrong_passwords_are_refused_then_lock_the_account(store: KVStore, settings: Settings, user: User) -> None:
    strict = settings.model_copy(update={"login_lockout_failures": 2})
    for _ in range(2):
        with pytest.raises(Unauthorized) as info:
            sessions.login(store, strict, login="alice", password="wrong password")
        assert info.value.code == "invalid_credentials"
    with pytest.raises(RateLimited) as locked:
        sessions.login(store, strict, login="alice@example.com", password=PASSWORD)  # one counter per account
    assert locked.value.code == "login_locked"
    assert store.query(keys.user_pk(user.id), sk_prefix=keys.SESSION).items == []


def test_rotation_keeps_the_retired_jti_and_a_retry_in_the_grace_window_gets_the_same_pair(
    store: KVStore, settings: Settings, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(sessions, "clock", lambda: now[0])
    first = sessions.start(store, settings, user_id=user.id)
    second = sessions.rotate(store, settings, refresh_token=first.refresh_token)
    session = session_of(store, settings, second.refresh_token)
    assert session.previous_jti == claims(settings, first.refresh_token).jti
    assert session.current_jti == claims(settings, second.refresh_token).jti
    assert session.rotated_ms == 1_000_000_000
    assert session.rotated_at is not None
    now[0] += settings.refresh_reuse_grace_seconds - 1
    retry = sessions.rotate(store, settings, refresh_token=first.refresh_token)
    assert (retry.access_token, retry.refresh_token) == (second.access_token, second.refresh_token)
    assert session_of(store, settings, second.refresh_token) == session  # a retry changes nothing


def test_reuse_after_the_grace_window_revokes_the_family(
    store: KVStore, settings: Settings, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(sessions, "clock", lambda: now[0])
    first = sessions.start(store, settings, user_id=user.id)
    second = sessions.rotate(store, settings, refresh_token=first.refresh_token)
    now[0] += settings.refresh_reuse_grace_seconds + 1
    with pytest.raises(Unauthorized) as reused:
        sessions.rotate(store, settings, refresh_token=first.refresh_token)
    assert reused.value.code == "refresh_reused"
    session = session_of(store, settings, second.refresh_token)
    assert session.status == "revoked"
    assert session.revoked_at is not None
    for attempt in (
        lambda: sessions.rotate(store, settings, refresh_token=second.refresh_token),
        lambda: sessions.authenticate_access(store, settings, token=second.access_token),
    ):
        with pytest.raises(Unauthorized) as ended:
            attempt()
        assert ended.value.code == "session_revoked"


def test_logout_revokes_once_and_is_idempotent(store: KVStore, settings: Settings, user: User) -> None:
    tokens = sessions.start(store, settings, user_id=user.id)
    sessions.end(store, settings, refresh_token=tokens.refresh_token)
    revoked = session_of(store, settings, tokens.refresh_token)
    assert not revoked.active
    sessions.end(store, settings, refresh_token=tokens.refresh_token)
    assert session_of(store, settings, tokens.refresh_token) == revoked  # revoked_at kept from the first logout
    with pytest.raises(Unauthorized):
        sessions.authenticate_access(store, settings, token=tokens.access_token)


def test_a_deleted_account_cannot_rotate(store: KVStore, settings: Settings, user: User) -> None:
    tokens = sessions.start(store, settings, user_id=user.id)
    users.delete_user(store, user_id=user.id)
    with pytest.raises(Unauthorized) as info:
        sessions.rotate(store, settings, refresh_token=tokens.refresh_token)
    assert info.value.code == "invalid_token"
