"""Key-value stores for tests: a DynamoDB table on the moto server, created from template.yaml.

Contract: `make_dynamo(url)` creates a fresh table (random name) with the key schema and TTL that
template.yaml's `Table` resource declares, so tests and deployment agree, and returns a DynamoStore on it.
The `store` fixture over both backends (SQLite file, DynamoDB on moto) is in tests/unit/conftest.py.
"""

from __future__ import annotations

import uuid

from core.storage.dynamodb import DynamoStore
from tests.support.template import table_create_args


def make_dynamo(url: str) -> DynamoStore:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")
    name = f"t-{uuid.uuid4().hex[:12]}"
    create, ttl = table_create_args(name)
    client.create_table(**create)
    client.update_time_to_live(**ttl)
    return DynamoStore(name, client=client)
