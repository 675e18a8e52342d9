"""Fixtures of the service unit layer: the services driven directly on an in-memory SQLite store.

`store` is `SqliteStore(":memory:")` (overriding tests/unit/conftest.py's file + DynamoDB pair: these
tests are about the services' behaviour, which the store contract tests already prove
backend-independent; one connection per thread, so these tests stay single-threaded), `blobs` a
`LocalBlobStore` under tmp_path, `settings` with a fixed signing key, `engine` the real Piper engine on
CPU, `user_id` a registered account, and `add_user` a bare profile item (what `owned.put_owned`
checks) for tests that need no account service. Password hashing is the real argon2 (and bcrypt) with argon2's cost
lowered, so a test that registers a few users takes milliseconds, not seconds; the production
parameters are core.security's and tested in tests/unit/test_security.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from passlib.context import CryptContext
from pydantic import SecretStr

from core import security
from core.config import Settings
from core.records import keys
from core.services import users
from core.storage import BlobStore, KVStore, LocalBlobStore
from core.storage.sqlite import SqliteStore
from core.tts.piper import PiperEngine

_CHEAP = CryptContext(
    schemes=["argon2", "bcrypt"],
    deprecated="auto",
    argon2__memory_cost=1024,
    argon2__time_cost=1,
    argon2__parallelism=1,
)


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "_context", lambda: _CHEAP)
    monkeypatch.setattr(security, "_dummy_hash", lambda: _CHEAP.hash("dummy password"))


@pytest.fixture
def store() -> Iterator[KVStore]:
    memory = SqliteStore(":memory:")
    yield memory
    memory.close()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key=SecretStr("unit-test-signing-key-" + "x" * 32), app_env="development")


def add_user(store: KVStore, user_id: str) -> str:
    pk, sk = keys.profile(user_id)
    store.put({"pk": pk, "sk": sk, "id": user_id})
    return user_id


@pytest.fixture(scope="session")
def engine() -> PiperEngine:
    return PiperEngine()


def register(store: KVStore, name: str) -> str:
    """A new account's user id."""
    return users.register(
        store, username=name, email=f"{name}@example.com", password="correct horse battery", full_name=None
    ).id


@pytest.fixture
def user_id(store: KVStore) -> str:
    return register(store, "alice")
