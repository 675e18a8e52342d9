"""GET /profile/export: a zip of the caller's account (profile, voices with clips, audio records and files).

Reproduction (issue 12): the route did not exist (404). Here the archive is opened and checked against the
store and the blob store: every record of the caller is in it with its file, byte-equal to the stored blob,
no password hash, nothing of another user; a file deleted meanwhile is reported, not fatal; the zip is made
only as it is read and stops when the reader stops; under Mangum it arrives whole. Everything runs on the
real Piper engine, SQLite and local blobs (no doubles). Memory staying flat is measured in bench/export_memory.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import runtime
from core.records import keys
from core.records.audio import AudioRecord
from core.records.voices import Voice
from core.services import export
from core.tts import codecs
from core.tts.base import Audio
from tests.conftest import Users
from tests.support.events import http_event, invoke
from tests.support.speech import error_code, upload


def _library(client: TestClient, user: dict[str, Any], clip: Audio, *, voices: int, audio: int) -> None:
    for n in range(voices):
        made = upload(client, user, codecs.encode(clip, "wav"), name=f"Voice {n}")
        assert made.status_code == 200, made.text
    for n, fmt in zip(range(audio), ("wav", "mp3", "flac", "ogg"), strict=False):
        body = {"text": f"Sentence number {n}.", "format": fmt}
        made = client.post("/synthesize", headers=user["headers"], json=body)
        assert made.status_code == 200, made.text


def _records(user_id: str) -> tuple[list[Voice], list[AudioRecord]]:
    store = runtime.store()
    pk = keys.user_pk(user_id)
    voices = [Voice.from_item(i) for i in store.query(pk, sk_prefix=keys.VOICE, limit=100).items]
    audio = [AudioRecord.from_item(i) for i in store.query(pk, sk_prefix=keys.AUDIO, limit=100).items]
    return voices, audio


def _export(client: TestClient, user: dict[str, Any]) -> zipfile.ZipFile:
    response = client.get("/profile/export", headers=user["headers"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="chatterbox-export-')
    assert disposition.endswith('.zip"')
    assert user["username"] in disposition
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None  # every entry's CRC checks out
    return archive


def test_export_holds_every_record_and_file_byte_equal(client: TestClient, users: Users, speech_clip: Audio) -> None:
    alice, bob = users.create("alice"), users.create("bob")
    _library(client, alice, speech_clip, voices=2, audio=3)
    _library(client, bob, speech_clip, voices=1, audio=1)
    voices, audio = _records(alice["id"])
    converted = client.get(f"/audio/{audio[0].audio_id}?format=mp3", headers=alice["headers"])
    assert converted.status_code == 200  # a cached conversion: derived, not exported
    blobs = runtime.blobs()

    archive = _export(client, alice)
    expected = {"profile.json", "manifest.json"}
    for voice in voices:
        expected |= {f"voices/{voice.id}.json", f"voices/{voice.id}.flac"}
    for record in audio:
        ext = record.blob_key.rpartition(".")[2]
        expected |= {f"audio/{record.audio_id}.json", f"audio/{record.audio_id}.{ext}"}
    assert set(archive.namelist()) == expected
    assert archive.namelist()[0] == "profile.json"
    assert archive.namelist()[-1] == "manifest.json"

    profile = json.loads(archive.read("profile.json"))
    assert profile["id"] == alice["id"]
    assert profile["username"] == "alice"
    assert profile["email"] == alice["email"]
    assert profile["role"] == "user"
    assert profile["is_active"] is True
    assert not any("password" in key for key in profile)
    for voice in voices:
        doc = json.loads(archive.read(f"voices/{voice.id}.json"))
        assert (doc["id"], doc["name"], doc["file"]) == (voice.id, voice.name, f"voices/{voice.id}.flac")
        assert archive.read(doc["file"]) == blobs.get(voice.reference_key)
        assert archive.getinfo(doc["file"]).compress_type == zipfile.ZIP_STORED
    for record in audio:
        doc = json.loads(archive.read(f"audio/{record.audio_id}.json"))
        assert (doc["id"], doc["text"], doc["format"]) == (record.audio_id, record.text, record.format)
        assert archive.read(doc["file"]) == blobs.get(record.blob_key)
    manifest = json.loads(archive.read("manifest.json"))
    assert (manifest["voices"], manifest["audio"], manifest["missing_files"]) == (2, 3, [])
    assert manifest["format"] == "chatterbox-tts-export/1"

    bob_voices, bob_audio = _records(bob["id"])
    everything = b"".join(archive.read(name) for name in archive.namelist())
    for foreign in [bob["id"], *(v.id for v in bob_voices), *(a.audio_id for a in bob_audio)]:
        assert foreign.encode() not in everything
    assert not any(bob["id"] in name for name in archive.namelist())


def test_export_of_an_empty_account_and_without_credentials(client: TestClient, users: Users) -> None:
    assert client.get("/profile/export").status_code == 401
    carol = users.create("carol")
    archive = _export(client, carol)
    assert archive.namelist() == ["profile.json", "manifest.json"]


def test_a_file_deleted_meanwhile_is_reported_not_fatal(client: TestClient, users: Users, speech_clip: Audio) -> None:
    dave = users.create("dave")
    _library(client, dave, speech_clip, voices=1, audio=2)
    _voices, audio = _records(dave["id"])
    runtime.blobs().delete(audio[0].blob_key)
    archive = _export(client, dave)
    doc = json.loads(archive.read(f"audio/{audio[0].audio_id}.json"))
    assert doc["file"] is None
    assert json.loads(archive.read("manifest.json"))["missing_files"] == [f"audio/{audio[0].audio_id}"]
    assert json.loads(archive.read(f"audio/{audio[1].audio_id}.json"))["file"] is not None


class CountingBlobs:
    """The real local blob store, counting reads (a spy, not a double: every call goes through)."""

    def __init__(self) -> None:
        self.inner = runtime.blobs()
        self.gets = 0

    def get(self, key: str) -> bytes:
        self.gets += 1
        return self.inner.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_zip_is_made_as_it_is_read_and_stops_with_the_reader(
    client: TestClient, users: Users, speech_clip: Audio
) -> None:
    erin = users.create("erin")
    _library(client, erin, speech_clip, voices=1, audio=3)
    blobs = CountingBlobs()
    made = export.open_export(runtime.store(), blobs, user_id=erin["id"])
    assert blobs.gets == 0  # nothing is read before the first chunk is asked for
    chunks = made.chunks
    first = next(chunks)
    assert first.startswith(b"PK\x03\x04")  # a local file header: sent before the rest exists
    while blobs.gets < 2:
        next(chunks)
    chunks.close()  # what AudioStreamResponse does when the client goes away
    assert blobs.gets == 2  # the other two files were never read
    with pytest.raises(StopIteration):
        next(chunks)


def test_exports_are_rate_limited(client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_EXPORTS_PER_HOUR", "1")
    runtime.reset()
    frank = users.create("frank")
    assert client.get("/profile/export", headers=frank["headers"]).status_code == 200
    refused = client.get("/profile/export", headers=frank["headers"])
    assert refused.status_code == 429
    assert error_code(refused) == "rate_limited"
    assert "retry-after" in refused.headers


def test_export_through_lambda_arrives_whole(client: TestClient, users: Users, speech_clip: Audio) -> None:
    from handlers import account

    grace = users.create("grace")
    _library(client, grace, speech_clip, voices=1, audio=1)
    event = http_event("GET", "/profile/export", headers={"authorization": f"Bearer {grace['tokens']['access_token']}"})
    status, headers, body = invoke(account.handler, event)
    assert status == 200, body[:200]
    assert headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert len(names) == 2 + 2 + 2
    assert names[-1] == "manifest.json"
