"""Shared fixtures: an isolated DATA_DIR per test, the combined app, users, AWS-protocol servers.

Every test runs with DATA_DIR in its own tmp directory and fresh process singletons, so no test sees
another's data. AWS credentials are fake and point nowhere unless a test starts a loopback server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import runtime
from tests.support import servers
from tests.support.clock import pinned_clock as pinned_clock  # the fixture, for every test module


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("SWEEP_INTERVAL_MINUTES", "0")  # no background sweep unless a test asks for one
    for name in ("SECRET_KEY", "STORAGE_BACKEND", "BLOB_BACKEND", "TTS_ENGINE", "SQLITE_PATH", "BLOB_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    runtime.reset()
    yield data
    runtime.reset()


@pytest.fixture
def client() -> Iterator[TestClient]:
    import local_server

    with TestClient(local_server.app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with servers.moto_server() as url:
        yield url


class Users:
    """Factory of registered, logged-in users on a client (no copy-pasted register/login code)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.count = 0

    def create(self, username: str | None = None, password: str = "correct horse battery") -> dict[str, Any]:  # noqa: S107
        self.count += 1
        username = username or f"user{self.count}"
        reg = self.client.post(
            "/auth/register",
            json={"username": username, "email": f"{username}@example.com", "password": password, "full_name": None},
        )
        assert reg.status_code == 201, reg.text
        tokens = self.client.post("/auth/login", json={"username": username, "password": password})
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        return {
            **reg.json(),
            "password": password,
            "tokens": body,
            "headers": {"Authorization": f"Bearer {body['access_token']}"},
        }


@pytest.fixture
def users(client: TestClient) -> Users:
    return Users(client)
