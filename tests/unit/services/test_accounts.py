"""core.services.accounts and core.services.signout on an in-memory store: profile edits, password
changes, roles, disabling and enabling an account, and the races they must not lose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from core.config import Settings
from core.errors import AppError, Conflict, Forbidden, Unauthorized, ValidationFailed
from core.services import accounts, api_keys, sessions, signout, users
from core.storage import KVStore
from tests.support.spies import spy
from tests.unit.services.conftest import register

PASSWORD = "correct horse battery"


def _code(exc: pytest.ExceptionInfo[AppError]) -> str:
    return exc.value.code


def test_update_profile_sets_keeps_and_clears_the_name(store: KVStore, user_id: str) -> None:
    assert accounts.update_profile(store, user_id=user_id, full_name="Alice").full_name == "Alice"
    assert accounts.update_profile(store, user_id=user_id, email="a2@example.com").full_name == "Alice"
    assert accounts.update_profile(store, user_id=user_id, full_name=None).full_name is None
    assert users.get_user(store, user_id=user_id).email == "a2@example.com"


def test_email_change_moves_the_claim(store: KVStore, user_id: str) -> None:
    accounts.update_profile(store, user_id=user_id, email="Alice.New+x@Example.COM")
    found = users.find_by_login(store, login="alice.new@example.com")
    assert found is not None
    assert found.id == user_id
    assert users.find_by_login(store, login="alice@example.com") is None
    assert users.get_user(store, user_id=user_id).email == "Alice.New+x@example.com"


def test_a_freed_email_can_be_registered_and_a_taken_one_cannot_be_moved_to(store: KVStore, user_id: str) -> None:
    accounts.update_profile(store, user_id=user_id, email="alice@new.example")
    other = users.register(store, username="bob", email="alice@example.com", password=PASSWORD, full_name=None)
    with pytest.raises(Conflict) as taken:
        accounts.update_profile(store, user_id=user_id, email="ALICE+again@example.com")
    assert _code(taken) == "email_taken"
    assert users.get_user(store, user_id=user_id).email == "alice@new.example"
    assert users.get_user(store, user_id=other.id).email == "alice@example.com"


def test_a_bad_email_is_refused(store: KVStore, user_id: str) -> None:
    with pytest.raises(ValidationFailed):
        accounts.update_profile(store, user_id=user_id, email="nope")
    with pytest.raises(ValidationFailed) as mixed:
        accounts.update_profile(store, user_id=user_id, email="p\u0430ypal@example.com")
    assert _code(mixed) == "email_mixed_script"


def test_an_edit_never_undoes_a_concurrent_disable(
    store: KVStore, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The profile is disabled between the edit's read and its write: the edit reads again and, the
    account now being disabled, is refused instead of writing is_active back to true."""
    real_load = users.load_for_update
    calls: list[int] = []

    def stale_then_real(store: KVStore, user_id: str) -> Any:
        read = real_load(store, user_id)
        if not calls:
            calls.append(1)
            accounts.set_active(store, user_id=user_id, active=False)
        return read

    monkeypatch.setattr(users, "load_for_update", stale_then_real)
    with pytest.raises(Forbidden):
        accounts.update_profile(store, user_id=user_id, full_name="Alice")
    user = users.get_user(store, user_id=user_id)
    assert (user.is_active, user.full_name) == (False, None)


def test_change_password_ends_every_other_session(store: KVStore, settings: Settings, user_id: str) -> None:
    first = sessions.login(store, settings, login="alice", password=PASSWORD)
    second = sessions.login(store, settings, login="alice", password=PASSWORD)
    fresh = accounts.change_password(
        store, settings, user_id=user_id, current_password=PASSWORD, new_password="another passphrase"
    )
    for ended in (first, second):
        with pytest.raises(Unauthorized):
            sessions.authenticate_access(store, settings, token=ended.access_token)
    assert sessions.authenticate_access(store, settings, token=fresh.access_token).sid == fresh.session_id
    with pytest.raises(Unauthorized):
        sessions.login(store, settings, login="alice", password=PASSWORD)
    sessions.login(store, settings, login="alice", password="another passphrase")


def test_change_password_refuses_a_wrong_or_unchanged_password(
    store: KVStore, settings: Settings, user_id: str
) -> None:
    with pytest.raises(Unauthorized) as wrong:
        accounts.change_password(store, settings, user_id=user_id, current_password="nope", new_password="x" * 12)
    assert _code(wrong) == "invalid_credentials"
    with pytest.raises(ValidationFailed):
        accounts.change_password(store, settings, user_id=user_id, current_password=PASSWORD, new_password=PASSWORD)
    sessions.login(store, settings, login="alice", password=PASSWORD)


