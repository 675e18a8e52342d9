"""Fixtures of the service unit layer: services called directly, no app, no handler.

`store` is an in-memory SQLite store (one connection: these tests run on one thread), `blobs` a local
blob folder, `engine` the real Piper engine on CPU, `user_id` a registered account.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import keys
from core.services import users
from core.storage import BlobStore, KVStore, LocalBlobStore
from core.storage.sqlite import SqliteStore
from core.tts.piper import PiperEngine


@pytest.fixture
def store() -> Iterator[KVStore]:
    memory = SqliteStore(":memory:")
    yield memory
    memory.close()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture(scope="session")
def engine() -> PiperEngine:
    return PiperEngine()


def register(store: KVStore, name: str) -> str:
    """A new account's user id (read back from its username claim)."""
    users.register(store, username=name, email=f"{name}@example.com", password="correct horse battery", full_name=None)
    claim = store.get(*keys.username_claim(name))
    assert claim is not None
    return str(claim["user_id"])


@pytest.fixture
def user_id(store: KVStore) -> str:
    return register(store, "alice")
