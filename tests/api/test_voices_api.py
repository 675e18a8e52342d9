"""Voices through the combined app on the default engine (Piper): listing built-ins and own clones, uploads
in the formats users send (real speech clips made by Piper), refusals of bad clips and forms, and the
rules of deleting a voice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from core.tts import codecs
from core.tts.base import Audio
from tests.conftest import Users
from tests.support.speech import error_code, upload


def test_voices_lists_builtins_and_own_clones(client: TestClient, alice: dict[str, Any], speech_clip: Audio) -> None:
    listing = client.get("/voices", headers=alice["headers"]).json()
    assert listing["engine"] == "piper"
    assert listing["can_clone"] is False
    assert [v["kind"] for v in listing["voices"]] == ["builtin"] * 4
    builtin = listing["voices"][0]
    assert builtin["id"] == "default"
    assert builtin["available"] is True
    made = upload(client, alice, codecs.encode(speech_clip, "wav"), name="My voice")
    assert made.status_code == 200, made.text
    voice = made.json()
    assert voice["kind"] == "custom"
    assert voice["available"] is False  # Piper cannot speak with it: said, not hidden
    assert voice["duration"] == pytest.approx(speech_clip.duration, abs=0.6)
    ids = [v["id"] for v in client.get("/voices", headers=alice["headers"]).json()["voices"]]
    assert ids == ["default", "female_default", "male_default", "en_US-joe-medium", voice["id"]]


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_upload_accepts_common_formats(client: TestClient, alice: dict[str, Any], speech_clip: Audio, fmt: str) -> None:
    response = upload(client, alice, codecs.encode(speech_clip, fmt), filename=f"clip.{fmt}")
    assert response.status_code == 200, response.text


def test_cloned_voice_on_a_non_cloning_engine_is_a_clear_4xx(
    client: TestClient, alice: dict[str, Any], speech_clip: Audio
) -> None:
    voice = upload(client, alice, codecs.encode(speech_clip, "wav")).json()
    response = client.post("/synthesize", headers=alice["headers"], json={"text": "Hi there.", "voice_id": voice["id"]})
    assert response.status_code == 400
    assert error_code(response) == "cloning_unsupported"
    assert "cannot" in response.json()["error"]["message"]
    assert client.get("/audio", headers=alice["headers"]).json()["items"] == []


def _tone(seconds: float, rate: int = 16000, amplitude: float = 0.3) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda: codecs.encode(_tone(1.0), "wav"), 422, "audio_too_short"),
        (lambda: codecs.encode(_tone(75.0), "flac"), 422, "audio_too_long"),
        (lambda: codecs.encode(Audio(np.zeros(16000 * 5, dtype=np.float32), 16000), "wav"), 422, "audio_silent"),
        (lambda: b"this is not audio at all" * 100, 415, None),
        (lambda: codecs.encode(_tone(5.0), "wav")[:60], 422, "audio_too_short"),  # header + 8 samples
    ],
    ids=["too-short", "too-long", "silent", "garbage", "truncated"],
)
def test_upload_rejects_bad_clips(
    client: TestClient, alice: dict[str, Any], make: Any, status: int, code: str | None
) -> None:
    response = upload(client, alice, make())
    assert response.status_code == status, response.text
    if code:
        assert error_code(response) == code
    assert "error" in response.json()
    assert {v["kind"] for v in client.get("/voices", headers=alice["headers"]).json()["voices"]} == {"builtin"}


def test_upload_form_validation(client: TestClient, alice: dict[str, Any], speech_clip: Audio) -> None:
    clip = codecs.encode(speech_clip, "wav")
    assert upload(client, alice, clip, name="").status_code == 422
    assert upload(client, alice, clip, name="n" * 65).status_code == 422
    assert upload(client, alice, b"").status_code == 422
    no_file = client.post("/voices", headers=alice["headers"], data={"name": "x"})
    assert no_file.status_code == 422


def test_oversized_upload_is_refused_before_reading(
    client: TestClient, alice: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    big = b"RIFF" + b"\0" * (10 * 1024 * 1024 + 200_000)
    response = upload(client, alice, big)
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"


def test_delete_voice_rules(client: TestClient, users: Users, speech_clip: Audio, tmp_path: Path) -> None:
    alice, bob = users.create("alice"), users.create("bob")
    voice = upload(client, alice, codecs.encode(speech_clip, "wav")).json()
    builtin = client.delete("/voices/en_US-joe-medium", headers=alice["headers"])
    assert builtin.status_code == 403
    assert error_code(builtin) == "builtin_voice"
    theirs = client.delete(f"/voices/{voice['id']}", headers=bob["headers"])
    missing = client.delete("/voices/0000000000aaaaaaaaaaaaaaaa", headers=bob["headers"])
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"]
    assert client.delete("/voices/..%2F..%2Fetc", headers=alice["headers"]).status_code in (404, 422)
    blob_dir = tmp_path / "data" / "blobs" / "voices"
    assert any(blob_dir.rglob("reference.flac"))
    assert client.delete(f"/voices/{voice['id']}", headers=alice["headers"]).status_code == 200
    assert not any(blob_dir.rglob("reference.flac"))  # blobs gone with the record
    assert client.delete(f"/voices/{voice['id']}", headers=alice["headers"]).status_code == 404
