"""The key-value protocol every store backend implements (a DynamoDB-style single table).

Contract:
- An item is a dict with string keys `pk` and `sk` plus attributes whose values are str, int, float,
  bool, None, or lists/dicts of those. Integral floats may come back as int (DynamoDB numbers).
- `ttl` (int, epoch seconds) is the expiry attribute: an expired item is invisible to every read
  and condition (as if absent), even while the backend has not yet removed it.
- Conditions: `Cond(exists=True/False, equals={...})`; a failed condition raises `ConditionFailed`.
- `transact` applies up to 25 operations atomically or none; on a failed condition it raises
  `TransactionConflict` with one reason per operation.
- `query` returns items of one pk whose sk starts with a prefix, in sk order (or reversed), one page at
  a time; `Page.cursor` is an opaque string to pass back, None on the last page. `query_all` reads
  every page of such a query, lazily, page by page.
- `scan` returns live items of every pk that starts with a prefix, in no promised order, one page at a
  time (same cursor rules). It reads the whole table on DynamoDB: maintenance and the admin API's account
  listing only (core.services.admin), never on a user's request.
- `increment` adds to a numeric attribute atomically and returns the new value; an absent or expired
  item starts from 0 and gets the given ttl; `set_attrs` are written in the same atomic update.
- Any failure of the backend itself (unreachable, disk full, read-only) raises `StorageUnavailable`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from core.errors import BadRequest

Item = dict[str, Any]
MAX_TRANSACT_ITEMS = 25
TTL_ATTR = "ttl"


@dataclass(frozen=True)
class Cond:
    """A write condition: existence of the (live) item and/or equality of some attributes."""

    exists: bool | None = None
    equals: Mapping[str, Any] = field(default_factory=dict)

    def holds(self, current: Item | None) -> bool:
        if self.exists is True and current is None:
            return False
        if self.exists is False and current is not None:
            return False
        if self.equals:
            if current is None:
                return False
            return all(current.get(k) == v for k, v in self.equals.items())
        return True


MUST_NOT_EXIST = Cond(exists=False)
MUST_EXIST = Cond(exists=True)


@dataclass(frozen=True)
class Put:
    item: Item
    cond: Cond | None = None


@dataclass(frozen=True)
class Delete:
    pk: str
    sk: str
    cond: Cond | None = None


@dataclass(frozen=True)
class Check:
    """A condition on an item that the transaction does not write."""

    pk: str
    sk: str
    cond: Cond


Op = Put | Delete | Check


@dataclass(frozen=True)
class Page:
    items: list[Item]
    cursor: str | None


@runtime_checkable
class KVStore(Protocol):
    def get(self, pk: str, sk: str) -> Item | None: ...

    def put(self, item: Item, *, cond: Cond | None = None) -> None: ...

    def delete(self, pk: str, sk: str, *, cond: Cond | None = None) -> None: ...

    def query(
        self,
        pk: str,
        *,
        sk_prefix: str = "",
        limit: int = 50,
        cursor: str | None = None,
        descending: bool = False,
    ) -> Page: ...

    def scan(self, *, pk_prefix: str = "", limit: int = 100, cursor: str | None = None) -> Page: ...

    def increment(
        self,
        pk: str,
        sk: str,
        attr: str,
        amount: int = 1,
        *,
        ttl: int | None = None,
        set_attrs: Mapping[str, Any] | None = None,
    ) -> int: ...

    def transact(self, ops: Sequence[Op]) -> None: ...

    def ping(self) -> None: ...


def now_epoch() -> int:
    return int(time.time())


def is_live(item: Mapping[str, Any], now: int | None = None) -> bool:
    ttl = item.get(TTL_ATTR)
    return ttl is None or int(ttl) > (now if now is not None else now_epoch())


def encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sk = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("Invalid cursor", code="invalid_cursor") from exc
    if not sk or encode_cursor(sk) != cursor:  # only cursors this module made
        raise BadRequest("Invalid cursor", code="invalid_cursor")
    return sk


def encode_key_cursor(pk: str, sk: str) -> str:
    """A scan cursor: the (pk, sk) of the last item returned."""
    return base64.urlsafe_b64encode(json.dumps([pk, sk]).encode()).decode().rstrip("=")


def decode_key_cursor(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("Invalid cursor", code="invalid_cursor") from exc
    ok = isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) and k for k in key)
    if not ok or encode_key_cursor(key[0], key[1]) != cursor:  # only cursors this module made
        raise BadRequest("Invalid cursor", code="invalid_cursor")
    return key[0], key[1]


def check_item(item: Mapping[str, Any]) -> None:
    if not isinstance(item.get("pk"), str) or not isinstance(item.get("sk"), str):
        raise ValueError("an item needs string pk and sk")
    if not item["pk"] or not item["sk"]:
        raise ValueError("pk and sk must not be empty")


def check_ops(ops: Sequence[Op]) -> None:
    if not ops:
        raise ValueError("a transaction needs at least one operation")
    if len(ops) > MAX_TRANSACT_ITEMS:
        raise ValueError(f"a transaction takes at most {MAX_TRANSACT_ITEMS} operations")
    keys = [(op.item["pk"], op.item["sk"]) if isinstance(op, Put) else (op.pk, op.sk) for op in ops]
    if len(set(keys)) != len(keys):
        raise ValueError("a transaction may touch each item only once")


def query_all(store: KVStore, pk: str, *, sk_prefix: str = "", page_size: int = 100) -> Iterator[Item]:
    """Every item of `store.query(pk, sk_prefix=...)`, in sk order, reading one page at a time."""
    cursor: str | None = None
    while True:
        page = store.query(pk, sk_prefix=sk_prefix, limit=page_size, cursor=cursor)
        yield from page.items
        if page.cursor is None:
            return
        cursor = page.cursor
