"""GET /audio/{id}?format=: a conversion is made once and cached on the record, counted against
RATE_LIMIT_CONVERSIONS_PER_HOUR, and removed with the record."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import runtime
from core.config import get_settings
from core.records import keys
from core.records.audio import AudioRecord
from core.services import library
from core.services.policy import MediaPolicy
from core.storage import BlobNotFound
from core.tts import codecs
from tests.conftest import Users

TEXT = "The conversion is made once and kept."


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Formats passed to codecs.encode or codecs.transcode (the real encoders still run)."""
    calls: list[str] = []
    for name in ("encode", "transcode"):
        real = getattr(codecs, name)

        def spy(source: Any, fmt: str, *args: Any, real: Any = real, **kwargs: Any) -> bytes:
            calls.append(fmt)
            out: bytes = real(source, fmt, *args, **kwargs)
            return out

        monkeypatch.setattr(codecs, name, spy)
    return calls


def synthesize(client: TestClient, headers: dict[str, str], fmt: str = "wav") -> dict[str, Any]:
    made = client.post("/synthesize", headers=headers, json={"text": TEXT, "format": fmt})
    assert made.status_code == 200, made.text
    meta: dict[str, Any] = made.json()
    return meta


def record(user_id: str, audio_id: str) -> AudioRecord | None:
    item = runtime.store().get(*keys.audio(user_id, audio_id))
    return None if item is None else AudioRecord.from_item(item)


def blob_exists(key: str) -> bool:
    try:
        runtime.blobs().get(key)
    except BlobNotFound:
        return False
    return True


def test_second_download_in_a_format_serves_the_cached_blob_without_encoding(
    client: TestClient, users: Users, encodes: list[str]
) -> None:
    alice = users.create("alice")
    meta = synthesize(client, alice["headers"])
    encodes.clear()
    first = client.get(f"{meta['url']}?format=mp3", headers=alice["headers"])
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "audio/mpeg"
    assert encodes == ["mp3"]
    item = record(alice["id"], meta["audio_id"])
    assert item is not None
    key = item.conversions["mp3"]
    assert key in item.blob_keys
    assert item.blob_key in item.blob_keys
    assert runtime.blobs().get(key) == first.content
    encodes.clear()
    second = client.get(f"{meta['url']}?format=mp3", headers=alice["headers"])
    assert second.status_code == 200
    assert second.content == first.content
    assert encodes == []
    assert client.get(meta["url"], headers=alice["headers"]).content == runtime.blobs().get(item.blob_key)
    assert encodes == []


def download(user: dict[str, Any], audio_id: str, fmt: str) -> library.Download:
    """The service below GET /audio/{id}, for the format names the route's schema does not offer."""
    return library.download(
        runtime.store(),
        runtime.blobs(),
        user_id=user["id"],
        audio_id=audio_id,
        fmt=fmt,
        policy=MediaPolicy.of(get_settings()),
    )


def test_ogg_asked_as_opus_is_the_stored_stream(client: TestClient, users: Users, encodes: list[str]) -> None:
    alice = users.create("alice")
    meta = synthesize(client, alice["headers"], "ogg")
    encodes.clear()
    opus = download(alice, meta["audio_id"], "opus")
    assert opus.content_type == "audio/opus"
    assert opus.filename == f"{meta['audio_id']}.opus"
    assert opus.data == client.get(meta["url"], headers=alice["headers"]).content
    assert encodes == []
    item = record(alice["id"], meta["audio_id"])
    assert item is not None
    assert item.conversions == {}
    assert item.blob_keys == (item.blob_key,)


def test_pcm_records_convert(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    meta = synthesize(client, alice["headers"], "wav")
    item = record(alice["id"], meta["audio_id"])
    assert item is not None
    audio = codecs.decode(runtime.blobs().get(item.blob_key), max_duration_s=60)
    runtime.blobs().put(item.blob_key, codecs.encode(audio, "pcm"))
    runtime.store().put(replace(item, format="pcm").to_item())  # as a record stored headerless
    wav = download(alice, meta["audio_id"], "wav")
    back = codecs.decode(wav.data, max_duration_s=60)
    assert back.duration == pytest.approx(meta["duration"], abs=0.01)
    assert back.sample_rate == meta["sample_rate"]


def test_deleting_the_record_removes_its_cached_conversions(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    meta = synthesize(client, alice["headers"])
    for fmt in ("mp3", "flac", "ogg"):
        assert client.get(f"{meta['url']}?format={fmt}", headers=alice["headers"]).status_code == 200
    item = record(alice["id"], meta["audio_id"])
    assert item is not None
    owned = item.blob_keys
    assert len(owned) == 4
    assert all(blob_exists(key) for key in owned)
    assert client.delete(meta["url"], headers=alice["headers"]).status_code == 204
    assert [key for key in owned if blob_exists(key)] == []
    assert record(alice["id"], meta["audio_id"]) is None


def test_conversions_are_limited_per_user_and_cached_downloads_are_free(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_CONVERSIONS_PER_HOUR", "2")
    runtime.reset()
    alice, bob = users.create("alice"), users.create("bob")
    meta = synthesize(client, alice["headers"])

    def get(fmt: str, headers: dict[str, str] = alice["headers"], url: str = meta["url"]) -> Any:
        return client.get(f"{url}?format={fmt}", headers=headers)

    assert [get(fmt).status_code for fmt in ("mp3", "flac", "mp3", "wav", "mp3")] == [200, 200, 200, 200, 200]
    limited = get("ogg")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 3600
    assert get("flac").status_code == 200  # cached: not a conversion
    item = record(alice["id"], meta["audio_id"])
    assert item is not None
    assert sorted(item.conversions) == ["flac", "mp3"]
    other = synthesize(client, bob["headers"])
    assert get("ogg", bob["headers"], other["url"]).status_code == 200  # the limit is per user
