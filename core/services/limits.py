"""Abuse limits kept in the key-value store, so they hold across processes and Lambda instances.

Contract:
- `hit(store, bucket=, key=, limit=, window_s=)`: fixed-window counter `RATE#<bucket>#<key>` /
  `W#<window>` with a ttl at the window's end; the request that takes it over `limit` raises
  `RateLimited` with Retry-After = seconds to the window's end. limit 0 = unlimited.
- Login lockout: `login_locked` / `login_failed` / `login_succeeded` count failures per submitted
  username (lowercased) whether or not it exists, so a locked-out answer reveals nothing.
- The daily synthesis quota (characters and audio seconds) is core.services.quota.
"""

from __future__ import annotations

import time

from core.errors import RateLimited
from core.storage import KVStore


def hit(store: KVStore, *, bucket: str, key: str, limit: int, window_s: int, message: str | None = None) -> int:
    if limit <= 0:
        return 0
    now = int(time.time())
    window = now // window_s
    ends = (window + 1) * window_s
    count = store.increment(f"RATE#{bucket}#{key}", f"W#{window}", "count", ttl=ends + 1)
    if count > limit:
        raise RateLimited(
            message or f"Too many requests ({limit} per {window_s} s); try again later",
            retry_after=ends - now,
            details={"limit": limit, "window_s": window_s},
        )
    return count


# -- login lockout ---------------------------------------------------------------------------
def _lock_key(username: str) -> tuple[str, str]:
    return f"LOGINFAIL#{username.strip().lower()}", "COUNT"


def login_locked(store: KVStore, *, username: str, max_failures: int) -> int | None:
    """Seconds until the lockout ends, or None when logins for this name are allowed."""
    if max_failures <= 0:
        return None
    item = store.get(*_lock_key(username))
    if item is None or int(item.get("count", 0)) < max_failures:
        return None
    return max(1, int(item["ttl"]) - int(time.time()))


def login_failed(store: KVStore, *, username: str, window_s: int) -> None:
    pk, sk = _lock_key(username)
    store.increment(pk, sk, "count", ttl=int(time.time()) + window_s)


def login_succeeded(store: KVStore, *, username: str) -> None:
    store.delete(*_lock_key(username))
