"""The account flow through the combined app: register, login, profile, refresh rotation, logout."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Users

VALID = {"username": "alice", "email": "alice@example.com", "password": "password123", "full_name": "Alice A"}


def error_code(response: object) -> str:
    return str(response.json()["error"]["code"])  # type: ignore[attr-defined]


def test_register_returns_profile_without_secrets(client: TestClient) -> None:
    response = client.post("/auth/register", json=VALID)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "username", "email", "full_name", "created_at", "message"}
    assert body["username"] == "alice"
    assert "password" not in response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "ab"),
        ("username", "a" * 33),
        ("username", "bad name"),
        ("username", "-leading"),
        ("username", "ünïcode"),
        ("email", "not-an-email"),
        ("password", "short"),
        ("password", "x" * 129),
        ("full_name", "n" * 101),
    ],
)
def test_register_validation_errors(client: TestClient, field: str, value: str) -> None:
    response = client.post("/auth/register", json={**VALID, field: value})
    assert response.status_code == 422
    assert error_code(response) == "validation_error"
    assert any(field in d["loc"] for d in response.json()["error"]["details"])


def test_register_rejects_unknown_fields_and_missing_ones(client: TestClient) -> None:
    assert client.post("/auth/register", json={**VALID, "is_admin": True}).status_code == 422
    assert client.post("/auth/register", json={"username": "bob"}).status_code == 422


def test_duplicates_are_case_insensitive_and_leave_nothing_behind(client: TestClient) -> None:
    assert client.post("/auth/register", json=VALID).status_code == 200
    same_name = client.post("/auth/register", json={**VALID, "username": "ALICE", "email": "other@example.com"})
    assert same_name.status_code == 409
    assert error_code(same_name) == "username_taken"
    same_mail = client.post("/auth/register", json={**VALID, "username": "alice2", "email": "Alice@Example.COM"})
    assert same_mail.status_code == 409
    assert error_code(same_mail) == "email_taken"
    # The failed attempts claimed nothing: their other field is still free.
    assert (
        client.post("/auth/register", json={**VALID, "username": "alice2", "email": "x@example.com"}).status_code == 200
    )
    assert (
        client.post("/auth/register", json={**VALID, "username": "carol", "email": "other@example.com"}).status_code
        == 200
    )


def test_long_password_over_72_bytes_is_not_truncated(client: TestClient) -> None:
    password = "é" * 60  # 120 bytes, 60 characters
    assert client.post("/auth/register", json={**VALID, "password": password}).status_code == 200
    assert client.post("/auth/login", json={"username": "alice", "password": password}).status_code == 200
    near_miss = password[:-1] + "e"  # same first 72 bytes
    assert client.post("/auth/login", json={"username": "alice", "password": near_miss}).status_code == 401


def test_login_by_username_or_email_and_bad_credentials(client: TestClient) -> None:
    client.post("/auth/register", json=VALID)
    by_name = client.post("/auth/login", json={"username": "ALICE", "password": VALID["password"]})
    assert by_name.status_code == 200
    assert by_name.json()["token_type"] == "bearer"
    assert by_name.json()["expires_in"] == 30 * 60
    assert (
        client.post("/auth/login", json={"username": "alice@example.com", "password": "password123"}).status_code == 200
    )
    wrong = client.post("/auth/login", json={"username": "alice", "password": "wrong-password"})
    unknown = client.post("/auth/login", json={"username": "nobody", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()  # does not reveal whether the user exists
    assert wrong.headers["www-authenticate"].startswith("Bearer")


def test_profile_needs_a_valid_access_token(client: TestClient, users: Users) -> None:
    user = users.create("dave")
    response = client.get("/profile", headers=user["headers"])
    assert response.status_code == 200
    assert response.json()["username"] == "dave"
    missing = client.get("/profile")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    garbage = client.get("/profile", headers={"Authorization": "Bearer not.a.jwt"})
    assert garbage.status_code == 401
    assert error_code(garbage) == "invalid_token"
    refresh_as_access = client.get("/profile", headers={"Authorization": f"Bearer {user['tokens']['refresh_token']}"})
    assert refresh_as_access.status_code == 401
    assert error_code(refresh_as_access) == "wrong_token_type"


def test_refresh_rotates_and_reuse_revokes_the_family(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.services import sessions

    user = users.create("erin")
    first = user["tokens"]
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_tokens = second.json()
    assert (
        client.get("/profile", headers={"Authorization": f"Bearer {second_tokens['access_token']}"}).status_code == 200
    )
    # The first refresh token is retired; presenting it again after the grace window is theft:
    # the family is revoked.
    later = sessions.clock() + 11  # the default REFRESH_REUSE_GRACE_SECONDS is 10
    monkeypatch.setattr(sessions, "clock", lambda: later)
    replay = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert error_code(replay) == "refresh_reused"
    after = client.post("/auth/refresh", json={"refresh_token": second_tokens["refresh_token"]})
    assert after.status_code == 401
    assert error_code(after) == "session_revoked"
    assert (
        client.get("/profile", headers={"Authorization": f"Bearer {second_tokens['access_token']}"}).status_code == 401
    )
    # Another session of the same user is untouched.
    other = client.post("/auth/login", json={"username": "erin", "password": user["password"]}).json()
    assert client.get("/profile", headers={"Authorization": f"Bearer {other['access_token']}"}).status_code == 200


def test_access_token_is_refused_by_refresh(client: TestClient, users: Users) -> None:
    user = users.create("fay")
    response = client.post("/auth/refresh", json={"refresh_token": user["tokens"]["access_token"]})
    assert response.status_code == 401
    assert error_code(response) == "wrong_token_type"


def test_logout_revokes_session_and_is_idempotent(client: TestClient, users: Users) -> None:
    user = users.create("gus")
    tokens = user["tokens"]
    assert client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 200
    assert client.get("/profile", headers=user["headers"]).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 200


def test_deleted_account_tokens_stop_working(client: TestClient, users: Users) -> None:
    user = users.create("hal")
    assert client.delete("/profile", headers=user["headers"]).status_code == 204
    assert client.get("/profile", headers=user["headers"]).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": user["tokens"]["refresh_token"]}).status_code == 401
    assert client.post("/auth/login", json={"username": "hal", "password": user["password"]}).status_code == 401
    # The name is free again.
    assert (
        client.post("/auth/register", json={**VALID, "username": "hal", "email": "hal@example.com"}).status_code == 200
    )


def test_status_docs_and_openapi(client: TestClient) -> None:
    assert client.get("/").json()["name"] == "Chatterbox TTS API"
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/auth/register", "/auth/login", "/auth/refresh", "/auth/logout", "/profile", "/", "/health"} <= set(paths)


def test_health_reports_a_broken_store_with_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import runtime
    from core.errors import StorageUnavailable

    def broken() -> None:
        raise StorageUnavailable("Storage is unavailable: disk I/O error")

    monkeypatch.setattr(runtime.store(), "ping", broken)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["store"].startswith("error: Storage is unavailable")
