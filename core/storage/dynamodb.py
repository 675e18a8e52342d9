"""DynamoDB backend of the key-value protocol (boto3, one table with string keys pk/sk).

Contract: see `core.storage.base`. Table schema (also in template.yaml, which the tests read):
hash key `pk` (S), range key `sk` (S), TTL attribute `ttl`. Numbers come back as int or float
(never Decimal). Conditions compile to ConditionExpressions; a live-item condition treats an item
whose `ttl` has passed as absent, since DynamoDB deletes expired items lazily. Client errors other
than failed conditions, and connection failures, raise `StorageUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.errors import ConditionFailed, StorageUnavailable, TransactionConflict

from .base import (
    Check,
    Cond,
    Delete,
    Item,
    Op,
    Page,
    Put,
    check_item,
    check_ops,
    decode_cursor,
    decode_key_cursor,
    encode_cursor,
    encode_key_cursor,
    is_live,
    now_epoch,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_SERIALIZER: Any = None
_DESERIALIZER: Any = None


def _codecs() -> tuple[Any, Any]:
    global _SERIALIZER, _DESERIALIZER
    if _SERIALIZER is None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        _SERIALIZER, _DESERIALIZER = TypeSerializer(), TypeDeserializer()
    return _SERIALIZER, _DESERIALIZER


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    raise TypeError(f"unsupported attribute type: {type(value).__name__}")


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def serialize(item: Item) -> dict[str, Any]:
    ser, _ = _codecs()
    return {k: ser.serialize(_to_dynamo(v)) for k, v in item.items()}


def deserialize(raw: dict[str, Any]) -> Item:
    _, de = _codecs()
    return {k: _from_dynamo(de.deserialize(v)) for k, v in raw.items()}


def condition_expression(cond: Cond | None, now: int) -> dict[str, Any]:
    """Build ConditionExpression arguments for `cond`, treating expired items as absent."""
    if cond is None:
        return {}
    names: dict[str, str] = {"#pk": "pk"}
    values: dict[str, Any] = {}
    live = "(attribute_not_exists(#ttl) OR #ttl > :now)"
    parts: list[str] = []
    if cond.exists is False:
        parts.append(f"(attribute_not_exists(#pk) OR NOT {live})")
    elif cond.exists is True or cond.equals:
        parts.append(f"(attribute_exists(#pk) AND {live})")
    if parts:
        names["#ttl"] = "ttl"
        values[":now"] = {"N": str(now)}
    ser, _ = _codecs()
    for i, (key, expected) in enumerate(cond.equals.items()):
        names[f"#a{i}"] = key
        values[f":v{i}"] = ser.serialize(_to_dynamo(expected))
        parts.append(f"#a{i} = :v{i}")
    if not parts:
        return {}
    args: dict[str, Any] = {"ConditionExpression": " AND ".join(parts), "ExpressionAttributeNames": names}
    if values:
        args["ExpressionAttributeValues"] = values
    return args


class DynamoStore:
    def __init__(self, table: str, *, client: DynamoDBClient | None = None, **client_kwargs: Any) -> None:
        self.table = table
        if client is None:
            import boto3
            from botocore.config import Config

            config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=10)
            client = boto3.client("dynamodb", config=config, **client_kwargs)
        self.client = client

    @contextmanager
    def _errors(self) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed(str(exc)) from exc
            if code == "TransactionCanceledException":
                reasons = [
                    None if r.get("Code") in (None, "None") else str(r.get("Code"))
                    for r in exc.response.get("CancellationReasons", [])
                ]
                if any(r == "ConditionalCheckFailed" for r in reasons):
                    raise TransactionConflict(reasons) from exc
            raise StorageUnavailable(f"Storage is unavailable: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"Storage is unavailable: {exc}") from exc

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def get(self, pk: str, sk: str) -> Item | None:
        with self._errors():
            raw = self.client.get_item(TableName=self.table, Key=self._key(pk, sk), ConsistentRead=True)
        if "Item" not in raw:
            return None
        item = deserialize(raw["Item"])
        return item if is_live(item) else None

    def put(self, item: Item, *, cond: Cond | None = None) -> None:
        check_item(item)
        with self._errors():
            self.client.put_item(TableName=self.table, Item=serialize(item), **condition_expression(cond, now_epoch()))

    def delete(self, pk: str, sk: str, *, cond: Cond | None = None) -> None:
        with self._errors():
            self.client.delete_item(
                TableName=self.table, Key=self._key(pk, sk), **condition_expression(cond, now_epoch())
            )

    def _page(self, operation: str, args: dict[str, Any], start: dict[str, Any] | None, limit: int) -> list[Item]:
        """Up to limit + 1 live items. DynamoDB applies Limit before any filter (expired items, a scan's
        FilterExpression): keep reading until the page is full or the table ends."""
        if limit < 1:
            raise ValueError("limit must be positive")
        now = now_epoch()
        items: list[Item] = []
        while len(items) <= limit:
            call = {"TableName": self.table, "ConsistentRead": True, **args, "Limit": limit + 1 - len(items)}
            if start is not None:
                call["ExclusiveStartKey"] = start
            with self._errors():
                raw = getattr(self.client, operation)(**call)
            items.extend(i for i in map(deserialize, raw.get("Items", [])) if is_live(i, now))
            start = raw.get("LastEvaluatedKey")
            if start is None:
                break
        return items

    def query(
        self,
        pk: str,
        *,
        sk_prefix: str = "",
        limit: int = 50,
        cursor: str | None = None,
        descending: bool = False,
    ) -> Page:
        key_cond = "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": pk}}
        if sk_prefix:
            key_cond += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": sk_prefix}
        args = {
            "KeyConditionExpression": key_cond,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not descending,
        }
        start = self._key(pk, decode_cursor(cursor)) if cursor else None
        items = self._page("query", args, start, limit)
        page = items[:limit]
        return Page(items=page, cursor=encode_cursor(page[-1]["sk"]) if len(items) > limit else None)

    def scan(self, *, pk_prefix: str = "", limit: int = 100, cursor: str | None = None) -> Page:
        """Live items whose pk starts with `pk_prefix`: a paginated, consistent Scan with a filter."""
        args: dict[str, Any] = {}
        if pk_prefix:
            args = {
                "FilterExpression": "begins_with(#pk, :prefix)",
                "ExpressionAttributeNames": {"#pk": "pk"},
                "ExpressionAttributeValues": {":prefix": {"S": pk_prefix}},
            }
        start = self._key(*decode_key_cursor(cursor)) if cursor else None
        items = self._page("scan", args, start, limit)
        page = items[:limit]
        last = page[-1] if len(items) > limit else None
        return Page(items=page, cursor=encode_key_cursor(last["pk"], last["sk"]) if last else None)

    def increment(
        self,
        pk: str,
        sk: str,
        attr: str,
        amount: int = 1,
        *,
        ttl: int | None = None,
        set_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        now = now_epoch()
        names = {"#a": attr, "#ttl": "ttl"}
        ser, _ = _codecs()
        sets: list[str] = []
        with self._errors():
            try:
                # Live item (or none at all): add in place; a new item gets the ttl.
                values: dict[str, Any] = {":n": {"N": str(amount)}, ":now": {"N": str(now)}}
                if ttl is not None:
                    sets.append("#ttl = if_not_exists(#ttl, :ttl)")
                    values[":ttl"] = {"N": str(int(ttl))}
                for i, (key, value) in enumerate((set_attrs or {}).items()):
                    names[f"#s{i}"] = key
                    values[f":s{i}"] = ser.serialize(_to_dynamo(value))
                    sets.append(f"#s{i} = :s{i}")
                update = "ADD #a :n" + (" SET " + ", ".join(sets) if sets else "")
                out = self.client.update_item(
                    TableName=self.table,
                    Key=self._key(pk, sk),
                    UpdateExpression=update,
                    ConditionExpression="attribute_not_exists(#ttl) OR #ttl > :now",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="UPDATED_NEW",
                )
            except self.client.exceptions.ConditionalCheckFailedException:
                # Expired but not yet removed: start over, unless another writer just did.
                item: Item = {"pk": pk, "sk": sk, **(set_attrs or {}), attr: amount}
                if ttl is not None:
                    item["ttl"] = int(ttl)
                try:
                    self.put(item, cond=Cond(exists=False))
                    return amount
                except ConditionFailed:
                    return self.increment(pk, sk, attr, amount, ttl=ttl, set_attrs=set_attrs)
        return int(_from_dynamo(deserialize(out["Attributes"])[attr]))

    def transact(self, ops: Sequence[Op]) -> None:
        check_ops(ops)
        now = now_epoch()
        calls: list[dict[str, Any]] = []
        for op in ops:
            if isinstance(op, Put):
                check_item(op.item)
                calls.append(
                    {"Put": {"TableName": self.table, "Item": serialize(op.item), **condition_expression(op.cond, now)}}
                )
            elif isinstance(op, Delete | Check):
                kind = "Delete" if isinstance(op, Delete) else "ConditionCheck"
                target = {"TableName": self.table, "Key": self._key(op.pk, op.sk)}
                calls.append({kind: {**target, **condition_expression(op.cond, now)}})
        with self._errors():
            self.client.transact_write_items(TransactItems=calls)  # type: ignore[arg-type]

    def ping(self) -> None:
        with self._errors():
            self.client.describe_table(TableName=self.table)
