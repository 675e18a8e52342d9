"""Abuse: rate limits across processes, lockout, token attacks, IDOR. Concurrency is in
test_parallel_requests.py, faults (storage, engine files) in test_faults.py."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from core import runtime
from core.config import get_settings
from tests.conftest import Users
from tests.support import servers
from tests.support.clock import fresh_window_start
from tests.support.spies import spy
from tests.support.users import login, register_body


# -- rate limits ---------------------------------------------------------------------------------
def test_register_is_limited_per_ip_with_retry_after(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_REGISTER_PER_HOUR", "3")
    runtime.reset()
    codes = [client.post("/auth/register", json=register_body(f"user{n}")).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.post("/auth/register", json=register_body("user9"))
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 3600


def test_limits_hold_across_server_processes(tmp_path: Path) -> None:
    """Both servers' clocks are pinned to the same instant: all attempts fall into one one-minute window."""
    env = {"DATA_DIR": str(tmp_path / "shared"), "RATE_LIMIT_LOGIN_PER_MINUTE": "5"}
    at = fresh_window_start()
    with servers.api_server(env, pinned_at=at) as first, servers.api_server(env, pinned_at=at) as second:
        assert httpx.post(f"{first}/auth/register", json=register_body("multi")).status_code == 200
        codes = []
        for n in range(8):
            url = first if n % 2 == 0 else second
            with httpx.Client(base_url=url) as web:
                codes.append(login(web, "multi").status_code)
        assert codes == [200] * 5 + [429] * 3


def test_login_lockout_does_not_reveal_whether_the_user_exists(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import security

    monkeypatch.setenv("LOGIN_LOCKOUT_FAILURES", "3")
    runtime.reset()
    users.create("victim", password="the right password")
    answers: dict[str, list[tuple[int, str]]] = {"victim": [], "ghost": []}
    for name in answers:
        for _ in range(4):
            response = login(client, name, password="wrong guess!")
            answers[name].append((response.status_code, response.json()["error"]["code"]))
    assert answers["victim"] == answers["ghost"]
    assert [status for status, _ in answers["victim"]] == [401, 401, 401, 429]
    # Locked: even the right password is refused, and the same hashing work is done either way.
    calls: list[str] = []
    real_verify = security._context().verify
    monkeypatch.setattr(security._context(), "verify", spy(calls, real_verify, mark="verify"))
    locked_real = login(client, "victim", password="the right password")
    locked_ghost = login(client, "ghost", password="the right password")
    assert locked_real.status_code == locked_ghost.status_code == 429
    assert locked_real.json() == locked_ghost.json()
    assert locked_real.headers["retry-after"]
    assert calls == ["verify", "verify"]
    # Another name is not affected.
    users.create("bystander", password="the right password")


# -- token attacks -------------------------------------------------------------------------------
def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _forge(valid: str, **changes: Any) -> str:
    payload = jwt.decode(valid, options={"verify_signature": False})
    payload.update(changes)
    return jwt.encode(payload, get_settings().signing_key(), algorithm="HS256")


def _attacks(access: str, refresh: str) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    payload = jwt.decode(access, options={"verify_signature": False})
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header, body, _ = access.split(".")
    import hashlib
    import hmac

    # HS/RS confusion: an HS256 token "signed" with a public key as the HMAC secret.
    confused_sig = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}.",
        "rs256": jwt.encode(payload, private, algorithm="RS256"),
        "hs-rs-confusion": f"{header}.{body}.{base64.urlsafe_b64encode(confused_sig).decode().rstrip('=')}",
        "wrong-secret": jwt.encode(payload, "another secret that is long enough!!", algorithm="HS256"),
        "tampered": f"{header}.{_b64({**payload, 'sub': 'someone-else'})}.{access.split('.')[2]}",
        "expired": _forge(access, exp=int(time.time()) - 60, iat=int(time.time()) - 3600),
        "not-yet-valid": _forge(access, nbf=int(time.time()) + 600),
        "wrong-iss": _forge(access, iss="someone-else"),
        "wrong-aud": _forge(access, aud="someone-else"),
        "refresh-as-access": refresh,
        "unknown-session": _forge(access, sid="0" * 32),
        "empty": "",
        "garbage": "a.b.c",
    }


def test_token_attacks_answer_401_before_any_handler_logic(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.services import library, voices
    from core.services import users as user_service

    alice = users.create("alice")
    reached: list[str] = []
    for module, name in ((user_service, "get_user"), (voices, "list_voices"), (library, "history")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, spy(reached, real, mark=name))
    attacks = _attacks(alice["tokens"]["access_token"], alice["tokens"]["refresh_token"])
    for label, token in attacks.items():
        for path in ("/profile", "/voices", "/audio"):
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (label, path, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "error" in response.json()
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "bearer  ", "Token abc", alice["tokens"]["access_token"]):
        assert client.get("/profile", headers={"Authorization": header}).status_code == 401, header
    assert reached == []
    assert client.get("/profile", headers=alice["headers"]).status_code == 200  # the real token still works
    assert reached == ["get_user"]


def test_replayed_rotated_refresh_revokes_family_and_deleted_user_tokens_fail(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.services import sessions

    alice = users.create("alice")
    old = alice["tokens"]["refresh_token"]
    new = client.post("/auth/refresh", json={"refresh_token": old}).json()
    later = sessions.clock() + get_settings().refresh_reuse_grace_seconds  # the grace window is over
    monkeypatch.setattr(sessions, "clock", lambda: later)
    assert client.post("/auth/refresh", json={"refresh_token": old}).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": new["refresh_token"]}).status_code == 401
    bob = users.create("bob")
    assert client.delete("/profile", headers=bob["headers"]).status_code == 204
    assert client.get("/audio", headers=bob["headers"]).status_code == 401


# -- IDOR ----------------------------------------------------------------------------------------
def test_every_endpoint_answers_404_for_another_users_ids(client: TestClient, users: Users) -> None:
    alice, mallory = users.create("alice"), users.create("mallory")
    audio_id = client.post("/synthesize", headers=alice["headers"], json={"text": "Private words."}).json()["audio_id"]
    key_id = client.post("/api-keys", headers=alice["headers"], json={"name": "k"}).json()["id"]
    attempts: list[tuple[str, str, Any]] = [
        ("GET", f"/audio/{audio_id}", None),
        ("GET", f"/audio/{audio_id}?format=mp3", None),
        ("GET", f"/audio/{audio_id}/info", None),
        ("DELETE", f"/audio/{audio_id}", None),
        ("DELETE", f"/api-keys/{key_id}", None),
        ("POST", "/synthesize", {"text": "x", "voice_id": audio_id}),
    ]
    for method, path, body in attempts:
        response = client.request(method, path, headers=mallory["headers"], json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert client.get(f"/audio/{audio_id}/info", headers=alice["headers"]).status_code == 200
    assert len(client.get("/api-keys", headers=alice["headers"]).json()) == 1


@pytest.mark.parametrize(
    "path",
    ["/audio/..%2F..%2Fsecret_key", "/audio/%2e%2e", "/audio/a%00b/info", "/voices/..%2Fx", "/audio/" + "a" * 65],
)
def test_path_ids_are_validated(client: TestClient, users: Users, path: str) -> None:
    alice = users.create("alice")
    method = "DELETE" if path.startswith("/voices") else "GET"
    response = client.request(method, path, headers=alice["headers"])
    assert response.status_code in (404, 422), response.text
    assert "error" in response.json()
