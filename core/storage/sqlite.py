"""SQLite backend of the key-value protocol (the embedded default).

Contract: see `core.storage.base`. One table `items(pk, sk, data JSON, ttl)` in a file under
DATA_DIR, WAL mode, one connection per thread. Every conditional write runs inside
`BEGIN IMMEDIATE`, which takes SQLite's write lock, so conditions, counters and transactions are
atomic across threads and processes sharing the file. `local_reads` tells async callers that a
read may run on the event loop.

Expiry: expired items are filtered on every read at once, and removed from the table by
`purge_expired`, which runs by itself after every `purge_every`-th successful write of a store
(per process), in its own short transaction, deleting at most `purge_batch` expired rows (oldest ttl
first, through the partial ttl index). Writes are what create expiring rows (rate-limit counters,
sessions), so the purge keeps pace with them without a background thread, and no request pays for
more than one bounded batch. A failed purge is logged and never fails the write that triggered it.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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

log = logging.getLogger(__name__)

PURGE_EVERY_WRITES = 100  # a purge after every 100th write ...
PURGE_BATCH = 500  # ... of at most 500 rows: up to 5 expired rows removed per write, a few ms per purge

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    data TEXT NOT NULL,
    ttl INTEGER,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_ttl ON items (ttl) WHERE ttl IS NOT NULL;
"""


