"""One contract suite for every key-value backend: sqlite (file) and DynamoDB (moto server on loopback).

The DynamoDB table is created from template.yaml's `Table` resource, so tests and deployment agree.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from core.errors import BadRequest, ConditionFailed, StorageUnavailable, TransactionConflict, Unauthorized
from core.storage import MUST_EXIST, MUST_NOT_EXIST, Check, Cond, Delete, KVStore, Put
from core.storage.dynamodb import DynamoStore
from core.storage.sqlite import SqliteStore


def test_put_get_delete_roundtrip_keeps_types(store: KVStore) -> None:
    item = {"pk": "A", "sk": "1", "s": "x", "i": 3, "f": 1.5, "b": True, "n": None, "l": [1, "two"], "m": {"k": 2}}
    store.put(item)
    assert store.get("A", "1") == item
    assert store.get("A", "2") is None
    store.delete("A", "1")
    assert store.get("A", "1") is None
    store.delete("A", "1")  # deleting what is gone is a no-op


def test_conditional_put_exists_and_equals(store: KVStore) -> None:
    store.put({"pk": "A", "sk": "1", "v": 1}, cond=MUST_NOT_EXIST)
    with pytest.raises(ConditionFailed):
        store.put({"pk": "A", "sk": "1", "v": 2}, cond=MUST_NOT_EXIST)
    with pytest.raises(ConditionFailed):
        store.put({"pk": "A", "sk": "9", "v": 2}, cond=MUST_EXIST)
    with pytest.raises(ConditionFailed):
        store.put({"pk": "A", "sk": "1", "v": 3}, cond=Cond(equals={"v": 2}))
    store.put({"pk": "A", "sk": "1", "v": 3}, cond=Cond(equals={"v": 1}))
    assert store.get("A", "1") == {"pk": "A", "sk": "1", "v": 3}
    with pytest.raises(ConditionFailed):
        store.delete("A", "1", cond=Cond(equals={"v": 1}))
    store.delete("A", "1", cond=Cond(equals={"v": 3}))
    assert store.get("A", "1") is None


def test_expired_items_are_invisible_and_count_as_absent(store: KVStore) -> None:
    past = int(time.time()) - 10
    store.put({"pk": "T", "sk": "old", "ttl": past})
    store.put({"pk": "T", "sk": "new", "ttl": int(time.time()) + 3600})
    assert store.get("T", "old") is None
    assert [i["sk"] for i in store.query("T").items] == ["new"]
    store.put({"pk": "T", "sk": "old", "v": 1}, cond=MUST_NOT_EXIST)  # expired = absent
    assert store.get("T", "old") == {"pk": "T", "sk": "old", "v": 1}


def test_query_prefix_order_and_paging(store: KVStore) -> None:
    for i in range(7):
        store.put({"pk": "U", "sk": f"AUDIO#{i:02d}", "i": i})
    store.put({"pk": "U", "sk": "PROFILE"})
    store.put({"pk": "V", "sk": "AUDIO#99"})
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = store.query("U", sk_prefix="AUDIO#", limit=3, cursor=cursor, descending=True)
        seen += [item["i"] for item in page.items]
        pages += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    assert pages == 3
    ascending = store.query("U", sk_prefix="AUDIO#", limit=100)
    assert [item["i"] for item in ascending.items] == list(range(7))
    assert ascending.cursor is None
    exact = store.query("U", sk_prefix="AUDIO#", limit=7)
    assert len(exact.items) == 7
    assert exact.cursor is None


def test_scan_walks_every_live_item_of_a_pk_prefix_in_pages(store: KVStore) -> None:
    expected = set()
    for user in ("a", "b", "c"):
        for sk in ("PROFILE", "AUDIO#1", "AUDIO#2"):
            store.put({"pk": f"USER#{user}", "sk": sk, "v": 1})
            expected.add((f"USER#{user}", sk))
    store.put({"pk": "USERNAME#a", "sk": "USERNAME"})  # shares the first letters, not the prefix
    store.put({"pk": "RATE#x", "sk": "W#1"})
    store.put({"pk": "USER#d", "sk": "SESSION#1", "ttl": int(time.time()) - 5})  # expired: invisible
    seen: list[tuple[str, str]] = []
    cursor = None
    pages = 0
    while True:
        page = store.scan(pk_prefix="USER#", limit=2, cursor=cursor)
        assert len(page.items) <= 2
        seen += [(item["pk"], item["sk"]) for item in page.items]
        pages += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    assert sorted(seen) == sorted(expected)  # each exactly once
    assert pages == 5
    everything = store.scan(limit=100)
    assert len(everything.items) == 11
    assert everything.cursor is None
    with pytest.raises(BadRequest):
        store.scan(cursor="not-a-cursor")


def test_put_owned_stores_only_while_the_profile_exists(store: KVStore) -> None:
    from core.services.owned import put_owned

    store.put({"pk": "USER#u", "sk": "PROFILE"})
    put_owned(store, {"pk": "USER#u", "sk": "AUDIO#1"}, extra=[Put({"pk": "OWNED#1", "sk": "X"})])
    assert store.get("USER#u", "AUDIO#1") is not None
    assert store.get("OWNED#1", "X") is not None
    with pytest.raises(ConditionFailed):  # the record's own condition
        put_owned(store, {"pk": "USER#u", "sk": "AUDIO#1"})
    store.delete("USER#u", "PROFILE")
    with pytest.raises(Unauthorized) as info:
        put_owned(store, {"pk": "USER#u", "sk": "AUDIO#2"}, extra=[Put({"pk": "OWNED#2", "sk": "X"})])
    assert info.value.code == "account_deleted"
    assert store.get("USER#u", "AUDIO#2") is None
    assert store.get("OWNED#2", "X") is None
    with pytest.raises(ValueError, match="not a user"):
        put_owned(store, {"pk": "RATE#x", "sk": "W#1"})


def test_increment_is_atomic_and_respects_ttl(store: KVStore) -> None:
    expires = int(time.time()) + 60
    assert store.increment("R", "w1", "count", ttl=expires) == 1
    assert store.increment("R", "w1", "count", 4, ttl=expires + 999) == 5
    assert store.get("R", "w1") == {"pk": "R", "sk": "w1", "count": 5, "ttl": expires}  # ttl set once
    store.put({"pk": "R", "sk": "w2", "count": 40, "ttl": int(time.time()) - 1})
    assert store.increment("R", "w2", "count", ttl=expires) == 1  # expired counter starts over

    def bump() -> None:
        for _ in range(10):
            store.increment("R", "w3", "count")

    assert store.increment("R", "w4", "n", 2, set_attrs={"last": "a", "ok": True}) == 2
    assert store.increment("R", "w4", "n", set_attrs={"last": "b"}) == 3
    assert store.get("R", "w4") == {"pk": "R", "sk": "w4", "n": 3, "last": "b", "ok": True}

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("R", "w3")["count"] == 40  # type: ignore[index]


def test_transaction_all_or_nothing_with_reasons(store: KVStore) -> None:
    store.put({"pk": "N", "sk": "taken"})
    with pytest.raises(TransactionConflict) as info:
        store.transact(
            [
                Put({"pk": "N", "sk": "fresh", "v": 1}, cond=MUST_NOT_EXIST),
                Put({"pk": "N", "sk": "taken", "v": 1}, cond=MUST_NOT_EXIST),
            ]
        )
    assert info.value.reasons[0] is None
    assert info.value.reasons[1] == "ConditionalCheckFailed"
    assert store.get("N", "fresh") is None  # nothing half-written
    store.transact(
        [
            Put({"pk": "N", "sk": "fresh", "v": 1}, cond=MUST_NOT_EXIST),
            Delete("N", "taken", cond=MUST_EXIST),
            Check("N", "fresh2", cond=MUST_NOT_EXIST),
        ]
    )
    assert store.get("N", "fresh") == {"pk": "N", "sk": "fresh", "v": 1}
    assert store.get("N", "taken") is None
    with pytest.raises(TransactionConflict):
        store.transact([Put({"pk": "N", "sk": "x"}), Check("N", "fresh", cond=MUST_NOT_EXIST)])
    assert store.get("N", "x") is None


def test_parallel_conditional_puts_have_one_winner(store: KVStore) -> None:
    wins: list[int] = []
    lock = threading.Lock()

    def claim(n: int) -> None:
        try:
            store.put({"pk": "C", "sk": "claim", "by": n}, cond=MUST_NOT_EXIST)
        except ConditionFailed:
            return
        with lock:
            wins.append(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert store.get("C", "claim") == {"pk": "C", "sk": "claim", "by": wins[0]}


def test_invalid_items_and_transactions_are_refused(store: KVStore) -> None:
    with pytest.raises(ValueError, match="pk"):
        store.put({"pk": "", "sk": "x"})
    with pytest.raises(ValueError, match="at most"):
        store.transact([Put({"pk": "P", "sk": str(i)}) for i in range(26)])
    with pytest.raises(ValueError, match="only once"):
        store.transact([Put({"pk": "P", "sk": "1"}), Delete("P", "1")])


def test_ping_succeeds(store: KVStore) -> None:
    store.ping()


def test_unreachable_dynamodb_is_storage_unavailable() -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    dead = DynamoStore("nope", client=client)
    with pytest.raises(StorageUnavailable):
        dead.get("A", "1")
    with pytest.raises(StorageUnavailable):
        dead.ping()


def test_sqlite_data_survives_reopen(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "kv.db")
    first.put({"pk": "A", "sk": "1", "v": "kept"})
    first.close()
    assert SqliteStore(tmp_path / "kv.db").get("A", "1") == {"pk": "A", "sk": "1", "v": "kept"}


def raw_keys(path: Path) -> list[tuple[str, str]]:
    """What the sqlite table itself holds, expired rows included (reads through the store hide them)."""
    with closing(sqlite3.connect(path)) as conn:
        return sorted(conn.execute("SELECT pk, sk FROM items").fetchall())


def test_sqlite_purge_expired_removes_rows_from_the_table_in_bounded_batches(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kv.db", purge_every=0)  # no automatic purge: this test calls it
    past = int(time.time()) - 60
    for index in range(5):
        store.put({"pk": "RATE#ip", "sk": f"w{index}", "count": 1, "ttl": past - index})
    store.put({"pk": "RATE#ip", "sk": "live", "count": 1, "ttl": int(time.time()) + 3600})
    store.put({"pk": "USER#a", "sk": "PROFILE"})  # no ttl: never purged
    assert len(raw_keys(tmp_path / "kv.db")) == 7
    assert store.purge_expired(limit=2) == 2
    assert ("RATE#ip", "w4") not in raw_keys(tmp_path / "kv.db")  # oldest ttl first
    assert len(raw_keys(tmp_path / "kv.db")) == 5
    assert store.purge_expired() == 3
    assert raw_keys(tmp_path / "kv.db") == [("RATE#ip", "live"), ("USER#a", "PROFILE")]
    assert store.purge_expired() == 0


def test_sqlite_writes_purge_expired_rows_by_themselves(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kv.db", purge_every=3, purge_batch=10)
    past = int(time.time()) - 60
    store.put({"pk": "USER#a", "sk": "SESSION#1", "ttl": past})  # write 1
    store.increment("RATE#ip", "w0", "count", ttl=past)  # write 2: an expired rate-limit counter
    assert len(raw_keys(tmp_path / "kv.db")) == 2  # not purged yet: hidden from reads only
    assert store.get("USER#a", "SESSION#1") is None
    store.put({"pk": "USER#a", "sk": "PROFILE"})  # write 3 triggers the purge
    assert raw_keys(tmp_path / "kv.db") == [("USER#a", "PROFILE")]


def test_sqlite_automatic_purge_is_bounded_per_write(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kv.db", purge_every=1, purge_batch=2)
    past = int(time.time()) - 60
    store.transact([Put({"pk": "OLD", "sk": f"{index}", "ttl": past}) for index in range(5)])  # write 1: purges 2
    assert len(raw_keys(tmp_path / "kv.db")) == 3
    store.delete("NONE", "x")  # write 2: purges 2 more
    assert len(raw_keys(tmp_path / "kv.db")) == 1
