"""Abuse limits kept in the key-value store, so they hold across processes and Lambda instances.

Contract:
- `Rate(bucket, window_s, limit)`: at most `limit` requests per key per fixed window of `window_s`
  seconds; limit 0 = unlimited. The rates themselves are built from Settings in one place
  (core.services.policy: `RateRule`s).
- `hit(store, rate=, key=)`: counts one request on `RATE#<bucket>#<key>` / `W#<window>`
  (core.records.keys.rate_window) with a ttl at the window's end; the request that takes it over the
  limit raises `RateLimited` (429 rate_limited, details {limit, window_s}) with Retry-After = seconds to
  the window's end.
- Login lockout: `login_attempt` counts an attempt on `LOGINFAIL#<subject>` / `COUNT` with one atomic
  increment BEFORE the password is checked and returns the seconds left when the count is over the
  limit, so N parallel guesses evaluate at most `max_attempts` passwords per window (the window starts
  at the first attempt; a locked attempt does not extend it). `login_succeeded` resets the counter.
  The caller picks the subject: one per account whatever name form was used, one per unknown name.
- Time is `core.services.clock.now()` (tests pin it). The daily synthesis quota is core.services.quota.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import RateLimited
from core.records import keys
from core.services import clock
from core.storage import KVStore


@dataclass(frozen=True)
class Rate:
    bucket: str
    window_s: int
    limit: int  # requests per key per window; 0 = unlimited


def hit(store: KVStore, *, rate: Rate, key: str, message: str | None = None) -> int:
    """Count one request of `key` against `rate`; returns the count (0 when unlimited) or raises 429."""
    if rate.limit <= 0:
        return 0
    now = int(clock.now())
    window = now // rate.window_s
    ends = (window + 1) * rate.window_s
    count = store.increment(*keys.rate_window(rate.bucket, key, window), "count", ttl=ends + 1)
    if count > rate.limit:
        raise RateLimited(
            message or f"Too many requests ({rate.limit} per {rate.window_s} s); try again later",
            retry_after=ends - now,
            details={"limit": rate.limit, "window_s": rate.window_s},
        )
    return count


# -- login lockout ---------------------------------------------------------------------------
def login_attempt(store: KVStore, *, subject: str, max_attempts: int, window_s: int) -> int | None:
    """Count one login attempt; seconds until the lockout ends when it is over the limit, else None."""
    if max_attempts <= 0:
        return None
    pk, sk = keys.login_failures(subject)
    now = int(clock.now())
    count = store.increment(pk, sk, "count", ttl=now + window_s)
    if count <= max_attempts:
        return None
    item = store.get(pk, sk)
    ends = int(item["ttl"]) if item is not None and item.get("ttl") is not None else now + window_s
    return max(1, ends - now)


def login_succeeded(store: KVStore, *, subject: str) -> None:
    store.delete(*keys.login_failures(subject))