class SqliteStore:
    local_reads = True  # point reads are local and never wait on a lock (WAL): fine on an event loop

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_ms: int = 10_000,
        purge_every: int = PURGE_EVERY_WRITES,
        purge_batch: int = PURGE_BATCH,
    ) -> None:
        """`purge_every`: writes between two automatic purges (0: never); `purge_batch`: rows per purge."""
        if purge_every < 0 or purge_batch < 1:
            raise ValueError("purge_every must be >= 0 and purge_batch >= 1")
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._purge_every = purge_every
        self._purge_batch = purge_batch
        self._writes = itertools.count(1)  # next() is atomic under the GIL: one count across threads
        self._local = threading.local()
        with self._errors():
            conn = self._conn()
            conn.executescript(_SCHEMA)

    # -- connections -------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_ms / 1000, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            self._local.conn = conn
        return conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"Storage is unavailable: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction of the protocol; counts towards the next automatic purge once committed."""
        with self._transaction() as conn:
            yield conn
        if self._purge_every and next(self._writes) % self._purge_every == 0:
            try:
                self.purge_expired(limit=self._purge_batch)
            except StorageUnavailable as exc:  # the write itself is committed: report, never fail it
                log.warning("purging expired items failed: %s", exc)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._errors():
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _load(row: tuple[str, str, str, int | None]) -> Item:
        item: Item = json.loads(row[2])
        item["pk"], item["sk"] = row[0], row[1]
        return item

    def _current(self, conn: sqlite3.Connection, pk: str, sk: str, now: int) -> Item | None:
        row = conn.execute("SELECT pk, sk, data, ttl FROM items WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()
        if row is None:
            return None
        item = self._load(row)
        return item if is_live(item, now) else None

    @staticmethod
    def _upsert(conn: sqlite3.Connection, item: Item) -> None:
        data = {k: v for k, v in item.items() if k not in ("pk", "sk")}
        ttl = item.get("ttl")
        conn.execute(
            "INSERT OR REPLACE INTO items (pk, sk, data, ttl) VALUES (?, ?, ?, ?)",
            (item["pk"], item["sk"], json.dumps(data, separators=(",", ":")), None if ttl is None else int(ttl)),
        )

    # -- protocol ----------------------------------------------------------------------------
    def get(self, pk: str, sk: str) -> Item | None:
        with self._errors():
            return self._current(self._conn(), pk, sk, now_epoch())

    def put(self, item: Item, *, cond: Cond | None = None) -> None:
        check_item(item)
        with self._write() as conn:
            if cond is not None and not cond.holds(self._current(conn, item["pk"], item["sk"], now_epoch())):
                raise ConditionFailed(f"condition failed for {item['pk']}/{item['sk']}")
            self._upsert(conn, item)

    def delete(self, pk: str, sk: str, *, cond: Cond | None = None) -> None:
        with self._write() as conn:
            if cond is not None and not cond.holds(self._current(conn, pk, sk, now_epoch())):
                raise ConditionFailed(f"condition failed for {pk}/{sk}")
            conn.execute("DELETE FROM items WHERE pk = ? AND sk = ?", (pk, sk))

    def query(
        self,
        pk: str,
        *,
        sk_prefix: str = "",
        limit: int = 50,
        cursor: str | None = None,
        descending: bool = False,
    ) -> Page:
        if limit < 1:
            raise ValueError("limit must be positive")
        after = decode_cursor(cursor) if cursor else None
        # One lower and one upper bound on sk (never substr(), never two bounds on one side): the
        # (pk, sk) primary key index then reads exactly the rows of the page, whatever the history size.
        lower_op, lower = ">=", sk_prefix
        upper_op, upper = "<", sk_prefix + "\U0010ffff"
        if after is not None and not descending and after >= lower:
            lower_op, lower = ">", after
        if after is not None and descending and after < upper:
            upper = after
        clauses = ["pk = ?", f"sk {lower_op} ?", f"sk {upper_op} ?", "(ttl IS NULL OR ttl > ?)"]
        params: list[object] = [pk, lower, upper, now_epoch()]
        order = "DESC" if descending else "ASC"
        # Only fixed clause strings are joined; every value is a bound parameter.
        sql = f"SELECT pk, sk, data, ttl FROM items WHERE {' AND '.join(clauses)} ORDER BY sk {order} LIMIT ?"  # noqa: S608
        params.append(limit + 1)
        with self._errors():
            rows = self._conn().execute(sql, params).fetchall()
        items = [self._load(r) for r in rows[:limit]]
        next_cursor = encode_cursor(items[-1]["sk"]) if len(rows) > limit else None
        return Page(items=items, cursor=next_cursor)

    def scan(self, *, pk_prefix: str = "", limit: int = 100, cursor: str | None = None) -> Page:
        """Live items whose pk starts with `pk_prefix`, in (pk, sk) order, one page at a time."""
        if limit < 1:
            raise ValueError("limit must be positive")
        after = decode_key_cursor(cursor) if cursor else ("", "")
        sql = (
            "SELECT pk, sk, data, ttl FROM items WHERE pk >= ? AND pk < ? AND (pk, sk) > (?, ?)"
            " AND (ttl IS NULL OR ttl > ?) ORDER BY pk, sk LIMIT ?"
        )
        params = (pk_prefix, pk_prefix + "\U0010ffff", after[0], after[1], now_epoch(), limit + 1)
        with self._errors():
            rows = self._conn().execute(sql, params).fetchall()
        items = [self._load(r) for r in rows[:limit]]
        next_cursor = encode_key_cursor(items[-1]["pk"], items[-1]["sk"]) if len(rows) > limit else None
        return Page(items=items, cursor=next_cursor)

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
        with self._write() as conn:
            current = self._current(conn, pk, sk, now_epoch())
            item: Item = current if current is not None else {"pk": pk, "sk": sk}
            if current is None and ttl is not None:
                item["ttl"] = int(ttl)
            value = int(item.get(attr, 0)) + amount
            item.update(set_attrs or {})
            item[attr] = value
            self._upsert(conn, item)
            return value

    def transact(self, ops: Sequence[Op]) -> None:
        check_ops(ops)
        with self._write() as conn:
            now = now_epoch()
            reasons: list[str | None] = []
            for op in ops:
                if isinstance(op, Put):
                    check_item(op.item)
                    pk, sk = op.item["pk"], op.item["sk"]
                else:
                    pk, sk = op.pk, op.sk
                ok = op.cond is None or op.cond.holds(self._current(conn, pk, sk, now))
                reasons.append(None if ok else "ConditionalCheckFailed")
            if any(reasons):
                raise TransactionConflict(reasons)
            for op in ops:
                if isinstance(op, Put):
                    self._upsert(conn, op.item)
                elif isinstance(op, Delete):
                    conn.execute("DELETE FROM items WHERE pk = ? AND sk = ?", (op.pk, op.sk))
                elif not isinstance(op, Check):  # pragma: no cover - exhaustive
                    raise TypeError(op)

    def ping(self) -> None:
        with self._errors():
            self._conn().execute("SELECT 1 FROM items LIMIT 1").fetchall()

    def purge_expired(self, *, limit: int | None = None) -> int:
        """Remove expired items, at most `limit` (oldest ttl first; None: all); returns how many.

        DynamoDB removes expired items itself (TTL on `ttl`, enabled in template.yaml).
        """
        with self._transaction() as conn:
            if limit is None:
                return conn.execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl <= ?", (now_epoch(),)).rowcount
            sql = (
                "DELETE FROM items WHERE (pk, sk) IN (SELECT pk, sk FROM items"
                " WHERE ttl IS NOT NULL AND ttl <= ? ORDER BY ttl LIMIT ?)"
            )
            return conn.execute(sql, (now_epoch(), max(limit, 0))).rowcount
