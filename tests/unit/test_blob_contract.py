"""One contract suite for blob stores: a local directory and S3 (moto server on loopback)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import StorageUnavailable
from core.storage import BlobNotFound, BlobStore, LocalBlobStore, S3BlobStore


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    import boto3

    client = boto3.client("s3", endpoint_url=request.getfixturevalue("moto_url"), region_name="us-east-1")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    yield S3BlobStore(bucket, client=client)


def test_put_get_delete(blobs: BlobStore) -> None:
    blobs.put("audio/u1/a1.wav", b"RIFF....", content_type="audio/wav")
    assert blobs.get("audio/u1/a1.wav") == b"RIFF...."
    assert [info.key for info in blobs.listing("audio/u1/")] == ["audio/u1/a1.wav"]
    blobs.put("audio/u1/a1.wav", b"second")  # overwrite is whole
    assert blobs.get("audio/u1/a1.wav") == b"second"
    blobs.delete("audio/u1/a1.wav")
    assert list(blobs.listing("audio/u1/")) == []
    with pytest.raises(BlobNotFound):
        blobs.get("audio/u1/a1.wav")
    blobs.delete("audio/u1/a1.wav")  # missing: no-op
    blobs.ping()


def test_large_binary_roundtrip(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 40_000  # ~10 MB
    blobs.put("voices/u/v/reference.flac", data)
    assert blobs.get("voices/u/v/reference.flac") == data


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/abs/path", "a//b", "a/../b", "", "a/.hidden", "a/b c", "a\\b", "ok/..", "x" * 600]
)
def test_traversal_and_odd_keys_are_refused(blobs: BlobStore, key: str) -> None:
    for call in (lambda: blobs.put(key, b"x"), lambda: blobs.get(key), lambda: blobs.delete(key)):
        with pytest.raises(ValueError, match="invalid blob key"):
            call()


def test_listing_gives_keys_sizes_and_times_under_a_prefix(blobs: BlobStore) -> None:
    before = time.time()
    blobs.put("audio/u1/a.wav", b"12345")
    blobs.put("audio/u2/b.wav", b"123")
    blobs.put("voices/u1/v/reference.flac", b"1")
    listed = {info.key: info for info in blobs.listing()}
    assert set(listed) == {"audio/u1/a.wav", "audio/u2/b.wav", "voices/u1/v/reference.flac"}
    assert listed["audio/u1/a.wav"].size == 5
    assert not listed["audio/u1/a.wav"].partial
    assert before - 5 <= listed["audio/u1/a.wav"].modified <= time.time() + 5  # wall-clock epoch seconds
    assert {info.key for info in blobs.listing("audio/")} == {"audio/u1/a.wav", "audio/u2/b.wav"}
    assert {info.key for info in blobs.listing("audio/u1/")} == {"audio/u1/a.wav"}
    assert list(blobs.listing("nothing/")) == []


def test_local_listing_shows_unfinished_writes_which_only_delete_accepts(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("audio/u/a.wav", b"whole")
    leftover = tmp_path / "blobs" / "audio" / "u" / ".b.wav.0123456789ab.tmp"
    leftover.write_bytes(b"half")
    (tmp_path / "blobs" / "audio" / "u" / "not a key").write_bytes(b"")  # never ours: not listed
    listed = {info.key: info for info in store.listing("audio/")}
    assert set(listed) == {"audio/u/a.wav", "audio/u/.b.wav.0123456789ab.tmp"}
    assert listed["audio/u/.b.wav.0123456789ab.tmp"].partial
    with pytest.raises(ValueError, match="invalid blob key"):
        store.get("audio/u/.b.wav.0123456789ab.tmp")
    store.delete("audio/u/.b.wav.0123456789ab.tmp")
    assert not leftover.exists()
    assert store.get("audio/u/a.wav") == b"whole"


def test_local_put_failure_is_clean_and_keeps_other_blobs(tmp_path: Path) -> None:
    # Tests run as root, so permissions cannot make a directory unwritable; a directory standing
    # where the blob should go makes the final rename fail instead.
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("a/kept.bin", b"old")
    (tmp_path / "blobs" / "a" / "b.bin").mkdir()
    with pytest.raises(StorageUnavailable):
        store.put("a/b.bin", b"new")
    assert store.get("a/kept.bin") == b"old"
    assert sorted(p.name for p in (tmp_path / "blobs" / "a").iterdir()) == ["b.bin", "kept.bin"]  # no temp file
    (tmp_path / "blobs" / "file").write_bytes(b"")
    with pytest.raises(StorageUnavailable):
        LocalBlobStore(tmp_path / "blobs" / "file").ping()


def test_unreachable_s3_is_storage_unavailable() -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    dead = S3BlobStore("nope", client=client)
    with pytest.raises(StorageUnavailable):
        dead.put("a/b", b"x")
    with pytest.raises(StorageUnavailable):
        dead.ping()
