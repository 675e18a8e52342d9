"""The combined server as a real process on loopback: data and tokens survive a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import users
from tests.support.servers import api_server


def test_register_stop_start_login(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data"), "APP_ENV": "development"}
    with api_server(env) as url:
        tokens = users.create_at(url, "restart")["tokens"]
    with api_server(env) as url, httpx.Client(base_url=url) as client:
        assert users.login(client, "restart").status_code == 200
        # The development key was kept under DATA_DIR: a token from before the restart still works.
        profile = httpx.get(f"{url}/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert profile.status_code == 200
        assert profile.json()["email"] == "restart@example.com"
        assert httpx.get(f"{url}/docs").status_code == 200
