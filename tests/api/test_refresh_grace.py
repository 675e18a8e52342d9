"""Refresh rotation with a grace window: a retried or concurrent refresh gets the same pair; a replay after
the window, or of an older token, still revokes the family (OAuth 2.0 Security BCP, refresh token rotation).

The rotation clock is `core.services.sessions.clock`; tests move it instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from core import runtime
from core.services import sessions
from tests.conftest import Users


def refresh(client: TestClient, token: str) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": token})


def profile_status(client: TestClient, access: str) -> int:
    return client.get("/profile", headers={"Authorization": f"Bearer {access}"}).status_code


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The rotation clock, frozen at the real now; add to `[0]` to move it forward."""
    now = [sessions.clock()]
    monkeypatch.setattr(sessions, "clock", lambda: now[0])
    return now


def test_a_retried_refresh_within_the_window_returns_the_same_pair(
    client: TestClient, users: Users, frozen: list[float]
) -> None:
    first = users.create("tabs")["tokens"]
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200
    frozen[0] += 9  # the default window is 10 s
    retried = refresh(client, first["refresh_token"])
    assert retried.status_code == 200
    assert retried.json()["access_token"] == second.json()["access_token"]
    assert retried.json()["refresh_token"] == second.json()["refresh_token"]
    assert 0 < retried.json()["expires_in"] <= second.json()["expires_in"]
    # The session lives on: the pair works and rotates normally.
    assert profile_status(client, retried.json()["access_token"]) == 200
    third = refresh(client, retried.json()["refresh_token"])
    assert third.status_code == 200
    assert third.json()["refresh_token"] != second.json()["refresh_token"]


def test_a_replay_after_the_window_revokes_the_family(client: TestClient, users: Users, frozen: list[float]) -> None:
    first = users.create("late")["tokens"]
    second = refresh(client, first["refresh_token"]).json()
    frozen[0] += 10
    replay = refresh(client, first["refresh_token"])
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_reused"
    assert refresh(client, second["refresh_token"]).json()["error"]["code"] == "session_revoked"
    assert profile_status(client, second["access_token"]) == 401


def test_an_older_token_revokes_the_family_even_within_the_window(
    client: TestClient, users: Users, frozen: list[float]
) -> None:
    first = users.create("old")["tokens"]
    second = refresh(client, first["refresh_token"]).json()
    third = refresh(client, second["refresh_token"]).json()
    replay = refresh(client, first["refresh_token"])  # two rotations ago, 0 s later
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_reused"
    assert profile_status(client, third["access_token"]) == 401


def test_a_zero_window_turns_the_grace_off(client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFRESH_REUSE_GRACE_SECONDS", "0")
    runtime.reset()
    first = users.create("strict")["tokens"]
    assert refresh(client, first["refresh_token"]).status_code == 200
    assert refresh(client, first["refresh_token"]).json()["error"]["code"] == "refresh_reused"


def test_logout_ends_the_grace_too(client: TestClient, users: Users) -> None:
    first = users.create("leaver")["tokens"]
    second = refresh(client, first["refresh_token"]).json()
    assert client.post("/auth/logout", json={"refresh_token": second["refresh_token"]}).status_code == 200
    assert refresh(client, first["refresh_token"]).json()["error"]["code"] == "session_revoked"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    """A real server; the widest window, so a slow machine cannot push the racers apart."""
    env = {
        "DATA_DIR": str(tmp_path / "live"),
        "RATE_LIMIT_REGISTER_PER_HOUR": "0",
        "RATE_LIMIT_LOGIN_PER_MINUTE": "0",
        "REFRESH_REUSE_GRACE_SECONDS": "60",
    }
    from tests.support import servers

    with servers.api_server(env) as url:
        yield url


def test_concurrent_refreshes_with_one_token_all_get_the_same_pair(live: str) -> None:
    body = {"username": "racer", "email": "racer@example.com", "password": "long enough password"}
    httpx.post(f"{live}/auth/register", json=body)
    tokens = httpx.post(f"{live}/auth/login", json={"username": "racer", "password": body["password"]}).json()
    barrier = threading.Barrier(6)

    def one(_: int) -> httpx.Response:
        barrier.wait()
        return httpx.post(f"{live}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=60)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(one, range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert len({(a.json()["access_token"], a.json()["refresh_token"]) for a in answers}) == 1
    pair = answers[0].json()
    me = httpx.get(f"{live}/profile", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    assert httpx.post(f"{live}/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 200
