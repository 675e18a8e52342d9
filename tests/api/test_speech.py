"""Synthesis and the audio library through the combined app, on the default engine (Piper).

The end-to-end proof transcribes what the API returns with a real Whisper model and checks the
word error rate. Voices (uploads, listing, deletion) are in test_voices_api.py.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import parselmouth
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from core import runtime
from core.records import keys
from core.tts import codecs
from core.tts.base import Audio
from core.tts.builtin_voices import ORIGINAL_IDS
from tests.conftest import Users
from tests.support.asr import transcribe, word_error_rate
from tests.support.fake_engine import EngineSeam, FakeEngine
from tests.support.speech import error_code, upload

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def median_f0(audio: Audio) -> float:
    sound = parselmouth.Sound(audio.samples.astype(np.float64), sampling_frequency=audio.sample_rate)
    track = sound.to_pitch(time_step=0.01, pitch_floor=40.0, pitch_ceiling=600.0).selected_array["frequency"]
    return float(np.median(track[track > 0]))


# -- end-to-end proof --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg", "flac"])
def test_synthesized_speech_is_intelligible(client: TestClient, alice: dict[str, Any], fmt: str) -> None:
    made = client.post("/synthesize", headers=alice["headers"], json={"text": SENTENCE, "format": fmt})
    assert made.status_code == 200, made.text
    meta = made.json()
    assert meta["format"] == fmt
    assert meta["engine"] == "piper"
    assert meta["characters"] == len(SENTENCE)
    assert 2.0 < meta["duration"] < 8.0
    download = client.get(meta["url"], headers=alice["headers"])
    assert download.status_code == 200
    assert download.headers["content-type"] == codecs.content_type(fmt)
    assert len(download.content) == meta["size_bytes"]
    wer = word_error_rate(SENTENCE, transcribe(download.content))
    assert wer < 0.10, f"{fmt}: WER {wer:.2f}"


def test_original_builtin_voices_speak_distinctly(client: TestClient, alice: dict[str, Any]) -> None:
    """The original design's ids work unchanged through the API: listed first, stored under their id, and the
    female voice is clearly higher (median F0 by Praat, from the downloaded file)."""
    listed = client.get("/voices", headers=alice["headers"]).json()["voices"]
    assert [v["id"] for v in listed[:3]] == list(ORIGINAL_IDS)
    f0: dict[str, float] = {}
    for voice_id in ORIGINAL_IDS:
        made = client.post("/synthesize", headers=alice["headers"], json={"text": SENTENCE, "voice_id": voice_id})
        assert made.is_success, made.text
        assert made.json()["voice_id"] == voice_id
        clip = codecs.decode(client.get(made.json()["url"], headers=alice["headers"]).content, max_duration_s=60.0)
        f0[voice_id] = median_f0(clip)
    assert f0["female_default"] > 165.0, f0
    assert f0["female_default"] > 1.5 * f0["male_default"], f0
    unnamed = client.post("/synthesize", headers=alice["headers"], json={"text": "Hi.", "voice_id": None})
    assert unnamed.json()["voice_id"] == "default"  # null (the web page's "engine default") is default too


@pytest.mark.slow
def test_download_converts_on_the_fly(client: TestClient, alice: dict[str, Any]) -> None:
    meta = client.post("/synthesize", headers=alice["headers"], json={"text": SENTENCE}).json()
    for fmt, magic in (("mp3", (b"ID3", b"\xff\xfb", b"\xff\xf3")), ("ogg", (b"OggS",)), ("flac", (b"fLaC",))):
        converted = client.get(f"{meta['url']}?format={fmt}", headers=alice["headers"])
        assert converted.status_code == 200
        assert converted.headers["content-type"] == codecs.content_type(fmt)
        assert converted.content.startswith(magic)
        decoded = codecs.decode(converted.content, max_duration_s=60)
        assert abs(decoded.duration - meta["duration"]) < 0.15
    opus = client.get(f"{meta['url']}?format=ogg", headers=alice["headers"]).content
    assert word_error_rate(SENTENCE, transcribe(opus)) < 0.10
    assert client.get(f"{meta['url']}?format=aiff", headers=alice["headers"]).status_code == 422


def test_speed_and_pitch_change_the_output(client: TestClient, alice: dict[str, Any]) -> None:
    base = client.post("/synthesize", headers=alice["headers"], json={"text": SENTENCE}).json()
    fast = client.post("/synthesize", headers=alice["headers"], json={"text": SENTENCE, "speed": 2.0}).json()
    slow = client.post("/synthesize", headers=alice["headers"], json={"text": SENTENCE, "speed": 0.5}).json()
    assert fast["duration"] == pytest.approx(base["duration"] / 2, rel=0.1)
    assert slow["duration"] == pytest.approx(base["duration"] * 2, rel=0.1)
    high = client.post("/synthesize", headers=alice["headers"], json={"text": SENTENCE, "pitch": 1.5}).json()
    assert high["duration"] == pytest.approx(base["duration"], rel=0.05)

    def median_f0(meta: dict[str, Any]) -> float:
        import parselmouth

        data = client.get(meta["url"], headers=alice["headers"]).content
        samples, rate = sf.read(io.BytesIO(data), dtype="float64")
        values = parselmouth.Sound(samples, rate).to_pitch().selected_array["frequency"]
        return float(np.median(values[values > 0]))

    assert median_f0(high) == pytest.approx(1.5 * median_f0(base), rel=0.12)


# -- synthesis validation ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "validation_error"),
        ({"text": "   \n\t "}, 422, "text_empty"),
        ({"text": "a" * 5001}, 422, "text_too_long"),
        ({"text": "hi", "speed": 0.49}, 422, "validation_error"),
        ({"text": "hi", "speed": 2.01}, 422, "validation_error"),
        ({"text": "hi", "pitch": 0.0}, 422, "validation_error"),
        ({"text": "hi", "pitch": 3}, 422, "validation_error"),
        ({"text": "hi", "format": "aac"}, 422, "validation_error"),
        ({"text": "hi", "voice_id": "no-such-voice"}, 404, "voice_not_found"),
        ({"text": "hi", "voice_id": "../../etc/passwd"}, 422, "validation_error"),
        ({"text": "hi", "exaggeration": 5}, 422, "validation_error"),
        ({"text": "hi", "temperature": 0}, 422, "validation_error"),
        ({"text": "hi", "temperature": 5.01}, 422, "validation_error"),
        ({"text": "hi", "seed": -1}, 422, "validation_error"),
        ({"text": "hi", "seed": 2**32}, 422, "validation_error"),
        ({"text": "hi", "unknown": 1}, 422, "validation_error"),
        ({"text": 42}, 422, "validation_error"),
    ],
)
def test_synthesize_rejects_bad_input(
    client: TestClient, alice: dict[str, Any], body: Any, status: int, code: str
) -> None:
    response = client.post("/synthesize", headers=alice["headers"], json=body)
    assert response.status_code == status, response.text
    assert error_code(response) == code


def test_text_limit_is_configurable_and_counts_normalised_text(
    alice: dict[str, Any], monkeypatch: pytest.MonkeyPatch, client: TestClient
) -> None:
    monkeypatch.setenv("MAX_TEXT_CHARS", "20")
    runtime.reset()
    over = client.post("/synthesize", headers=alice["headers"], json={"text": "x" * 21})
    assert over.status_code == 422
    assert "20" in over.json()["error"]["message"]
    spaced = client.post("/synthesize", headers=alice["headers"], json={"text": "Hello    there   friends."})
    assert spaced.status_code == 200  # 25 characters sent, 20 after normalising whitespace
    assert spaced.json()["characters"] == 20


def test_engine_options_are_reported_when_ignored(client: TestClient, alice: dict[str, Any]) -> None:
    meta = client.post(
        "/synthesize", headers=alice["headers"], json={"text": "Hello.", "exaggeration": 0.8, "seed": 7}
    ).json()
    assert meta["options_ignored"] == ["exaggeration", "seed"]
    plain = client.post("/synthesize", headers=alice["headers"], json={"text": "Hello."}).json()
    assert plain["options_ignored"] == []


# -- library -----------------------------------------------------------------------------------
def test_history_newest_first_paged_info_and_delete(client: TestClient, alice: dict[str, Any], tmp_path: Path) -> None:
    made = [
        client.post("/synthesize", headers=alice["headers"], json={"text": f"Number {n}."}).json()["audio_id"]
        for n in range(5)
    ]
    first = client.get("/audio?limit=2", headers=alice["headers"]).json()
    assert [i["audio_id"] for i in first["items"]] == made[::-1][:2]
    second = client.get(f"/audio?limit=2&cursor={first['next_cursor']}", headers=alice["headers"]).json()
    third = client.get(f"/audio?limit=2&cursor={second['next_cursor']}", headers=alice["headers"]).json()
    assert [i["audio_id"] for i in second["items"] + third["items"]] == made[::-1][2:]
    assert third["next_cursor"] is None
    info = client.get(f"/audio/{made[0]}/info", headers=alice["headers"]).json()
    assert info["text"] == "Number 0."
    assert info["voice_id"] == "default"  # voice_id defaults to the original design's "default"
    assert info["sample_rate"] == 22050
    assert client.get("/audio?cursor=%%%", headers=alice["headers"]).status_code == 400
    assert client.get("/audio?limit=0", headers=alice["headers"]).status_code == 422
    assert client.delete(f"/audio/{made[0]}", headers=alice["headers"]).status_code == 204
    assert client.get(f"/audio/{made[0]}", headers=alice["headers"]).status_code == 404
    assert client.get(f"/audio/{made[0]}/info", headers=alice["headers"]).status_code == 404
    assert client.delete(f"/audio/{made[0]}", headers=alice["headers"]).status_code == 404
    files = sorted(p.name for p in (tmp_path / "data" / "blobs" / "audio").rglob("*.wav"))
    assert files == sorted(f"{a}.wav" for a in made[1:])


def test_other_users_audio_is_404_like_missing(client: TestClient, users: Users) -> None:
    alice, bob = users.create("alice"), users.create("bob")
    audio_id = client.post("/synthesize", headers=alice["headers"], json={"text": "Mine."}).json()["audio_id"]
    missing_id = "0000000000aaaaaaaaaaaaaaaa"
    for method, path in (("GET", "/audio/{}"), ("GET", "/audio/{}/info"), ("DELETE", "/audio/{}")):
        theirs = client.request(method, path.format(audio_id), headers=bob["headers"])
        missing = client.request(method, path.format(missing_id), headers=bob["headers"])
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == {
            **missing.json(),
            "error": {**missing.json()["error"], "message": theirs.json()["error"]["message"]},
        }
    assert client.get("/audio", headers=bob["headers"]).json()["items"] == []
    assert client.get(f"/audio/{audio_id}", headers=alice["headers"]).status_code == 200


@pytest.fixture
def broken_engine(install_engine: EngineSeam) -> None:
    install_engine(FakeEngine(fail_from_call=1))  # a test double: an engine that fails every job


def test_engine_failure_writes_nothing(
    client: TestClient, alice: dict[str, Any], broken_engine: None, tmp_path: Path
) -> None:
    response = client.post("/synthesize", headers=alice["headers"], json={"text": "This will fail."})
    assert response.status_code == 502
    assert error_code(response) == "engine_error"
    assert client.get("/audio", headers=alice["headers"]).json()["items"] == []
    assert not list((tmp_path / "data" / "blobs").rglob("*.wav"))


def test_record_failure_removes_the_blob(
    client: TestClient, alice: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from core.errors import StorageUnavailable
    from core.storage import Put

    store = runtime.store()
    real_transact = store.transact

    def failing_transact(ops: Any) -> None:
        if any(isinstance(op, Put) and op.item["sk"].startswith(keys.AUDIO) for op in ops):
            raise StorageUnavailable("Storage is unavailable: disk I/O error")
        real_transact(ops)

    # A store that fails on the record write only (a transaction with the account check, owned.put_owned).
    monkeypatch.setattr(store, "transact", failing_transact)
    response = client.post("/synthesize", headers=alice["headers"], json={"text": "Orphan check."})
    assert response.status_code == 503
    assert error_code(response) == "storage_unavailable"
    assert not list((tmp_path / "data" / "blobs").rglob("*.wav"))


def test_deleting_a_voice_keeps_audio_made_with_it(
    client: TestClient, alice: dict[str, Any], speech_clip: Audio
) -> None:
    made = client.post("/synthesize", headers=alice["headers"], json={"text": "Still here."}).json()
    voice = upload(client, alice, codecs.encode(speech_clip, "wav")).json()
    assert client.delete(f"/voices/{voice['id']}", headers=alice["headers"]).status_code == 200
    assert client.get(made["url"], headers=alice["headers"]).status_code == 200