def test_wrong_current_passwords_count_under_the_login_lockout(
    store: KVStore, settings: Settings, user_id: str
) -> None:
    strict = settings.model_copy(update={"login_lockout_failures": 2})
    for _ in range(2):
        with pytest.raises(Unauthorized):
            accounts.change_password(store, strict, user_id=user_id, current_password="no", new_password="x" * 12)
    with pytest.raises(AppError) as locked:
        accounts.change_password(store, strict, user_id=user_id, current_password=PASSWORD, new_password="x" * 12)
    assert _code(locked) == "login_locked"


def test_disabling_refuses_tokens_keys_and_login_and_enabling_restores_them(
    store: KVStore, settings: Settings, user_id: str
) -> None:
    pair = sessions.login(store, settings, login="alice", password=PASSWORD)
    key = api_keys.create(store, user_id=user_id, name="ci").token
    accounts.set_active(store, user_id=user_id, active=False)
    refusals: list[Callable[[], object]] = [
        lambda: sessions.authenticate_access(store, settings, token=pair.access_token),
        lambda: sessions.rotate(store, settings, refresh_token=pair.refresh_token),
        lambda: api_keys.authenticate(store, token=key),
        lambda: sessions.login(store, settings, login="alice", password=PASSWORD),
    ]
    for refused in refusals:
        with pytest.raises(Forbidden) as exc:
            refused()
        assert _code(exc) == "account_disabled"
    with pytest.raises(Unauthorized):
        sessions.login(store, settings, login="alice", password="wrong password")
    accounts.set_active(store, user_id=user_id, active=True)
    sessions.authenticate_access(store, settings, token=pair.access_token)
    assert api_keys.authenticate(store, token=key)[0] == user_id
    sessions.rotate(store, settings, refresh_token=pair.refresh_token)


def test_a_login_racing_a_disable_is_refused_and_leaves_no_session(
    store: KVStore, settings: Settings, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disable lands after login's check but its sweep over the sessions misses the new one:
    login's second read of the profile sees it and revokes the session it just wrote."""
    real_start = sessions.start
    started: list[sessions.IssuedTokens] = []

    def start_then_disable(store: KVStore, settings: Settings, *, user_id: str) -> sessions.IssuedTokens:
        tokens = real_start(store, settings, user_id=user_id)
        started.append(tokens)
        disabled = users.get_user(store, user_id=user_id)
        store.put(replace(disabled, is_active=False).to_item())  # the profile write alone, no sweep
        return tokens

    monkeypatch.setattr(sessions, "start", start_then_disable)
    with pytest.raises(Forbidden):
        sessions.login(store, settings, login="alice", password=PASSWORD)
    session = sessions.get_session(store, user_id=user_id, session_id=started[0].session_id)
    assert session is not None
    assert session.status == "revoked"


def test_enabling_does_not_resurrect_revoked_sessions(store: KVStore, settings: Settings, user_id: str) -> None:
    ended = sessions.login(store, settings, login="alice", password=PASSWORD)
    kept = sessions.login(store, settings, login="alice", password=PASSWORD)
    sessions.end(store, settings, refresh_token=ended.refresh_token)
    accounts.set_active(store, user_id=user_id, active=False)
    accounts.set_active(store, user_id=user_id, active=True)
    with pytest.raises(Unauthorized):
        sessions.authenticate_access(store, settings, token=ended.access_token)
    sessions.authenticate_access(store, settings, token=kept.access_token)
    assert signout.end_all(store, user_id=user_id) == 1


def test_roles_and_admin_usernames(store: KVStore, settings: Settings, user_id: str) -> None:
    bob = register(store, "Bob")
    with pytest.raises(Forbidden) as refused:
        users.require_admin(users.get_user(store, user_id=user_id))
    assert _code(refused) == "forbidden"
    assert accounts.set_role(store, user_id=user_id, role="admin").role == "admin"
    users.require_admin(users.get_user(store, user_id=user_id))
    assert accounts.set_role(store, user_id=user_id, role="user").role == "user"
    listed = settings.model_copy(update={"admin_usernames": "bob, nobody"})
    assert listed.admin_username_set == frozenset({"bob", "nobody"})
    assert accounts.promote_all_listed(store, listed) == ["Bob"]
    assert accounts.promote_all_listed(store, listed) == []  # idempotent
    assert users.get_user(store, user_id=bob).role == "admin"
    assert users.get_user(store, user_id=user_id).role == "user"


def test_checking_an_access_token_stays_one_read(
    store: KVStore, settings: Settings, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disabled check costs no read per request: it rides on the session read (suspended sessions)."""
    pair = sessions.login(store, settings, login="alice", password=PASSWORD)
    reads: list[Any] = []
    monkeypatch.setattr(store, "get", spy(reads, store.get))
    monkeypatch.setattr(store, "query", spy(reads, store.query))
    sessions.authenticate_access(store, settings, token=pair.access_token)
    assert len(reads) == 1
    accounts.set_active(store, user_id=user_id, active=False)
    reads.clear()
    with pytest.raises(Forbidden):
        sessions.authenticate_access(store, settings, token=pair.access_token)
    assert len(reads) == 1
