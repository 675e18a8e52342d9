"""Time helpers shared by services: the clock of the limits, ISO-8601 UTC timestamps and time-sortable ids.

Contract:
- `now()` is the epoch time (seconds, float) that the rate limits, the login lockout and the daily quota
  (core.services.limits, core.services.quota) read: one module attribute, so a test pins all their
  windows at once by replacing it (tests/support/clock.py); production code never assigns it.
- `sortable_id()` returns 26 lowercase base32hex characters whose lexicographic order is the
  order of creation (millisecond clock first, then randomness), so sort keys built from them list
  newest-first with a descending query. Ids match `ID_PATTERN`, which path parameters are checked against.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

ID_PATTERN = r"^[0-9a-v]{26}$"
_ALPHABET = "0123456789abcdefghijklmnopqrstuv"

now: Callable[[], float] = time.time


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def sortable_id() -> str:
    millis = int(time.time() * 1000)
    return _b32(millis, 10) + _b32(secrets.randbits(80), 16)
