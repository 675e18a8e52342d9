"""Issue 10 through the API: requests are limited by the audio they cost (audio_too_long, before any
engine work), engine calls stay bounded when under the limit, and control characters are refused (422
invalid_text) on /synthesize, /synthesize streamed and /v1/audio/speech, before any engine work."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from bench.texts import text_of_length
from core import runtime
from core.tts.piper import MAX_CALL_SECONDS
from tests.conftest import Users
from tests.support.spies import piper_call_seconds

EMOJI = " ".join(["\U0001f600"] * 200)  # 399 characters: 106 s of audio before the fix
CJK = "".join(chr(0x4E00 + 37 * index) for index in range(100))  # 78 s
WORD = "abcdefghij" * 500  # one 5,000-character word
PATHS = ["synthesize", "synthesize-stream", "openai"]


def post(client: TestClient, headers: dict[str, str], path: str, text: str, speed: float = 1.0) -> Any:
    if path == "openai":
        body = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": "wav", "speed": speed}
        return client.post("/v1/audio/speech", json=body, headers=headers)
    body = {"text": text, "format": "wav", "speed": speed, "stream": path == "synthesize-stream"}
    return client.post("/synthesize", json=body, headers=headers)


@pytest.fixture
def model_calls(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return piper_call_seconds(monkeypatch)


def assert_nothing_done(client: TestClient, headers: dict[str, str], model_calls: list[float]) -> None:
    assert model_calls == []
    assert client.get("/audio", headers=headers).json()["items"] == []


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("text", "low", "high"), [(EMOJI, 90, 130), (CJK, 60, 90), (WORD, 60, 90)])
def test_text_costing_too_much_audio_is_refused_before_any_work(
    client: TestClient,
    users: Users,
    model_calls: list[float],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    text: str,
    low: float,
    high: float,
) -> None:
    if path == "openai" and len(text) > 4096:
        pytest.skip("OpenAI's input limit (4,096 characters) refuses it first")
    monkeypatch.setenv("MAX_AUDIO_SECONDS_PER_REQUEST", "50")
    runtime.reset()
    headers = users.create()["headers"]
    response = post(client, headers, path, text)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "audio_too_long"
    assert error["details"]["limit_seconds"] == 50
    assert low < error["details"]["estimated_seconds"] < high  # emoji and ideographs are read as words
    assert_nothing_done(client, headers, model_calls)


def test_speed_divides_the_cost(client: TestClient, users: Users, model_calls: list[float]) -> None:
    """5,000 characters of prose fit the default limit at speed 1.0, not at half speed."""
    headers = users.create()["headers"]
    response = post(client, headers, "synthesize", text_of_length(5000), speed=0.5)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "audio_too_long"
    assert response.json()["error"]["details"]["estimated_seconds"] > 500
    assert_nothing_done(client, headers, model_calls)


@pytest.mark.parametrize("path", PATHS)
def test_under_the_limit_each_engine_call_is_bounded(
    client: TestClient, users: Users, model_calls: list[float], path: str
) -> None:
    text = " ".join(["\U0001f600"] * 30)  # one espeak sentence of ~16 s: one model call before the fix
    response = post(client, users.create()["headers"], path, text)
    assert response.status_code == 200, response.text
    _ = response.content
    assert len(model_calls) > 1
    assert max(model_calls) <= MAX_CALL_SECONDS * 1.15


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f"])
def test_control_characters_are_refused_before_any_work(
    client: TestClient, users: Users, model_calls: list[float], path: str, char: str
) -> None:
    """Before: a NUL in the last sentence failed in the engine (502) after earlier audio was streamed."""
    headers = users.create()["headers"]
    text = f"First sentence is fine. The last one is not{char}."
    response = post(client, headers, path, text)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_text"
    assert error["details"] == {"code_point": f"U+{ord(char):04X}", "position": text.index(char)}
    assert_nothing_done(client, headers, model_calls)


@pytest.mark.parametrize("path", PATHS)
def test_tabs_and_newlines_are_text(client: TestClient, users: Users, path: str) -> None:
    response = post(client, users.create()["headers"], path, "Line one.\r\nLine two.\n\tIndented.")
    assert response.status_code == 200, response.text
