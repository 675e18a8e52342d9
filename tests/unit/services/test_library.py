"""core.services.library driven directly on an in-memory SQLite store: the `AudioRecord`'s item and keys,
history paging, download in the stored format, conversion cached on the record, delete.

Records are written as core.services.synthesis writes them (`AudioRecord.new`, a real encoded blob,
`to_item()`), so these tests need no engine.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.errors import NotFound
from core.records import keys
from core.records.audio import AudioRecord
from core.services import library
from core.services.clock import sortable_id
from core.services.limits import Rate
from core.services.policy import MediaPolicy
from core.storage import BlobStore, KVStore
from core.tts import codecs
from core.tts.base import Audio
from tests.support.records import audio_record
from tests.unit.services.conftest import add_user


def new_record(user_id: str, audio_id: str, *, size_bytes: int = 0, api_key_id: str | None = None) -> AudioRecord:
    return audio_record(
        user_id=user_id,
        audio_id=audio_id,
        text="A short tone.",
        voice_id="tone",
        engine="tone",
        duration=0.50004,
        size_bytes=size_bytes,
        options_ignored=("seed",),
        api_key_id=api_key_id,
    )


def stored_audio(store: KVStore, blobs: BlobStore, user_id: str) -> AudioRecord:
    """A 0.5 s wav record and its blob, stored as synthesis stores them."""
    t = np.arange(11025) / 22050
    data = codecs.encode(Audio((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 22050), "wav")
    record = new_record(user_id, sortable_id(), size_bytes=len(data))
    blobs.put(record.blob_key, data)
    store.put(record.to_item())
    return record


MEDIA = MediaPolicy(max_decoded_samples=10_000_000, decode_slots=1, conversions=Rate("conversions", 3600, 0))


def download(store: KVStore, blobs: BlobStore, record: AudioRecord, fmt: str | None = None) -> library.Download:
    return library.download(store, blobs, user_id=record.user_id, audio_id=record.audio_id, fmt=fmt, policy=MEDIA)


def test_audio_record_round_trips_and_names_its_keys() -> None:
    record = new_record("u1", "a1", size_bytes=10)
    assert record.key == keys.audio("u1", "a1")
    assert record.blob_key == keys.audio_blob("u1", "a1", "wav")
    assert record.blob_keys == (record.blob_key,)
    assert (record.characters, record.duration, record.conversions) == (len(record.text), 0.5, {})
    item = record.to_item()
    assert (item["pk"], item["sk"]) == record.key
    assert "api_key_id" not in item  # absent, not null, for audio made with a session
    assert AudioRecord.from_item(item) == record
    by_key = replace(record, api_key_id="k1")
    assert by_key.to_item()["api_key_id"] == "k1"
    assert AudioRecord.from_item(by_key.to_item()) == by_key
    dynamo_like = {**item, "speed": 1, "pitch": 1, "duration": 2}  # integral floats come back as int
    read = AudioRecord.from_item(dynamo_like)
    assert (read.speed, read.pitch, read.duration) == (1.0, 1.0, 2.0)
    assert all(isinstance(v, float) for v in (read.speed, read.pitch, read.duration))


def test_with_conversion_references_the_blob_once_and_leaves_the_record_as_it_was() -> None:
    record = new_record("u1", "a1")
    key = record.conversion_blob("mp3")
    assert key == keys.audio_blob("u1", "a1", "mp3")
    converted = record.with_conversion("mp3", key)
    assert converted.conversions == {"mp3": key}
    assert converted.blob_keys == (record.blob_key, key)
    assert converted.with_conversion("mp3", key) == converted
    assert record.conversions == {}
    assert record.blob_keys == (record.blob_key,)


def test_history_pages_newest_first_and_only_the_users_own(store: KVStore, blobs: BlobStore, user_id: str) -> None:
    made = [stored_audio(store, blobs, user_id) for _ in range(5)]
    stored_audio(store, blobs, add_user(store, "bob"))
    seen: list[AudioRecord] = []
    cursor: str | None = None
    for _ in range(3):
        page = library.history(store, user_id=user_id, limit=2, cursor=cursor)
        assert len(page.items) <= 2
        seen.extend(page.items)
        cursor = page.cursor
        if cursor is None:
            break
    assert cursor is None
    assert seen == sorted(made, key=lambda r: r.audio_id, reverse=True)  # ids sort by creation time
    assert len(library.history(store, user_id=user_id, limit=0).items) == 1  # clamped to 1..MAX_PAGE
    assert library.history(store, user_id="nobody").items == []


def test_get_answers_404_for_another_users_or_a_malformed_id(store: KVStore, blobs: BlobStore, user_id: str) -> None:
    record = stored_audio(store, blobs, user_id)
    assert library.get(store, user_id=user_id, audio_id=record.audio_id) == record
    for owner, audio_id in ((add_user(store, "bob"), record.audio_id), (user_id, "../x"), (user_id, "0" * 26)):
        with pytest.raises(NotFound) as missing:
            library.get(store, user_id=owner, audio_id=audio_id)
        assert missing.value.code == "audio_not_found"


def test_download_serves_the_stored_file(store: KVStore, blobs: BlobStore, user_id: str) -> None:
    record = stored_audio(store, blobs, user_id)
    out = download(store, blobs, record)
    assert out.data == blobs.get(record.blob_key)
    assert (out.format, out.content_type, out.filename) == ("wav", "audio/wav", f"{record.audio_id}.wav")
    assert library.get(store, user_id=user_id, audio_id=record.audio_id) == record  # nothing converted


def test_a_conversion_is_made_once_and_cached_on_the_record(
    store: KVStore, blobs: BlobStore, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = stored_audio(store, blobs, user_id)
    first = download(store, blobs, record, "flac")
    assert (first.format, first.filename) == ("flac", f"{record.audio_id}.flac")
    assert codecs.decode(first.data, max_duration_s=5).duration == pytest.approx(record.duration, abs=0.01)
    key = record.conversion_blob(codecs.extension("flac"))
    after = library.get(store, user_id=user_id, audio_id=record.audio_id)
    assert after == record.with_conversion("flac", key)
    assert blobs.get(key) == first.data

    def no_transcode(*_: object, **__: object) -> bytes:
        raise AssertionError("converted again")

    monkeypatch.setattr(codecs, "transcode", no_transcode)
    assert download(store, blobs, record, "flac").data == first.data


def test_delete_removes_the_record_its_file_and_its_conversions(store: KVStore, blobs: BlobStore, user_id: str) -> None:
    record, kept = stored_audio(store, blobs, user_id), stored_audio(store, blobs, user_id)
    download(store, blobs, record, "mp3")
    owned = library.get(store, user_id=user_id, audio_id=record.audio_id).blob_keys
    assert len(owned) == 2
    library.delete(store, blobs, user_id=user_id, audio_id=record.audio_id)
    assert {info.key for info in blobs.listing()} == {kept.blob_key}
    assert library.history(store, user_id=user_id).items == [kept]
    with pytest.raises(NotFound):
        library.delete(store, blobs, user_id=user_id, audio_id=record.audio_id)
