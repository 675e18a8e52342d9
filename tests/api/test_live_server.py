"""The combined server as a real process on loopback: data and tokens survive a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.servers import api_server


def test_register_stop_start_login(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data"), "APP_ENV": "development"}
    user = {"username": "restart", "email": "restart@example.com", "password": "survives-restarts", "full_name": "R"}
    with api_server(env) as url:
        assert httpx.post(f"{url}/auth/register", json=user).status_code == 201
        tokens = httpx.post(f"{url}/auth/login", json={"username": "restart", "password": user["password"]}).json()
    with api_server(env) as url:
        login = httpx.post(f"{url}/auth/login", json={"username": "restart", "password": user["password"]})
        assert login.status_code == 200
        # The development key was kept under DATA_DIR: a token from before the restart still works.
        profile = httpx.get(f"{url}/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert profile.status_code == 200
        assert profile.json()["email"] == "restart@example.com"
        assert httpx.get(f"{url}/docs").status_code == 200
