"""Concurrency on a live server (uvicorn in a subprocess, real HTTP): parallel registrations of one name make
one account, parallel refreshes with one token rotate once, parallel syntheses keep every record and blob."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import servers
from tests.support.concurrency import parallel
from tests.support.users import create_at, login, register_body


@pytest.fixture
def live(tmp_path: Path) -> Any:
    env = {"DATA_DIR": str(tmp_path / "live"), "RATE_LIMIT_REGISTER_PER_HOUR": "0", "RATE_LIMIT_LOGIN_PER_MINUTE": "0"}
    with servers.api_server(env) as url:
        yield url


def test_parallel_registrations_of_one_name_make_one_account(live: str) -> None:
    codes = parallel(
        8,
        lambda i: (
            httpx.post(
                f"{live}/auth/register", json=register_body("same", email=f"same{i}@example.com"), timeout=60
            ).status_code
        ),
    )
    assert sorted(codes) == [200] + [409] * 7
    with httpx.Client(base_url=live) as web:
        assert login(web, "same").status_code == 200


def test_parallel_refresh_with_one_token_rotates_once(live: str) -> None:
    """One rotation wins; the others are reuses within the grace window and get the winner's pair."""
    tokens = create_at(live, "racer")["tokens"]
    pairs: list[str] = []

    def one(_: int) -> int:
        response = httpx.post(f"{live}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=60)
        pairs.append(response.json().get("refresh_token", ""))
        return response.status_code

    assert parallel(6, one) == [200] * 6
    assert len(set(pairs)) == 1


def test_parallel_synthesis_keeps_every_record_and_blob(live: str, tmp_path: Path) -> None:
    headers = create_at(live, "busy")["headers"]
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def make(i: int) -> int:
        response = httpx.post(f"{live}/synthesize", headers=headers, json={"text": f"Request number {i}."}, timeout=120)
        with lock:
            results.append(response.json())
        return response.status_code

    assert parallel(6, make) == [200] * 6
    listed = httpx.get(f"{live}/audio?limit=100", headers=headers).json()["items"]
    assert sorted(i["audio_id"] for i in listed) == sorted(r["audio_id"] for r in results)
    assert sorted(i["text"] for i in listed) == sorted(f"Request number {i}." for i in range(6))
    blobs = sorted(p.stem for p in (tmp_path / "live" / "blobs" / "audio").rglob("*.wav"))
    assert blobs == sorted(r["audio_id"] for r in results)
    for item in listed:
        data = httpx.get(f"{live}/audio/{item['audio_id']}", headers=headers).content
        assert len(data) == item["size_bytes"]
