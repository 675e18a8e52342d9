"""Account self-service over HTTP: PATCH /profile (name, email unique by mailbox) and POST /auth/password
(every other session ends, the caller gets a fresh pair in login's shape)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support import users as factory
from tests.support.users import Users, bearer


def _code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_patch_profile_changes_name_and_email(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    changed = client.patch(
        "/profile", json={"full_name": "Alice Liddell", "email": "Alice.L@Example.com"}, headers=alice["headers"]
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["full_name"] == "Alice Liddell"
    assert changed.json()["email"] == "Alice.L@example.com"
    assert "quota" in changed.json()
    assert client.get("/profile", headers=alice["headers"]).json()["email"] == "Alice.L@example.com"
    # The new address logs in (any equivalent form); the old one is free for someone else.
    assert factory.login(client, "alice.l+tag@EXAMPLE.com").status_code == 200
    assert factory.login(client, "alice@example.com").status_code == 401
    assert factory.register(client, "alice2", email="alice@example.com").status_code == 200


def test_patch_profile_only_changes_what_is_sent(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    client.patch("/profile", json={"full_name": "Alice"}, headers=alice["headers"])
    kept = client.patch("/profile", json={"email": "a2@example.com"}, headers=alice["headers"])
    assert kept.json()["full_name"] == "Alice"
    cleared = client.patch("/profile", json={"full_name": None}, headers=alice["headers"])
    assert cleared.json()["full_name"] is None
    assert cleared.json()["email"] == "a2@example.com"


def test_patch_profile_refuses_a_taken_mailbox_and_a_bad_address(client: TestClient, users: Users) -> None:
    alice, bob = users.create("alice"), users.create("bob")
    taken = client.patch("/profile", json={"email": "BOB+work@example.com"}, headers=alice["headers"])
    assert taken.status_code == 409, taken.text
    assert _code(taken) == "email_taken"
    bad = client.patch("/profile", json={"email": "not-an-address"}, headers=alice["headers"])
    assert bad.status_code == 422, bad.text
    mixed = client.patch("/profile", json={"email": "p\u0430ypal@example.com"}, headers=alice["headers"])
    assert mixed.status_code == 422, mixed.text
    extra = client.patch("/profile", json={"username": "mallory"}, headers=alice["headers"])
    assert extra.status_code == 422, extra.text
    assert client.get("/profile", headers=alice["headers"]).json()["email"] == "alice@example.com"
    assert factory.login(client, "bob+work@example.com").status_code == 200
    assert bob["id"] != alice["id"]


def test_patch_profile_keeps_the_mailbox_when_only_the_tag_changes(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    changed = client.patch("/profile", json={"email": "alice+tts@example.com"}, headers=alice["headers"])
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "alice+tts@example.com"
    assert factory.register(client, "alice2", email="alice@example.com").status_code == 409


def test_password_change_ends_every_other_session(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    other = factory.login(client, "alice").json()
    key = client.post("/api-keys", json={"name": "ci"}, headers=alice["headers"]).json()["key"]
    changed = client.post(
        "/auth/password",
        json={"current_password": factory.PASSWORD, "new_password": "a new long passphrase"},
        headers=alice["headers"],
    )
    assert changed.status_code == 200, changed.text
    pair = changed.json()
    assert set(pair) == set(factory.login(client, "alice", password="a new long passphrase").json())
    assert client.get("/profile", headers=bearer(pair["access_token"])).status_code == 200
    for ended in (alice["tokens"], other):
        assert client.get("/profile", headers=bearer(ended["access_token"])).status_code == 401
        assert client.post("/auth/refresh", json={"refresh_token": ended["refresh_token"]}).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 200
    assert factory.login(client, "alice").status_code == 401
    assert client.get("/profile", headers=bearer(key)).status_code == 200  # API keys are not sessions


def test_password_change_refusals(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    wrong = client.post(
        "/auth/password",
        json={"current_password": "not it", "new_password": "a new long passphrase"},
        headers=alice["headers"],
    )
    assert wrong.status_code == 401, wrong.text
    assert _code(wrong) == "invalid_credentials"
    short = client.post(
        "/auth/password", json={"current_password": factory.PASSWORD, "new_password": "short"}, headers=alice["headers"]
    )
    assert short.status_code == 422, short.text
    key = client.post("/api-keys", json={"name": "ci"}, headers=alice["headers"]).json()["key"]
    body = {"current_password": factory.PASSWORD, "new_password": "a new long passphrase"}
    by_key = client.post("/auth/password", json=body, headers=bearer(key))
    assert by_key.status_code == 403, by_key.text
    assert _code(by_key) == "session_required"
    assert client.post("/auth/password", json=body).status_code == 401
    assert client.get("/profile", headers=alice["headers"]).status_code == 200  # nothing changed
