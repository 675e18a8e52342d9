"""Abuse limits kept in the key-value store, so they hold across processes and Lambda instances.

Contract:
- `hit(store, bucket=, key=, limit=, window_s=)`: fixed-window counter `RATE#<bucket>#<key>` /
  `W#<window>` with a ttl at the window's end; the request that takes it over `limit` raises
  `RateLimited` with Retry-After = seconds to the window's end. limit 0 = unlimited.
- Login lockout: `login_attempt` counts an attempt on `LOGINFAIL#<subject>` / `COUNT` with one atomic
  increment BEFORE the password is checked and returns the seconds left when the count is over the
  limit, so N parallel guesses evaluate at most `max_attempts` passwords per window (the window starts
  at the first attempt; a locked attempt does not extend it). `login_succeeded` resets the counter.
  The caller picks the subject: one per account whatever name form was used, one per unknown name.
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
def _lock_key(subject: str) -> tuple[str, str]:
    return f"LOGINFAIL#{subject}", "COUNT"


def login_attempt(store: KVStore, *, subject: str, max_attempts: int, window_s: int) -> int | None:
    """Count one login attempt; seconds until the lockout ends when it is over the limit, else None."""
    if max_attempts <= 0:
        return None
    pk, sk = _lock_key(subject)
    now = int(time.time())
    count = store.increment(pk, sk, "count", ttl=now + window_s)
    if count <= max_attempts:
        return None
    item = store.get(pk, sk)
    ends = int(item["ttl"]) if item is not None and item.get("ttl") is not None else now + window_s
    return max(1, ends - now)


def login_succeeded(store: KVStore, *, subject: str) -> None:
    store.delete(*_lock_key(subject))
