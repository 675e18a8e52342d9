"""Fixtures of the service unit layer: an in-memory SQLite store, a local blob store, a user with a profile.

The services run directly, with no HTTP app: `store` is `SqliteStore(":memory:")` (one connection per
thread, so these tests stay single-threaded), `blobs` a `LocalBlobStore` under tmp_path, and `user_id`
a user whose profile item exists (what `owned.put_owned` checks), written through its key so the
tests depend on no account service.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import keys
from core.storage import BlobStore, KVStore, LocalBlobStore
from core.storage.sqlite import SqliteStore


@pytest.fixture
def store() -> Iterator[KVStore]:
    memory = SqliteStore(":memory:")
    yield memory
    memory.close()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def add_user(store: KVStore, user_id: str) -> str:
    pk, sk = keys.profile(user_id)
    store.put({"pk": pk, "sk": sk, "id": user_id})
    return user_id


@pytest.fixture
def user_id(store: KVStore) -> str:
    return add_user(store, "0000000001alice00000000000")
