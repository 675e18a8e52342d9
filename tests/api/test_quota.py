"""Per-user limits on synthesis: the daily character quota and the per-minute request limit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import runtime
from tests.conftest import Users
from tests.support.clock import PinnedClock
from tests.support.fake_engine import EngineSeam, FakeEngine


@pytest.fixture
def small_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTA_CHARS_PER_DAY", "60")
    runtime.reset()


def quota(client: TestClient, user: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/profile", headers=user["headers"]).json()["quota"]
    return body


def test_quota_is_counted_shown_and_enforced(client: TestClient, users: Users, small_quota: None) -> None:
    alice = users.create("alice")
    assert quota(client, alice)["used"] == 0
    assert quota(client, alice)["limit"] == 60
    text = "Twenty-five characters ok"  # 25
    for _ in range(2):
        assert client.post("/synthesize", headers=alice["headers"], json={"text": text}).status_code == 200
    shown = quota(client, alice)
    assert (shown["used"], shown["remaining"]) == (50, 10)
    assert shown["resets_at"].endswith("Z")
    over = client.post("/synthesize", headers=alice["headers"], json={"text": text})
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "quota_exceeded"
    assert "60" in over.json()["error"]["message"]
    assert int(over.headers["retry-after"]) <= 86400
    assert quota(client, alice)["used"] == 50  # the refused request charged nothing
    streamed = client.post("/synthesize", headers=alice["headers"], json={"text": text, "stream": True})
    assert streamed.status_code == 429
    assert client.post("/synthesize", headers=alice["headers"], json={"text": "Ten chars!"}).status_code == 200
    assert quota(client, alice)["remaining"] == 0
    bob = users.create("bob")  # quotas are per user
    assert client.post("/synthesize", headers=bob["headers"], json={"text": text}).status_code == 200


def test_failed_jobs_are_refunded(
    client: TestClient, users: Users, small_quota: None, install_engine: EngineSeam
) -> None:
    alice = users.create("alice")
    missing_voice = client.post("/synthesize", headers=alice["headers"], json={"text": "Hello.", "voice_id": "nope"})
    assert missing_voice.status_code == 404
    install_engine(FakeEngine(fail_from_call=1))  # an engine that fails every job (no real one does)
    failed = client.post("/synthesize", headers=alice["headers"], json={"text": "This one fails."})
    assert failed.status_code == 502
    assert quota(client, alice)["used"] == 0


def test_parallel_requests_never_exceed_the_quota(client: TestClient, users: Users, small_quota: None) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from core.services import quota as quotas

    alice = users.create("alice")
    store = runtime.store()

    sixty = quotas.Limits(characters=60, audio_seconds=0, hold_grace_s=900)

    def charge(_: int) -> bool:
        try:
            quotas.reserve(store, user_id=alice["id"], characters=7, seconds=0.5, limits=sixty)
        except Exception:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        admitted = sum(pool.map(charge, range(20)))
    assert admitted == 8  # 8 x 7 = 56 <= 60 < 63
    assert quota(client, alice)["used"] == 56


def test_synthesis_requests_are_limited_per_user(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch, pinned_clock: PinnedClock
) -> None:
    """The clock is pinned: every request falls into one fixed one-minute window, and the next one is fresh."""
    monkeypatch.setenv("RATE_LIMIT_SYNTHESIS_PER_MINUTE", "2")
    runtime.reset()
    alice, bob = users.create("alice"), users.create("bob")
    codes = [client.post("/synthesize", headers=alice["headers"], json={"text": "Hi."}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    speech = client.post(
        "/v1/audio/speech", headers=alice["headers"], json={"model": "tts-1", "voice": "alloy", "input": "Hi."}
    )
    assert speech.status_code == 429
    assert speech.headers["retry-after"] == "59"  # 1 s into the pinned minute
    assert client.post("/synthesize", headers=bob["headers"], json={"text": "Hi."}).status_code == 200
    pinned_clock.advance(60)  # the next minute
    assert client.post("/synthesize", headers=alice["headers"], json={"text": "Hi."}).status_code == 200


def test_audio_seconds_are_a_quota_of_their_own(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Charged up front from the engine's estimate, settled to the real seconds; refusals name the limit."""
    monkeypatch.setenv("QUOTA_AUDIO_SECONDS_PER_DAY", "6")
    runtime.reset()
    alice = users.create("alice")
    shown = quota(client, alice)["audio_seconds"]
    assert (shown["limit"], shown["used"], shown["remaining"]) == (6, 0, 6)
    long_text = "This sentence is long enough to need more than six seconds of audio to be spoken aloud. " * 2
    long_text = long_text.strip()
    over = client.post("/synthesize", headers=alice["headers"], json={"text": long_text})
    assert over.status_code == 429
    error = over.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["quota"] == "audio_seconds"
    assert error["details"]["limit"] == 6
    assert error["details"]["requested"] == pytest.approx(
        runtime.engine().estimate_seconds(long_text, _speed1()), abs=0.001
    )
    assert quota(client, alice)["audio_seconds"]["used"] == 0
    made = client.post("/synthesize", headers=alice["headers"], json={"text": "A short one."})
    assert made.status_code == 200
    shown = quota(client, alice)
    assert shown["used"] == len("A short one.")
    assert shown["audio_seconds"]["used"] == pytest.approx(made.json()["duration"], abs=0.002)  # real, not estimated
    streamed = client.post(
        "/synthesize", headers=alice["headers"], json={"text": "And a streamed one.", "stream": True}
    )
    assert streamed.status_code == 200
    info = client.get(f"/audio/{streamed.headers['x-audio-id']}/info", headers=alice["headers"]).json()
    total = made.json()["duration"] + info["duration"]
    assert quota(client, alice)["audio_seconds"]["used"] == pytest.approx(total, abs=0.003)


def _speed1() -> Any:
    from core.tts.base import SynthesisOptions

    return SynthesisOptions()
