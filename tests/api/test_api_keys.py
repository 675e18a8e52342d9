"""API keys: shown once, stored hashed, accepted as Bearer, scoped to their user, revocable."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.testclient import TestClient

from core import runtime
from core.records import keys
from tests.conftest import Users


def make_key(client: TestClient, user: dict[str, Any], name: str = "ci") -> dict[str, Any]:
    response = client.post("/api-keys", headers=user["headers"], json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_key_is_shown_once_stored_hashed_and_works(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    created = make_key(client, alice)
    key = created["key"]
    assert key.startswith("cbx_")
    assert created["prefix"] == key[:12]
    listed = client.get("/api-keys", headers=alice["headers"]).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    lookup = runtime.store().get(*keys.api_key_lookup(created["id"]))
    assert lookup is not None
    secret = key.split("_", 2)[2]
    assert lookup["hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(lookup)
    profile = client.get("/profile", headers=bearer(key))
    assert profile.status_code == 200
    assert profile.json()["username"] == "alice"
    usage = client.get("/api-keys", headers=alice["headers"]).json()[0]
    assert usage["requests"] == 1
    assert usage["last_used_at"] is not None


def test_synthesis_with_a_key_is_attributed_to_it(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    key = make_key(client, alice)["key"]
    made = client.post("/synthesize", headers=bearer(key), json={"text": "Made by a program."})
    assert made.status_code == 200, made.text
    assert client.get(made.json()["url"], headers=alice["headers"]).status_code == 200  # same user's library
    usage = client.get("/api-keys", headers=alice["headers"]).json()[0]
    assert usage["requests"] >= 1


def test_keys_are_scoped_and_revocable(client: TestClient, users: Users) -> None:
    alice, bob = users.create("alice"), users.create("bob")
    key = make_key(client, alice)
    assert client.delete(f"/api-keys/{key['id']}", headers=bob["headers"]).status_code == 404
    assert client.get("/api-keys", headers=bob["headers"]).json() == []
    assert client.delete(f"/api-keys/{key['id']}", headers=alice["headers"]).status_code == 204
    revoked = client.get("/profile", headers=bearer(key["key"]))
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "invalid_api_key"
    assert client.delete(f"/api-keys/{key['id']}", headers=alice["headers"]).status_code == 404


def test_forged_and_malformed_keys_are_refused(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    key = make_key(client, alice)["key"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for token in (forged, "cbx_", "cbx_short", key + "x", "cbx_" + "0" * 26 + "_" + "a" * 43):
        response = client.get("/profile", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "invalid_api_key"


def test_keys_cannot_manage_keys_or_delete_the_account(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    key = make_key(client, alice)["key"]
    for method, path, body in (
        ("POST", "/api-keys", {"name": "x"}),
        ("GET", "/api-keys", None),
        ("DELETE", "/profile", None),
    ):
        response = client.request(method, path, headers=bearer(key), json=body)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "session_required"
    assert client.get("/profile", headers=alice["headers"]).status_code == 200


def test_deleting_the_account_kills_its_keys(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    key = make_key(client, alice)
    assert client.delete("/profile", headers=alice["headers"]).status_code == 204
    assert client.get("/profile", headers=bearer(key["key"])).status_code == 401
    assert runtime.store().get(*keys.api_key_lookup(key["id"])) is None  # no orphan lookup left
