"""Fixtures of the API layer: `alice`, a registered and logged-in user on the `client`, and `speech_clip`,
about five seconds of real speech (Piper) as a user uploads to clone (tests/support/speech.py)."""

from __future__ import annotations

from typing import Any

import pytest

from core.tts.base import Audio
from tests.support import speech
from tests.support.users import Users


@pytest.fixture
def alice(users: Users) -> dict[str, Any]:
    return users.create("alice")


@pytest.fixture(scope="session")
def speech_clip() -> Audio:
    return speech.speech_clip()
