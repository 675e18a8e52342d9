"""Fixtures of the unit layer: `store`, each test once on SQLite (a file) and once on DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.storage import KVStore
from core.storage.sqlite import SqliteStore
from tests.support.stores import make_dynamo


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "kv.db")
        yield sqlite
        sqlite.close()
    else:
        yield make_dynamo(request.getfixturevalue("moto_url"))
