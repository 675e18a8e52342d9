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
- Quota: `charge_characters` adds to the user's daily usage `USER#<uid>` / `USAGE#<yyyymmdd>` atomically
  and refuses (429 quota_exceeded, nothing charged) what would exceed the quota; `refund` gives back
  the characters of a job that failed. `usage` reports {limit, used, remaining, resets_at}.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import RateLimited
from core.services.users import user_pk
from core.storage import KVStore

DAY = 86400


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


# -- character quota -------------------------------------------------------------------------
def _today() -> tuple[str, int]:
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return now.strftime("%Y%m%d"), int(midnight.timestamp())


def usage(store: KVStore, *, user_id: str, quota: int) -> dict[str, Any]:
    day, resets = _today()
    item = store.get(user_pk(user_id), f"USAGE#{day}")
    used = int(item.get("characters", 0)) if item else 0
    return {
        "period": "day",
        "limit": quota,
        "used": used,
        "remaining": max(0, quota - used) if quota else None,
        "resets_at": datetime.fromtimestamp(resets, UTC).isoformat().replace("+00:00", "Z"),
    }


def charge_characters(store: KVStore, *, user_id: str, characters: int, quota: int) -> str | None:
    """Charge today's usage; returns the usage key to refund on failure (None when unlimited)."""
    if quota <= 0:
        return None
    day, resets = _today()
    sk = f"USAGE#{day}"
    total = store.increment(user_pk(user_id), sk, "characters", characters, ttl=resets + 2 * DAY)
    if total > quota:
        store.increment(user_pk(user_id), sk, "characters", -characters)
        used = total - characters
        raise RateLimited(
            f"Daily character quota exceeded: {used} of {quota} used, this request needs {characters}",
            code="quota_exceeded",
            retry_after=resets - int(time.time()),
            details={"limit": quota, "used": used, "requested": characters},
        )
    return sk


def refund(store: KVStore, *, user_id: str, usage_key: str | None, characters: int) -> None:
    if usage_key is not None:
        store.increment(user_pk(user_id), usage_key, "characters", -characters)
