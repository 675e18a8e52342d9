"""Fixtures of the API layer: `alice`, a registered and logged-in user on the `client`, and `speech_clip`,
about five seconds of real speech (Piper) as a user uploads to clone (tests/support/speech.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.tts.base import Audio
from tests.support import speech
from tests.support.original import ORIGINAL_LOGIN, ORIGINAL_REGISTER
from tests.support.users import Users, bearer


@pytest.fixture
def alice(users: Users) -> dict[str, Any]:
    return users.create("alice")


@pytest.fixture(scope="session")
def speech_clip() -> Audio:
    return speech.speech_clip()


@pytest.fixture
def john(client: TestClient) -> dict[str, Any]:
    """The original README's user, registered and logged in with its exact requests (issue 12)."""
    assert client.post("/auth/register", json=ORIGINAL_REGISTER).status_code == 200
    tokens = client.post("/auth/login", json=ORIGINAL_LOGIN).json()
    profile = client.get("/profile", headers=bearer(tokens["access_token"])).json()
    return {"tokens": tokens, "headers": bearer(tokens["access_token"]), "id": profile["id"]}
