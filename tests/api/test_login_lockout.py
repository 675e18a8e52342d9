"""Login lockout: counted before the password is checked, one counter per account whatever name is used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from core import runtime, security
from tests.conftest import Users
from tests.support import servers
from tests.support.concurrency import parallel

PASSWORD = "the right password"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    """A real server (uvicorn, its thread pool): guesses really run in parallel. Default lockout: 5."""
    env = {"DATA_DIR": str(tmp_path / "live"), "RATE_LIMIT_REGISTER_PER_HOUR": "0", "RATE_LIMIT_LOGIN_PER_MINUTE": "0"}
    with servers.api_server(env) as url:
        yield url


def test_parallel_guesses_in_every_name_form_evaluate_only_the_allowed_number(live: str) -> None:
    body = {"username": "racer", "email": "racer@example.com", "password": PASSWORD}
    assert httpx.post(f"{live}/auth/register", json=body).status_code == 200
    fullwidth = "ｒａｃｅｒ＠ｅｘａｍｐｌｅ．ｃｏｍ"
    forms = ["racer", "RACER", "racer@example.com", "Racer@EXAMPLE.com", fullwidth, "racer+x@example.com"]

    def guess(i: int) -> int:
        login = {"username": forms[i % len(forms)], "password": f"wrong guess {i}"}
        return httpx.post(f"{live}/auth/login", json=login, timeout=60).status_code

    codes = parallel(8, guess)
    assert sorted(codes) == [401] * 5 + [429] * 3  # 5 = LOGIN_LOCKOUT_FAILURES: 5 passwords evaluated
    right = httpx.post(f"{live}/auth/login", json={"username": "racer@example.com", "password": PASSWORD})
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "login_locked"
    # An unknown name is counted the same way, with the same answers.
    ghost = parallel(
        8,
        lambda i: (
            httpx.post(
                f"{live}/auth/login", json={"username": "GHOST" if i % 2 else "ghost", "password": "x"}, timeout=60
            ).status_code
        ),
    )
    assert sorted(ghost) == sorted(codes)


def test_parallel_guesses_verify_at_most_the_allowed_number_of_passwords(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, to count the real password checks with a spy (requests still run in parallel threads)."""
    monkeypatch.setenv("LOGIN_LOCKOUT_FAILURES", "3")
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_MINUTE", "0")
    runtime.reset()
    users.create("target", password=PASSWORD)
    checks: list[str] = []
    real_verify = security.verify_password

    def spy(password: str, hashed: str) -> tuple[bool, str | None]:
        checks.append("check")
        return real_verify(password, hashed)

    monkeypatch.setattr(security, "verify_password", spy)
    codes = parallel(
        7,
        lambda i: client.post("/auth/login", json={"username": "target", "password": f"guess {i}"}).status_code,
    )
    assert len(checks) == 3
    assert sorted(codes) == [401] * 3 + [429] * 4


def test_username_its_case_and_email_forms_share_one_counter(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_LOCKOUT_FAILURES", "3")
    runtime.reset()
    users.create("victim", password=PASSWORD)
    answers = []
    for name in ("victim", "VICTIM@example.com", "Victim", "victim@EXAMPLE.COM"):
        response = client.post("/auth/login", json={"username": name, "password": "wrong guess!"})
        answers.append((response.status_code, response.json()["error"]["code"]))
    assert answers == [(401, "invalid_credentials")] * 3 + [(429, "login_locked")]
    for name in ("victim", "victim@example.com"):
        assert client.post("/auth/login", json={"username": name, "password": PASSWORD}).status_code == 429
    # An unknown name gets its own counter (its case variants share it) and the very same answers.
    ghost = []
    for name in ("ghost", "GHOST", "Ghost", "gHoSt"):
        response = client.post("/auth/login", json={"username": name, "password": "wrong guess!"})
        ghost.append((response.status_code, response.json()["error"]["code"]))
    assert ghost == answers


def test_a_success_resets_the_counter(client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIN_LOCKOUT_FAILURES", "3")
    runtime.reset()
    users.create("forgetful", password=PASSWORD)
    for _ in range(2):
        assert client.post("/auth/login", json={"username": "forgetful", "password": "wrong"}).status_code == 401
    by_email = client.post("/auth/login", json={"username": "forgetful@example.com", "password": PASSWORD})
    assert by_email.status_code == 200
    codes = [
        client.post("/auth/login", json={"username": "Forgetful", "password": "wrong"}).status_code for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
