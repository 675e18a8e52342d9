"""Key-value stores for tests: a DynamoDB table on the moto server, created from template.yaml.

Contract: `make_dynamo(url)` creates a fresh table (random name) with the key schema and TTL that
template.yaml's `Table` resource declares, so tests and deployment agree, and returns a DynamoStore on it.
`file_or_dynamo(request, tmp_path)` is the body of a fixture parametrised over ["sqlite", "dynamodb"]:
a SQLite file store, or a fresh table on the moto server (tests/unit/conftest.py's `store`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.storage import KVStore
from core.storage.dynamodb import DynamoStore
from core.storage.sqlite import SqliteStore
from tests.support.template import table_create_args


def make_dynamo(url: str) -> DynamoStore:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")
    name = f"t-{uuid.uuid4().hex[:12]}"
    create, ttl = table_create_args(name)
    client.create_table(**create)
    client.update_time_to_live(**ttl)
    return DynamoStore(name, client=client)


def file_or_dynamo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "kv.db")
        yield sqlite
        sqlite.close()
    else:
        yield make_dynamo(request.getfixturevalue("moto_url"))
