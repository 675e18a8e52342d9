"""core.services.library conversions on every store backend: the cached blob is referenced by a write
conditioned on the record's blob_keys, so parallel conversions keep each other's keys, a conversion
racing a delete leaves no blob behind, and a delete racing a conversion removes what it added."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.config import Settings
from core.errors import NotFound
from core.services import library
from core.services.policy import MediaPolicy
from core.services.users import user_pk
from core.storage import BlobNotFound, BlobStore, Item, KVStore, LocalBlobStore
from core.tts import codecs
from core.tts.base import Audio

USER, AUDIO = "u1", "0000000001aaaaaaaaaaaaaaaa"


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def item(store: KVStore, blobs: BlobStore) -> Item:
    """A stored 1 s wav record, as core.services.synthesis writes one."""
    t = np.arange(22050) / 22050
    key = f"audio/{USER}/{AUDIO}.wav"
    blobs.put(key, codecs.encode(Audio((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 22050), "wav"))
    record: Item = {
        "pk": user_pk(USER),
        "sk": f"AUDIO#{AUDIO}",
        "audio_id": AUDIO,
        "format": "wav",
        "sample_rate": 22050,
        "duration": 1.0,
        "blob_key": key,
        "blob_keys": [key],
    }
    store.put(record)
    return record


UNCAPPED = MediaPolicy.of(Settings(rate_limit_conversions_per_hour=0, max_parallel_decodes=1))


def download(store: KVStore, blobs: BlobStore, fmt: str) -> library.Download:
    return library.download(store, blobs, user_id=USER, audio_id=AUDIO, fmt=fmt, policy=UNCAPPED)


def exists(blobs: BlobStore, key: str) -> bool:
    try:
        blobs.get(key)
    except BlobNotFound:
        return False
    return True


def test_conversions_in_several_formats_are_all_referenced(store: KVStore, blobs: BlobStore, item: Item) -> None:
    for fmt in ("mp3", "flac", "ogg"):
        download(store, blobs, fmt)
    stored = store.get(item["pk"], item["sk"])
    assert stored is not None
    assert sorted(stored["conversions"]) == ["flac", "mp3", "ogg"]
    assert sorted(stored["blob_keys"]) == sorted([item["blob_key"], *stored["conversions"].values()])


def test_a_conversion_read_before_another_keeps_both(store: KVStore, blobs: BlobStore, item: Item) -> None:
    download(store, blobs, "mp3")  # lands after `item` was read by the next one
    key = f"audio/{USER}/{AUDIO}.flac"
    blobs.put(key, b"converted")
    library._reference(store, blobs, item, "flac", key)  # holds the stale blob_keys: retried
    stored = store.get(item["pk"], item["sk"])
    assert stored is not None
    assert sorted(stored["conversions"]) == ["flac", "mp3"]
    assert len(stored["blob_keys"]) == 3


def test_a_conversion_whose_record_was_deleted_removes_its_blob(store: KVStore, blobs: BlobStore, item: Item) -> None:
    library.delete(store, blobs, user_id=USER, audio_id=AUDIO)
    key = f"audio/{USER}/{AUDIO}.mp3"
    blobs.put(key, b"converted")
    with pytest.raises(NotFound):
        library._reference(store, blobs, item, "mp3", key)
    assert not exists(blobs, key)


def test_a_delete_that_read_before_a_conversion_removes_it_too(
    store: KVStore, blobs: BlobStore, item: Item, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_get = library.get
    calls: list[int] = []

    def get_then_convert(store_: KVStore, *, user_id: str, audio_id: str) -> Item:
        read = real_get(store_, user_id=user_id, audio_id=audio_id)
        if not calls:  # a conversion lands between the delete's read and its write
            calls.append(1)
            download(store, blobs, "mp3")
        return read

    monkeypatch.setattr(library, "get", get_then_convert)
    library.delete(store, blobs, user_id=USER, audio_id=AUDIO)
    assert store.get(item["pk"], item["sk"]) is None
    assert not exists(blobs, item["blob_key"])
    assert not exists(blobs, f"audio/{USER}/{AUDIO}.mp3")
