"""core.services.library conversions on every store backend: the cached blob is referenced by a write
conditioned on the record's blob_keys, so parallel conversions keep each other's keys, a conversion
racing a delete leaves no blob behind, and a delete racing a conversion removes what it added."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.config import Settings
from core.errors import NotFound
from core.records import keys
from core.records.audio import AudioRecord
from core.services import library
from core.services.policy import MediaPolicy
from core.storage import BlobNotFound, BlobStore, KVStore, LocalBlobStore
from core.tts import codecs
from core.tts.base import Audio
from tests.support.records import audio_record

USER, AUDIO = "u1", "0000000001aaaaaaaaaaaaaaaa"


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def record(store: KVStore, blobs: BlobStore) -> AudioRecord:
    """A stored 1 s wav record, as core.services.synthesis writes one."""
    t = np.arange(22050) / 22050
    data = codecs.encode(Audio((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 22050), "wav")
    record = audio_record(user_id=USER, audio_id=AUDIO, text="A tone.", voice_id="builtin", size_bytes=len(data))
    blobs.put(record.blob_key, data)
    store.put(record.to_item())
    return record


def stored(store: KVStore) -> AudioRecord | None:
    item = store.get(*keys.audio(USER, AUDIO))
    return None if item is None else AudioRecord.from_item(item)


UNCAPPED = MediaPolicy.of(Settings(rate_limit_conversions_per_hour=0, max_parallel_decodes=1))


def download(store: KVStore, blobs: BlobStore, fmt: str) -> library.Download:
    return library.download(store, blobs, user_id=USER, audio_id=AUDIO, fmt=fmt, policy=UNCAPPED)


def exists(blobs: BlobStore, key: str) -> bool:
    try:
        blobs.get(key)
    except BlobNotFound:
        return False
    return True


def test_conversions_in_several_formats_are_all_referenced(
    store: KVStore, blobs: BlobStore, record: AudioRecord
) -> None:
    for fmt in ("mp3", "flac", "ogg"):
        download(store, blobs, fmt)
    now = stored(store)
    assert now is not None
    assert sorted(now.conversions) == ["flac", "mp3", "ogg"]
    assert sorted(now.blob_keys) == sorted([record.blob_key, *now.conversions.values()])


def test_a_conversion_read_before_another_keeps_both(store: KVStore, blobs: BlobStore, record: AudioRecord) -> None:
    download(store, blobs, "mp3")  # lands after `record` was read by the next one
    key = record.conversion_blob("flac")
    blobs.put(key, b"converted")
    library._reference(store, blobs, record, "flac", key)  # holds the stale blob_keys: retried
    now = stored(store)
    assert now is not None
    assert sorted(now.conversions) == ["flac", "mp3"]
    assert len(now.blob_keys) == 3


def test_a_conversion_whose_record_was_deleted_removes_its_blob(
    store: KVStore, blobs: BlobStore, record: AudioRecord
) -> None:
    library.delete(store, blobs, user_id=USER, audio_id=AUDIO)
    key = record.conversion_blob("mp3")
    blobs.put(key, b"converted")
    with pytest.raises(NotFound):
        library._reference(store, blobs, record, "mp3", key)
    assert not exists(blobs, key)


def test_a_delete_that_read_before_a_conversion_removes_it_too(
    store: KVStore, blobs: BlobStore, record: AudioRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_get = library.get
    calls: list[int] = []

    def get_then_convert(store_: KVStore, *, user_id: str, audio_id: str) -> AudioRecord:
        read = real_get(store_, user_id=user_id, audio_id=audio_id)
        if not calls:  # a conversion lands between the delete's read and its write
            calls.append(1)
            download(store, blobs, "mp3")
        return read

    monkeypatch.setattr(library, "get", get_then_convert)
    library.delete(store, blobs, user_id=USER, audio_id=AUDIO)
    assert stored(store) is None
    assert not exists(blobs, record.blob_key)
    assert not exists(blobs, record.conversion_blob("mp3"))
